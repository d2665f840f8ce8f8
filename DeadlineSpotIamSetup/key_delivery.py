"""Handing over an access key this run has just created: the one protocol apply and the key rotation share.

IAM shows a key's secret only in CreateAccessKey's reply, so a new key whose hand-over fails has a secret nobody holds:
it is worse than none. :func:`deliver_new_key` therefore runs the hand-over's steps (:func:`hand_over`: the run's last
look before it, which may verify the key with STS; staging the key where it goes, so that it can still be taken back;
recording it on the user as this project's; making the hand-over final) and, whatever stops them, takes the key back,
deletes it (a clean-up: done even once the run is cancelled) and says why in one line, the secret masked.

What differs between apply and the key rotation is each step's content, not the protocol: the caller is the
:class:`KeyDelivery`. (A key delivered before, which the event plugin's journal still holds, is handed over again with
:func:`hand_over` alone: the Spot Event Plugin may hold it already, so it is never deleted.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SetupError
from .values import NewAccessKey

if TYPE_CHECKING:
    from typing import Protocol

    from .gateway_protocol import Gateway
else:  # a plain class at run time: the protocol is the type checker's
    Protocol = object


class KeyDelivery(Protocol):
    """The steps of one hand-over, as the caller (apply's executor, the key rotation) makes them."""

    def before_hand_over(self, key: NewAccessKey) -> None:
        """The last look before the key leaves the run: raise to stop (the run was told to stop; the key the rotation
        hands over must work first)."""

    def stage(self, key: NewAccessKey) -> None:
        """Hand the key over so that :meth:`withdraw` can still take it back."""

    def record(self, key: NewAccessKey) -> None:
        """Record on the user that this project made the key and delivered it."""

    def publish(self, key: NewAccessKey) -> None:
        """Make the hand-over final: the key is the run's from now on."""

    def withdraw(self, key: NewAccessKey) -> None:
        """Take back what :meth:`stage` handed over (nothing, when it was not)."""

    def forget(self, key: NewAccessKey) -> None:
        """The key is deleted: drop what the run kept of it (its record)."""

    def undelivered(self, key: NewAccessKey, error: Exception, cause: str) -> SetupError | None:
        """The error that says the key was not delivered (``cause``: why, in words, the secret masked); None: raise
        ``error`` itself."""


def hand_over(key: NewAccessKey, delivery: KeyDelivery) -> None:
    """The hand-over's steps, in order; a failure is raised as it is."""
    delivery.before_hand_over(key)
    delivery.stage(key)
    delivery.record(key)
    delivery.publish(key)


def deliver_new_key(key: NewAccessKey, gateway: Gateway, delivery: KeyDelivery) -> None:
    """Hand over ``key``, which this run has just created; whatever stops the hand-over, the key is taken back and
    deleted, and the failure raised (as ``delivery.undelivered`` words it)."""
    try:
        hand_over(key, delivery)
    except BaseException as error:
        delivery.withdraw(key)
        gateway.delete_access_key(key.user_name, key.access_key_id, cleanup=True)
        delivery.forget(key)
        if not isinstance(error, Exception):  # Ctrl-C, a kill: the key is gone, the stop goes on
            raise
        failure = delivery.undelivered(key, error, masked_cause(error, key))
        if failure is None:
            raise
        raise failure from None


def masked_cause(error: Exception, key: NewAccessKey) -> str:
    """Why the hand-over failed, in one line: a SetupError's own words, else the error's type and message; the key's
    secret masked wherever the error quoted it."""
    cause = str(error) if isinstance(error, SetupError) else f"{type(error).__name__}: {error}"
    secret = key.secret_access_key
    return cause.replace(secret, "****") if secret else cause

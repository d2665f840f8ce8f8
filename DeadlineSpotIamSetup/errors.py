"""Exceptions the engine raises. Every message is one line that says what to do, and never holds a secret.

Front ends tell failures apart by type, never by searching message text.
"""

from __future__ import annotations

from typing import Any, Callable


class SetupError(Exception):
    """A failure the user can act on; ``str(error)`` is a complete one-line message. ``partial_result``: when it
    stopped an apply part-way, what that apply did before (``apply.ApplyResult``)."""

    partial_result: Any = None


class InvalidSettings(SetupError):
    """Settings refused before any AWS call (bad names, ARNs, tags)."""


class AwsAccessError(SetupError):
    """An AWS call failed: access denied, unreachable endpoint, throttled past the deadline, ..."""


class AccessDenied(AwsAccessError):
    """AWS refused an action to the credential in use: ``permission`` is the one it lacked (``iam:PassRole``, which
    may differ from the call made), ``principal`` the ARN of who was refused, when AWS's message names them."""

    def __init__(self, message: str, permission: str | None = None, principal: str | None = None) -> None:
        super().__init__(message)
        self.permission = permission
        self.principal = principal


class CredentialsRejected(AwsAccessError):
    """AWS does not accept the credential itself (unknown key, bad signature, expired token)."""


class EndpointUnavailable(AwsAccessError):
    """The endpoint refused the connection, did not answer in time, or answered something that is not AWS."""


class Cancelled(SetupError):
    """The caller asked the run to stop (the event plugin's time limit, Ctrl-C on the command line): nothing new was
    started."""


def stop_reason(cancelled: Callable[[], bool]) -> str:
    """Why a run was told to stop, for a Cancelled's message: what its cancel flag says (the command line's names the
    signal), else the event plugin's time limit."""
    return getattr(cancelled, "reason", None) or "the time limit was reached"


class KeyDeliveryFailed(SetupError):
    """A new access key could not be handed to its destination; the key was deleted again."""


class ReplyLost(Exception):
    """A call that is not idempotent was sent, but its reply never came: AWS may or may not have acted.

    Raised by the gateway instead of retrying such a call blindly; the caller looks at what exists now.
    """


# Answers the gateway translates for the engine to decide on (not failures by themselves).
class NotFound(Exception):
    """IAM answered NoSuchEntity. Reads turn it into ``None``; writes let the caller decide."""


class AlreadyExists(Exception):
    """IAM answered EntityAlreadyExists (or "has been taken"): success for an idempotent create."""


class LimitExceeded(Exception):
    """IAM answered LimitExceeded (2 access keys per user, 1 role per instance profile, ...)."""

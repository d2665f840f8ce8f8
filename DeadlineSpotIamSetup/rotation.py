"""Rotating the Spot user's access key so that a working key is delivered at every moment.

The state lives in IAM: the user's keys, and tags on the user recording which keys this project made and
delivered or retired (``handlers.base.KEY_RECORD_PREFIX``) and that a rotation is under way (``ROTATING_TAG``).
The event plugin adds a journal: its own settings hold the last key it delivered, with the secret, written before
the Spot Event Plugin's settings. Each run looks at that state and takes the next steps:

1. mark the rotation; 2. create the new key; 3. verify it with STS; 4. deliver it (the plugin journals it first);
5. record it as delivered and clear the mark; 6. deactivate the old key: the event plugin at once (it delivered the
new key itself), the command line once the new key has been used (an admin enters it in the Spot Event Plugin);
7. on a later run, delete the deactivated key once the new key has been used, or after ``KEY_RETIRE_GRACE``.

A run killed between any two steps leaves a state the next run finishes: a key the journal holds is delivered
again; a key created after the mark that nothing records and nothing uses (its secret went down with the run) is
deleted once no live run can still be holding it; a used one is adopted. Only keys recorded as this project's are
deactivated or deleted, never the key the Spot Event Plugin is configured with, and the old key is deactivated
only once the new one is verified and delivered (or used).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .errors import AwsAccessError, Cancelled, KeyDeliveryFailed, LimitExceeded, ReplyLost, SetupError
from .findings import ManualStep, RotationResult
from .handlers.access_key import DELIVERED, RETIRED, KeyRecord, format_time, key_records, parse_time, record_key
from .handlers.base import KEY_RECORD_PREFIX, ROTATING_TAG
from .kinds import Kind
from .values import AccessKeyInfo, NewAccessKey, as_utc
from .waits import (
    KEY_LOST_REPLY_SETTLE,
    KEY_MAX_AGE_DAYS,
    KEY_ORPHAN_AGE,
    KEY_RETIRE_GRACE,
    KEY_VERIFY_DELAY,
    poll,
)

# Clocks differ: a key created up to this long before the mark's time (taken from this machine's clock) still
# counts as made after it.
CLOCK_SKEW = timedelta(minutes=1)

KeySink = Callable[[NewAccessKey], None]


@dataclass(frozen=True)
class RotationOptions:
    max_age_days: int = KEY_MAX_AGE_DAYS  # rotate a key older than this; 0: only when ``now`` is set
    now: bool = False  # rotate even though the key is not due
    deactivate_on_delivery: bool = False  # the event plugin: it delivered the new key itself
    key_verification: float = 20.0  # how long to wait for STS to accept the new key
    retire_grace: timedelta = KEY_RETIRE_GRACE
    orphan_age: timedelta = KEY_ORPHAN_AGE
    cancelled: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] | None = None  # None: time.sleep (tests pass a no-op)


def _age(key: AccessKeyInfo, now: datetime) -> timedelta:
    return now - as_utc(key.created) if key.created is not None else timedelta(0)


class _Rotation:
    def __init__(
        self,
        gateway: Any,
        user: str,
        sink: KeySink,
        options: RotationOptions,
        configured: Callable[[], str | None],
        journal: NewAccessKey | None,
        now: datetime,
    ) -> None:
        self.gateway = gateway
        self.user = user
        self.sink = sink
        self.options = options
        self.configured = configured
        self.journal = journal
        self.now = now
        self.result = RotationResult()
        self.records: dict[str, KeyRecord] = {}
        self.mark: datetime | None = None

    # -- small steps --------------------------------------------------------------------------------
    def _start(self, what: str) -> None:
        if self.options.cancelled():
            raise Cancelled(f"stopped before {what}: the time limit was reached; the next run continues")

    def _tag(self, tags: dict[str, str]) -> None:
        self.gateway.write(
            "TagUser", {"UserName": self.user, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, self._who
        )

    def _untag(self, keys: list[str]) -> None:
        if keys:
            self.gateway.write("UntagUser", {"UserName": self.user, "TagKeys": keys}, self._who)

    @property
    def _who(self) -> str:
        return f"user {self.user}"

    def _record(self, access_key_id: str, state: str) -> None:
        record_key(self.gateway, self.user, access_key_id, state, at=self.now)
        self.records[access_key_id] = KeyRecord(state, self.now)

    def _delete(self, key_id: str, why: str) -> None:
        self.gateway.delete_access_key(self.user, key_id, cleanup=True)
        self._untag([KEY_RECORD_PREFIX + key_id] if key_id in self.records else [])
        self.records.pop(key_id, None)
        self.result.done.append(f"deleted access key {key_id} of user {self.user} ({why})")

    def _used_since_delivery(self, key_id: str) -> bool:
        record = self.records.get(key_id)
        return record is not None and self.gateway.key_usage(key_id).used_since(record.at)

    def _keys(self) -> tuple[AccessKeyInfo, ...]:
        keys = self.gateway.access_keys(self.user)
        if keys is None:
            raise AwsAccessError(f"user {self.user} does not exist: run apply first")
        return keys

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> RotationResult:
        keys = self._keys()
        tags = self.gateway.user_tags(self.user) or {}
        self.records = key_records(tags)
        self.mark = parse_time(tags.get(ROTATING_TAG, ""))
        ids = {k.access_key_id for k in keys}
        gone = [KEY_RECORD_PREFIX + key_id for key_id in self.records if key_id not in ids]
        if gone:
            self._start("forgetting the records of deleted keys")
            self._untag(gone)
            self.records = {k: v for k, v in self.records.items() if k in ids}
        if not self._settle_unrecorded(keys):
            return self.result
        keys = self._keys() if self.result.done else keys
        self._retire_inactive(keys)
        keys = self._keys() if self.result.done else keys
        active = sorted((k for k in keys if k.active), key=lambda k: as_utc(k.created or self.now))
        if not active:
            self.result.manual.append(
                self._step("the user has no active access key", "run apply (it creates and delivers one)")
            )
        elif len(active) > 1:
            self._switch_over(active[0], active[-1])
        else:
            self._rotate_if_due(active[0], keys)
        return self.result

    def _step(self, problem: str, remedy: str) -> ManualStep:
        return ManualStep(Kind.ACCESS_KEY, self.user, problem, remedy)

    def _settle_unrecorded(self, keys: tuple[AccessKeyInfo, ...]) -> bool:
        """Active keys no record names: the journal's key is delivered again; a key an interrupted rotation left
        behind is adopted when something uses it and deleted when nothing does. False: another run is rotating
        right now, so this run stops here."""
        for key in keys:
            if not key.active or key.access_key_id in self.records:
                continue
            if self.journal is not None and self.journal.access_key_id == key.access_key_id:
                self._deliver(self.journal, "finishing the delivery an interrupted run started")
                continue
            if self.mark is None or key.created is None or as_utc(key.created) < self.mark - CLOCK_SKEW:
                continue  # made before any rotation of ours: an admin's key, left to them
            if _age(key, self.now) < self.options.orphan_age:
                self.result.waiting.append(
                    f"another run is rotating the access key right now (key {key.access_key_id} is "
                    f"{int(_age(key, self.now).total_seconds())} s old): run again in a few minutes"
                )
                return False
            self._start(f"settling access key {key.access_key_id}")
            if self.gateway.key_usage(key.access_key_id).used_since(as_utc(key.created)):
                self._record(key.access_key_id, DELIVERED)
                self.result.done.append(
                    f"adopted access key {key.access_key_id}: an interrupted rotation made it and it is in use"
                )
            else:
                self._delete(key.access_key_id, "an interrupted rotation made it and its secret was lost")
        return True

    def _retire_inactive(self, keys: tuple[AccessKeyInfo, ...]) -> None:
        """Delete a retired key once its successor has been used, or after the grace period."""
        active_ours = [k for k in keys if k.active and k.access_key_id in self.records]
        successor = max(active_ours, key=lambda k: as_utc(k.created or self.now), default=None)
        for key in keys:
            record = self.records.get(key.access_key_id)
            if key.active or record is None:
                continue
            if key.access_key_id == self.configured():
                self.result.manual.append(
                    self._step(
                        f"the Spot Event Plugin is configured with access key {key.access_key_id}, which is inactive",
                        "run the event plugin again (it delivers the active key) or enter the active key",
                    )
                )
                continue
            self._start(f"retiring access key {key.access_key_id}")
            if record.state != RETIRED:  # deactivated by a run that stopped before recording it
                self._record(key.access_key_id, RETIRED)
                record = self.records[key.access_key_id]
            used = successor is not None and self._used_since_delivery(successor.access_key_id)
            if used or self.now - record.at >= self.options.retire_grace:
                reason = (
                    f"its successor {successor.access_key_id} is in use"
                    if used and successor is not None
                    else f"retired {format_time(record.at)}"
                )
                self._delete(key.access_key_id, reason)
            else:
                self.result.notes.append(
                    f"access key {key.access_key_id} is inactive and is deleted once its successor has been used, "
                    f"or after {format_time(record.at + self.options.retire_grace)}"
                )

    def _switch_over(self, old: AccessKeyInfo, new: AccessKeyInfo) -> None:
        """Two active keys: the newer one delivered by a rotation; deactivate the older one once that is safe."""
        if new.access_key_id not in self.records:
            self.result.manual.append(
                self._step(
                    f"the user has two active access keys ({old.access_key_id}, {new.access_key_id}) and this "
                    f"project did not make {new.access_key_id}",
                    "deactivate and delete the one the Spot Event Plugin does not use, then run again",
                )
            )
            return
        configured = self.configured()
        if self.options.deactivate_on_delivery:
            if configured == old.access_key_id and self.journal and self.journal.access_key_id == new.access_key_id:
                self._deliver(self.journal, "the Spot Event Plugin still had the old key")
                configured = self.configured()
            if configured != new.access_key_id:
                self.result.manual.append(
                    self._step(
                        f"the Spot Event Plugin is not configured with the newest access key {new.access_key_id}",
                        "enter it in its Security Credentials (its secret is in this plugin's Delivered Secret "
                        "Access Key), or delete it in IAM to have a new one made",
                    )
                )
                return
        elif not self._used_since_delivery(new.access_key_id):
            self.result.waiting.append(
                f"the new access key {new.access_key_id} has not been used yet: enter it in the Spot Event Plugin's "
                f"Security Credentials, then run rotate-key again (the old key {old.access_key_id} stays active "
                "until then)"
            )
            return
        self._deactivate(old)

    def _deactivate(self, old: AccessKeyInfo) -> None:
        if old.access_key_id not in self.records:
            self.result.manual.append(
                self._step(
                    f"the old access key {old.access_key_id} was not made by this project, so it is left active",
                    f"deactivate and delete it once nothing uses it (aws iam update-access-key --user-name "
                    f"{self.user} --access-key-id {old.access_key_id} --status Inactive)",
                )
            )
            return
        self._start(f"deactivating access key {old.access_key_id}")
        self.gateway.write(
            "UpdateAccessKey",
            {"UserName": self.user, "AccessKeyId": old.access_key_id, "Status": "Inactive"},
            f"access key {old.access_key_id} of user {self.user}",
        )
        self._record(old.access_key_id, RETIRED)
        self.result.done.append(
            f"deactivated the old access key {old.access_key_id}; it is deleted once the new key has been used, or "
            f"after {self.options.retire_grace.days} days"
        )

    def _rotate_if_due(self, current: AccessKeyInfo, keys: tuple[AccessKeyInfo, ...]) -> None:
        configured = self.configured()
        if self.options.deactivate_on_delivery and configured not in (None, current.access_key_id):
            return  # the Spot plugin has another key: the key check reports that, rotating would not help
        age = _age(current, self.now)
        limit = self.options.max_age_days
        if not (self.options.now or (limit and age > timedelta(days=limit))):
            due = f"when it is older than {limit} days" if limit else "only when asked to (no age limit)"
            self.result.notes.append(f"access key {current.access_key_id} is {age.days} days old: it is rotated {due}")
            return
        inactive = [k for k in keys if not k.active]
        if inactive:
            blocker = inactive[0]
            if blocker.access_key_id in self.records:
                self.result.waiting.append(
                    f"access key {current.access_key_id} is due for rotation, but the retired key "
                    f"{blocker.access_key_id} still fills IAM's second slot: it is deleted first"
                )
            else:
                self.result.manual.append(
                    self._step(
                        f"access key {current.access_key_id} is due for rotation, but the inactive key "
                        f"{blocker.access_key_id}, not made by this project, is in the way (IAM allows two keys per "
                        "user)",
                        f"delete it if nothing uses it (aws iam delete-access-key --user-name {self.user} "
                        f"--access-key-id {blocker.access_key_id}), then run again",
                    )
                )
            return
        self._rotate(current, age)

    def _rotate(self, old: AccessKeyInfo, age: timedelta) -> None:
        self._start("rotating the access key")
        self._tag({ROTATING_TAG: format_time(self.now)})
        self.mark = self.now
        try:
            key = self.gateway.create_access_key(self.user)
        except LimitExceeded:
            self.result.waiting.append("another run is rotating the access key right now: run again in a few minutes")
            return
        except ReplyLost:
            self._clean_up_lost_reply()
            raise AwsAccessError(
                f"the reply to CreateAccessKey for user {self.user} was lost; the key it made was deleted and the old "
                "key stays in use: run again"
            ) from None
        self.result.done.append(
            f"created access key {key.access_key_id} to replace {old.access_key_id} ({age.days} days old)"
        )
        self._deliver(key, "rotation")
        if self.options.deactivate_on_delivery:
            self._deactivate(old)
        else:
            self.result.waiting.append(
                f"enter the new access key {key.access_key_id} in the Spot Event Plugin's Security Credentials, then "
                f"run rotate-key again: the old key {old.access_key_id} stays active until the new one has been used"
            )

    def _deliver(self, key: NewAccessKey, why: str) -> None:
        """Verify, deliver, record as delivered, clear the mark. A fresh key that cannot be verified or delivered is
        deleted again; a journalled one is left for the next run (it may be configured already)."""
        fresh = why == "rotation"
        try:
            self._start(f"delivering access key {key.access_key_id}")
            self._verify(key)
            self.sink(key)
        except BaseException as error:
            if not fresh:
                raise
            self.gateway.delete_access_key(self.user, key.access_key_id, cleanup=True)
            try:
                self._untag([ROTATING_TAG])
            except SetupError:
                pass  # the mark only makes a later run look closer
            if not isinstance(error, Exception):
                raise
            cause = error if isinstance(error, SetupError) else f"{type(error).__name__}: {error}"
            raise KeyDeliveryFailed(
                f"the new access key {key.access_key_id} was not delivered "
                f"({str(cause).replace(key.secret_access_key, '****')}); it was deleted again and the old key stays "
                "in use"
            ) from None
        self._record(key.access_key_id, DELIVERED)
        self._untag([ROTATING_TAG])
        self.result.key = key
        self.result.done.append(f"delivered access key {key.access_key_id} ({why})")

    def _verify(self, key: NewAccessKey) -> None:
        identity = poll(
            lambda: self.gateway.accepted_as(key),
            self.options.key_verification,
            KEY_VERIFY_DELAY,
            KEY_VERIFY_DELAY,
            sleep=self.options.sleep or time.sleep,
        )
        if identity is None:
            raise AwsAccessError(
                f"AWS did not accept access key {key.access_key_id} within {self.options.key_verification:.0f} s"
            )
        self.result.verified_as = identity.arn

    def _clean_up_lost_reply(self) -> None:
        """CreateAccessKey's reply was lost: a key made after the mark that nothing records has a secret nobody
        holds. Delete it and clear the mark."""
        (self.options.sleep or time.sleep)(KEY_LOST_REPLY_SETTLE)
        assert self.mark is not None
        for key in self._keys():
            if key.access_key_id in self.records or key.created is None:
                continue
            if as_utc(key.created) >= self.mark - CLOCK_SKEW:
                self._delete(key.access_key_id, "CreateAccessKey's reply with its secret was lost")
        self._untag([ROTATING_TAG])


def rotate_key(
    gateway: Any,
    user: str,
    sink: KeySink,
    options: RotationOptions | None = None,
    configured: Callable[[], str | None] = lambda: None,
    journal: NewAccessKey | None = None,
    now: datetime | None = None,
) -> RotationResult:
    """Take the next steps of the Spot user's key rotation (see the module's description).

    ``configured`` tells which key the Spot Event Plugin is configured with (None: unknown, as on the command
    line); ``journal`` is a key the event plugin delivered or was delivering, with its secret."""
    options = options or RotationOptions()
    return _Rotation(gateway, user, sink, options, configured, journal, now or datetime.now(timezone.utc)).run()

"""What the Spot user's tags record about its access keys, and the mark a key rotation leaves while it runs.

IAM keeps no note of who made an access key, so this project tags the Spot user (IAM allows 50 tags per user; a tag
value holds up to 256 characters of letters, digits, spaces and ``_ . : / = + - @``: the IAM API Reference, ``Tag``):

- ``DeadlineSpotIamSetup:key:<ID>`` = ``<state> <time>``, one per key this project made: ``delivered`` (its secret
  was handed to its destination: the event plugin's settings, or the command line's --secret-out file), ``entered``
  (an admin confirmed that the Spot Event Plugin holds it: ``rotate-key --finish``) or ``retired`` (deactivated by
  this project). A key without such a record is someone else's: it is never deactivated or deleted.
- ``DeadlineSpotIamSetup:rotating`` = the mark of one rotation run, written just before its CreateAccessKey: the
  run's ID, the window in which that call may have created a key, the time by which the run has ended for certain,
  and the key being rotated. When the run is killed, or CreateAccessKey's reply is lost, the key it may have made has
  no record and nobody holds its secret: the mark is what lets a later run recognise it (a key created inside the
  window, other than the rotated key) and delete it. Past its end the mark is void; a key made outside its window is
  never taken for that run's.

Every time here is AWS's clock (see ``gateway.IamGateway.aws_now``), so that marks written on one machine are read
right on another whose clock differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .errors import SetupError
from .values import AccessKeyInfo, as_utc

if TYPE_CHECKING:
    from .gateway_protocol import Gateway

KEY_RECORD_PREFIX = "DeadlineSpotIamSetup:key:"
ROTATING_TAG = "DeadlineSpotIamSetup:rotating"

DELIVERED, ENTERED, RETIRED = "delivered", "entered", "retired"
_STATES = (DELIVERED, ENTERED, RETIRED)

# A key's CreateDate and the mark's times are both AWS's clock, read to the second (CreateDate) and from the HTTP
# Date header (whole seconds): this much either side of the window covers the rounding.
WINDOW_TOLERANCE = timedelta(seconds=2)


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return as_utc(moment)


def format_time(moment: datetime) -> str:
    return as_utc(moment).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class KeyRecord:
    """What the Spot user's tags say about one of its keys: ``state`` (DELIVERED, ENTERED or RETIRED) since ``at``."""

    state: str
    at: datetime


def key_records(tags: dict[str, str]) -> dict[str, KeyRecord]:
    """The key records among the user's tags, by access key ID (an unreadable one is no record)."""
    records = {}
    for name, value in tags.items():
        if not name.startswith(KEY_RECORD_PREFIX):
            continue
        state, _, when = value.partition(" ")
        moment = parse_time(when)
        if state in _STATES and moment is not None:
            records[name[len(KEY_RECORD_PREFIX) :]] = KeyRecord(state, moment)
    return records


def record_tag(access_key_id: str, state: str, at: datetime) -> dict[str, str]:
    return {"Key": KEY_RECORD_PREFIX + access_key_id, "Value": f"{state} {format_time(at)}"}


def record_key(
    gateway: Gateway,
    user: str,
    access_key_id: str,
    state: str,
    at: datetime,
    notes: list[str] | None = None,
) -> None:
    """Tag the Spot user with ``state`` for the key, as of ``at``. With ``notes``, a refusal is noted instead of
    raised (the key works; without the record a later rotation leaves it to an admin)."""
    try:
        gateway.write("TagUser", {"UserName": user, "Tags": [record_tag(access_key_id, state, at)]}, f"user {user}")
    except SetupError as error:
        if notes is None:
            raise
        notes.append(
            f"access key {access_key_id} works, but recording that this project made it failed ({error}): a "
            "rotation will leave the key to an admin"
        )


_MARK = re.compile(
    r"run=(?P<run>[A-Za-z0-9_.:/=+@-]+) at=(?P<at>\S+) created-by=(?P<created>\S+) ends=(?P<ends>\S+) "
    r"old=(?P<old>[A-Za-z0-9]+)"
)


@dataclass(frozen=True)
class RotationMark:
    """One rotation run's mark (see the module's description). ``created_by``: CreateAccessKey cannot have taken
    effect after this (the call's hard deadline); ``ends``: the run has ended by then for certain."""

    run: str
    at: datetime
    created_by: datetime
    ends: datetime
    old_key: str

    def encode(self) -> str:
        return (
            f"run={self.run} at={format_time(self.at)} created-by={format_time(self.created_by)} "
            f"ends={format_time(self.ends)} old={self.old_key}"
        )

    def may_have_made(self, key: AccessKeyInfo) -> bool:
        """Whether ``key`` can be the one this run's CreateAccessKey made: not the rotated key, and created inside the
        call's window. Creation time alone proves nothing else: a key made at any other time is not this run's."""
        if key.access_key_id == self.old_key or key.created is None:
            return False
        created = as_utc(key.created)
        return self.at - WINDOW_TOLERANCE <= created <= self.created_by + WINDOW_TOLERANCE

    def over(self, now: datetime) -> bool:
        """The run has ended for certain: whatever key it made and did not record, nobody holds the secret of."""
        return now > self.ends + WINDOW_TOLERANCE


@dataclass(frozen=True)
class UnreadableMark:
    """A ``rotating`` tag this version cannot read (an older version's, or one edited by hand): its run's window is
    unknown, so no key is ever taken for that run's, and the mark is void."""

    text: str

    def may_have_made(self, key: AccessKeyInfo) -> bool:
        return False

    def over(self, now: datetime) -> bool:
        return True


def parse_mark(text: str | None) -> RotationMark | UnreadableMark | None:
    if text is None:
        return None
    found = _MARK.fullmatch(text.strip())
    if found is not None:
        times = [parse_time(found.group(name)) for name in ("at", "created", "ends")]
        if all(moment is not None for moment in times):
            at, created_by, ends = times
            return RotationMark(found.group("run"), at, created_by, ends, found.group("old"))  # type: ignore[arg-type]
    return UnreadableMark(text)

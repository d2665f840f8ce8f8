"""Rotating the Spot user's access key so that the Spot Event Plugin holds a working key at every moment.

The state lives in IAM: the user's keys and the tags recording which of them this project made (``key_records``),
plus a mark while a rotation run may be creating a key. The event plugin adds a journal: its own settings hold the
last key it delivered, with the secret, written before the Spot Event Plugin's settings. Each run looks at that
state and takes the next steps:

1. mark the run (its ID, the window of its CreateAccessKey, when it ends for certain, the key being rotated);
2. create the new key; 3. verify it with STS; 4. hand it over (:class:`KeyHolder`: the plugin's journal, then the
Spot Event Plugin's settings; the command line's --secret-out file, written aside); 5. record it as delivered, make
the hand-over visible (the file is renamed into place only now) and clear the mark;
6. switch over: deactivate the old key, but only on evidence that nothing but the Spot Event Plugin's switch-over
produces. The event plugin: STS accepts the exact pair now in the Spot Event Plugin's settings and that pair is the
new key (and, for a named profile, every machine that reported holds it). The command line: an admin confirms the
new key is entered (``rotate-key --finish``) and the old key has not been used since, for longer than IAM takes to
record a use. A call made with the new key proves nothing: this tool's own checks and an admin's test of the key
make such calls too.
7. delete the deactivated key once it has gone unused for ``KEY_RETIRE_GRACE``.

A run killed between any two steps leaves a state the next run finishes: a key the journal holds is delivered again;
a key that nothing records, created inside a mark's window (not the rotated key) and never used, had its secret lost
with its run: it is deleted once that run has ended for certain, and the void mark removed. Only keys recorded as
this project's are ever deactivated or deleted.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from .commands import command
from .errors import (
    AwsAccessError,
    Cancelled,
    KeyDeliveryFailed,
    LimitExceeded,
    ReplyLost,
    SetupError,
    stop_reason,
)
from .findings import ManualStep, RotationResult
from .key_delivery import deliver_new_key, hand_over
from .key_records import (
    DELIVERED,
    ENTERED,
    KEY_RECORD_PREFIX,
    RETIRED,
    ROTATING_TAG,
    KeyRecord,
    RotationMark,
    UnreadableMark,
    format_time,
    key_records,
    parse_mark,
    record_tag,
)
from .kinds import Kind
from .values import AccessKeyInfo, KeyUsage, NewAccessKey, as_utc
from .waits import (
    CLI_TIMEOUTS,
    KEY_IDLE_BEFORE_RETIRING,
    KEY_LOST_REPLY_SETTLE,
    KEY_MAX_AGE_DAYS,
    KEY_RETIRE_GRACE,
    KEY_VERIFY_DELAY,
    ROTATION_RUN_CALLS,
    poll,
)

if TYPE_CHECKING:
    from .gateway_protocol import Gateway


@dataclass(frozen=True)
class HeldKey:
    """The access key pair the Spot Event Plugin is configured with, as its settings hold it now."""

    access_key_id: str
    secret_access_key: str = field(repr=False)


class KeyHolder:
    """Where the rotation hands the new key, and what it can tell about the key the Spot Event Plugin holds.

    The command line's holder is a file an admin copies the key from: it knows nothing of the Spot Event Plugin
    (``held`` is None), and the switch-over waits for the admin's confirmation. The event plugin's holder writes the
    Spot Event Plugin's settings itself and reads them back."""

    def stage(self, key: NewAccessKey) -> None:
        """Hand ``key`` over, so that ``withdraw`` can still take it back."""
        raise NotImplementedError

    def publish(self, key: NewAccessKey) -> None:
        """The key is recorded as this project's: make the hand-over final."""

    def withdraw(self, key: NewAccessKey) -> None:
        """The key is being deleted (it was not recorded): take back what ``stage`` wrote."""

    def journal(self) -> NewAccessKey | None:
        """A key this holder was given before, with its secret (the event plugin's own settings), or None."""
        return None

    def held(self) -> HeldKey | None:
        """The pair the Spot Event Plugin is configured with now; None when it has none or this holder cannot
        tell (the command line)."""
        return None

    def not_yet_holding(self, access_key_id: str) -> list[str]:
        """Other places the Spot Event Plugin runs that do not hold ``access_key_id`` yet (named-profile delivery:
        the machines that have not written it into their own credentials file)."""
        return []

    @property
    def automatic(self) -> bool:
        """True when the holder delivers to the Spot Event Plugin itself and can read back what it holds."""
        return False


@dataclass(frozen=True)
class RotationOptions:
    max_age_days: int = KEY_MAX_AGE_DAYS  # with ``if_due``: rotate a key older than this; 0: never by age
    if_due: bool = False  # rotate only when the key is older than max_age_days (the plugin, schedulers)
    start: bool = True  # whether this run may start a new rotation (``rotate-key --finish`` only finishes one)
    confirm_entered: bool = False  # the admin confirms the newest key is entered in the Spot Event Plugin
    abandon: bool = False  # delete the pending new key: it was never entered (its file was lost)
    key_verification: float = 20.0  # how long to wait for STS to accept the new key
    retire_grace: timedelta = KEY_RETIRE_GRACE
    idle_before_retiring: timedelta = KEY_IDLE_BEFORE_RETIRING
    call_deadline: float = CLI_TIMEOUTS.call_deadline  # the hard deadline of one call (CreateAccessKey's included)
    cancelled: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] | None = None  # None: time.sleep (tests pass a no-op)
    monotonic: Callable[[], float] = time.monotonic
    run_id: str | None = None  # None: this host's name and a random part
    progress: Callable[[str], None] = lambda line: None  # each step done, as it is done

    @property
    def run_budget(self) -> timedelta:
        """How long a run that marked itself may take, at most (``waits.ROTATION_RUN_CALLS``)."""
        return timedelta(seconds=ROTATION_RUN_CALLS * self.call_deadline)

    @property
    def reserve(self) -> timedelta:
        """No step starts later than this before the run's end: the call in flight, and the clean-up of a key the run
        cannot hand over (its delete, and the removal of its mark)."""
        return timedelta(seconds=3 * self.call_deadline)


def new_run_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-.")[:40] or "host"
    return f"{host}-{os.urandom(4).hex()}"


def _age(key: AccessKeyInfo, now: datetime) -> timedelta:
    """How old the key is at AWS's time ``now``: never less than zero (AWS's time is read from its replies' Date header,
    to the second, so a key made within that second can look younger than that)."""
    return max(now - as_utc(key.created), timedelta(0)) if key.created is not None else timedelta(0)


def _when(moment: datetime) -> str:
    return format_time(moment).replace("T", " ").replace("Z", " UTC")


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} hours" if minutes % 60 == 0 and minutes >= 120 else f"{minutes} minutes"


def _last_use(usage: KeyUsage) -> datetime | None:
    """When the key was last used, to the second: records keep whole seconds, so a use in the second a record was
    written does not count as after it."""
    return as_utc(usage.last_used).replace(microsecond=0) if usage.last_used is not None else None


def _usage_text(usage: KeyUsage) -> str:
    where = " ".join(part for part in (usage.service, usage.region) if part and part.upper() != "N/A")
    return f"last used {_when(usage.last_used)}" + (f" ({where})" if where else "") if usage.last_used else "never used"


class _Rotation:
    def __init__(
        self,
        gateway: Gateway,
        user: str,
        holder: KeyHolder,
        options: RotationOptions,
        now: datetime | None,
    ) -> None:
        self.gateway = gateway
        self.user = user
        self.holder = holder
        self.options = options
        self._given_now = now
        self.now: datetime = now or datetime.min  # set once the first reply told AWS's time
        self._started = options.monotonic()
        self.result = RotationResult()
        self.records: dict[str, KeyRecord] = {}
        self.mark: RotationMark | UnreadableMark | None = None
        self.own_mark: RotationMark | None = None
        self.run_id = options.run_id or new_run_id()

    # -- time ---------------------------------------------------------------------------------------
    def clock(self) -> datetime:
        """AWS's time now: the run's start (the gateway's reading of AWS's clock, or the caller's) plus the time
        since, on this machine's monotonic clock."""
        return self.now + timedelta(seconds=self.options.monotonic() - self._started)

    # -- small steps --------------------------------------------------------------------------------
    def _start(self, what: str) -> None:
        if self.options.cancelled():
            raise Cancelled(f"stopped before {what}: {stop_reason(self.options.cancelled)}; the next run continues")
        mark = self.own_mark
        if mark is not None and self.clock() + self.options.reserve > mark.ends:
            raise Cancelled(
                f"stopped before {what}: this rotation run's time ({int(self.options.run_budget.total_seconds())} s "
                "after its mark) is up"
            )

    @property
    def _who(self) -> str:
        return f"user {self.user}"

    def _tag(self, tags: list[dict[str, str]]) -> None:
        self.gateway.write("TagUser", {"UserName": self.user, "Tags": tags}, self._who)

    def _untag(self, keys: list[str]) -> None:
        if keys:
            self.gateway.write("UntagUser", {"UserName": self.user, "TagKeys": keys}, self._who)

    def _record(self, access_key_id: str, state: str) -> None:
        at = self.clock()
        self._tag([record_tag(access_key_id, state, at)])
        self.records[access_key_id] = KeyRecord(state, at)

    def _delete(self, key_id: str, why: str) -> None:
        self.gateway.delete_access_key(self.user, key_id, cleanup=True)
        self._untag([KEY_RECORD_PREFIX + key_id] if key_id in self.records else [])
        self.records.pop(key_id, None)
        self._done(f"deleted access key {key_id} of user {self.user} ({why})")

    def _keys(self) -> tuple[AccessKeyInfo, ...]:
        keys = self.gateway.access_keys(self.user)
        if keys is None:
            raise AwsAccessError(f"user {self.user} does not exist: run apply first")
        return keys

    def _done(self, line: str) -> None:
        """A step done: in the result, and told at once (a run that fails later has still done it)."""
        self.result.done.append(line)
        self.options.progress(line)

    def _step(self, problem: str, remedy: str) -> ManualStep:
        return ManualStep(Kind.ACCESS_KEY, self.user, problem, remedy)

    def _journal_key(self, key_id: str) -> NewAccessKey | None:
        journal = self.holder.journal()
        return journal if journal is not None and journal.access_key_id == key_id else None

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> RotationResult:
        keys = self._keys()
        tags = self.gateway.user_tags(self.user) or {}
        if self._given_now is None:
            self.now = self.gateway.aws_now()
            self._started = self.options.monotonic()
        self.records = key_records(tags)
        self.mark = parse_mark(tags.get(ROTATING_TAG))
        ids = {k.access_key_id for k in keys}
        gone = [KEY_RECORD_PREFIX + key_id for key_id in self.records if key_id not in ids]
        if gone:
            self._start("forgetting the records of deleted keys")
            self._untag(gone)
            self.records = {k: v for k, v in self.records.items() if k in ids}
        if not self._settle(keys):
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
            self._rotate_if_asked(active[0], keys)
        return self.result

    def _settle(self, keys: tuple[AccessKeyInfo, ...]) -> bool:
        """Keys no record names: the journal's key is delivered again; a key an interrupted rotation made (inside
        its mark's window) is deleted once that run has ended, if nothing uses it. Then a void mark is removed.
        False: another run is rotating right now, so this run stops here."""
        journal = self.holder.journal()
        if journal is not None and any(k.active and k.access_key_id == journal.access_key_id for k in keys):
            self._redeliver_journal(journal)
        mark = self.mark
        if mark is None:
            return True
        now = self.clock()
        if not mark.over(now):
            assert isinstance(mark, RotationMark)
            if not any(mark.may_have_made(k) and k.access_key_id in self.records for k in keys):
                self.result.waiting.append(
                    f"another run ({mark.run}) is rotating the access key right now: run again after {_when(mark.ends)}"
                )
                return False
            # That run's key is delivered and recorded (its journal let this run finish the delivery): the mark has
            # served, whether that run still lives or not.
            self._start("removing the rotation mark of a delivered key")
            self._untag([ROTATING_TAG])
            self.mark = None
            return True
        for key in keys:
            if key.access_key_id in self.records or not key.active or not mark.may_have_made(key):
                continue
            assert isinstance(mark, RotationMark)
            self._start(f"settling access key {key.access_key_id}")
            usage = self.gateway.key_usage(key.access_key_id)
            if not self._nobody_holds(usage):
                self.result.manual.append(
                    self._step(
                        f"access key {key.access_key_id} was created while the interrupted rotation run {mark.run} "
                        f"could have made it ({_when(mark.at)}), but it is in use ({_usage_text(usage)}), so it is "
                        "not that run's lost key",
                        "if you made it, keep it; otherwise find what uses it, then deactivate and delete it "
                        f"(aws iam delete-access-key --user-name {self.user} --access-key-id {key.access_key_id})",
                    )
                )
                continue
            self._delete(
                key.access_key_id, f"the interrupted rotation run {mark.run} made it and nobody holds its secret"
            )
        self._start("removing the void rotation mark")
        self._untag([ROTATING_TAG])
        what = f"run {mark.run}" if isinstance(mark, RotationMark) else f"'{mark.text}'"
        self._done(f"removed the mark of an interrupted key rotation ({what})")
        self.mark = None
        return True

    def _redeliver_journal(self, journal: NewAccessKey) -> None:
        """The event plugin's journal names an active key whose delivery a stopped run left unfinished: the key is not
        recorded yet, or the Spot Event Plugin holds its ID with another secret (Deadline writes one setting at a
        time). Deliver it again, unless the Spot Event Plugin holds a key this project did not make (an admin's
        choice, left alone)."""
        held = self.holder.held()
        if held is not None and held.access_key_id != journal.access_key_id and held.access_key_id not in self.records:
            return
        half_written = (
            held is not None
            and held.access_key_id == journal.access_key_id
            and held.secret_access_key != journal.secret_access_key
        )
        if journal.access_key_id not in self.records:
            self._deliver_again(journal, "finishing the delivery an interrupted run started")
        elif half_written:
            self._deliver_again(journal, "the Spot Event Plugin's settings held the key half-written")

    def _nobody_holds(self, usage: KeyUsage) -> bool:
        """Whether an interrupted run's unrecorded key can be held by nobody. Never used: its secret went down with
        the run. Used by STS only, when this holder keeps a journal (the event plugin): the run's own verification;
        had the key been handed to the Spot Event Plugin, the journal (written first) would name it. Any other use:
        something holds it."""
        if usage.last_used is None:
            return True
        return self.holder.automatic and (usage.service or "").lower() == "sts"

    def _retire_inactive(self, keys: tuple[AccessKeyInfo, ...]) -> None:
        """Delete a retired key once it has gone unused for the grace period since it was deactivated."""
        for key in keys:
            record = self.records.get(key.access_key_id)
            if key.active or record is None:
                continue
            held = self.holder.held()
            if held is not None and held.access_key_id == key.access_key_id:
                self.result.manual.append(
                    self._step(
                        f"the Spot Event Plugin is configured with access key {key.access_key_id}, which is inactive",
                        "run the event plugin again (it delivers the active key) or enter the active key",
                    )
                )
                continue
            self._start(f"retiring access key {key.access_key_id}")
            if record.state != RETIRED:  # deactivated by a run that stopped before recording it, or by hand
                self._record(key.access_key_id, RETIRED)
                record = self.records[key.access_key_id]
            due = record.at + self.options.retire_grace
            if self.clock() < due:
                self.result.remaining.append(
                    f"the old access key {key.access_key_id} is inactive; a run after {_when(due)} deletes it, unless "
                    "something tried to use it by then"
                )
                continue
            usage = self.gateway.key_usage(key.access_key_id)
            last = _last_use(usage)
            if last is not None and last > record.at:
                self.result.manual.append(
                    self._step(
                        f"the inactive access key {key.access_key_id} was used after it was deactivated "
                        f"({_usage_text(usage)})",
                        "something still holds it: find it and give it the new key; the key is then deleted, or "
                        f"delete it yourself (aws iam delete-access-key --user-name {self.user} --access-key-id "
                        f"{key.access_key_id})",
                    )
                )
                continue
            self._delete(key.access_key_id, f"inactive since {_when(record.at)} and unused since")

    # -- switching over to the newest key -----------------------------------------------------------
    def _switch_over(self, old: AccessKeyInfo, new: AccessKeyInfo) -> None:
        """Two active keys: the newer one delivered by a rotation. Deactivate the older one once the evidence
        holds (see the module's description)."""
        new_record = self.records.get(new.access_key_id)
        if new_record is None:
            self.result.manual.append(
                self._step(
                    f"the user has two active access keys ({old.access_key_id}, {new.access_key_id}) and this "
                    f"project did not make {new.access_key_id}",
                    "deactivate and delete the one the Spot Event Plugin does not use, then run again",
                )
            )
            return
        old_record = self.records.get(old.access_key_id)
        if old_record is not None and old_record.state == RETIRED:
            self.result.manual.append(
                self._step(
                    f"the old access key {old.access_key_id} was deactivated by this project and made active again "
                    "since",
                    f"when nothing uses it any more, deactivate it (aws iam update-access-key --user-name {self.user} "
                    f"--access-key-id {old.access_key_id} --status Inactive); it is deleted later",
                )
            )
            return
        if self.options.abandon:
            self._abandon(new, new_record)
            return
        if self.holder.automatic:
            proven = self._held_by_spot_plugin(old, new)
        else:
            proven = self._entered_and_old_idle(old, new, new_record)
        if proven:
            self._deactivate(old)

    def _held_by_spot_plugin(self, old: AccessKeyInfo, new: AccessKeyInfo) -> bool:
        """The event plugin: the Spot Event Plugin's settings hold the new key's exact pair, and STS accepts it."""
        held = self.holder.held()
        journalled = self._journal_key(new.access_key_id)
        if (
            journalled is not None
            and (held is None or held.access_key_id != new.access_key_id)
            and (held is None or held.access_key_id in self.records)
        ):
            self._deliver_again(journalled, "the Spot Event Plugin did not hold the newest key")
            held = self.holder.held()
        if held is None or held.access_key_id != new.access_key_id:
            holds = f"holds access key {held.access_key_id}" if held is not None else "holds no access key"
            where = (
                "its secret was written to the --secret-out file of the rotate-key run that made it"
                if journalled is None
                else "its secret is in this plugin's Delivered Secret Access Key"
            )
            self.result.manual.append(
                self._step(
                    f"the newest access key {new.access_key_id} is not in the Spot Event Plugin's settings (it "
                    f"{holds}); {where}",
                    f"enter {new.access_key_id} and its secret in the Spot Event Plugin's settings; the old key "
                    f"{old.access_key_id} stays active until AWS accepts the pair entered there",
                )
            )
            return False
        verified = self.result.key
        if not (
            verified is not None
            and self.result.verified_as
            and verified.access_key_id == held.access_key_id
            and verified.secret_access_key == held.secret_access_key
        ):
            self._start(f"checking the access key the Spot Event Plugin holds ({held.access_key_id})")
            pair = NewAccessKey(self.user, held.access_key_id, held.secret_access_key)
            if self.gateway.accepted_as(pair) is None:
                self.result.manual.append(
                    self._step(
                        f"the Spot Event Plugin's settings hold access key {held.access_key_id} with a secret AWS does "
                        "not accept",
                        f"enter the secret of {held.access_key_id} (from where the key was written when it was made); "
                        f"the old key {old.access_key_id} stays active until then",
                    )
                )
                return False
        missing = self.holder.not_yet_holding(new.access_key_id)
        if missing:
            self.result.waiting.append(
                f"the new access key {new.access_key_id} is not yet in the credentials file of "
                f"{', '.join(missing)}: each takes it at its next house cleaning; the old key {old.access_key_id} "
                "stays active until then"
            )
            return False
        return True

    def _entered_and_old_idle(self, old: AccessKeyInfo, new: AccessKeyInfo, record: KeyRecord) -> bool:
        """The command line: the admin confirmed the new key is entered, and the old key has not been used since, for
        longer than IAM needs to record a use ("When an access key is used more than once in a 15-minute span, only
        the first use is recorded": IAM User Guide, Getting credential reports, access_key_1_last_used_date)."""
        if self.options.confirm_entered:
            self._start(f"recording that access key {new.access_key_id} is entered")
            self._record(new.access_key_id, ENTERED)
            record = self.records[new.access_key_id]
            self._done(f"recorded that access key {new.access_key_id} is entered in the Spot Event Plugin")
        if record.state != ENTERED:
            self.result.waiting.append(
                f"enter the new access key {new.access_key_id} in the Spot Event Plugin's settings (Monitor: Tools > "
                f"Configure Events > Spot), then run {command('rotate-key --finish')}; the old key "
                f"{old.access_key_id} stays active until then (lost the key's file? {command('rotate-key --abandon')} "
                "deletes the new key, which must not be entered anywhere)"
            )
            return False
        self._start(f"looking at the old access key {old.access_key_id}'s last use")
        usage = self.gateway.key_usage(old.access_key_id)
        last = _last_use(usage)
        if last is not None and last > record.at:
            self.result.waiting.append(
                f"the old access key {old.access_key_id} was used after you confirmed at {_when(record.at)} that the "
                f"new key is entered ({_usage_text(usage)}): something still holds it. Find it (another Spot Event "
                f"Plugin, a script, a profile), give it the new key, then run {command('rotate-key --finish')} again"
            )
            return False
        idle = self.options.idle_before_retiring
        if last is not None and self.clock() < last + idle:
            self.result.waiting.append(
                f"the old access key {old.access_key_id} was {_usage_text(usage)}; it is deactivated once it has gone "
                f"unused for {_duration(idle)}, so that a use by anything still holding it shows first (IAM shows a "
                f"key's use after a delay): run {command('rotate-key')} again after {_when(last + idle)}"
            )
            return False
        return True

    def _abandon(self, new: AccessKeyInfo, record: KeyRecord) -> None:
        """rotate-key --abandon: delete the pending new key, which must never have been entered nor used."""
        if record.state == ENTERED:
            self.result.manual.append(
                self._step(
                    f"the new access key {new.access_key_id} was confirmed as entered in the Spot Event Plugin",
                    f"it is not abandoned: finish the rotation with {command('rotate-key --finish')}",
                )
            )
            return
        self._start(f"looking at access key {new.access_key_id}'s use")
        usage = self.gateway.key_usage(new.access_key_id)
        if usage.last_used is not None and (usage.service or "").lower() not in ("", "n/a", "sts"):
            self.result.manual.append(
                self._step(
                    f"the new access key {new.access_key_id} has been used ({_usage_text(usage)}): it may be entered "
                    "somewhere",
                    f"it is not abandoned: if the Spot Event Plugin holds it, run {command('rotate-key --finish')}; "
                    "otherwise delete "
                    f"it yourself (aws iam delete-access-key --user-name {self.user} --access-key-id "
                    f"{new.access_key_id})",
                )
            )
            return
        self._start(f"deleting access key {new.access_key_id}")
        self._delete(new.access_key_id, "abandoned: its secret was never entered; the old key stays in use")

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
        self._done(f"deactivated the old access key {old.access_key_id}")
        self.result.remaining.append(
            f"the old access key {old.access_key_id} is inactive; a run after "
            f"{_when(self.records[old.access_key_id].at + self.options.retire_grace)} deletes it, unless something "
            "tried to use it by then"
        )

    # -- starting a rotation ------------------------------------------------------------------------
    def _rotate_if_asked(self, current: AccessKeyInfo, keys: tuple[AccessKeyInfo, ...]) -> None:
        options = self.options
        if options.abandon or options.confirm_entered:
            self.result.notes.append(
                f"no rotation is waiting to be finished: access key {current.access_key_id} is the only active key"
            )
            return
        if not options.start:
            self.result.notes.append(
                f"no rotation is under way: access key {current.access_key_id} is the only active key (give "
                "--secret-out FILE to rotate it)"
            )
            return
        if self.holder.automatic:
            held = self.holder.held()
            if held is not None and held.access_key_id != current.access_key_id:
                return  # the Spot plugin has another key: the key check reports that, rotating would not help
        age = _age(current, self.now)
        limit = options.max_age_days
        if options.if_due and not (limit and age > timedelta(days=limit)):
            due = f"when it is older than {limit} days" if limit else "only when asked to (no age limit)"
            self.result.notes.append(f"access key {current.access_key_id} is {age.days} days old: it is rotated {due}")
            return
        inactive = [k for k in keys if not k.active]
        if inactive:
            blocker = inactive[0]
            rotated = "is due for rotation" if options.if_due else "is to be rotated"
            if blocker.access_key_id in self.records:
                self.result.waiting.append(
                    f"access key {current.access_key_id} {rotated}, but the retired key {blocker.access_key_id} "
                    "still fills IAM's second slot: it is deleted first"
                )
            else:
                self.result.manual.append(
                    self._step(
                        f"access key {current.access_key_id} {rotated}, but the inactive key "
                        f"{blocker.access_key_id}, not made by this project, is in the way (IAM allows two keys per "
                        "user)",
                        f"delete it if nothing uses it (aws iam delete-access-key --user-name {self.user} "
                        f"--access-key-id {blocker.access_key_id}), then run again",
                    )
                )
            return
        self._rotate(current, age, keys)

    def _rotate(self, old: AccessKeyInfo, age: timedelta, before: tuple[AccessKeyInfo, ...]) -> None:
        self._start("rotating the access key")
        at = self.clock()
        mark = RotationMark(
            run=self.run_id,
            at=at,
            created_by=at + timedelta(seconds=self.options.call_deadline),
            ends=at + self.options.run_budget,
            old_key=old.access_key_id,
        )
        self._tag([{"Key": ROTATING_TAG, "Value": mark.encode()}])
        self.own_mark = mark
        try:
            self._start("creating the new access key")
            key = self.gateway.create_access_key(self.user)
        except LimitExceeded:
            self._drop_own_mark()
            self.result.waiting.append("another run is rotating the access key right now: run again in a few minutes")
            return
        except ReplyLost:
            deleted = self._clean_up_lost_reply(mark, before)
            self._drop_own_mark()
            what = f"the key it made ({', '.join(deleted)}) was deleted" if deleted else "it made no key that is left"
            raise AwsAccessError(
                f"the reply to CreateAccessKey for user {self.user} was lost; {what}, and the old key "
                f"{old.access_key_id} stays in use: run again"
            ) from None
        except BaseException:
            self._drop_own_mark()
            raise
        self._done(f"created access key {key.access_key_id} to replace {old.access_key_id} ({age.days} days old)")
        self._deliver_new(key)
        if self.holder.automatic:
            self._switch_over(old, AccessKeyInfo(key.access_key_id, True, key.created or self.clock()))
        else:
            self.result.waiting.append(
                f"enter the new access key {key.access_key_id} in the Spot Event Plugin's settings (Monitor: Tools > "
                f"Configure Events > Spot), then run {command('rotate-key --finish')}: the old key "
                f"{old.access_key_id} stays active until then"
            )

    def _drop_own_mark(self) -> None:
        """Remove this run's mark when it is still the one on the user (a racing run may have replaced it: that
        run's mark stays). Best effort: a mark left behind is void once the run has ended."""
        mark, self.own_mark = self.own_mark, None
        if mark is None:
            return
        try:
            tags = self.gateway.user_tags(self.user) or {}
            current = parse_mark(tags.get(ROTATING_TAG))
            if isinstance(current, RotationMark) and current.run == mark.run:
                self._untag([ROTATING_TAG])
        except SetupError:
            pass

    def _deliver_new(self, key: NewAccessKey) -> None:
        """Verify, hand over, record as delivered, publish, clear this run's mark (:func:`key_delivery.deliver_new_key`,
        with the steps below). A key that cannot be verified, handed over, recorded or published is withdrawn and
        deleted again."""
        deliver_new_key(key, self.gateway, self)
        self._delivered(key, "rotation")

    def _deliver_again(self, key: NewAccessKey, why: str) -> None:
        """The journal's key, handed over again the same way; a failure leaves it for the next run (the Spot Event
        Plugin may hold it already)."""
        hand_over(key, self)
        self._delivered(key, why)

    def _delivered(self, key: NewAccessKey, why: str) -> None:
        if self.own_mark is not None:
            self.own_mark = None
            self._untag([ROTATING_TAG])
        self._done(f"delivered access key {key.access_key_id} ({why})")

    # -- the hand-over's steps (key_delivery.KeyDelivery) ---------------------------------------------------------
    def before_hand_over(self, key: NewAccessKey) -> None:
        """The key must work before the Spot Event Plugin is given it."""
        self._start(f"delivering access key {key.access_key_id}")
        self._verify(key)

    def stage(self, key: NewAccessKey) -> None:
        self.holder.stage(key)

    def record(self, key: NewAccessKey) -> None:
        self._record(key.access_key_id, DELIVERED)

    def publish(self, key: NewAccessKey) -> None:
        self.holder.publish(key)
        self.result.key = key  # delivered: a run stopped from here on still says where it is

    def withdraw(self, key: NewAccessKey) -> None:
        """When the hand-over cannot be undone, the key stays: the Spot Event Plugin may hold it, and the journal lets
        the next run finish its delivery."""
        self.holder.withdraw(key)

    def forget(self, key: NewAccessKey) -> None:
        """The key is deleted: its record goes, and this run's mark."""
        self.records.pop(key.access_key_id, None)
        try:
            self._untag([KEY_RECORD_PREFIX + key.access_key_id])  # written, or its reply lost, before the failure
        except SetupError:
            pass  # the next run forgets the records of deleted keys
        self._drop_own_mark()

    def undelivered(self, key: NewAccessKey, error: Exception, cause: str) -> SetupError | None:
        return KeyDeliveryFailed(
            f"the new access key {key.access_key_id} was not delivered ({cause}); it was deleted again and the old key "
            "stays in use"
        )

    def _verify(self, key: NewAccessKey) -> None:
        def attempt() -> Any:
            self._start(f"verifying access key {key.access_key_id}")
            return self.gateway.accepted_as(key)

        identity = poll(
            attempt,
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

    def _clean_up_lost_reply(self, mark: RotationMark, before: tuple[AccessKeyInfo, ...]) -> list[str]:
        """CreateAccessKey's reply was lost: a key made in this run's window that was not there before, that nothing
        records and nothing has used, has a secret nobody holds. Delete it. The rotated key, and any key that was
        there before, are never candidates."""
        (self.options.sleep or time.sleep)(KEY_LOST_REPLY_SETTLE)
        known = {k.access_key_id for k in before}
        deleted = []
        for key in self._keys():
            if key.access_key_id in known or key.access_key_id in self.records or not mark.may_have_made(key):
                continue
            if self.gateway.key_usage(key.access_key_id).last_used is not None:
                continue  # someone holds its secret: not this run's lost key
            self._delete(key.access_key_id, "CreateAccessKey's reply with its secret was lost")
            deleted.append(key.access_key_id)
        return deleted


def rotate_key(
    gateway: Gateway,
    user: str,
    holder: KeyHolder,
    options: RotationOptions | None = None,
    now: datetime | None = None,
) -> RotationResult:
    """Take the next steps of the Spot user's key rotation (see the module's description). ``now``: AWS's time at
    the start of the run (None: as the gateway reads it from AWS's replies). A run stopped part-way raises its error
    with the steps it took (and the key it delivered) as ``partial_result``."""
    rotation = _Rotation(gateway, user, holder, options or RotationOptions(), now)
    try:
        return rotation.run()
    except SetupError as error:
        error.partial_result = rotation.result
        raise

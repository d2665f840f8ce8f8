"""One house cleaning: decide whether a check is due, run the engine within the run limit (worker.py), log the
outcome (messages.py), hand a new key to the Spot Event Plugin (handoff.py), rotate the key once it is older than
RotateKeyAfterDays, and forget the bootstrap credential when asked to, once the key is known to work.

Never raises into Deadline.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from DeadlineSpotIamSetup import commands
from DeadlineSpotIamSetup.apply import ApplyOptions
from DeadlineSpotIamSetup.desired import DesiredState, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes, rotate_access_key
from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.findings import DONE, Plan, RotationResult
from DeadlineSpotIamSetup.gateway import IamGateway, connect
from DeadlineSpotIamSetup.gateway_protocol import Gateway
from DeadlineSpotIamSetup.key_records import ROTATING_TAG, key_records
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.report import (
    KEY_LEFT_TO_ANOTHER_RUN,
    finding_lines,
    key_accepted_line,
    key_delivered_line,
    manual_text,
    summary_line,
)
from DeadlineSpotIamSetup.rotation import RotationOptions
from DeadlineSpotIamSetup.values import NewAccessKey, Observed, as_utc
from DeadlineSpotIamSetup.waits import (
    KEY_HOLDER_REPORT_WINDOW,
    PLUGIN_APPLY_WAITS,
    PLUGIN_RUN_LIMIT,
    PLUGIN_TIMEOUTS,
    REAL_CLOCK,
    Clock,
)

from . import messages
from .bookkeeping import Metadata, RunBook, check_now_reason, record_request_honoured, record_result
from .farm_view import IdentityResult, MachineResult
from .handoff import KeyHandoff, PluginKeyHolder
from .logbridge import INFO, WARNING, PluginLog
from .settings import ROLE_MODE, PluginSettings, read_settings
from .spot_config import SpotPluginConfig, read_spot_plugin_config
from .status import RunFacts, RunReport, RunStatus, key_confirmed, run_status
from .worker import Emit, left_behind_busy, run_bounded

RUN_LIMIT = PLUGIN_RUN_LIMIT
# The installed plugin's folder: <repository>/custom/events/<plugin>/ holds lib/spot_iam_plugin/ (this file's folder).
_PLUGIN_FOLDER = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
_ROLE_MODE_LOCK = threading.Lock()
_ROLE_MODE_SAID: list[bool] = []  # this process has said that the role mode is available


class EngineJob:
    """The part that talks to AWS (runs in the worker thread; reports through ``emit``)."""

    def __init__(
        self,
        settings: PluginSettings,
        repository_utils: Any,
        plugin_name: str,
        emit: Emit,
        protect: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
        now: datetime | None = None,
        profile_holders: dict[str, str] | None = None,
        host: str = "",
    ) -> None:
        self.settings = settings
        self.repository = repository_utils
        self.plugin_name = plugin_name
        self.emit = emit
        self.protect = protect  # masks a secret in every later log line
        self.cancelled = cancelled
        self.now = now  # AWS's time, as tests set it (None: as the gateway reads it from AWS's replies)
        self.profile_holders = profile_holders or {}  # machine: the key its named profile holds (bookkeeping.py)
        self.host = host  # this machine
        self.apply_options = ApplyOptions(waits=PLUGIN_APPLY_WAITS, cancelled=cancelled)

    def deliver(self, handoff: KeyHandoff, key: NewAccessKey) -> None:
        self.protect(key.secret_access_key)
        handoff(key)

    def _usable_handoff(self, handoff: KeyHandoff | None) -> KeyHandoff | None:
        """The hand-off, when its settings can work; otherwise None (no key is created) and a warning naming the
        setting to change. Checked before any write, so no key is created and deleted again on every attempt."""
        if handoff is None or not handoff.enabled:
            return None
        try:
            handoff.validate()
        except InvalidSettings as error:
            self.emit(WARNING, messages.delivery_settings_invalid(error, self.plugin_name))
            return None
        return handoff

    def run(self) -> RunReport:
        facts, plan = self.check()
        return RunReport(run_status(facts), key_confirmed(facts), identity_results(plan))

    def check(self) -> tuple[RunFacts, Plan]:
        """The check, each step logged as it goes: what it found, and the plan as it left the identities."""
        settings = self.settings
        spot = read_spot_plugin_config(self.repository, settings.spot_plugin_name)
        desired = desired_state(
            replace(
                settings.engine_settings(),
                fleet_groups=spot.fleet_groups,
                spot_uses_resource_tracker=spot.uses_resource_tracker,
                spot_region=spot.region,
            )
        )
        with connect(settings.aws_access(), self.cancelled) as gateway:  # closed: no call of the check outlives it
            return self._check(gateway, desired, spot)

    def _check(self, gateway: IamGateway, desired: DesiredState, spot: SpotPluginConfig) -> tuple[RunFacts, Plan]:
        settings = self.settings
        self.emit(INFO, messages.using(settings, gateway.endpoint_description))
        self._say_role_mode_available(gateway)
        if spot.why_not_audited:
            self.emit(INFO, messages.fleets_not_audited(spot.why_not_audited))
        elif spot.source:
            self.emit(INFO, messages.fleets_audited_from(spot.source))
        role_mode = settings.spot_credentials_mode == ROLE_MODE
        handoff = None if role_mode else KeyHandoff(self.repository, settings, self.plugin_name)
        if settings.create_missing:
            plan, facts = self._create_missing(gateway, desired, handoff)
        else:
            plan, facts = self._check_only(gateway, desired)
        for step in plan.manual:
            item = manual_text(step)
            if step.kind is Kind.ACCESS_KEY and handoff is not None and not handoff.enabled:
                item += " (KeyDelivery is None: set it to Automatic to have a key created and delivered)"
            self.emit(WARNING, messages.admin_to_do(item))
        if facts.key_left_to_another_run:
            self.emit(INFO, KEY_LEFT_TO_ANOTHER_RUN)
        elif handoff is not None and handoff.enabled and not facts.key_delivered and self._key_ok(plan):
            facts = replace(facts, key_in_use=self._check_key_in_use(plan, desired, handoff))
        return replace(facts, role_mode=role_mode), plan

    def _check_only(self, gateway: IamGateway, desired: DesiredState) -> tuple[Plan, RunFacts]:
        """CreateMissing off: report what is missing, change nothing."""
        plan = plan_changes(gateway, desired, now=self.now)
        self._report(plan)
        missing = [f"{f.kind} {f.name}" for f in plan.findings if f.status is not Status.OK]
        if missing:
            self.emit(WARNING, messages.left_as_they_are(missing))
        return plan, RunFacts(plan_ok=plan.ok)

    def _create_missing(
        self, gateway: IamGateway, desired: DesiredState, handoff: KeyHandoff | None
    ) -> tuple[Plan, RunFacts]:
        """CreateMissing on: create what is missing (a new key handed to the Spot plugin), then take the key
        rotation's next steps when one is due or under way, and report the state they left."""
        usable = self._usable_handoff(handoff)
        outcome = apply_changes(
            gateway,
            desired,
            key_sink=functools.partial(self.deliver, usable) if usable is not None else None,
            progress=lambda line: self.emit(INFO, f"  done: {line}"),
            options=self.apply_options,
            now=self.now,
        )
        plan = outcome.after
        unmade = [step for step in outcome.result.outcomes if step.state != DONE]
        for step in unmade:  # what was refused or failed with AWS's error (its remedy), what it held back
            self.emit(WARNING, f"Not done ({step.state}): {step.action.summary}: {step.detail}")
        created_key = outcome.result.key
        left_to_another_run = outcome.result.key_left_to_another_run
        rotation: RotationResult | None = None
        rotation_failed = False
        if usable is not None and created_key is None and not left_to_another_run:
            start = self._rotation_may_start(plan, desired, usable)
            if start or self._rotation_under_way(plan, desired, usable):
                try:
                    rotation = self._rotate(gateway, desired, usable, start)
                except SetupError as error:
                    self.emit(WARNING, messages.rotation_failed(error))
                    rotation_failed = True
                # Report the state the rotation's steps left, whatever they did or whichever failed.
                plan = plan_changes(gateway, desired, now=self.now)
        self._report(plan)
        accepted = False
        if created_key is not None and handoff is not None:
            self.emit(INFO, key_delivered_line(created_key, handoff.describe()))
            if outcome.result.key_verified_as:
                self.emit(INFO, key_accepted_line(outcome.result.key_verified_as))
                accepted = True
        for note in outcome.result.notes:
            self.emit(WARNING, note)
        if rotation is not None and usable is not None:
            accepted = self._report_rotation(rotation, usable) or accepted
        return plan, RunFacts(
            plan_ok=plan.ok,
            key_delivered=created_key is not None or (rotation is not None and rotation.key is not None),
            key_accepted=accepted,
            key_left_to_another_run=left_to_another_run,
            rotation_failed=rotation_failed,
            changes_unmade=bool(unmade),
            rotation_unfinished=rotation is not None and not rotation.settled,
        )

    def _say_role_mode_available(self, gateway: IamGateway) -> None:
        """Once per RCS/Pulse process: the credentials in use are this machine's EC2 instance role (as AWS's RFDK
        deploys RCS), so the Spot Event Plugin could use a role instead of a long-lived key. botocore's credential
        chain names the provider that supplied them (InstanceMetadataProvider: "iam-role"); asking it makes no call."""
        if self.settings.spot_credentials_mode == ROLE_MODE or gateway.credential_source != "iam-role":
            return
        with _ROLE_MODE_LOCK:
            if _ROLE_MODE_SAID:
                return
            _ROLE_MODE_SAID.append(True)
        self.emit(INFO, messages.role_mode_available(self.plugin_name))

    def _journal(self) -> NewAccessKey | None:
        return journal_key(self.settings)

    @staticmethod
    def _observed_key(plan: Plan, desired: DesiredState) -> Observed | None:
        key = next((i for i in desired if i.kind is Kind.ACCESS_KEY), None)
        if key is None or plan.observation is None:
            return None
        return plan.observation[key]

    def _rotation_may_start(self, plan: Plan, desired: DesiredState, handoff: KeyHandoff) -> bool:
        """Whether this check starts a rotation: a key the Spot plugin uses (or the journal holds: a delivery under
        way) is older than RotateKeyAfterDays. Otherwise nothing is due, or the key check reports what is wrong and a
        rotation would not help; either way the rotation's reads are not made."""
        seen = self._observed_key(plan, desired)
        limit = self.settings.rotate_key_after_days
        if limit <= 0 or seen is None:
            return False
        journal = self._journal()
        used = {handoff.key_in_use(), journal.access_key_id if journal is not None else None}
        now = self.now or datetime.now(timezone.utc)
        return any(
            key.active
            and key.access_key_id in used
            and key.created is not None
            and now - as_utc(key.created) > timedelta(days=limit)
            for key in seen.keys
        )

    def _rotation_under_way(self, plan: Plan, desired: DesiredState, handoff: KeyHandoff) -> bool:
        """A rotation (or a delivery) has steps left, whoever started it (this plugin, another machine, the command
        line): a second active key, a retired key to delete, a rotation run's mark, or a journalled key that is not
        recorded yet or that the Spot plugin holds half-written. Its finishing steps run even with RotateKeyAfterDays
        0."""
        seen = self._observed_key(plan, desired)
        if seen is None:
            return False
        tags = seen.tags or {}
        records = key_records(tags)
        active = {k.access_key_id for k in seen.keys if k.active}
        if (
            ROTATING_TAG in tags
            or len(active) > 1
            or any(not k.active and k.access_key_id in records for k in seen.keys)
        ):
            return True
        journal = self._journal()
        if journal is None or journal.access_key_id not in active:
            return False
        held = handoff.held()
        half_written = (
            held is not None
            and held.access_key_id == journal.access_key_id
            and held.secret_access_key != journal.secret_access_key
        )
        return journal.access_key_id not in records or half_written

    def _rotate(self, gateway: IamGateway, desired: DesiredState, handoff: KeyHandoff, start: bool) -> RotationResult:
        """The rotation's next steps, each step done logged as it is done, like apply's."""
        return rotate_as_plugin(
            gateway,
            desired,
            handoff,
            journal=self._journal(),
            protect=self.protect,
            profile_holders=self.profile_holders,
            host=self.host,
            start=start,
            cancelled=self.cancelled,
            now=self.now,
            progress=lambda line: self.emit(INFO, f"  done: {line}"),
        )

    def _report_rotation(self, rotation: RotationResult, handoff: KeyHandoff) -> bool:
        """Log what the rotation delivered and what is left; True when it delivered a key AWS accepts."""
        confirmed = False
        if rotation.key is not None:
            self.emit(INFO, key_delivered_line(rotation.key, handoff.describe()))
            if rotation.verified_as:
                self.emit(INFO, key_accepted_line(rotation.verified_as))
                confirmed = True
        for note in rotation.notes:
            self.emit(INFO, messages.rotation_note(note))
        for why in rotation.waiting:
            self.emit(WARNING, messages.rotation_waiting(why))
        for step in rotation.manual:
            self.emit(WARNING, messages.admin_to_do(manual_text(step)))
        for line in rotation.remaining:
            self.emit(INFO, messages.rotation_note(line))
        return confirmed

    def _report(self, plan: Plan) -> None:
        for finding, line in zip(plan.findings, finding_lines(plan.findings)):
            # What needs attention, and what is in place with a warning (a grant that ends soon, a service-linked
            # role expected from the organisation): an admin sees those at every check.
            if self.settings.verbose or finding.status is not Status.OK or finding.notes:
                self.emit(INFO, line)
        self.emit(INFO if plan.ok else WARNING, summary_line(plan))

    @staticmethod
    def _key_ok(plan: Plan) -> bool:
        key = plan.finding(Kind.ACCESS_KEY)
        return key is not None and key.status is Status.OK

    def _check_key_in_use(self, plan: Plan, desired: DesiredState, handoff: KeyHandoff) -> bool:
        key = next(i for i in desired if i.kind is Kind.ACCESS_KEY)
        keys = plan.observation[key].keys if plan.observation is not None else ()
        active = [k.access_key_id for k in keys if k.active]
        in_use = handoff.key_in_use()
        if in_use in active:
            self.emit(INFO, messages.key_in_use(handoff.spot, str(in_use), key.name))
            return True
        self.emit(WARNING, messages.key_not_in_use(handoff.spot, key.name, in_use, active, handoff.describe()))
        return False


def journal_key(settings: PluginSettings) -> NewAccessKey | None:
    """The key this plugin last delivered or was delivering (its own settings), with its secret, when the journal was
    written whole."""
    journal = settings.journal
    return NewAccessKey(settings.spot_user_name, *journal) if journal is not None else None


def rotate_as_plugin(
    gateway: Gateway,
    desired: DesiredState,
    handoff: KeyHandoff,
    *,
    journal: NewAccessKey | None,
    protect: Callable[[str], None],
    profile_holders: dict[str, str],
    host: str,
    start: bool,
    cancelled: Callable[[], bool] = lambda: False,
    now: datetime | None = None,
    clock: Clock = REAL_CLOCK,
    progress: Callable[[str], None] = lambda line: None,
) -> RotationResult:
    """The key rotation's next steps as this plugin takes them (DeadlineSpotIamSetup.rotation): the new key goes
    through the same hand-off as a new key (journal first, then the Spot plugin: handoff.py), and the old key is
    retired once the Spot plugin's settings hold the new pair and STS accepts it, and, for a named profile, every
    machine in ``profile_holders`` (machine: the key its profile holds) other than ``host`` holds it too."""

    def deliver(key: NewAccessKey) -> Callable[[], None]:
        protect(key.secret_access_key)
        return handoff.deliver(key)

    def not_yet_holding(key_id: str) -> list[str]:
        if handoff.method != "profile":
            return []  # the Spot plugin's own settings: one place for every machine
        return sorted(machine for machine, held in profile_holders.items() if machine != host and held != key_id)

    return rotate_access_key(
        gateway,
        desired,
        PluginKeyHolder(handoff, journal, deliver, not_yet_holding),
        RotationOptions(
            if_due=True,
            start=start,
            key_verification=PLUGIN_APPLY_WAITS.key_verification,
            call_deadline=PLUGIN_TIMEOUTS.call_deadline,
            cancelled=cancelled,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
            progress=progress,
        ),
        now=now,
    )


def on_house_cleaning(
    listener: Any, repository_utils: Any, plugin_name: str, now: datetime | None = None, run_limit: float | None = None
) -> RunStatus | None:
    """The event plugin's house-cleaning handler. Returns the run's status, or None when nothing was due.

    ``now``: the time of this house cleaning as tests move it, taken for AWS's time too; None: this machine's clock
    for the bookkeeping, and AWS's time as the gateway reads it from AWS's replies for keys and rotation marks."""
    log = PluginLog(listener.LogInfo, listener.LogWarning, prefix=f"{plugin_name}: ")
    commands.use(messages.command_line_in_deadline(_PLUGIN_FOLDER))
    progress: dict[str, bool] = {"checked": False}
    try:
        return _house_cleaning(
            listener,
            repository_utils,
            plugin_name,
            log,
            now,
            RUN_LIMIT if run_limit is None else run_limit,
            progress,
        )
    except Exception as error:  # never raise into Deadline
        log.warning(messages.unexpected(error, progress["checked"]))
        return RunStatus.FAILED


def _house_cleaning(
    listener: Any,
    repository_utils: Any,
    plugin_name: str,
    log: PluginLog,
    aws_now: datetime | None,
    run_limit: float,
    progress: dict[str, bool],
) -> RunStatus | None:
    now = aws_now or datetime.now(timezone.utc)
    book = RunBook(Metadata(listener.GetMetaDataEntry, listener.AddMetaDataEntry, listener.DeleteMetaDataEntry))
    try:
        settings = read_settings(listener.GetConfigEntryWithDefault)
    except SetupError as error:
        if book.due(now, 24) is None:
            return None
        log.warning(messages.settings_invalid(error, plugin_name))
        _record(book, now, RunStatus.FAILED, log)
        _record_for_monitor(book, now, RunReport(RunStatus.FAILED), log.warnings[-1:], "", log)
        return RunStatus.FAILED
    log.add_secret(settings.bootstrap_secret_access_key)
    log.add_secret(settings.delivered_secret_access_key)
    if left_behind_busy(log):
        return None
    _sync_local_profile(settings, repository_utils, plugin_name, log, book)
    reason = book.due(now, settings.check_interval_hours) or check_now_reason(book, settings.check_now_request)
    if reason is None:
        return None
    holders = _profile_holders(book, now, log)
    log.info(messages.checking(reason))
    started = time.monotonic()
    progress["checked"] = True
    warned_before = len(log.warnings)
    report = run_bounded(
        lambda emit, cancelled: EngineJob(
            settings, repository_utils, plugin_name, emit, log.add_secret, cancelled, aws_now, holders, book.host
        ).run(),
        log,
        run_limit,
    )
    if report.status is RunStatus.OK and settings.forget_bootstrap_credential and settings.uses_bootstrap_keys:
        _forget_bootstrap_credential(settings, report, repository_utils, plugin_name, log)
    log.info(messages.finished(time.monotonic() - started, report.status, settings.check_interval_hours))
    _record(book, now, report.status, log)
    _record_for_monitor(book, now, report, log.warnings[warned_before:], settings.check_now_request, log)
    return report.status


def _sync_local_profile(
    settings: PluginSettings, repository_utils: Any, plugin_name: str, log: PluginLog, book: RunBook
) -> None:
    """Named-profile delivery: the key lives in each machine's own credentials file. Every machine writes the key
    another machine delivered into its own profile (no AWS call), so the Spot plugin finds it wherever it runs, and
    reports which key its profile holds: a rotation deactivates the old key only once every machine holds the new
    one."""
    journal = settings.journal
    if settings.spot_credentials_mode == ROLE_MODE or journal is None:
        return
    handoff = KeyHandoff(repository_utils, settings, plugin_name)
    try:
        written = handoff.sync_local_profile()
    except SetupError as error:
        log.warning(f"Admin to do: {error}")
        return
    if written is not None:
        log.info(messages.profile_written(journal[0], *written))
    held = handoff.held() if handoff.method == "profile" else None
    if held is not None and (held.access_key_id, held.secret_access_key) == journal:
        try:
            book.record_profile_key(held.access_key_id)
        except Exception as error:
            log.warning(messages.bookkeeping_failed(error))


def _profile_holders(book: RunBook, now: datetime, log: PluginLog) -> dict[str, str]:
    """Which key each machine that checked lately holds in its named profile (read here, in Deadline's thread)."""
    try:
        return book.profile_holders(now, KEY_HOLDER_REPORT_WINDOW)
    except Exception as error:
        log.warning(messages.bookkeeping_failed(error))
        return {}


def _forget_bootstrap_credential(
    settings: PluginSettings, report: RunReport, repository_utils: Any, plugin_name: str, log: PluginLog
) -> None:
    if not report.key_confirmed:
        log.info(messages.forget_deferred())
        return
    try:
        repository_utils.AddOrUpdateEventPluginConfigSetting(plugin_name, "BootstrapSecretAccessKey", "")
        repository_utils.AddOrUpdateEventPluginConfigSetting(plugin_name, "BootstrapAccessKeyId", "")
    except Exception as error:
        log.warning(messages.forget_failed(error))
        return
    log.info(messages.forgot_bootstrap(settings.bootstrap_access_key_id))


def _record(book: RunBook, now: datetime, status: RunStatus, log: PluginLog) -> None:
    try:
        book.record(now, status)
    except Exception as error:
        log.warning(messages.bookkeeping_failed(error))


def identity_results(plan: Plan) -> tuple[IdentityResult, ...]:
    return tuple(IdentityResult(str(f.kind), f.name, str(f.status), tuple(f.problems)) for f in plan.findings)


def _record_for_monitor(
    book: RunBook, now: datetime, report: RunReport, warnings: list[str], check_now_request: str, log: PluginLog
) -> None:
    """This check's result where the Monitor script reads it, and the Check now it honoured (farm_view.py)."""
    result = MachineResult(
        book.host,
        now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        str(report.status),
        report.identities,
        tuple(warnings),
    )
    try:
        record_result(book, result)
        record_request_honoured(book, check_now_request)
    except Exception as error:
        log.warning(messages.bookkeeping_failed(error))

"""One house cleaning: decide whether a check is due, run the engine within a time limit, log the outcome,
hand a new key to the Spot Event Plugin and forget the bootstrap credential when asked to.

Never raises into Deadline. The engine runs in a worker thread so the whole run is bounded (RUN_LIMIT): with
AWS unresponsive the house cleaning carries on after at most that long, and the next attempt comes 15
minutes later instead of at every house cleaning.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from DeadlineSpotIamSetup.apply import ApplyOptions
from DeadlineSpotIamSetup.desired import DesiredState, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.errors import SetupError
from DeadlineSpotIamSetup.findings import Plan
from DeadlineSpotIamSetup.gateway import connect
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.report import finding_lines, manual_text, summary_line
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import PLUGIN_APPLY_WAITS, PLUGIN_RUN_LIMIT

from .bookkeeping import Metadata, RunBook
from .handoff import KeyHandoff
from .logbridge import INFO, WARNING, PluginLog
from .settings import ROLE_MODE, PluginSettings, read_settings

RUN_LIMIT = PLUGIN_RUN_LIMIT
OK, PENDING, FAILED = "ok", "pending", "failed"

Emit = Callable[[str, str], None]


@dataclass
class RunResult:
    status: str = FAILED
    lines: list[tuple[str, str]] = field(default_factory=list)


def _credential_description(settings: PluginSettings) -> str:
    if settings.uses_bootstrap_keys:
        source = f"bootstrap access key {settings.bootstrap_access_key_id}"
    elif settings.bootstrap_profile:
        source = f"AWS profile {settings.bootstrap_profile!r}"
    else:
        source = "this machine's default AWS credentials"
    if settings.bootstrap_role_arn:
        source += f", assuming {settings.bootstrap_role_arn}"
    return source


class EngineJob:
    """The part that talks to AWS (runs in the worker thread; reports through ``emit``)."""

    def __init__(
        self,
        settings: PluginSettings,
        repository_utils: Any,
        emit: Emit,
        protect: Callable[[str], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self.repository = repository_utils
        self.emit = emit
        self.protect = protect  # masks a secret in every later log line
        self.cancelled = cancelled
        self.apply_options = ApplyOptions(waits=PLUGIN_APPLY_WAITS, cancelled=cancelled)

    def deliver(self, handoff: KeyHandoff, key: NewAccessKey) -> None:
        self.protect(key.secret_access_key)
        handoff(key)

    def run(self) -> str:
        settings = self.settings
        desired = desired_state(settings.engine_settings())
        access = settings.aws_access()
        gateway = connect(access, self.cancelled)
        self.emit(INFO, f"Using {_credential_description(settings)} against {gateway.endpoint_description}.")
        user_mode = settings.spot_credentials_mode != ROLE_MODE
        handoff = KeyHandoff(self.repository, settings) if user_mode else None
        created_key = None
        left_to_another_run = False
        if settings.create_missing:
            sink = None
            if handoff is not None and handoff.enabled:
                sink = functools.partial(self.deliver, handoff)
            outcome = apply_changes(
                gateway,
                desired,
                key_sink=sink,
                progress=lambda line: self.emit(INFO, f"  done: {line}"),
                options=self.apply_options,
            )
            plan = outcome.after
            created_key = outcome.result.key
            left_to_another_run = outcome.result.key_left_to_another_run
            self._report(plan)
            if created_key is not None and handoff is not None:
                self.emit(INFO, f"New access key {created_key.access_key_id} delivered to {handoff.describe()}.")
                if outcome.result.key_verified_as:
                    self.emit(INFO, f"AWS accepts the new key as {outcome.result.key_verified_as}.")
            for note in outcome.result.notes:
                self.emit(WARNING, note)
        else:
            plan = plan_changes(gateway, desired)
            self._report(plan)
            missing = [f"{f.kind} {f.name}" for f in plan.findings if f.status is not Status.OK]
            if missing:
                self.emit(
                    WARNING,
                    "Left as they are, CreateMissing is off: "
                    + ", ".join(missing)
                    + ". Set CreateMissing to True (with a bootstrap credential allowed to create them, see "
                    "`python -m DeadlineSpotIamSetup bootstrap-policy`), or run `python -m DeadlineSpotIamSetup "
                    "apply` as an IAM admin.",
                )
        for step in plan.manual:
            item = manual_text(step)
            if step.kind is Kind.ACCESS_KEY and handoff is not None and not handoff.enabled:
                item += " (KeyDelivery is None: set it to Automatic to have a key created and delivered)"
            self.emit(WARNING, f"Admin to do: {item}")
        key_delivered = True
        if left_to_another_run:
            self.emit(INFO, "Another machine's run created the access key at the same moment; it delivers it.")
        elif handoff is not None and handoff.enabled and created_key is None and self._key_ok(plan):
            key_delivered = self._check_key_in_use(plan, desired, handoff)
        if plan.ok and key_delivered:
            return OK
        return PENDING

    def _report(self, plan: Plan) -> None:
        for line in finding_lines(plan.findings):
            self.emit(INFO, line)
        self.emit(INFO if plan.ok else WARNING, summary_line(plan))

    @staticmethod
    def _key_ok(plan: Plan) -> bool:
        return any(f.kind is Kind.ACCESS_KEY and f.status is Status.OK for f in plan.findings)

    def _check_key_in_use(self, plan: Plan, desired: DesiredState, handoff: KeyHandoff) -> bool:
        key = next(i for i in desired if i.kind is Kind.ACCESS_KEY)
        user = key.name
        keys = plan.observation[key].keys if plan.observation is not None else ()
        active = [k.access_key_id for k in keys if k.active]
        in_use = handoff.key_in_use()
        if in_use in active:
            self.emit(INFO, f"The {handoff.spot} event plugin uses access key {in_use} of user {user}.")
            return True
        have = f"it has {in_use}" if in_use else "it has no access key set"
        self.emit(
            WARNING,
            f"Admin to do: the {handoff.spot} event plugin does not use an access key of user {user} ({have}), and "
            f"the secret of the existing key {', '.join(active)} cannot be read back from AWS. Either enter that "
            f"key in Monitor > Tools > Configure Events > {handoff.spot} > Security Credentials, or delete it in "
            "IAM: the next check (restart RCS/Pulse, or after CheckIntervalHours) creates a new key and delivers "
            f"it to {handoff.describe()}.",
        )
        return False


def _run_bounded(job: Callable[[Emit, Callable[[], bool]], str], log: PluginLog, limit: float) -> str:
    """Run ``job`` in a daemon thread, relaying its lines to the log from this thread, for at most ``limit``.
    When the limit is reached the job is told to stop (it checks before every write) and left behind."""
    lines: queue.Queue[tuple[str, str]] = queue.Queue()
    result: list[str] = []
    stop = threading.Event()

    def work() -> None:
        try:
            result.append(job(lambda level, text: lines.put((level, text)), stop.is_set))
        except SetupError as error:
            lines.put((WARNING, f"Check failed: {error}"))
            result.append(FAILED)
        except Exception as error:  # a bug must not take RCS/Pulse down: say what happened, in one line
            lines.put((WARNING, f"Check failed unexpectedly: {type(error).__name__}: {error}"))
            result.append(FAILED)

    worker = threading.Thread(target=work, name="DeadlineSpotIamSetup", daemon=True)
    deadline = time.monotonic() + limit
    worker.start()
    while True:
        try:
            level, text = lines.get(timeout=0.05)
            log.emit(level, text)
            continue
        except queue.Empty:
            pass
        if not worker.is_alive() and lines.empty():
            return result[0] if result else FAILED
        if time.monotonic() >= deadline:
            stop.set()
            log.warning(
                f"Check did not finish within {limit:.0f} s (AWS slow or unreachable); stopped waiting so "
                "house cleaning can go on. The next attempt comes in 15 minutes."
            )
            return FAILED


def on_house_cleaning(
    listener: Any, repository_utils: Any, plugin_name: str, now: datetime | None = None, run_limit: float = RUN_LIMIT
) -> str | None:
    """The event plugin's house-cleaning handler. Returns the run's status, or None when nothing was due."""
    log = PluginLog(listener.LogInfo, listener.LogWarning, prefix=f"{plugin_name}: ")
    try:
        return _house_cleaning(
            listener, repository_utils, plugin_name, log, now or datetime.now(timezone.utc), run_limit
        )
    except Exception as error:  # never raise into Deadline
        log.warning(f"Unexpected failure, nothing changed by it: {type(error).__name__}: {error}")
        return FAILED


def _house_cleaning(
    listener: Any, repository_utils: Any, plugin_name: str, log: PluginLog, now: datetime, run_limit: float
) -> str | None:
    book = RunBook(Metadata(listener.GetMetaDataEntry, listener.AddMetaDataEntry, listener.DeleteMetaDataEntry))
    try:
        settings = read_settings(listener.GetConfigEntryWithDefault)
    except SetupError as error:
        if book.due(now, 24) is None:
            return None
        log.warning(
            f"Settings are not valid, nothing checked: {error}. Fix them in Monitor > Tools > Configure "
            f"Events > {plugin_name}."
        )
        book.record(now, FAILED)
        return FAILED
    log.add_secret(settings.bootstrap_secret_access_key)
    reason = book.due(now, settings.check_interval_hours)
    if reason is None:
        return None
    log.info(f"Checking the Spot Event Plugin's IAM identities ({reason}).")
    started = time.monotonic()
    status = _run_bounded(
        lambda emit, cancelled: EngineJob(settings, repository_utils, emit, log.add_secret, cancelled).run(),
        log,
        run_limit,
    )
    if status == OK and settings.forget_bootstrap_credential and settings.uses_bootstrap_keys:
        repository_utils.AddOrUpdateEventPluginConfigSetting(plugin_name, "BootstrapSecretAccessKey", "")
        repository_utils.AddOrUpdateEventPluginConfigSetting(plugin_name, "BootstrapAccessKeyId", "")
        log.info(
            f"Bootstrap credential removed from this plugin's settings (ForgetBootstrapCredential). Deactivate or "
            f"delete access key {settings.bootstrap_access_key_id} in IAM if nothing else uses it."
        )
    interval = settings.check_interval_hours
    after = f"next check in {interval} h" if interval else "next check when RCS/Pulse restarts"
    if status == FAILED:
        after = "next attempt in 15 minutes"
    log.info(f"Finished in {time.monotonic() - started:.1f} s: {status}; {after}.")
    book.record(now, status)
    return status

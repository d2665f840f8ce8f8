"""Execute a plan: IAM writes stage by stage, each as soon as what it needs is made, idempotent and safe when several
runs race, and as far as the credential in use is allowed.

Each action is executed by its kind's handler (the access key's protocol lives in ``handlers/access_key.py``). What
this executor provides the handlers with: a write that retries NoSuchEntity while IAM catches up with an earlier
action (bounded), a bounded wait until IAM shows what was created, the hand-over of a new key to the key sink, and
the cancel flag.

A refused or failed action does not stop the run: every action that does not need what it would have made still runs
(:attr:`findings.Action.needs`), and the result says, action by action, what was done, refused (by whom, lacking which
permission), failed, or not attempted and why. What does stop it, since no later call could do better: an endpoint
that cannot be reached, credentials AWS rejects, and the caller's cancel flag (the event plugin's time limit, Ctrl-C
on the command line); the error then carries the result so far (``partial_result``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable

from .errors import (
    AccessDenied,
    AwsAccessError,
    Cancelled,
    CredentialsRejected,
    EndpointUnavailable,
    KeyDeliveryFailed,
    NotFound,
    SetupError,
    stop_reason,
)
from .findings import DONE, FAILED, NOT_ATTEMPTED, REFUSED, Action, ActionOutcome, ApplyResult, Plan
from .handlers import handler_for
from .key_records import DELIVERED, record_key
from .values import NewAccessKey
from .waits import CLI_APPLY_WAITS, KEY_VERIFY_DELAY, ApplyWaits, poll

if TYPE_CHECKING:
    from .gateway_protocol import Gateway

# Where a new key's secret goes: a callable given the key (the event plugin's hand-off), or a holder with
# stage/publish/withdraw (the command line's --secret-out file: secret_file.SecretFileHolder), which gets the key
# aside first and makes it final only once the key is recorded as this project's, so it never holds a deleted key.
KeySink = Any

# The failures after which no later call can do better: the run stops.
STOPPING = (EndpointUnavailable, CredentialsRejected, Cancelled)


@dataclass(frozen=True)
class ApplyOptions:
    waits: ApplyWaits = CLI_APPLY_WAITS
    # Asked before every stage and every step of the key protocol: once it answers True nothing new starts (the
    # event plugin sets it at its time limit, the command line on Ctrl-C).
    cancelled: Callable[[], bool] = lambda: False


class _CallableSink:
    """A key sink that is a plain callable: handed the key once, it cannot take it back."""

    def __init__(self, deliver: Callable[[NewAccessKey], None]) -> None:
        self.stage = deliver

    def publish(self, key: NewAccessKey) -> None:
        pass

    def withdraw(self, key: NewAccessKey) -> None:
        pass

    withdrawable = False


def _holder(sink: KeySink) -> Any:
    if sink is None or hasattr(sink, "stage"):
        return sink
    return _CallableSink(sink)


class _Executor:
    """The :class:`handlers.base.ApplyRun` the handlers execute their actions with."""

    def __init__(self, gateway: Gateway, options: ApplyOptions, key_sink: KeySink) -> None:
        self.gateway = gateway
        self.options = options
        self.holder = _holder(key_sink)
        self.result = ApplyResult()
        self.cancelled = options.cancelled  # asked before each step; its reason names who asked

    def write(self, action: Action) -> dict[str, Any]:
        def attempt() -> dict[str, Any] | None:
            try:
                return self.gateway.write(action.operation, action.params, action.subject)
            except NotFound:  # what it depends on is not visible yet
                return None

        answer = poll(attempt, self.options.waits.visibility)
        if answer is None:
            raise AwsAccessError(
                f"{action.summary} failed: IAM still does not show what it depends on after "
                f"{self.options.waits.visibility:.0f} s; run apply again"
            )
        return answer

    def wait_until_shown(self, action: Action) -> None:
        read = action.shows_up
        if read is None:
            return
        method = getattr(self.gateway, read.method)
        try:
            shown = poll(lambda: method(*read.args), self.options.waits.visibility)
        except Cancelled:
            return  # made, and the run stops: no later change needs IAM to show it
        if shown is None:
            raise AwsAccessError(
                f"IAM did not show {action.subject} within {self.options.waits.visibility:.0f} s after creating "
                "it: run apply again shortly"
            )

    # -- the key's hand-over (key_delivery.KeyDelivery): stage, record, then publish; withdraw when it is deleted ----
    def before_hand_over(self, key: NewAccessKey) -> None:
        if self.cancelled():
            raise Cancelled(
                f"stopped before handing over access key {key.access_key_id}: {stop_reason(self.cancelled)}; it was "
                "deleted again"
            )

    def stage(self, key: NewAccessKey) -> None:
        assert self.holder is not None, "apply_plan refuses a plan that creates a key without a key sink"
        self.holder.stage(key)

    def record(self, key: NewAccessKey) -> None:
        """A refusal is noted, not raised: the key works; without the record a later rotation leaves it to an admin."""
        record_key(self.gateway, key.user_name, key.access_key_id, DELIVERED, self.gateway.aws_now(), self.result.notes)

    def publish(self, key: NewAccessKey) -> None:
        """Make the hand-over final; the key is this run's from now on. A holder that can still take the key back does
        so when the run was told to stop meanwhile (the key is then deleted, not left to a file nobody reads)."""
        if self.cancelled() and getattr(self.holder, "withdrawable", True):
            raise Cancelled(
                f"stopped before handing over access key {key.access_key_id}: {stop_reason(self.cancelled)}; it was "
                "deleted again"
            )
        self.holder.publish(key)
        self.result.key = key

    def withdraw(self, key: NewAccessKey) -> None:
        self.holder.withdraw(key)

    def forget(self, key: NewAccessKey) -> None:
        pass  # apply keeps nothing of a key but what the result says once it is published

    def undelivered(self, key: NewAccessKey, error: Exception, cause: str) -> SetupError | None:
        """A stop is told as a stop (the action was not attempted); any other failure as the key's (a key nobody can
        read is worse than none)."""
        if isinstance(error, Cancelled):
            return None
        return KeyDeliveryFailed(
            f"the new access key {key.access_key_id} for user {key.user_name} could not be delivered ({cause}); it was "
            "deleted again"
        )

    def start_verifying(self, key: NewAccessKey) -> KeyVerification:
        """Start asking STS whether it accepts the new key, beside the protocol's next calls."""
        return KeyVerification(self.gateway, key, self.options.waits.key_verification, self.result)

    # -- running actions ------------------------------------------------------------------------------------------
    def run(self, action: Action) -> ActionOutcome:
        try:
            return ActionOutcome(action, DONE, handler_for(action.identity).execute(action, self))
        except Cancelled as stop:  # the run was told to stop before the change was made (or while, and undone)
            return ActionOutcome(action, NOT_ATTEMPTED, str(stop), error=stop)
        except AccessDenied as refusal:
            return ActionOutcome(action, REFUSED, str(refusal), refusal.principal, refusal.permission, error=refusal)
        except SetupError as error:
            return ActionOutcome(action, FAILED, str(error), error=error)

    def run_ready(self, actions: list[Action], progress: Callable[[str], None]) -> list[ActionOutcome]:
        """Run actions whose needs are met, in parallel; what each did is told in plan order."""
        if len(actions) == 1:
            outcomes = [self.run(actions[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(len(actions), 8), thread_name_prefix="iam-write") as pool:
                futures = [pool.submit(self.run, action) for action in actions]
            outcomes = [future.result() for future in futures]
        for outcome in outcomes:
            if outcome.state == DONE:
                self.result.done.append(outcome.detail)
                progress(outcome.detail)
        return outcomes


class KeyVerification:
    """Whether STS accepts a new key (sts:GetCallerIdentity signed with it), asked in a thread of its own from the
    moment the key is made, so that its round trips overlap the key protocol's (the race check, the record); polled,
    bounded by ``timeout``, since new keys take seconds to work. ``finish`` waits for the answer once the key is
    this run's: a note when STS does not accept it yet, never a failure. ``abandon``: the key is being deleted, stop
    asking."""

    def __init__(self, gateway: Gateway, key: NewAccessKey, timeout: float, result: ApplyResult) -> None:
        self.key = key
        self.timeout = timeout
        self.result = result
        self._gateway = gateway
        self._stop = threading.Event()
        self._answer: Any = None
        self._thread: threading.Thread | None = None
        if timeout > 0:
            self._thread = threading.Thread(target=self._ask, name="key-verification", daemon=True)
            self._thread.start()

    def _ask(self) -> None:
        def attempt() -> Any:
            return self._stop if self._stop.is_set() else self._gateway.accepted_as(self.key)

        def pause(seconds: float) -> None:
            self._stop.wait(seconds)  # ends at once when the key is abandoned

        try:
            self._answer = poll(attempt, self.timeout, KEY_VERIFY_DELAY, KEY_VERIFY_DELAY, sleep=pause)
        except SetupError as error:
            self._answer = error
        except Exception as error:  # whatever the thread met is told by finish, not lost
            self._answer = SetupError(f"{type(error).__name__}: {error}")

    def abandon(self) -> None:
        self._stop.set()  # the thread ends at its next attempt; a call under way ends within its own deadline

    def finish(self) -> None:
        if self._thread is None:
            return
        self._thread.join()  # bounded: the poll's timeout plus one call's deadline
        key_id, answer = self.key.access_key_id, self._answer
        if isinstance(answer, SetupError):  # the key is delivered; failing to confirm it is worth a note
            self.result.notes.append(f"access key {key_id} could not be verified: {answer}")
        elif answer is None:
            self.result.notes.append(
                f"access key {key_id} was not yet accepted by AWS after {self.timeout:.0f} s; new keys can take a "
                "minute to work"
            )
        elif answer is not self._stop:
            self.result.key_verified_as = answer.arn


def _stages(actions: tuple[Action, ...]) -> list[list[int]]:
    """The plan's actions (by index) grouped by stage, in order."""
    stages: dict[int, list[int]] = {}
    for index, action in enumerate(actions):
        stages.setdefault(int(action.stage), []).append(index)
    return [stages[stage] for stage in sorted(stages)]


def _prerequisites(actions: tuple[Action, ...]) -> list[list[int]]:
    """For each action, the actions of the plan that make what it needs; each in its stage or an earlier one."""
    makers: dict[str, list[int]] = {}
    for index, action in enumerate(actions):
        for made in action.makes:
            makers.setdefault(made, []).append(index)
    found = []
    for index, action in enumerate(actions):
        before = sorted({maker for need in action.needs for maker in makers.get(need, ()) if maker != index})
        late = [actions[maker].summary for maker in before if actions[maker].stage > action.stage]
        assert not late, f"{action.summary} needs {late}, which a later stage makes"
        found.append(before)
    return found


def _why_not(state: str) -> str:
    return {REFUSED: "was refused", FAILED: "failed", NOT_ATTEMPTED: "was not attempted"}[state]


def apply_plan(
    gateway: Gateway,
    plan: Plan,
    key_sink: KeySink = None,
    progress: Callable[[str], None] = lambda line: None,
    options: ApplyOptions | None = None,
) -> ApplyResult:
    """Run the plan's actions stage by stage; within a stage, each action once the actions that make what it needs
    are done, in parallel where they can be. An action whose need was refused or failed is not attempted; the rest
    runs. An unreachable endpoint, rejected credentials or the cancel flag stop the run: the error is raised with the
    result so far as its ``partial_result``."""
    if plan.creates_access_key and key_sink is None:
        raise SetupError("the plan creates an access key but nothing was given to deliver its secret to")
    options = options or ApplyOptions()
    executor = _Executor(gateway, options, key_sink)
    actions = plan.actions
    needs = _prerequisites(actions)
    outcomes: list[ActionOutcome | None] = [None] * len(actions)
    stopped: SetupError | None = None
    for stage in _stages(actions):
        pending = list(stage)
        while pending and stopped is None:
            if options.cancelled():
                left = sum(1 for outcome in outcomes if outcome is None)
                stopped = Cancelled(
                    f"stopped before {actions[pending[0]].summary} ({left} of {len(actions)} changes left): "
                    f"{stop_reason(options.cancelled)}; the next run continues"
                )
                break
            ready = []
            for index in pending:
                unmet = [need for need in needs[index] if outcomes[need] is None]
                if unmet:
                    continue
                states = {need: outcomes[need].state for need in needs[index]}  # type: ignore[union-attr]
                blocker = next((need for need, state in states.items() if state != DONE), None)
                if blocker is None:
                    ready.append(index)
                    continue
                outcomes[index] = ActionOutcome(
                    actions[index],
                    NOT_ATTEMPTED,
                    f"it needs {actions[blocker].summary}, which {_why_not(states[blocker])}",
                    blocked_by=actions[blocker],
                )
            pending = [index for index in pending if outcomes[index] is None and index not in ready]
            if ready:
                for index, outcome in zip(ready, executor.run_ready([actions[i] for i in ready], progress)):
                    outcomes[index] = outcome
                    failure = _failure(outcome)
                    if stopped is None and failure is not None:
                        stopped = failure
            elif pending:
                raise AssertionError(f"no action of the stage can run: {[actions[i].summary for i in pending]}")
    result = executor.result
    if isinstance(stopped, Cancelled):
        reason = f"not reached: {stop_reason(options.cancelled)}"
    else:
        reason = f"not reached: the run stopped ({stopped})" if stopped is not None else ""
    result.outcomes = [
        outcome if outcome is not None else ActionOutcome(action, NOT_ATTEMPTED, reason)
        for action, outcome in zip(actions, outcomes)
    ]
    _name_the_refused(gateway, result)
    if stopped is not None:
        result.stopped = stopped
        stopped.partial_result = result
        raise stopped
    return result


def _failure(outcome: ActionOutcome) -> SetupError | None:
    """The error that stops the run, when ``outcome`` failed with one."""
    return outcome.error if isinstance(outcome.error, STOPPING) else None


def _name_the_refused(gateway: Gateway, result: ApplyResult) -> None:
    """A refusal whose message did not name the principal (AWS's format for most services, "User: ARN is not
    authorized to perform: ACTION ..." in the IAM User Guide's "Troubleshoot access denied error messages", is not
    used by every service) is named by sts:GetCallerIdentity, which needs no permission."""
    outcomes = result.outcomes
    unnamed = [index for index, outcome in enumerate(outcomes) if outcome.state == REFUSED and not outcome.principal]
    if not unnamed:
        return
    try:
        arn = gateway.caller_identity().arn
    except (SetupError, AttributeError):
        return
    for index in unnamed:
        result.outcomes[index] = replace(result.outcomes[index], principal=arn)

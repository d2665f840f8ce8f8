"""Execute a plan: IAM writes in stages, idempotent and safe when several runs race.

Each action is executed by its kind's handler (the access key's protocol lives in
``handlers/access_key.py``). What this executor provides the handlers with: a write that retries NoSuchEntity
while IAM catches up with an earlier stage (bounded), a bounded wait until IAM shows what was created, the
hand-off of a new key to the key sink, and the cancel flag. The actions of one stage run in parallel.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import AwsAccessError, Cancelled, KeyDeliveryFailed, NotFound, SetupError
from .findings import Action, Plan
from .handlers import handler_for
from .values import NewAccessKey
from .waits import CLI_APPLY_WAITS, KEY_VERIFY_DELAY, ApplyWaits, poll

KeySink = Callable[[NewAccessKey], None]


@dataclass
class ApplyResult:
    """What apply did, line by line, and the key it created (if this run's key is the one that stayed)."""

    done: list[str] = field(default_factory=list)
    key: NewAccessKey | None = None
    key_verified_as: str | None = None
    key_left_to_another_run: bool = False  # a racing run created the key; that run delivers it
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApplyOptions:
    waits: ApplyWaits = CLI_APPLY_WAITS
    # Asked before every stage and every step of the key protocol: once it answers True nothing new starts (the
    # event plugin sets it at its time limit, so no key is created or delivered that nobody is left to report).
    cancelled: Callable[[], bool] = lambda: False


def _masked(text: str, secret: str) -> str:
    return text.replace(secret, "****") if secret else text


class _Executor:
    """The :class:`handlers.base.ApplyRun` the handlers execute their actions with."""

    def __init__(self, gateway: Any, options: ApplyOptions, key_sink: KeySink | None) -> None:
        self.gateway = gateway
        self.options = options
        self.key_sink = key_sink
        self.result = ApplyResult()

    def cancelled(self) -> bool:
        return self.options.cancelled()

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
        if poll(lambda: method(*read.args), self.options.waits.visibility) is None:
            raise AwsAccessError(
                f"IAM did not show {action.subject} within {self.options.waits.visibility:.0f} s after creating "
                "it: run apply again shortly"
            )

    def deliver(self, key: NewAccessKey) -> str:
        assert self.key_sink is not None, "apply_plan refuses a plan that creates a key without a key sink"
        try:
            self.key_sink(key)
        except Exception as error:
            # A key nobody can read is worse than none: take it back, and say why (the secret masked).
            self.gateway.delete_access_key(key.user_name, key.access_key_id, cleanup=True)
            cause = error if isinstance(error, SetupError) else f"{type(error).__name__}: {error}"
            raise KeyDeliveryFailed(
                f"the new access key {key.access_key_id} for user {key.user_name} could not be delivered "
                f"({_masked(str(cause), key.secret_access_key)}); it was deleted again"
            ) from None
        self.result.key = key
        self._verify(key)
        return key.access_key_id

    def _verify(self, key: NewAccessKey) -> None:
        timeout = self.options.waits.key_verification
        if timeout <= 0:
            return
        try:
            identity = poll(lambda: self.gateway.accepted_as(key), timeout, KEY_VERIFY_DELAY, KEY_VERIFY_DELAY)
        except SetupError as error:  # the key is delivered; failing to confirm it is worth a note, not a failure
            self.result.notes.append(f"access key {key.access_key_id} could not be verified: {error}")
            return
        if identity is None:
            self.result.notes.append(
                f"access key {key.access_key_id} was not yet accepted by AWS after {timeout:.0f} s; new keys "
                "can take a minute to work"
            )
        else:
            self.result.key_verified_as = identity.arn

    def run(self, action: Action) -> str:
        return handler_for(action.identity).execute(action, self)

    def run_stage(self, actions: list[Action], progress: Callable[[str], None]) -> None:
        """Run one stage's independent actions in parallel; report what was done in plan order, then raise the
        first failure (in plan order), if any."""
        if len(actions) == 1:
            line = self.run(actions[0])
            self.result.done.append(line)
            progress(line)
            return
        with ThreadPoolExecutor(max_workers=min(len(actions), 8), thread_name_prefix="iam-write") as pool:
            futures = [pool.submit(self.run, action) for action in actions]
        first_failure: BaseException | None = None
        for future in futures:
            failure = future.exception()
            if failure is None:
                self.result.done.append(future.result())
                progress(future.result())
            elif first_failure is None:
                first_failure = failure
        if first_failure is not None:
            raise first_failure


def apply_plan(
    gateway: Any,
    plan: Plan,
    key_sink: KeySink | None = None,
    progress: Callable[[str], None] = lambda line: None,
    options: ApplyOptions | None = None,
) -> ApplyResult:
    """Run the plan's actions stage by stage (the actions of a stage in parallel). Stops after the first stage
    with a failure, raising a one-line SetupError."""
    if plan.creates_access_key and key_sink is None:
        raise SetupError("the plan creates an access key but nothing was given to deliver its secret to")
    options = options or ApplyOptions()
    executor = _Executor(gateway, options, key_sink)
    done = 0
    for _, grouped in itertools.groupby(plan.actions, key=lambda action: action.stage):
        stage = list(grouped)
        if options.cancelled():
            raise Cancelled(
                f"stopped before {stage[0].summary} ({len(plan.actions) - done} of {len(plan.actions)} changes "
                "left): the time limit was reached; the next run continues"
            )
        executor.run_stage(stage, progress)
        done += len(stage)
    return executor.result

"""Execute a plan: IAM writes in dependency order, idempotent and safe when several runs race.

- EntityAlreadyExists is success (another run created it first).
- After creating a user, role or instance profile, wait (boto3 waiters, bounded) until IAM shows it; writes
  that depend on a just-created identity retry NoSuchEntity for a bounded time (IAM is eventually consistent).
- The access key: IAM has no conditional create, so concurrent runs could each add one. After creating, a run
  lists the keys again; unless its key is strictly the oldest active one, it deletes its own key and leaves
  the older one to the run that made it. Ties make every tied run back off and look again, so at most one
  key survives, and IAM's limit of two keys per user is never exceeded.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar

from .errors import AwsAccessError, SetupError
from .gateway import AccessKeyInfo, AlreadyExists, IamGateway, LimitExceeded, NewAccessKey, NotFound
from .plan import Action, Plan, stage_of

T = TypeVar("T")
KeySink = Callable[[NewAccessKey], None]

_WAITERS = {
    "CreateUser": ("user_exists", "UserName"),
    "CreateRole": ("role_exists", "RoleName"),
    "CreateInstanceProfile": ("instance_profile_exists", "InstanceProfileName"),
}


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
    wait_timeout: float = 30.0  # for IAM to show what was just created
    verify_key_timeout: float = 20.0  # for a new access key to be accepted by STS
    key_rounds: int = 4  # attempts at creating the one access key when runs race
    # Asked before every action: once it answers True, apply stops before the next write (the event plugin
    # sets it when it stops waiting, so no key is created that nobody is left to deliver).
    cancelled: Callable[[], bool] = lambda: False


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.max.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _retry_not_found(fn: Callable[[], T], timeout: float) -> T:
    """IAM may answer NoSuchEntity for an identity created a moment ago; retry that, bounded."""
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return fn()
        except NotFound:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 4.0)


class _Applier:
    def __init__(
        self,
        gateway: IamGateway,
        options: ApplyOptions,
        key_sink: KeySink | None,
        progress: Callable[[str], None],
    ) -> None:
        self.gateway = gateway
        self.options = options
        self.key_sink = key_sink
        self.progress = progress
        self.result = ApplyResult()

    def record(self, line: str) -> None:
        self.result.done.append(line)
        self.progress(line)

    def run(self, action: Action) -> str:
        """Do one action; returns the line that says what was done. Safe to call from several threads for
        the actions of one stage."""
        if action.operation == "CreateAccessKey":
            return self.create_access_key(action)
        try:
            _retry_not_found(
                lambda: self.gateway.write(action.operation, action.params, action.subject),
                self.options.wait_timeout,
            )
        except AlreadyExists:
            line = f"{action.summary}: already there (created by another run)"
        except NotFound:
            raise AwsAccessError(
                f"{action.summary} failed: IAM still does not show what it depends on after "
                f"{self.options.wait_timeout:.0f} s; run apply again"
            ) from None
        except LimitExceeded as error:
            return self.limit_exceeded(action, error)
        except AwsAccessError as error:
            if action.operation == "CreateServiceLinkedRole" and "has been taken" in str(error):
                return f"{action.summary}: already there"
            raise
        else:
            line = action.summary
        waiter = _WAITERS.get(action.operation)
        if waiter:
            name, key = waiter
            self.gateway.wait_until_exists(name, {key: action.params[key]}, action.subject, self.options.wait_timeout)
        return line

    def limit_exceeded(self, action: Action, error: LimitExceeded) -> str:
        if action.operation == "AddRoleToInstanceProfile":
            profile = self.gateway.instance_profile(action.params["InstanceProfileName"])
            if profile is not None and action.params["RoleName"] in profile.role_names:
                return f"{action.summary}: already there (added by another run)"
        raise AwsAccessError(f"{action.summary} failed: IAM limit reached ({error})") from None

    # -- the one access key ---------------------------------------------------------------------------
    def _active_keys(self, user: str) -> list[AccessKeyInfo]:
        keys = self.gateway.access_keys(user) or ()
        return [k for k in keys if k.active]

    def create_access_key(self, action: Action) -> str:
        user = action.params["UserName"]
        for round_number in range(self.options.key_rounds):
            if self._active_keys(user):
                self.result.key_left_to_another_run = True
                return f"{action.summary}: another run created it; that run delivers it"
            try:
                key = self.gateway.create_access_key(user)
            except LimitExceeded:
                continue  # a racing run's key filled the quota: look again
            others = [k for k in self._active_keys(user) if k.access_key_id != key.access_key_id]
            mine = _utc(key.created)
            if all(_utc(k.created) > mine for k in others):
                return self.keep_key(action, key)
            # Another run's key is older or as old: step back so that at most one key survives.
            self.gateway.delete_access_key(user, key.access_key_id)
            time.sleep(random.uniform(0.3, 1.5) * (round_number + 1))
        if self._active_keys(user):
            self.result.key_left_to_another_run = True
            return f"{action.summary}: another run created it; that run delivers it"
        raise AwsAccessError(
            f"could not create a single access key for user {user}: other runs kept racing; run apply again"
        )

    def keep_key(self, action: Action, key: NewAccessKey) -> str:
        assert self.key_sink is not None, "a CreateAccessKey action needs a key sink"
        try:
            self.key_sink(key)
        except Exception as error:
            # A key nobody can read is worse than none: take it back, say why.
            self.gateway.delete_access_key(key.user_name, key.access_key_id)
            reason = str(error) if isinstance(error, SetupError) else type(error).__name__
            raise AwsAccessError(
                f"the new access key for user {key.user_name} could not be delivered ({reason}); "
                "it was deleted again: fix that and run apply again"
            ) from None
        self.result.key = key
        if self.options.verify_key_timeout > 0:
            identity = self.gateway.verify_access_key(key, self.options.verify_key_timeout)
            if identity is None:
                self.result.notes.append(
                    f"access key {key.access_key_id} was not yet accepted by AWS after "
                    f"{self.options.verify_key_timeout:.0f} s; new keys can take a minute to work"
                )
            else:
                self.result.key_verified_as = identity.arn
        return f"{action.summary}: {key.access_key_id}"

    def run_stage(self, actions: list[Action]) -> None:
        """Run one stage's independent actions in parallel; record what was done in plan order, then raise
        the first failure (in plan order), if any."""
        if len(actions) == 1:
            self.record(self.run(actions[0]))
            return
        with ThreadPoolExecutor(max_workers=min(len(actions), 8), thread_name_prefix="iam-write") as pool:
            futures = [pool.submit(self.run, action) for action in actions]
        first_failure: BaseException | None = None
        for future in futures:
            failure = future.exception()
            if failure is None:
                self.record(future.result())
            elif first_failure is None:
                first_failure = failure
        if first_failure is not None:
            raise first_failure


def apply_plan(
    gateway: IamGateway,
    plan: Plan,
    key_sink: KeySink | None = None,
    progress: Callable[[str], None] = lambda line: None,
    options: ApplyOptions | None = None,
) -> ApplyResult:
    """Run the plan's actions stage by stage (the actions of a stage in parallel). Stops after the first stage
    with a failure, raising a one-line SetupError."""
    if any(a.operation == "CreateAccessKey" for a in plan.actions) and key_sink is None:
        raise SetupError("the plan creates an access key but nothing was given to deliver its secret to")
    options = options or ApplyOptions()
    applier = _Applier(gateway, options, key_sink, progress)
    done = 0
    for _, grouped in itertools.groupby(plan.actions, key=stage_of):
        stage = list(grouped)
        if options.cancelled():
            raise SetupError(
                f"stopped before {stage[0].summary} ({len(plan.actions) - done} of {len(plan.actions)} changes "
                "left): the time limit was reached; the next run continues"
            )
        applier.run_stage(stage)
        done += len(stage)
    return applier.result

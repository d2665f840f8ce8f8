"""The one flow every front end runs: observe → plan → (apply → observe again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .apply import ApplyOptions, ApplyResult, KeySink, apply_plan
from .desired import DesiredState
from .gateway import IamGateway
from .observe import observe
from .plan import Plan, make_plan


def plan_changes(gateway: IamGateway, desired: DesiredState, deliver_key: bool = True) -> Plan:
    """Observe the account and plan. Read-only. The partition comes from ARNs IAM returned, or, when the
    account holds none of the identities and there is something to do, from sts:GetCallerIdentity."""
    observation = observe(gateway, desired)
    partition = observation.partition
    if partition is None:
        draft = make_plan(desired, observation, "aws", deliver_key)
        if not draft.actions:
            return draft
        partition = gateway.caller_identity().partition
    return make_plan(desired, observation, partition, deliver_key)


@dataclass(frozen=True)
class Outcome:
    before: Plan
    result: ApplyResult
    after: Plan

    @property
    def ok(self) -> bool:
        return self.after.ok


def apply_changes(
    gateway: IamGateway,
    desired: DesiredState,
    key_sink: KeySink | None = None,
    progress: Callable[[str], None] = lambda line: None,
    options: ApplyOptions | None = None,
) -> Outcome:
    """Plan, apply, and observe again to report what stands afterwards. With nothing to do it makes no
    write call and no second round of reads."""
    before = plan_changes(gateway, desired, deliver_key=key_sink is not None)
    if not before.actions:
        return Outcome(before, ApplyResult(), before)
    result = apply_plan(gateway, before, key_sink, progress, options)
    after = plan_changes(gateway, desired, deliver_key=key_sink is not None)
    return Outcome(before, result, after)

"""The one flow every front end runs: observe → plan → (apply → observe again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .desired import AccessKey, DesiredState
from .errors import InvalidSettings, SetupError
from .findings import ApplyResult, Plan, RotationResult
from .gateway import IamGateway
from .gateway_protocol import Gateway
from .kinds import Kind
from .observe import observe
from .plan import make_plan
from .waits import KEY_RACE_SETTLE, poll

# Applying and the key rotation are imported by the runs that make them: a check loads neither.
if TYPE_CHECKING:
    from .apply import ApplyOptions, KeySink
    from .rotation import KeyHolder, RotationOptions


def plan_changes(
    gateway: IamGateway, desired: DesiredState, deliver_key: bool = True, now: datetime | None = None
) -> Plan:
    """Observe the account and plan. Read-only. The partition comes from the ARNs IAM returned or, in an account
    holding none of the identities, from the region in use (botocore's endpoint data: no call)."""
    observation = observe(gateway, desired)
    now = now or gateway.aws_now()  # the replies just read told AWS's time: marks and records are in it
    account = None
    if desired.of_kind(Kind.POLICY_COPY) or desired.of_kind(Kind.FLEET_GROUP):  # ARNs that name the account
        account = observation.account or gateway.account
    partition = observation.partition or gateway.partition
    return make_plan(desired, observation, partition, deliver_key, account, now, getattr(gateway, "region", None))


@dataclass(frozen=True)
class Outcome:
    before: Plan
    result: ApplyResult
    after: Plan

    @property
    def ok(self) -> bool:
        """Everything in place afterwards, and every change made (none refused, failed or left out)."""
        return self.after.ok and self.result.complete


def apply_changes(
    gateway: IamGateway,
    desired: DesiredState,
    key_sink: KeySink | None = None,
    progress: Callable[[str], None] = lambda line: None,
    options: ApplyOptions | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Plan, apply, and observe again to report what stands afterwards. With nothing to do it makes no
    write call and no second round of reads. A change refused or failed leaves the others made (``result.outcomes``
    says which); an apply stopped part-way raises its error, with what it did as ``partial_result``."""
    from .apply import apply_plan

    before = plan_changes(gateway, desired, deliver_key=key_sink is not None, now=now)
    if not before.actions:
        return Outcome(before, ApplyResult(), before)
    result = apply_plan(gateway, before, key_sink, progress, options)
    try:
        after = plan_changes(gateway, desired, deliver_key=key_sink is not None, now=now)
        if before.creates_access_key and _racing_keys(after):
            # Runs raced for the key: a loser's key lives until its own delete. Look again, bounded, before reporting.

            def settled() -> Plan | None:
                plan = plan_changes(gateway, desired, deliver_key=key_sink is not None, now=now)
                return None if _racing_keys(plan) else plan

            after = poll(settled, KEY_RACE_SETTLE) or after
    except SetupError as error:  # every change was made (or tried): the error carries what was done
        error.partial_result = result
        raise
    return Outcome(before, result, after)


def _racing_keys(plan: Plan) -> bool:
    """More than one active key of the Spot user, as a race leaves for a moment."""
    if plan.observation is None:
        return False
    return any(
        sum(1 for key in plan.observation[identity].keys if key.active) > 1
        for identity in plan.observation.observed
        if identity.kind is Kind.ACCESS_KEY
    )


def rotate_access_key(
    gateway: Gateway,
    desired: DesiredState,
    holder: KeyHolder,
    options: RotationOptions | None = None,
    now: datetime | None = None,
) -> RotationResult:
    """The next steps of the Spot user's key rotation (:mod:`rotation`), the age limit taken from the desired
    state; ``now``: AWS's time (None: as the gateway reads it from AWS's replies)."""
    from .rotation import RotationOptions, rotate_key

    key = next((identity for identity in desired if isinstance(identity, AccessKey)), None)
    if key is None:
        raise InvalidSettings(
            "there is no access key to rotate: the Spot credentials are a role, or no access key is expected"
        )
    options = replace(options or RotationOptions(), max_age_days=key.max_age_days)
    return rotate_key(gateway, key.user_name, holder, options, now)

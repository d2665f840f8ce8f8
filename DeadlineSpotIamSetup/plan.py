"""From (desired, observed) to a plan: findings, actions in the order apply runs them, manual steps.

Pure: no AWS here. Each identity is planned by its kind's handler.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .desired import DesiredState
from .findings import Draft, Plan, PlanContext
from .handlers import handler_for
from .values import Observation


def make_plan(
    desired: DesiredState,
    observation: Observation,
    partition: str,
    deliver_key: bool = True,
    account: str | None = None,
    now: datetime | None = None,
    region: str | None = None,
) -> Plan:
    """The findings for every identity and the actions that fix what the engine owns. ``account`` is needed when
    the desired state holds customer managed policies (their ARNs name it); ``region`` is the one the check uses."""
    context = PlanContext(partition, desired.options, deliver_key, account, now or datetime.now(timezone.utc), region)
    drafts = []
    for identity in desired:
        seen = observation[identity]
        draft = Draft(identity, seen.exists)
        handler_for(identity).plan(identity, seen, draft, context)
        drafts.append(draft)
    actions = [action for draft in drafts for action in draft.actions]
    actions.sort(key=lambda action: action.stage)  # stable: identity order within a stage
    return Plan(
        findings=tuple(draft.finding() for draft in drafts),
        actions=tuple(actions),
        manual=tuple(step for draft in drafts for step in draft.manual),
        observation=observation,
    )

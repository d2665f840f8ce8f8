"""The one reporter: findings, actions, manual steps and the key hand-off, rendered for people (aligned text
lines, used by the command line and the event plugin's log alike) and for automation (JSON)."""

from __future__ import annotations

from typing import Any

from .findings import DONE, FAILED, NOT_ATTEMPTED, REFUSED, ActionOutcome, Finding, ManualStep, Plan, RotationResult
from .kinds import Status
from .values import NewAccessKey


def finding_lines(findings: tuple[Finding, ...]) -> list[str]:
    kind_width = max(len(str(f.kind)) for f in findings)
    name_width = max(len(f.name) for f in findings)
    lines = []
    for f in findings:
        problems = "; ".join(f.problems + tuple(f"warning: {note}" for note in f.notes))
        lines.append(f"  {f.status!s:<8} {f.kind!s:<{kind_width}}  {f.name:<{name_width}}  {problems}".rstrip())
    return lines


def summary_line(plan: Plan) -> str:
    pending = [f for f in plan.findings if f.status is not Status.OK]
    if not pending:
        return f"All {len(plan.findings)} identities are in place."
    return f"{len(pending)} of {len(plan.findings)} identities need attention."


def action_lines(plan: Plan) -> list[str]:
    return [f"  {number}. {action.summary}" for number, action in enumerate(plan.actions, 1)]


def manual_text(step: ManualStep) -> str:
    return f"{step.kind} {step.name}: {step.problem}: {step.remedy}"


def manual_lines(plan: Plan) -> list[str]:
    return [f"  - {manual_text(step)}" for step in plan.manual]


def outcome_text(outcome: ActionOutcome) -> str:
    """One action's outcome: what was done; for a refusal, the permission missing and who lacks it."""
    if outcome.state == DONE:
        return outcome.detail
    if outcome.state == REFUSED:
        who = outcome.principal or "the credential in use"
        return f"{outcome.action.summary}: {who} may not {outcome.permission or outcome.action.operation}"
    return f"{outcome.action.summary}: {outcome.detail}"


def outcome_lines(outcomes: list[ActionOutcome]) -> list[str]:
    """The table of what apply did: each action done, refused, failed or not attempted (and why)."""
    width = max((len(outcome.state) for outcome in outcomes), default=0)
    return [f"  {outcome.state:<{width}}  {outcome_text(outcome)}" for outcome in outcomes]


def _unmade_counts(outcomes: list[ActionOutcome]) -> list[tuple[str, int]]:
    """``[("refused", 2), ("not attempted", 1)]``: how many changes were not made, by state (none left out)."""
    counted = [
        (state, sum(1 for outcome in outcomes if outcome.state == state)) for state in (REFUSED, FAILED, NOT_ATTEMPTED)
    ]
    return [(state, count) for state, count in counted if count]


def outcome_summary(outcomes: list[ActionOutcome]) -> str:
    """``Made 12 of 14 changes: 2 refused.``"""
    rest = ", ".join(f"{count} {state}" for state, count in _unmade_counts(outcomes))
    done = sum(1 for outcome in outcomes if outcome.state == DONE)
    return f"Made {done} of {len(outcomes)} changes" + (f": {rest}." if rest else ".")


def incomplete_line(outcomes: list[ActionOutcome]) -> str:
    """The one error line of an apply that left changes unmade: the first refusal (else failure) as AWS gave it, then
    how many changes were made and that the others are listed."""
    unmade = [outcome for outcome in outcomes if outcome.state == REFUSED] or [
        outcome for outcome in outcomes if outcome.state == FAILED
    ]
    first = unmade[0] if unmade else None
    head = first.detail if first is not None else "not every change was made"
    done = sum(1 for outcome in outcomes if outcome.state == DONE)
    left = ", ".join(f"{count} {state}" for state, count in _unmade_counts(outcomes))
    return (
        f"{head}; made {done} of {len(outcomes)} changes ({left}, each listed above): run apply again once that is done"
    )


def outcomes_json(outcomes: list[ActionOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "operation": outcome.action.operation,
            "summary": outcome.action.summary,
            "state": outcome.state,
            "detail": outcome.detail,
            "principal": outcome.principal,
            "permission": outcome.permission,
        }
        for outcome in outcomes
    ]


def key_delivered_line(key: NewAccessKey, destination: str) -> str:
    return f"New access key {key.access_key_id} for user {key.user_name} delivered to {destination}."


def key_accepted_line(arn: str) -> str:
    return f"AWS accepts the new key as {arn}."


KEY_LEFT_TO_ANOTHER_RUN = "Another run created the access key at the same moment; that run delivers it."


def plan_json(plan: Plan, with_actions: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ok": plan.ok,
        "identities": [
            {
                "kind": str(f.kind),
                "name": f.name,
                "status": str(f.status),
                "problems": list(f.problems),
                "notes": list(f.notes),
            }
            for f in plan.findings
        ],
    }
    if with_actions:
        document["actions"] = [
            {"operation": a.operation, "summary": a.summary, "params": a.params} for a in plan.actions
        ]
        document["manual"] = manual_json(plan)
    return document


def manual_json(plan: Plan) -> list[dict[str, str]]:
    return [
        {"kind": str(step.kind), "name": step.name, "problem": step.problem, "remedy": step.remedy}
        for step in plan.manual
    ]


def rotation_lines(result: RotationResult) -> list[str]:
    lines = [f"  done: {line}" for line in result.done]
    lines += [f"  note: {note}" for note in result.notes]
    lines += [f"  waiting: {why}" for why in result.waiting]
    lines += [f"  needs an admin: {manual_text(step)}" for step in result.manual]
    return lines or ["  nothing to do"]


def rotation_json(result: RotationResult, destination: str) -> dict[str, Any]:
    return {
        "settled": result.settled,
        "done": result.done,
        "notes": result.notes,
        "waiting": result.waiting,
        "manual": [
            {"kind": str(step.kind), "name": step.name, "problem": step.problem, "remedy": step.remedy}
            for step in result.manual
        ],
        "access_key_id": result.key.access_key_id if result.key else None,
        "secret_out": destination if result.key else None,
        "verified_as": result.verified_as,
    }

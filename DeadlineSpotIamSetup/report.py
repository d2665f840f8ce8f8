"""The one reporter: findings, actions, manual steps, the key hand-off, and the outcomes of apply, rotate-key and a
check of many accounts, rendered for people (aligned text lines, used by the command line and the event plugin's log
alike) and for automation (JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .findings import (
    DONE,
    FAILED,
    NOT_ATTEMPTED,
    OK,
    REFUSED,
    SHORT,
    UNREACHABLE,
    AccountResult,
    ActionOutcome,
    ApplyResult,
    Finding,
    ManualStep,
    Plan,
    RotationResult,
)
from .kinds import Kind, Status
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


# -- the command line's outcomes ------------------------------------------------------------------------------------
KEY_HINT = "run `apply --secret-out FILE` to create the Spot user's access key; its secret goes only to FILE"


def unmade_lines(outcomes: Sequence[ActionOutcome]) -> list[str]:
    """The table of what apply did, when not every change was made (nothing when every one was)."""
    if all(outcome.state == DONE for outcome in outcomes):
        return []
    return ["", "Not every change was made:", *outcome_lines(list(outcomes)), outcome_summary(list(outcomes))]


def new_key_lines(key: NewAccessKey | None, verified_as: str | None, destination: str) -> list[str]:
    """The new key (its ID, never its secret), where it went, and who AWS accepts it as."""
    if key is None:
        return []
    lines = ["", key_delivered_line(key, destination)]
    return lines + [key_accepted_line(verified_as)] if verified_as else lines


def _apply_key_lines(result: ApplyResult, secret_out: str | None) -> list[str]:
    destination = (
        f"{secret_out} (readable by you only): enter it in the Spot Event Plugin's Security Credentials, then delete "
        "the file"
    )
    return new_key_lines(result.key, result.key_verified_as, destination)


def apply_stopped_lines(result: ApplyResult, secret_out: str | None) -> list[str]:
    """What an ``apply`` that was stopped (an error, Ctrl-C) did before: the changes not made, the key it kept."""
    return [*unmade_lines(result.outcomes), *_apply_key_lines(result, secret_out)]


def apply_outcome_lines(after: Plan, result: ApplyResult, secret_out: str | None) -> list[str]:
    """What ``apply`` says once it is done: engine.Outcome's ``after`` (what stands now) and ``result`` (each change's
    outcome, the key it created into ``secret_out`` and who AWS accepts it as, its notes); the steps it took were
    shown as it took them."""
    lines = [] if result.outcomes else ["  nothing to do"]
    lines += unmade_lines(result.outcomes)
    lines += ["", "Afterwards:", *finding_lines(after.findings)]
    lines += _apply_key_lines(result, secret_out)
    lines += [f"Note: {note}" for note in result.notes]
    if after.manual:
        lines += ["", "Still needs an admin:", *manual_lines(after)]
        if secret_out is None and any(step.kind is Kind.ACCESS_KEY for step in after.manual):
            lines.append(f"  ({KEY_HINT})")
    if result.refused_or_failed:
        ending = "Not everything is in place: the changes above marked refused, failed or not attempted were not made."
    elif after.ok:
        ending = "Everything is in place."
    else:
        ending = "Not everything is in place (see above)."
    return [*lines, "", ending]


def apply_outcome_json(after: Plan, result: ApplyResult, *, ok: bool, secret_out: str | None) -> dict[str, Any]:
    """``apply --json``: the report of what stands ``after``, what ``result`` says was done (and each change's
    outcome), what is left to an admin, and the new key's ID and file (never its secret)."""
    document = plan_json(after, with_actions=False)
    document["ok"] = ok
    document["done"] = list(result.done)
    document["outcomes"] = outcomes_json(result.outcomes)
    document["manual"] = manual_json(after)
    document["access_key_id"] = result.key.access_key_id if result.key else None
    document["secret_out"] = secret_out if result.key else None
    return document


def rotation_step_lines(result: RotationResult, secret_out: str | None) -> list[str]:
    """The steps ``rotate-key`` took and the key it wrote into ``secret_out`` (also for a run that stopped)."""
    destination = (
        f"{secret_out} (readable by you only): enter it in the Spot Event Plugin's settings, run rotate-key --finish, "
        "then delete the file"
    )
    return [*rotation_lines(result), *new_key_lines(result.key, result.verified_as, destination)]


def rotation_outcome_lines(result: RotationResult, endpoint: str, secret_out: str | None) -> list[str]:
    """What ``rotate-key`` says: the steps it took, the key it wrote into ``secret_out``, how far the rotation is."""
    lines = [f"Rotating the Spot user's access key ({endpoint}):", *rotation_step_lines(result, secret_out)]
    if result.complete:
        finished = "The rotation is complete."
    elif result.settled:
        finished = "The switch-over is done; a later rotate-key run deletes the old key (see above)."
    else:
        finished = "The rotation is not finished (see above)."
    return [*lines, "", finished]


def accounts_lines(results: Sequence[AccountResult], title: str) -> list[str]:
    """``check --accounts``: the table (one row per account), then each failing account's problems, prefixed with the
    account."""
    lines = [title, f"  {'account':<12}  {'status':<11}  need attention"]
    for result in results:
        pending = "-" if result.plan is None else f"{result.pending} of {len(result.plan.findings)}"
        lines.append(f"  {result.account:<12}  {result.status:<11}  {pending}")
    failing = [result for result in results if result.status != OK]
    if failing:
        lines.append("")
        # One alignment for every account's problem lines: their findings rendered together, then dealt out.
        findings = tuple(f for r in failing if r.plan is not None for f in r.plan.findings if f.status is not Status.OK)
        rendered = iter(finding_lines(findings) if findings else [])
        for result in failing:
            if result.plan is None:
                lines.append(f"  {result.account}  unreachable: {result.error}")
            else:
                lines.extend(f"  {result.account}  {next(rendered)[2:]}" for _ in range(result.pending))
    lines.append("")
    lines.append(accounts_summary(results))
    if failing:
        lines.append("For one account's fixes: plan --role-arn ROLE_ARN with the same options.")
    return lines


def accounts_summary(results: Sequence[AccountResult]) -> str:
    counts = {status: sum(1 for r in results if r.status == status) for status in (OK, SHORT, UNREACHABLE)}
    if counts[OK] == len(results):
        return f"All {len(results)} accounts are complete."
    return (
        f"{counts[OK]} of {len(results)} accounts complete, {counts[SHORT]} short, {counts[UNREACHABLE]} unreachable."
    )


def accounts_json(results: Sequence[AccountResult]) -> dict[str, Any]:
    """``check --accounts --json``: each account with its status, why it could not be checked, and its usual report."""
    return {
        "ok": all(result.status == OK for result in results),
        "accounts": [
            {
                "account": result.account,
                "role_arn": result.role_arn,
                "status": result.status,
                "error": result.error,
                "report": None if result.plan is None else plan_json(result.plan, with_actions=False),
            }
            for result in results
        ],
    }

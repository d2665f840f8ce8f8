"""The one reporter: findings, actions, manual steps, the key hand-off, and the outcomes of apply, rotate-key and a
check of many accounts, rendered for people (aligned text lines, used by the command line and the event plugin's log
alike) and for automation (JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .findings import OK, SHORT, UNREACHABLE, AccountResult, Finding, ManualStep, Plan, RotationResult
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


def apply_outcome_lines(
    after: Plan,
    *,
    done: Sequence[str],
    key: NewAccessKey | None,
    key_verified_as: str | None,
    notes: Sequence[str],
    secret_out: str | None,
) -> list[str]:
    """What ``apply`` says once it is done (engine.Outcome: what stands ``after``, and what apply.ApplyResult says it
    ``done``, the ``key`` it created into ``secret_out`` and who AWS accepts it as, its ``notes``); the steps it took
    were shown as it took them."""
    lines = [] if done else ["  nothing to do"]
    lines += ["", "Afterwards:", *finding_lines(after.findings)]
    if key is not None:
        destination = (
            f"{secret_out} (readable by you only): enter it in the Spot Event Plugin's Security Credentials, then "
            "delete the file"
        )
        lines += ["", key_delivered_line(key, destination)]
        if key_verified_as:
            lines.append(key_accepted_line(key_verified_as))
    lines += [f"Note: {note}" for note in notes]
    if after.manual:
        lines += ["", "Still needs an admin:", *manual_lines(after)]
        if secret_out is None and any(step.kind is Kind.ACCESS_KEY for step in after.manual):
            lines.append(f"  ({KEY_HINT})")
    lines += ["", "Everything is in place." if after.ok else "Not everything is in place (see above)."]
    return lines


def apply_outcome_json(
    after: Plan, *, done: Sequence[str], key: NewAccessKey | None, secret_out: str | None
) -> dict[str, Any]:
    """``apply --json``: the report of what stands ``after``, what was ``done``, what is left to an admin, and the
    new key's ID and file (never its secret)."""
    document = plan_json(after, with_actions=False)
    document["done"] = list(done)
    document["manual"] = manual_json(after)
    document["access_key_id"] = key.access_key_id if key else None
    document["secret_out"] = secret_out if key else None
    return document


def rotation_outcome_lines(result: RotationResult, endpoint: str, secret_out: str | None) -> list[str]:
    """What ``rotate-key`` says: the steps it took, the key it wrote into ``secret_out``, how far the rotation is."""
    lines = [f"Rotating the Spot user's access key ({endpoint}):", *rotation_lines(result)]
    if result.key is not None:
        destination = (
            f"{secret_out} (readable by you only): enter it in the Spot Event Plugin's settings, run "
            "rotate-key --finish, then delete the file"
        )
        lines += ["", key_delivered_line(result.key, destination)]
        if result.verified_as:
            lines.append(key_accepted_line(result.verified_as))
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

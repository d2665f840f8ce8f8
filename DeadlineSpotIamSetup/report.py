"""Rendering findings and plans for people (aligned text) and for automation (JSON)."""

from __future__ import annotations

from typing import Any

from .plan import Finding, Plan


def finding_lines(findings: tuple[Finding, ...]) -> list[str]:
    kind_width = max(len(f.kind) for f in findings)
    name_width = max(len(f.name) for f in findings)
    lines = []
    for f in findings:
        problems = "; ".join(f.problems)
        lines.append(f"  {f.status:<8} {f.kind:<{kind_width}}  {f.name:<{name_width}}  {problems}".rstrip())
    return lines


def summary_line(plan: Plan) -> str:
    pending = [f for f in plan.findings if f.status != "ok"]
    if not pending:
        return f"All {len(plan.findings)} identities are in place."
    return f"{len(pending)} of {len(plan.findings)} identities need attention."


def action_lines(plan: Plan) -> list[str]:
    return [f"  {number}. {action.summary}" for number, action in enumerate(plan.actions, 1)]


def manual_lines(plan: Plan) -> list[str]:
    return [f"  - {item}" for item in plan.manual]


def plan_json(plan: Plan, with_actions: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ok": plan.ok,
        "identities": [
            {"kind": f.kind, "name": f.name, "status": f.status, "problems": list(f.problems)} for f in plan.findings
        ],
    }
    if with_actions:
        document["actions"] = [
            {"operation": a.operation, "summary": a.summary, "params": a.params} for a in plan.actions
        ]
        document["manual"] = list(plan.manual)
    return document

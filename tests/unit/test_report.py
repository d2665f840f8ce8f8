"""Rendering findings, plans and the outcomes of apply and rotate-key as aligned text and as JSON."""

from __future__ import annotations

import json

import pytest

from DeadlineSpotIamSetup.desired import ServiceRole, Settings, SpotUser, desired_state
from DeadlineSpotIamSetup.findings import (
    DONE,
    REFUSED,
    Action,
    ActionOutcome,
    ApplyResult,
    Finding,
    ManualStep,
    Plan,
    RotationResult,
    Stage,
)
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.report import (
    KEY_HINT,
    action_lines,
    apply_outcome_json,
    apply_outcome_lines,
    finding_lines,
    manual_lines,
    outcome_lines,
    outcome_summary,
    outcomes_json,
    plan_json,
    rotation_lines,
    rotation_outcome_lines,
    summary_line,
)
from DeadlineSpotIamSetup.values import NewAccessKey, Observation, Observed

DESIRED = desired_state(Settings())


def empty_plan() -> Plan:
    return make_plan(DESIRED, Observation({i: Observed(False) for i in DESIRED}), "aws")


def mixed_findings() -> tuple[Finding, ...]:
    user = SpotUser("A", ())
    role = ServiceRole("worker-role", "DeadlineSpotWorkerLongName", "ec2.amazonaws.com", ())
    fleet = ServiceRole("fleet-role", "Fleet", "spotfleet.amazonaws.com", ())
    return (
        Finding(user, Status.OK),
        Finding(role, Status.MISSING, ("role does not exist",)),
        Finding(fleet, Status.DRIFT, ("first problem", "second problem")),
    )


def test_finding_lines_align_status_kind_name_and_problems_in_columns():
    findings = mixed_findings()
    lines = finding_lines(findings)
    assert len(lines) == len(findings)
    pairs = list(zip(lines, findings, strict=True))
    name_columns = {line.index(f" {f.name}", 2 + 8 + 1 + len(f.kind)) + 1 for line, f in pairs}
    assert len(name_columns) == 1
    problem_columns = {line.index("; ".join(f.problems)) for line, f in pairs if f.problems}
    assert len(problem_columns) == 1
    for line, f in pairs:
        assert line.split()[0] == f.status
        assert line.split()[1] == f.kind
        assert line[2:].startswith(f.status)


def test_finding_lines_join_problems_and_leave_no_trailing_space():
    lines = finding_lines(mixed_findings())
    assert lines[0] == lines[0].rstrip()
    assert lines[0].endswith(" A")
    assert lines[2].endswith("first problem; second problem")


def test_finding_lines_of_a_real_plan_name_every_identity():
    plan = empty_plan()
    lines = finding_lines(plan.findings)
    for line, f in zip(lines, plan.findings, strict=True):
        assert f.name in line and f.kind in line and "missing" in line


def test_summary_line_counts_identities_needing_attention():
    text = summary_line(empty_plan())
    assert "9 of 9" in text
    plan = Plan(mixed_findings(), (), ())
    assert "2 of 3" in summary_line(plan)


def test_summary_line_says_all_in_place_when_every_finding_is_ok():
    findings = tuple(Finding(f.identity, Status.OK) for f in mixed_findings())
    text = summary_line(Plan(findings, (), ()))
    assert "3" in text and "in place" in text
    assert "attention" not in text


def test_action_and_manual_lines_are_numbered_and_bulleted():
    plan = empty_plan()
    lines = action_lines(plan)
    assert len(lines) == len(plan.actions)
    assert lines[0] == f"  1. {plan.actions[0].summary}"
    assert lines[-1].startswith(f"  {len(plan.actions)}. ")
    manual_plan = Plan(
        (),
        (),
        (
            ManualStep(Kind.SPOT_ROLE, "X", "it is wrong", "do this"),
            ManualStep(Kind.ACCESS_KEY, "Y", "gone", "do that"),
        ),
    )
    assert manual_lines(manual_plan) == ["  - spot-role X: it is wrong: do this", "  - access-key Y: gone: do that"]


def test_plan_json_lists_identities_without_actions_unless_asked():
    plan = empty_plan()
    document = plan_json(plan, with_actions=False)
    assert set(document) == {"ok", "identities"}
    assert document["ok"] is False
    assert len(document["identities"]) == len(plan.findings)
    for entry, f in zip(document["identities"], plan.findings, strict=True):
        assert entry == {
            "kind": f.kind,
            "name": f.name,
            "status": f.status,
            "problems": list(f.problems),
            "notes": list(f.notes),
        }
    json.dumps(document)


def test_plan_json_with_actions_lists_operations_params_and_manual_steps():
    plan = empty_plan()
    document = plan_json(plan, with_actions=True)
    assert {"ok", "identities", "actions"} <= set(document)
    assert [a["operation"] for a in document["actions"]] == [a.operation for a in plan.actions]
    assert all(set(a) >= {"operation", "summary", "params"} for a in document["actions"])
    assert document["actions"][-1]["params"] == {"UserName": "DeadlineSpotEventPluginAdmin"}
    assert document["manual"] == [
        {"kind": str(m.kind), "name": m.name, "problem": m.problem, "remedy": m.remedy} for m in plan.manual
    ]
    assert json.loads(json.dumps(document)) == document


def test_plan_json_of_a_plan_with_every_identity_in_place_is_ok_with_no_actions():
    ok_plan = Plan(tuple(Finding(f.identity, Status.OK) for f in empty_plan().findings), (), ())
    document = plan_json(ok_plan, with_actions=True)
    assert document["ok"] is True
    assert document["actions"] == []
    assert document["manual"] == []
    assert [i["status"] for i in document["identities"]] == ["ok"] * len(DESIRED.identities)
    assert all(i["problems"] == [] for i in document["identities"])


# -- the command line's outcomes: apply, rotate-key ---------------------------------------------------------------
KEY = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
ARN = "arn:aws:iam::123456789012:user/DeadlineSpotEventPluginAdmin"


def outcome(summary: str, state: str = DONE, detail: str = "") -> ActionOutcome:
    user = SpotUser("U", ())
    action = Action("CreateUser", {"UserName": "U"}, user, summary, Stage.CREATE)
    return ActionOutcome(action, state, detail or summary)


def ok_plan() -> Plan:
    return Plan(tuple(Finding(f.identity, Status.OK) for f in empty_plan().findings), (), ())


def test_an_apply_that_found_nothing_to_do_says_so_then_what_stands():
    after = ok_plan()
    lines = apply_outcome_lines(after, ApplyResult(), None)
    assert lines == [
        "  nothing to do",
        "",
        "Afterwards:",
        *finding_lines(after.findings),
        "",
        "Everything is in place.",
    ]


def test_an_apply_that_created_the_key_names_where_it_went_and_what_is_left():
    user = SpotUser("DeadlineSpotEventPluginAdmin", ())
    after = Plan(
        (Finding(user, Status.DRIFT, ("policy X is not attached",)),),
        (),
        (ManualStep(Kind.SPOT_USER, user.name, "policy X is not attached", "attach it"),),
    )
    result = ApplyResult(
        outcomes=[outcome("create user DeadlineSpotEventPluginAdmin")],
        key=KEY,
        key_verified_as=ARN,
        notes=["IAM was slow"],
    )
    lines = apply_outcome_lines(after, result, "/tmp/key.json")
    assert lines == [
        "",
        "Afterwards:",
        *finding_lines(after.findings),
        "",
        f"New access key {KEY.access_key_id} for user {KEY.user_name} delivered to /tmp/key.json (readable by you "
        "only): enter it in the Spot Event Plugin's Security Credentials, then delete the file.",
        f"AWS accepts the new key as {ARN}.",
        "Note: IAM was slow",
        "",
        "Still needs an admin:",
        "  - spot-user DeadlineSpotEventPluginAdmin: policy X is not attached: attach it",
        "",
        "Not everything is in place (see above).",
    ]
    assert KEY.secret_access_key not in "\n".join(lines)


def test_an_apply_left_without_a_key_says_how_to_have_one_created():
    key = DESIRED.of_kind(Kind.ACCESS_KEY)[0]
    after = Plan(
        (Finding(key, Status.MISSING, ("no access key",)),),
        (),
        (ManualStep(Kind.ACCESS_KEY, "U", "no access key", "create one"),),
    )
    lines = apply_outcome_lines(after, ApplyResult(outcomes=[outcome("x")]), None)
    assert lines[-5:] == [
        "Still needs an admin:",
        "  - access-key U: no access key: create one",
        f"  ({KEY_HINT})",
        "",
        "Not everything is in place (see above).",
    ]
    with_file = apply_outcome_lines(after, ApplyResult(outcomes=[outcome("x")]), "f")
    assert f"  ({KEY_HINT})" not in with_file


def test_an_apply_with_refused_changes_lists_them_and_says_they_were_not_made():
    refused = outcome("create role R", REFUSED, "AccessDenied")
    lines = apply_outcome_lines(ok_plan(), ApplyResult(outcomes=[outcome("create user U"), refused]), None)
    assert lines[:5] == [
        "",
        "Not every change was made:",
        *outcome_lines([outcome("create user U"), refused]),
        outcome_summary([outcome("create user U"), refused]),
    ]
    assert lines[-1] == (
        "Not everything is in place: the changes above marked refused, failed or not attempted were not made."
    )


def test_apply_json_holds_the_report_what_was_done_the_manual_steps_and_the_key_id_never_its_secret():
    after = ok_plan()
    done = [outcome("create user U")]
    result = ApplyResult(done=["create user U"], outcomes=done, key=KEY)
    document = apply_outcome_json(after, result, ok=True, secret_out="/tmp/key.json")
    assert document == {
        **plan_json(after, with_actions=False),
        "ok": True,
        "done": ["create user U"],
        "outcomes": outcomes_json(done),
        "manual": [],
        "access_key_id": KEY.access_key_id,
        "secret_out": "/tmp/key.json",
    }
    without = apply_outcome_json(after, ApplyResult(), ok=True, secret_out="/tmp/key.json")
    assert (without["access_key_id"], without["secret_out"]) == (None, None)
    assert KEY.secret_access_key not in json.dumps(document)


@pytest.mark.parametrize(
    ("result", "last"),
    [
        (RotationResult(done=["deleted old key"]), "The rotation is complete."),
        (
            RotationResult(remaining=["delete the old key"]),
            "The switch-over is done; a later rotate-key run deletes the old key (see above).",
        ),
        (RotationResult(waiting=["the new key is not used yet"]), "The rotation is not finished (see above)."),
    ],
)
def test_a_rotation_run_says_what_it_did_then_how_far_the_rotation_is(result, last):
    lines = rotation_outcome_lines(result, "IAM at https://iam.amazonaws.com", None)
    assert lines == [
        "Rotating the Spot user's access key (IAM at https://iam.amazonaws.com):",
        *rotation_lines(result),
        "",
        last,
    ]


def test_a_rotation_that_made_a_key_names_its_file_and_the_next_step():
    result = RotationResult(done=["created key"], key=KEY, verified_as=ARN, waiting=["enter it"])
    lines = rotation_outcome_lines(result, "IAM", "/tmp/new.json")
    assert lines[-5:] == [
        "",
        f"New access key {KEY.access_key_id} for user {KEY.user_name} delivered to /tmp/new.json (readable by you "
        "only): enter it in the Spot Event Plugin's settings, run rotate-key --finish, then delete the file.",
        f"AWS accepts the new key as {ARN}.",
        "",
        "The rotation is not finished (see above).",
    ]

"""check --accounts FILE, without AWS: the accounts file, the role each line means, the pool, the exit code and
the report (table and JSON)."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

from DeadlineSpotIamSetup.accounts import (
    MAX_PARALLEL_ACCOUNTS,
    AccountTarget,
    check_accounts,
    parse_accounts,
    read_accounts,
    resolve_targets,
)
from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.cli_accounts import exit_code
from DeadlineSpotIamSetup.desired import DEFAULT_ROLE_NAME, Settings, desired_state
from DeadlineSpotIamSetup.errors import AccessDenied, EndpointUnavailable, InvalidSettings
from DeadlineSpotIamSetup.findings import AccountResult, Finding, Plan
from DeadlineSpotIamSetup.gateway import AwsAccess
from DeadlineSpotIamSetup.kinds import Status
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.report import accounts_json, accounts_lines, plan_json
from DeadlineSpotIamSetup.values import Observation, Observed

DESIRED = desired_state(Settings())
A, B, C = "111111111111", "222222222222", "333333333333"


def parse(text: str) -> tuple[AccountTarget, ...]:
    return parse_accounts(text, "farm.txt")


def refusal(text: str) -> str:
    with pytest.raises(InvalidSettings) as caught:
        parse(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- the accounts file ----------------------------------------------------------------------------------------------
def test_ids_and_role_arns_in_the_files_order_with_their_line_numbers():
    text = f"{A}\narn:aws:iam::{B}:role/FarmAdmin\narn:aws-cn:iam::{C}:role/ops/RenderAdmin\n"
    assert parse(text) == (
        AccountTarget(A, None, 1),
        AccountTarget(B, f"arn:aws:iam::{B}:role/FarmAdmin", 2),
        AccountTarget(C, f"arn:aws-cn:iam::{C}:role/ops/RenderAdmin", 3),
    )


def test_blank_lines_comments_and_surrounding_space_are_skipped():
    text = f"# render farms\n\n   {A}   \n\t\n{B}  # EU farm\r\n  # {C} retired\n"
    assert [(t.account, t.line) for t in parse(text)] == [(A, 3), (B, 5)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"{A}\n{A}\n", 2),
        (f"{A}\n\n# again\narn:aws:iam::{A}:role/Other\n", 4),
        (f"arn:aws:iam::{A}:role/One\n{B}\narn:aws:iam::{A}:role/Two\n", 3),
    ],
)
def test_an_account_named_twice_is_refused_naming_both_lines(text, line):
    message = refusal(text)
    assert message.startswith(f"farm.txt line {line}: account {A} is already on line 1")


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("12345678901", "neither a 12-digit account ID nor a role ARN"),
        ("1234567890123", "neither a 12-digit account ID nor a role ARN"),
        ("１２３４５６７８９０１２", "neither a 12-digit account ID nor a role ARN"),  # digits, but not ASCII
        (f"{A} {B}", "neither a 12-digit account ID nor a role ARN"),
        ("render-farm", "neither a 12-digit account ID nor a role ARN"),
        (f"arn:aws:iam::{A}:user/admin", "is not a valid role ARN"),
        (f"arn:aws:iam::{A}:role/", "is not a valid role ARN"),
        (f"arn:aws:iam::{A}:role//Admin", "is not a valid role ARN"),
        ("arn:aws:iam::1234:role/Admin", "is not a valid role ARN"),
        ("arn:aws:s3:::render-bucket", "is not a valid role ARN"),
    ],
)
def test_a_bad_line_is_refused_with_its_line_number(entry, fragment):
    message = refusal(f"# farms\n{A}\n\n{entry}\n{B}\n")
    assert message.startswith("farm.txt line 4: ")
    assert fragment in message


def test_a_long_bad_line_is_shown_cut_short():
    message = refusal("x" * 5000)
    assert message.startswith("farm.txt line 1: ") and len(message) < 300


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n   \n# still nothing\n"])
def test_a_file_naming_no_account_is_refused(text):
    assert refusal(text) == "farm.txt names no account: one 12-digit account ID or role ARN per line"


def test_read_accounts_takes_a_byte_order_mark_and_refuses_an_unreadable_file(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_bytes(b"\xef\xbb\xbf" + A.encode() + b"\n")
    assert read_accounts(path) == (AccountTarget(A, None, 1),)
    path.write_bytes(b"\xff\xfe1\n")
    with pytest.raises(InvalidSettings, match="cannot be read"):
        read_accounts(path)
    with pytest.raises(InvalidSettings, match="cannot be read"):
        read_accounts(tmp_path / "missing.txt")


def test_an_account_id_means_the_named_role_in_the_credentials_partition_and_an_arn_stays_as_given():
    targets = parse(f"{A}\narn:aws-cn:iam::{B}:role/ops/FarmAdmin\n")
    assert [t.role_arn for t in resolve_targets(targets, "aws-cn", "RenderAdmin", "farm.txt")] == [
        f"arn:aws-cn:iam::{A}:role/RenderAdmin",
        f"arn:aws-cn:iam::{B}:role/ops/FarmAdmin",
    ]


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_a_role_arn_in_another_partition_than_the_credentials_is_refused_naming_its_line(partition):
    """"A credential issued in one partition isn't valid in another. As a result, direct role assumption with the
    AssumeRole API doesn't work across partition boundaries" (IAM User Guide, "Federating AWS identities across AWS
    partitions")."""
    targets = parse(f"{A}\n\narn:{partition}:iam::{B}:role/FarmAdmin\n")
    with pytest.raises(InvalidSettings) as caught:
        resolve_targets(targets, "aws", "RenderAdmin", "farm.txt")
    assert str(caught.value) == (
        f"farm.txt line 3: role arn:{partition}:iam::{B}:role/FarmAdmin is in partition {partition}, but the "
        "credential in use works in partition aws, and AssumeRole does not cross partitions: check that account "
        f"with a credential and a region of {partition} (--profile, --region)"
    )


# -- the command line refuses bad input before any AWS call ---------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "options", "fragment"),
    [
        (f"{A}\n12345\n", [], "line 2: '12345' is neither"),
        (f"{A}\n{A}\n", [], "line 2: account 111111111111 is already on line 1"),
        ("# none\n", [], "names no account"),
        (f"{A}\n", ["--assume-role-name", "Farm Admin"], "--assume-role-name 'Farm Admin' is not a valid IAM name"),
        (f"{A}\n", ["--assume-role-name", ""], "--assume-role-name is empty"),
        (f"{A}\n", ["--external-id", ""], "--external-id is empty"),
        (f"{A}\n", ["--external-id", "x"], "external ID is not valid"),
        (f"{A}\n", ["--role-arn", f"arn:aws:iam::{B}:role/Admin"], "leave out --role-arn"),
        (f"{A}\n", ["--verify-ec2"], "leave out --role-arn and --verify-ec2"),
        (f"{A}\n", ["--worker-role", "Workers"], "DeadlineSpot"),
    ],
)
def test_check_accounts_refuses_bad_input_with_one_line_before_any_aws_call(
    tmp_path, gateway_calls, content, options, fragment
):
    path = tmp_path / "farm.txt"
    path.write_text(content, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "--accounts", str(path), *options], out=out, err=err)
    assert code == 1
    assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1
    assert fragment in err.getvalue()
    assert out.getvalue() == ""
    assert gateway_calls == []


def test_assume_role_name_without_accounts_is_refused(gateway_calls):
    err = io.StringIO()
    assert main(["check", "--assume-role-name", "FarmAdmin"], out=io.StringIO(), err=err) == 1
    assert err.getvalue() == "error: --assume-role-name goes with --accounts\n"
    assert gateway_calls == []


# -- checking, with a stand-in for the gateway ----------------------------------------------------------------------
def plan_of(missing: int) -> Plan:
    """The default identities, the first ``missing`` of them absent and the rest in place."""
    absent = make_plan(DESIRED, Observation({identity: Observed(False) for identity in DESIRED}), "aws")
    return Plan(
        tuple(f if n < missing else Finding(f.identity, Status.OK) for n, f in enumerate(absent.findings)), (), ()
    )


def resolved(*accounts: str) -> tuple[AccountTarget, ...]:
    targets = [AccountTarget(a, None, n) for n, a in enumerate(accounts, 1)]
    return resolve_targets(targets, "aws", DEFAULT_ROLE_NAME, "farm.txt")


class Opened:
    """What connect returns here: a gateway as the account's role, which knows whether it was closed (its check's
    reads ahead of need all answered, IamGateway.close)."""

    def __init__(self, role_arn: str) -> None:
        self.role_arn = role_arn
        self.closed = False

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.closed = True


def test_each_account_is_checked_as_its_role_with_the_external_id_and_reported_in_the_files_order():
    connected, opened = [], []

    def connect(access, cancelled):
        connected.append(access)
        time.sleep(0.05 if access.role_arn.endswith(f"{A}:role/{DEFAULT_ROLE_NAME}") else 0)  # A finishes last
        opened.append(Opened(access.role_arn))
        return opened[-1]

    plans = {
        f"arn:aws:iam::{A}:role/{DEFAULT_ROLE_NAME}": plan_of(0),
        f"arn:aws:iam::{B}:role/{DEFAULT_ROLE_NAME}": plan_of(2),
    }
    base = AwsAccess(profile="farm", region="eu-west-1", endpoint_url="https://iam.example")
    results = check_accounts(
        base, resolved(A, B), DESIRED, "render-farm", connect=connect, plan=lambda g, d, deliver_key: plans[g.role_arn]
    )
    assert [gateway.closed for gateway in opened] == [True, True]
    assert [(r.account, r.status, r.pending) for r in results] == [(A, "ok", 0), (B, "short", 2)]
    assert sorted(a.role_arn for a in connected) == sorted(plans)
    assert {(a.profile, a.region, a.endpoint_url, a.external_id) for a in connected} == {
        ("farm", "eu-west-1", "https://iam.example", "render-farm")
    }


def test_an_account_that_cannot_be_checked_is_a_result_with_one_line_not_an_exception():
    opened = []

    def connect(access, cancelled):
        if B in access.role_arn:
            raise AccessDenied("AWS denied sts:AssumeRole on role ...: grant it (bootstrap-policy ...)")
        opened.append(Opened(access.role_arn))
        return opened[-1]

    def plan(gateway, desired, deliver_key):
        if C in gateway.role_arn:
            raise EndpointUnavailable("the AWS endpoint https://iam.example did not answer (iam:GetRole): check ...")
        return plan_of(0)

    results = check_accounts(AwsAccess(), resolved(A, B, C), DESIRED, connect=connect, plan=plan)
    assert [r.status for r in results] == ["ok", "unreachable", "unreachable"]
    assert results[1].error == (
        f"AWS denied sts:AssumeRole on arn:aws:iam::{B}:role/{DEFAULT_ROLE_NAME}: the role must exist in account {B} "
        "and trust the credential in use"
    )
    assert results[2].error.startswith("the AWS endpoint https://iam.example did not answer")
    assert results[1].plan is None and results[2].pending == 0
    assert [gateway.closed for gateway in opened] == [True, True]  # C's too, whose check failed


def test_no_more_than_the_bound_of_accounts_are_checked_at_once():
    lock, running, most = threading.Lock(), [0], [0]

    def connect(access, cancelled):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return Opened(access.role_arn)

    accounts = [f"{n:012d}" for n in range(1, 3 * MAX_PARALLEL_ACCOUNTS + 1)]
    results = check_accounts(
        AwsAccess(), resolved(*accounts), DESIRED, connect=connect, plan=lambda g, d, deliver_key: plan_of(0)
    )
    assert [r.account for r in results] == accounts
    assert most[0] == MAX_PARALLEL_ACCOUNTS


def test_interrupted_the_accounts_in_flight_are_told_to_stop():
    seen_cancelled, b_started = [], threading.Event()

    def connect(access, cancelled):
        if A in access.role_arn:
            b_started.wait(2)
            raise KeyboardInterrupt
        b_started.set()
        deadline = time.monotonic() + 2
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen_cancelled.append(cancelled())
        return Opened(access.role_arn)

    with pytest.raises(KeyboardInterrupt):
        check_accounts(AwsAccess(), resolved(A, B), DESIRED, connect=connect, plan=lambda g, d, deliver_key: plan_of(0))
    assert seen_cancelled == [True]


def test_the_command_lines_stop_flag_reaches_every_account():
    seen = []

    def connect(access, cancelled):
        seen.append(cancelled())
        return Opened(access.role_arn)

    check_accounts(
        AwsAccess(),
        resolved(A, B),
        DESIRED,
        connect=connect,
        plan=lambda g, d, deliver_key: plan_of(0),
        cancelled=lambda: True,
    )
    assert seen == [True, True]


# -- the exit code --------------------------------------------------------------------------------------------------
def result(account: str, missing: int | None, error: str = "why") -> AccountResult:
    arn = f"arn:aws:iam::{account}:role/{DEFAULT_ROLE_NAME}"
    return (
        AccountResult(account, arn, None, error) if missing is None else AccountResult(account, arn, plan_of(missing))
    )


@pytest.mark.parametrize(
    ("missing", "code"),
    [
        ((0,), 0),
        ((0, 0, 0), 0),
        ((0, 2), 2),
        ((3, 1), 2),
        ((0, None), 1),
        ((2, None, 0), 1),
        ((None, None), 1),
    ],
)
def test_exit_code_unreachable_wins_over_short_and_zero_only_when_all_are_complete(missing, code):
    assert exit_code([result(f"{n:012d}", m) for n, m in enumerate(missing, 1)]) == code


# -- the report -----------------------------------------------------------------------------------------------------
REFUSED = f"AWS denied sts:AssumeRole on arn:aws:iam::{C}:role/{DEFAULT_ROLE_NAME}: the role must exist"


def mixed() -> list[AccountResult]:
    return [result(A, 0), result(B, 2), result(C, None, REFUSED)]


def test_the_table_has_one_row_per_account_then_each_failing_accounts_problems_prefixed_with_it():
    lines = accounts_lines(mixed(), "Title:")
    total = len(DESIRED.identities)
    assert lines[0] == "Title:"
    assert lines[1].split() == ["account", "status", "need", "attention"]
    assert [line.split() for line in lines[2:5]] == [
        [A, "ok", "0", "of", str(total)],
        [B, "short", "2", "of", str(total)],
        [C, "unreachable", "-"],
    ]
    assert lines[5] == ""
    problems = lines[6:9]
    first_two = plan_of(2).findings[:2]
    for line, finding in zip(problems[:2], first_two, strict=True):
        assert line.startswith(f"  {B}  missing  ") and finding.name in line and str(finding.kind) in line
        assert finding.problems[0] in line
    assert problems[2] == f"  {C}  unreachable: {REFUSED}"
    assert lines[9] == ""
    assert lines[10] == "1 of 3 accounts complete, 1 short, 1 unreachable."
    assert "plan --role-arn" in lines[11] and len(lines) == 12
    assert not any(A in line for line in lines[5:])


def test_complete_accounts_give_the_table_and_one_line():
    lines = accounts_lines([result(A, 0), result(B, 0)], "Title:")
    assert lines[4:] == ["", "All 2 accounts are complete."]


def test_problem_lines_share_one_alignment_across_accounts():
    lines = accounts_lines([result(A, 1), result(B, 3)], "Title:")
    problems = [line for line in lines if line.startswith((f"  {A}  missing", f"  {B}  missing"))]
    assert len(problems) == 4
    name_columns = {
        line.index(f.name, 30)
        for line, f in zip(problems, plan_of(1).findings[:1] + plan_of(3).findings[:3], strict=True)
    }
    assert len(name_columns) == 1


def test_json_holds_each_account_with_its_usual_report():
    document = json.loads(json.dumps(accounts_json(mixed())))
    assert document["ok"] is False
    assert [(a["account"], a["status"], a["error"]) for a in document["accounts"]] == [
        (A, "ok", None),
        (B, "short", None),
        (C, "unreachable", REFUSED),
    ]
    assert document["accounts"][0]["role_arn"] == f"arn:aws:iam::{A}:role/{DEFAULT_ROLE_NAME}"
    assert document["accounts"][1]["report"] == plan_json(plan_of(2), with_actions=False)
    assert document["accounts"][2]["report"] is None
    assert accounts_json([result(A, 0)])["ok"] is True

"""check --accounts FILE on moto with several accounts: one complete, one drifted, one whose role cannot be assumed,
checked as roles assumed from the credential in use and printed as one report with the right exit code.

moto lets any role ARN be assumed (the role need not exist) and the credentials it hands out act in the role's
account: that is how each account is set up here (apply as that account) and checked. AWS refuses AssumeRole for a
role that does not exist or does not trust the caller; moto never does, so a proxy refuses it for the unreachable
account's role, as AWS answers."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.parse
import uuid

import boto3
import pytest

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.desired import DEFAULT_ROLE_NAME, Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from tests.support.fault_proxy import reset_endpoint
from tests.support.http_relay import QuietHandler, Running, forward, relay
from tests.support.wire import DUMMY_KEY_ID, DUMMY_SECRET, make_gateway

COMPLETE, DRIFTED, UNREACHABLE = "210000000001", "210000000002", "210000000003"
WORKER_POLICY = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy"
TRACKER_POLICY = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAccessPolicy"
TRACKER_ROLE = "DeadlineResourceTrackerAccessRole"
IDENTITIES = len(desired_state(Settings()).identities)


def role(account: str, name: str = DEFAULT_ROLE_NAME) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def iam_in(endpoint_url: str, account: str):
    """A plain boto3 IAM client acting in ``account`` (through a role moto lets anyone assume)."""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET,
    )
    creds = sts.assume_role(RoleArn=role(account), RoleSessionName="arrange")["Credentials"]
    return boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@pytest.fixture(scope="module")
def farm(moto_endpoint: str):
    """Three accounts besides the tests' default one: complete (apply as that account), drifted (apply, then the
    worker role loses its policy and the tracker role is deleted), and one nothing was set up in. The module's tests
    only read them (the next test to use the ``endpoint`` fixture empties them all)."""
    url = moto_endpoint
    reset_endpoint(url)
    for account in (COMPLETE, DRIFTED):
        gateway = make_gateway(
            url, role_arn=role(account), access_key_id=DUMMY_KEY_ID, secret_access_key=DUMMY_SECRET, region="us-east-1"
        )
        assert apply_changes(gateway, desired_state(Settings()), key_sink=lambda key: None).ok
    drifted = iam_in(url, DRIFTED)
    drifted.detach_role_policy(RoleName="DeadlineSpotWorker", PolicyArn=WORKER_POLICY)
    drifted.detach_role_policy(RoleName=TRACKER_ROLE, PolicyArn=TRACKER_POLICY)
    drifted.delete_role(RoleName=TRACKER_ROLE)
    return url


_DENIED = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/admin is not authorized to perform: "
    "sts:AssumeRole on resource: {arn}</Message></Error><RequestId>{request}</RequestId></ErrorResponse>"
)


class AssumeRoleGate(Running):
    """Forwards every request to ``upstream``, but answers sts:AssumeRole of a role in ``refused`` with AccessDenied,
    as AWS does. Records every role assumed, and every secret access key the forwarded answers handed out."""

    def __init__(self, upstream: str, refused: set[str]) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.refused = refused
        self.assumed: list[str] = []
        self.secrets: list[str] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                arn = params.get("RoleArn", "")
                if params.get("Action") == "AssumeRole":
                    with owner.lock:
                        owner.assumed.append(arn)
                    if arn in owner.refused:
                        denied = _DENIED.format(arn=arn, request=uuid.uuid4()).encode()
                        relay(self, 403, [("Content-Type", "text/xml")], denied)
                        return
                status, headers, payload = forward(owner.host, owner.port, self, body)
                with owner.lock:
                    owner.secrets += re.findall(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", payload.decode())
                relay(self, status, headers, payload)

        super().__init__(Handler)


@pytest.fixture
def gate(farm: str):
    with AssumeRoleGate(farm, {role(UNREACHABLE)}) as running:
        yield running


def check(gate: AssumeRoleGate, tmp_path, accounts: str, *options: str) -> tuple[int, str, str]:
    path = tmp_path / "accounts.txt"
    path.write_text(accounts, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "--accounts", str(path), "--endpoint-url", gate.endpoint_url, *options], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert DUMMY_SECRET not in text and gate.secrets and not any(secret in text for secret in gate.secrets)
    return code, out.getvalue(), err.getvalue()


def test_one_report_across_accounts_exits_1_when_one_cannot_be_reached(gate, tmp_path) -> None:
    code, out, err = check(gate, tmp_path, f"# the farm\n{COMPLETE}\n{DRIFTED}  # EU\n\n{UNREACHABLE}\n")
    assert code == 1, out + err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("Deadline Spot Event Plugin identities in 3 account(s) (")
    assert [line.split() for line in lines[2:5]] == [
        [COMPLETE, "ok", "0", "of", str(IDENTITIES)],
        [DRIFTED, "short", "2", "of", str(IDENTITIES)],
        [UNREACHABLE, "unreachable", "-"],
    ]
    problems = [line for line in lines[5:] if line.startswith(("  2", "  1"))]
    assert len(problems) == 3
    assert problems[0].startswith(f"  {DRIFTED}  drift    worker-role") and "AWSThinkboxDeadlineSpotEventPlugin" in out
    assert problems[1].startswith(f"  {DRIFTED}  missing  tracker-role") and "role does not exist" in problems[1]
    assert problems[2] == (
        f"  {UNREACHABLE}  unreachable: AWS denied sts:AssumeRole on {role(UNREACHABLE)}: the role must exist in "
        f"account {UNREACHABLE} and trust the credential in use"
    )
    assert "1 of 3 accounts complete, 1 short, 1 unreachable." in lines
    assert sorted(gate.assumed) == [role(COMPLETE), role(DRIFTED), role(UNREACHABLE)]


def test_exit_2_when_accounts_fall_short_but_every_one_was_checked(gate, tmp_path) -> None:
    code, out, err = check(gate, tmp_path, f"{DRIFTED}\n{COMPLETE}\n")
    assert code == 2, out + err
    assert [line.split()[:2] for line in out.splitlines()[2:4]] == [[DRIFTED, "short"], [COMPLETE, "ok"]]
    assert "1 of 2 accounts complete, 1 short, 0 unreachable." in out


def test_the_same_options_apply_to_every_account_and_an_id_means_the_named_role(gate, tmp_path) -> None:
    accounts = f"arn:aws:iam::{DRIFTED}:role/ops/FarmAudit\n{COMPLETE}\n"
    code, out, err = check(gate, tmp_path, accounts, "--assume-role-name", "FarmAdmin", "--no-resource-tracker")
    # Without the Resource Tracker, the drifted account lacks only the worker role's policy.
    assert code == 2, out + err
    assert out.splitlines()[2].split() == [DRIFTED, "short", "1", "of", str(IDENTITIES - 1)]
    assert out.splitlines()[3].split() == [COMPLETE, "ok", "0", "of", str(IDENTITIES - 1)]
    assert sorted(gate.assumed) == [role(COMPLETE, "FarmAdmin"), f"arn:aws:iam::{DRIFTED}:role/ops/FarmAudit"]


def test_exit_0_when_every_account_is_complete(gate, tmp_path) -> None:
    code, out, err = check(gate, tmp_path, f"{COMPLETE}\n", "--external-id", "render-farm")
    assert code == 0, out + err
    assert out.splitlines()[-1] == "All 1 accounts are complete."


def test_json_reports_every_account_with_its_usual_report(gate, tmp_path) -> None:
    code, out, err = check(gate, tmp_path, f"{COMPLETE}\n{DRIFTED}\n{UNREACHABLE}\n", "--json")
    assert code == 1, out + err
    document = json.loads(out)
    assert document["ok"] is False
    accounts = {entry["account"]: entry for entry in document["accounts"]}
    assert [entry["account"] for entry in document["accounts"]] == [COMPLETE, DRIFTED, UNREACHABLE]
    assert {a: (e["status"], e["role_arn"]) for a, e in accounts.items()} == {
        COMPLETE: ("ok", role(COMPLETE)),
        DRIFTED: ("short", role(DRIFTED)),
        UNREACHABLE: ("unreachable", role(UNREACHABLE)),
    }
    assert accounts[COMPLETE]["error"] is None and accounts[COMPLETE]["report"]["ok"] is True
    drifted = accounts[DRIFTED]["report"]
    assert drifted["ok"] is False and accounts[DRIFTED]["error"] is None
    assert {(i["kind"], i["status"]) for i in drifted["identities"] if i["status"] != "ok"} == {
        ("worker-role", "drift"),
        ("tracker-role", "missing"),
    }
    assert accounts[UNREACHABLE]["report"] is None
    assert accounts[UNREACHABLE]["error"].startswith(f"AWS denied sts:AssumeRole on {role(UNREACHABLE)}")


def test_a_role_arn_in_another_partition_is_refused_in_one_line_before_any_call(proxy, tmp_path) -> None:
    """The credential in use works in the partition of its region (us-east-1: aws); an aws-cn role cannot be assumed
    from it ("Federating AWS identities across AWS partitions", IAM User Guide). moto would hand out credentials for
    it anyway, so the refusal must come before any call."""
    path = tmp_path / "accounts.txt"
    path.write_text(f"{COMPLETE}\narn:aws-cn:iam::{DRIFTED}:role/FarmAdmin\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "--accounts", str(path), "--endpoint-url", proxy.endpoint_url], out=out, err=err)
    assert code == 1 and out.getvalue() == ""
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"error: {path} line 2: role arn:aws-cn:iam::{DRIFTED}:role/FarmAdmin is in")
    assert proxy.actions() == []

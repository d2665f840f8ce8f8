"""An apply made with nothing but the generated bootstrap policy, on a moto server that enforces IAM authorization
(INITIAL_NO_AUTH_ACTION_COUNT): it succeeds in both modes (and with the shipped policies/bootstrap-policy.json, run
from the command line), without any one of the actions it uses it fails with one line naming that action, and
without any one statement it fails with one line naming one of that statement's actions.

moto's server alone matches IAM calls' resources against "*"; tests/support/resource_aware_moto.py, imported in the
server's process, has it match each call's real resource, so the policy is given to moto as generated. moto reads no
condition and checks only the called action: conditions, and the iam:PassRole that AddRoleToInstanceProfile also
needs, are proven by tests/wire/test_bootstrap_policy_on_the_wire.py. Runs under the main interpreter, which has
moto: the server runs in its own process, since moto reads the setting once, at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.errors import AccessDenied
from DeadlineSpotIamSetup.findings import REFUSED
from DeadlineSpotIamSetup.gateway import AwsAccess, connect
from DeadlineSpotIamSetup.waits import KEY_IDLE_BEFORE_RETIRING, KEY_RETIRE_GRACE, Timeouts
from tests.support.command_line import run_cli
from tests.support.fault_proxy import reset_endpoint
from tests.support.wire import snapshot

ROOT = Path(__file__).resolve().parents[2]
FAST = Timeouts(connect=2.0, read=5.0, call_budget=5.0, call_deadline=10.0, max_attempts=3)
# The requests moto lets through before it enforces authorization: the two users, their policies and keys.
UNAUTHENTICATED_SETUP_REQUESTS = 6


class EnforcingMoto:
    """moto's server in a child process, authorizing every request after the first few."""

    def __init__(self) -> None:
        env = dict(
            os.environ,
            INITIAL_NO_AUTH_ACTION_COUNT=str(UNAUTHENTICATED_SETUP_REQUESTS),
            MOTO_IAM_LOAD_MANAGED_POLICIES="true",
            PYTHONPATH=str(ROOT),
        )
        code = "import time\nimport tests.support.resource_aware_moto\n"  # real resources, see the docstring
        code += "from DeadlineSpotIamSetup.standin import MotoStandIn\n"
        code += "from tests.support.moto_server import speed_up_moto\n"  # one request at a time, as in the suites
        code += "aws = MotoStandIn().start()\nspeed_up_moto()\n"
        code += "print(aws.endpoint_url, flush=True)\ntime.sleep(3600)\n"
        self.process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        plain = self.client("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        plain.create_user(UserName="Bootstrap")
        plain.put_user_policy(UserName="Bootstrap", PolicyName="bootstrap", PolicyDocument=json.dumps(_PLACEHOLDER))
        self.bootstrap = plain.create_access_key(UserName="Bootstrap")["AccessKey"]
        plain.create_user(UserName="Admin")
        plain.attach_user_policy(UserName="Admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        key = plain.create_access_key(UserName="Admin")["AccessKey"]
        self.admin = self.client(key["AccessKeyId"], key["SecretAccessKey"])
        assert snapshot(self.url, "save", "two-users") == 200

    def client(self, key_id: str, secret: str, service: str = "iam"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def grant(self, policy: dict) -> None:
        """The bootstrap user's only policy: ``policy`` (statements left without an action dropped)."""
        kept = {**policy, "Statement": [s for s in policy["Statement"] if s["Action"]]}
        self.admin.put_user_policy(UserName="Bootstrap", PolicyName="bootstrap", PolicyDocument=json.dumps(kept))

    def empty(self) -> None:
        """The account as it was once the two users were made, their policies and keys included: reset, and that
        state put back (the test server's snapshots, tests/support/moto_server.py). moto's reset leaves its count of
        requests let through before it enforces authorization as it is: every request since is authorized."""
        reset_endpoint(self.url)
        assert snapshot(self.url, "restore", "two-users") == 200

    def apply(self, settings: Settings):
        """An apply as the bootstrap user; it returns once every call it made is answered (the gateway closed), so
        that none reaches the account after the next test's reset."""
        access = AwsAccess(
            endpoint_url=self.url,
            region="us-east-1",
            access_key_id=self.bootstrap["AccessKeyId"],
            secret_access_key=self.bootstrap["SecretAccessKey"],
            timeouts=FAST,
        )
        with connect(access) as gateway:
            return apply_changes(gateway, desired_state(settings), key_sink=lambda key: None)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


_PLACEHOLDER = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}


@pytest.fixture(scope="module")
def moto_enforcing() -> Iterator[EnforcingMoto]:
    server = EnforcingMoto()
    try:
        yield server
    finally:
        server.stop()


MODES = {"default": Settings(), "source-ips": Settings(allowed_source_ips=("203.0.113.10/32",))}


@pytest.mark.parametrize("mode", MODES)
def test_an_apply_with_only_the_generated_policy_succeeds(moto_enforcing: EnforcingMoto, mode: str):
    settings = MODES[mode]
    moto_enforcing.empty()
    moto_enforcing.grant(bootstrap_policy(desired_state(settings), "aws", "123456789012"))
    assert moto_enforcing.apply(settings).ok


def _without(policy: dict, action: str) -> dict:
    return {
        **policy,
        "Statement": [{**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]],
    }


@pytest.mark.parametrize("mode", MODES)
def test_without_any_action_it_uses_an_apply_fails_with_one_line_naming_it(moto_enforcing: EnforcingMoto, mode: str):
    settings = MODES[mode]
    policy = bootstrap_policy(desired_state(settings), "aws", "123456789012")
    used = {
        "default": [
            "iam:ListAttachedUserPolicies",
            "iam:GetRole",
            "iam:CreateUser",
            "iam:CreateRole",
            "iam:CreateInstanceProfile",
            "iam:CreateServiceLinkedRole",
            "iam:AttachUserPolicy",
            "iam:AttachRolePolicy",
            "iam:AddRoleToInstanceProfile",
            "iam:TagUser",
            "iam:ListAccessKeys",
            "iam:CreateAccessKey",
            "iam:GetInstanceProfile",
            "iam:GetUser",
        ],
        "source-ips": ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:CreatePolicy"],
    }[mode]
    for action in used:
        moto_enforcing.empty()
        moto_enforcing.grant(_without(policy, action))
        message = refusal(moto_enforcing, settings, action)
        assert f"AWS denied {action} on " in message and "\n" not in message, (action, message)


BOOTSTRAP_ARN = "arn:aws:iam::123456789012:user/Bootstrap"


def refusal(server: EnforcingMoto, settings: Settings, action: str) -> str:
    """The line naming what AWS refused: the error of a refused read (the check cannot go on without it), or the
    first change an apply could not make, refused to the bootstrap user for lack of ``action``."""
    try:
        outcome = server.apply(settings)
    except AccessDenied as error:
        return str(error)
    refused = outcome.result.of_state(REFUSED)
    assert refused and not outcome.ok, action
    assert {(step.principal, step.permission) for step in refused} == {(BOOTSTRAP_ARN, action)}
    return refused[0].detail


SHIPPED = ROOT / "policies" / "bootstrap-policy.json"


def command_line_apply(server: EnforcingMoto, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """The command line's whole life cycle as the bootstrap user: ``apply --secret-out``, then a key rotation through
    all its runs (``rotate-key --secret-out``; ``rotate-key --finish`` once the old key is idle switches over; a
    later ``rotate-key`` deletes the old key), then ``check --spot-config`` with the Spot user in a group. (exit code
    of the first run that failed, else 0; its stderr.)"""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.bootstrap["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.bootstrap["SecretAccessKey"])

    def run(*argv: str, at: datetime | None = None) -> tuple[int, str]:
        code, _, err = run_cli(*argv, "--endpoint-url", server.url, at=at)
        return code, err

    code, err = run("apply", "--secret-out", str(folder / "key.json"))
    if code != 0:
        return code, err
    code, err = run("rotate-key", "--secret-out", str(folder / "rotated.json"))
    if code != 2:  # waiting for the new key to be entered
        return code, err
    later = datetime.now(timezone.utc) + KEY_IDLE_BEFORE_RETIRING + timedelta(minutes=1)
    for argv, at in ((("rotate-key", "--finish"), later), (("rotate-key",), later + KEY_RETIRE_GRACE)):
        code, err = run(*argv, at=at)  # the old key deactivated once idle, then deleted
        if code != 0:
            return code, err
    # check reads the policies of the Spot user's groups, and every instance profile a fleet configuration names.
    server.admin.create_group(GroupName="Artists")
    server.admin.add_user_to_group(GroupName="Artists", UserName="DeadlineSpotEventPluginAdmin")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
    server.admin.put_group_policy(GroupName="Artists", PolicyName="Look", PolicyDocument=json.dumps(allow))
    config = folder / "spot-config.json"
    config.write_text(json.dumps({"old": {"LaunchSpecifications": [{"IamInstanceProfile": {"Name": "OldRender"}}]}}))
    code, err = run("check", "--spot-config", str(config))
    return (0, err) if code == 2 else (code or 1, err)  # 2: the fleet group names a profile that does not exist


def test_apply_from_the_command_line_with_the_shipped_policy_succeeds(moto_enforcing, tmp_path, monkeypatch):
    moto_enforcing.empty()
    moto_enforcing.grant(json.loads(SHIPPED.read_text(encoding="utf-8")))
    code, err = command_line_apply(moto_enforcing, tmp_path, monkeypatch)
    assert code == 0, err
    assert json.loads((tmp_path / "key.json").read_text())["AccessKeyId"]


DEFAULT_POLICY = bootstrap_policy(desired_state(Settings()), "aws", "123456789012")
# moto checks only the called action: AddRoleToInstanceProfile's iam:PassRole is proven on the wire, not here.
NOT_CHECKED_BY_MOTO = {"InstanceProfileRole"}


@pytest.mark.parametrize("sid", [s["Sid"] for s in DEFAULT_POLICY["Statement"]])
def test_without_any_one_statement_apply_fails_with_one_line_naming_its_action(
    moto_enforcing, tmp_path, monkeypatch, sid
):
    statement = next(s for s in DEFAULT_POLICY["Statement"] if s["Sid"] == sid)
    moto_enforcing.empty()
    others = [s for s in DEFAULT_POLICY["Statement"] if s is not statement]
    moto_enforcing.grant({**DEFAULT_POLICY, "Statement": others})
    code, err = command_line_apply(moto_enforcing, tmp_path, monkeypatch)
    if sid in NOT_CHECKED_BY_MOTO:
        assert code == 0, err
        return
    assert code == 1 and err.count("\n") == 1, err
    assert any(err.startswith(f"error: AWS denied {action} on ") for action in statement["Action"]), err


# -- partial rights: apply makes every change it may, then lists what it could not ----------------------------------


def command_line_run(server: EnforcingMoto, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    """One command line run as the bootstrap user: (exit code, stdout, stderr)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.bootstrap["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.bootstrap["SecretAccessKey"])
    return run_cli(*argv, "--endpoint-url", server.url)


def table(out: str) -> dict[str, list[str]]:
    """The rows of apply's table of what it did, by state: ``{"refused": ["create ...: ARN may not iam:X"], ...}``."""
    rows: dict[str, list[str]] = {}
    lines = out.split("Not every change was made:\n", 1)[1].splitlines()
    for line in lines[: next(i for i, line in enumerate(lines) if not line.startswith("  "))]:
        state, _, text = line.strip().partition("  ")
        rows.setdefault(state.strip(), []).append(text.strip())
    return rows


def test_without_create_service_linked_role_apply_makes_every_other_change_and_names_who_lacks_what(
    moto_enforcing, tmp_path, monkeypatch
):
    """As where an SCP or a central team owns service-linked roles: everything else is created, the key delivered,
    and the table names the refused principal and the permission it lacks; exit 1."""
    moto_enforcing.empty()
    moto_enforcing.grant(_without(DEFAULT_POLICY, "iam:CreateServiceLinkedRole"))
    key_file = tmp_path / "key.json"
    code, out, err = command_line_run(moto_enforcing, monkeypatch, "apply", "--secret-out", str(key_file))
    assert code == 1, out + err
    assert err.startswith("error: AWS denied iam:CreateServiceLinkedRole on ") and err.count("\n") == 1, err
    rows = table(out)
    assert set(rows) == {"done", "refused"}, rows
    assert rows["refused"] == [
        f"create the service-linked role for {service}: {BOOTSTRAP_ARN} may not iam:CreateServiceLinkedRole"
        for service in ("spot.amazonaws.com", "spotfleet.amazonaws.com")
    ]
    assert f"Made {len(rows['done'])} of {len(rows['done']) + 2} changes: 2 refused." in out
    assert json.loads(key_file.read_text())["AccessKeyId"]  # the key does not need the refused roles
    code, out, _ = command_line_run(moto_enforcing, monkeypatch, "check", "--json")
    report = json.loads(out)
    assert {(i["kind"], i["status"]) for i in report["identities"] if i["status"] != "ok"} == {
        ("service-linked-role", "missing")
    }


def test_a_change_that_needs_a_refused_one_is_not_attempted_and_says_which(moto_enforcing, tmp_path, monkeypatch):
    moto_enforcing.empty()
    moto_enforcing.grant(_without(DEFAULT_POLICY, "iam:CreateRole"))
    code, out, err = command_line_run(moto_enforcing, monkeypatch, "apply", "--secret-out", str(tmp_path / "k.json"))
    assert code == 1 and err.startswith("error: AWS denied iam:CreateRole on "), out + err
    rows = table(out)
    assert len(rows["refused"]) == 3 and all(
        row.endswith(f"{BOOTSTRAP_ARN} may not iam:CreateRole") for row in rows["refused"]
    )
    worker = "create role DeadlineSpotWorker trusted by ec2.amazonaws.com"
    assert (
        f"add role DeadlineSpotWorker to instance profile DeadlineSpotWorker: it needs {worker}, which was refused"
    ) in rows["not attempted"]
    assert all("which was refused" in row for row in rows["not attempted"])
    assert any(row.startswith("create user DeadlineSpotEventPluginAdmin") for row in rows["done"])
    assert any(row.startswith("create an access key for user") for row in rows["done"])

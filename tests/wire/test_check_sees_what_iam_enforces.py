"""check and apply judge what IAM enforces, not what a document seems to say: an explicit Deny in a trust policy
wins over any Allow, and two active keys are one too many. Driven through the command line, as an admin would."""

from __future__ import annotations

import json
from pathlib import Path

from states import USER, WORKER_ROLE

from tests.support.command_line import run_cli


def identity(report: str, kind: str) -> dict:
    (found,) = [i for i in json.loads(report)["identities"] if i["kind"] == kind]
    return found


def test_a_worker_role_whose_trust_denies_ec2_is_never_reported_ok(endpoint, iam, tmp_path: Path) -> None:
    assert run_cli("apply", "--secret-out", str(tmp_path / "key.json"), "--endpoint-url", endpoint)[0] == 0
    deny_ec2 = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        ],
    }
    iam.update_assume_role_policy(RoleName=WORKER_ROLE, PolicyDocument=json.dumps(deny_ec2))

    code, out, _ = run_cli("apply", "--json", "--endpoint-url", endpoint)
    assert code == 2  # apply does not claim success
    worker = identity(out, "worker-role")
    assert worker["status"] == "drift" and "explicitly denies ec2.amazonaws.com" in worker["problems"][0]
    trust = iam.get_role(RoleName=WORKER_ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert any(s["Effect"] == "Deny" for s in trust["Statement"])  # the admin's Deny stays

    code, out, _ = run_cli("check", "--json", "--endpoint-url", endpoint)
    assert code == 2 and identity(out, "worker-role")["status"] == "drift"


def test_two_active_access_keys_are_reported_by_check(endpoint, iam, tmp_path: Path) -> None:
    assert run_cli("apply", "--secret-out", str(tmp_path / "key.json"), "--endpoint-url", endpoint)[0] == 0
    second = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    code, out, _ = run_cli("check", "--json", "--endpoint-url", endpoint)
    assert code == 2
    key = identity(out, "access-key")
    assert key["status"] == "drift" and second in key["problems"][0]
    code, out, _ = run_cli("plan", "--endpoint-url", endpoint)
    assert "Needs an admin" in out and "delete" in out

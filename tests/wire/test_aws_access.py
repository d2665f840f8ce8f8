"""AWS access the way every AWS tool does it: environment, config files and profiles, AWS_ENDPOINT_URL,
and assuming a role first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.command_line import run_cli


def test_aws_endpoint_url_from_the_environment_is_used(monkeypatch, proxy) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
    code, _, err = run_cli("check")
    assert code == 2, err
    assert proxy.counts()["GetRole"] >= 5


def test_named_profile_from_the_credentials_file(monkeypatch, proxy) -> None:
    credentials = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
    credentials.write_text("[farm-admin]\naws_access_key_id = AKIAFARMADMIN0000000\naws_secret_access_key = s3cr3t\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = run_cli("check", "--profile", "farm-admin", "--endpoint-url", proxy.endpoint_url)
    assert code == 2, err
    assert all(r.outcome == "forwarded" for r in proxy.requests())


def test_assume_role_first_then_act_as_it(proxy, iam) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName="FarmAdmin", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code, out, err = run_cli(
        "check", "--json", "--role-arn", arn, "--external-id", "render-farm", "--endpoint-url", proxy.endpoint_url
    )
    assert code == 2, err
    assert json.loads(out)["ok"] is False
    assert proxy.counts()["AssumeRole"] == 1


@pytest.mark.parametrize(
    "argv,message",
    [
        (["check", "--role-arn", "arn:aws:iam::123:role/x"], "role ARN"),
        (["check", "--external-id", "abc"], "--external-id goes with --role-arn"),
    ],
)
def test_bad_access_options_are_refused_before_any_call(proxy, argv, message) -> None:
    code, _, err = run_cli(*argv, "--endpoint-url", proxy.endpoint_url)
    assert code == 1 and message in err
    assert proxy.counts() == {}

"""The IP-restricted mode on moto over HTTP: copies of the AWS managed admin policies, every Allow statement
limited to the RCS/Pulse machines' addresses, attached instead of the AWS managed ones."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from states import ADMIN, TRACKER_ADMIN, USER

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.source_ip import allowed_ips_of

RCS = "203.0.113.10/32,2001:db8::/64"
COPIES = ("DeadlineSpotEventPluginAdminPolicy-SourceIp", "DeadlineResourceTrackerAdminPolicy-SourceIp")
WRITES = ("Create", "Attach", "Add", "Update", "Delete", "Put", "Tag", "Detach")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def copy_arn(name: str) -> str:
    return f"arn:aws:iam::123456789012:policy/{name}"


def default_document(iam, arn: str) -> dict:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def attached(iam) -> set[str]:
    return {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]}


def writes(proxy) -> list[str]:
    return [a for a in proxy.actions() if a and a.startswith(WRITES)]


def test_an_empty_account_gets_restricted_copies_instead_of_the_aws_managed_policies(proxy, iam, tmp_path: Path):
    secret = str(tmp_path / "key.json")
    code, _, err = run_cli(
        "apply", "--allowed-source-ips", RCS, "--secret-out", secret, "--endpoint-url", proxy.endpoint_url
    )
    assert code == 0, err
    assert attached(iam) == {copy_arn(name) for name in COPIES}
    for name, source in zip(COPIES, (ADMIN, TRACKER_ADMIN), strict=True):
        copied, original = default_document(iam, copy_arn(name)), default_document(iam, source)
        assert len(copied["Statement"]) == len(original["Statement"])
        for mine, theirs in zip(copied["Statement"], original["Statement"], strict=True):
            assert mine["Condition"]["IpAddress"] == {"aws:SourceIp": ["203.0.113.10/32", "2001:db8::/64"]}
            assert {k: v for k, v in mine.items() if k != "Condition"} == {
                k: v for k, v in theirs.items() if k != "Condition"
            }
            for operator, block in theirs.get("Condition", {}).items():
                assert mine["Condition"][operator] == block  # conditions it had are kept
    assert run_cli("check", "--allowed-source-ips", RCS, "--endpoint-url", proxy.endpoint_url)[0] == 0
    proxy.clear()
    assert (
        run_cli("apply", "--allowed-source-ips", RCS, "--secret-out", secret, "--endpoint-url", proxy.endpoint_url)[0]
        == 0
    )
    assert writes(proxy) == []  # idempotent


def test_switching_an_account_to_the_restricted_mode_detaches_only_what_this_project_attached(endpoint, iam, tmp_path):
    assert run_cli("apply", "--secret-out", str(tmp_path / "key.json"), "--endpoint-url", endpoint)[0] == 0
    assert attached(iam) == {ADMIN, TRACKER_ADMIN}
    code, out, err = run_cli("apply", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)
    assert code == 0, out + err
    assert attached(iam) == {copy_arn(name) for name in COPIES}
    assert "detach AWSThinkboxDeadlineSpotEventPluginAdminPolicy" in out


def test_an_aws_managed_policy_an_admin_attached_is_left_to_the_admin(endpoint, iam, tmp_path):
    iam.create_user(UserName=USER)
    iam.attach_user_policy(UserName=USER, PolicyArn=ADMIN)  # by hand: no record that this project attached it
    code, out, _ = run_cli("apply", "--json", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)
    assert code == 2
    (user,) = [i for i in json.loads(out)["identities"] if i["kind"] == "spot-user"]
    assert user["status"] == "drift" and "the source-IP restriction does not hold" in user["problems"][0]
    assert ADMIN in attached(iam)  # never removed
    (step,) = [m for m in json.loads(out)["manual"] if m["kind"] == "spot-user"]
    assert "detach it" in step["remedy"]


def test_a_changed_address_list_adds_a_default_version_and_keeps_at_most_five(proxy, iam):
    assert (
        run_cli("apply", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", proxy.endpoint_url)[0] == 0
    )
    arn = copy_arn(COPIES[0])
    first = default_document(iam, arn)
    for _ in range(4):  # fill the copy up to IAM's five versions (the first one stays the default)
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(first), SetAsDefault=False)
    code, out, _ = run_cli(
        "check", "--no-access-key", "--allowed-source-ips", "198.51.100.0/24", "--endpoint-url", proxy.endpoint_url
    )
    assert code == 2 and "instead of 198.51.100.0/24" in out
    proxy.clear()
    code, out, err = run_cli(
        "apply", "--no-access-key", "--allowed-source-ips", "198.51.100.0/24", "--endpoint-url", proxy.endpoint_url
    )
    assert code == 0, out + err
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    assert "v2" not in {v["VersionId"] for v in versions}  # the oldest non-default one made room
    assert default_document(iam, arn)["Statement"][0]["Condition"]["IpAddress"] == {"aws:SourceIp": ["198.51.100.0/24"]}
    assert "DeletePolicyVersion" in proxy.actions()


def test_a_copy_that_lags_behind_the_aws_managed_policy_is_drift_and_brought_up_to_date(endpoint, iam):
    assert run_cli("apply", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)[0] == 0
    arn = copy_arn(COPIES[0])
    older = default_document(iam, arn)
    older["Statement"] = older["Statement"][:-1]  # as if made from an earlier version of the AWS managed policy
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(older), SetAsDefault=True)
    code, out, _ = run_cli("check", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)
    assert code == 2 and "lags behind AWSThinkboxDeadlineSpotEventPluginAdminPolicy" in out
    assert run_cli("apply", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)[0] == 0
    assert len(default_document(iam, arn)["Statement"]) == len(default_document(iam, ADMIN)["Statement"])


def test_more_addresses_than_the_copy_can_hold_is_one_line_before_any_write(proxy):
    many = ",".join(f"2001:db8:{n:x}::/48" for n in range(40))
    code, out, err = run_cli("apply", "--allowed-source-ips", many, "--endpoint-url", proxy.endpoint_url)
    assert code == 1 and err.count("\n") == 1
    assert "over IAM's limit of 6144" in err and "give at most" in err
    assert writes(proxy) == []


def test_a_spot_credentials_role_gets_the_copies_too(endpoint, iam):
    iam.create_role(
        RoleName="RcsInstanceRole", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    code, _, err = run_cli(
        "apply", "--spot-role", "RcsInstanceRole", "--allowed-source-ips", RCS, "--endpoint-url", endpoint
    )
    assert code == 0, err
    on_role = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="RcsInstanceRole")["AttachedPolicies"]}
    assert on_role == {copy_arn(name) for name in COPIES}


# -- addresses that would restrict nothing ---------------------------------------------------------------------------
# aws:SourceIp is "the requester's IP address" ("AWS global condition context keys", IAM User Guide), matched with the
# IP address condition operators against CIDR blocks: an interface's zone index is no part of it, and a /0 matches
# every request.
@pytest.mark.parametrize(
    ("addresses", "fragment"),
    [
        ("0.0.0.0/0", "0.0.0.0/0 matches every IPv4 address, so it restricts nothing"),
        ("203.0.113.10/32,::/0", "::/0 matches every IPv6 address, so it restricts nothing"),
        ("fe80::1%eth0", "'fe80::1%eth0' has an IPv6 zone index (%eth0)"),
    ],
)
def test_addresses_that_restrict_nothing_are_refused_in_one_line_before_any_call(proxy, addresses, fragment):
    code, out, err = run_cli("apply", "--allowed-source-ips", addresses, "--endpoint-url", proxy.endpoint_url)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert fragment in err
    assert proxy.actions() == []


def test_any_address_is_allowed_on_purpose_with_allow_any_address(proxy, iam):
    code, out, err = run_cli(
        "apply",
        "--no-access-key",
        "--allowed-source-ips",
        "0.0.0.0/0,::/0",
        "--allow-any-address",
        "--endpoint-url",
        proxy.endpoint_url,
    )
    assert code == 0, out + err
    assert allowed_ips_of(default_document(iam, copy_arn(COPIES[0]))) == {"0.0.0.0/0", "::/0"}

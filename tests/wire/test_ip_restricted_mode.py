"""The IP-restricted mode on moto over HTTP: copies of the AWS managed admin policies, every Allow statement
limited to the RCS/Pulse machines' addresses, attached instead of the AWS managed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from states import ADMIN, TRACKER_ADMIN, USER

from DeadlineSpotIamSetup.cli import parse_command_line, settings_from
from DeadlineSpotIamSetup.desired import desired_state
from DeadlineSpotIamSetup.source_ip import allowed_ips_of
from tests.support.command_line import run_cli
from tests.support.wire import converged

RCS = "203.0.113.10/32,2001:db8::/64"
COPIES = ("DeadlineSpotEventPluginAdminPolicy-SourceIp", "DeadlineResourceTrackerAdminPolicy-SourceIp")
WRITES = ("Create", "Attach", "Add", "Update", "Delete", "Put", "Tag", "Detach")


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


NEW_STATEMENT = {"Effect": "Allow", "Action": "ec2:DescribeSpotPriceHistory", "Resource": "*"}


def test_a_copy_that_lags_behind_the_aws_managed_policy_is_drift_and_brought_up_to_date(endpoint, iam, aws_publishes):
    assert run_cli("apply", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)[0] == 0
    arn = copy_arn(COPIES[0])
    newer = default_document(iam, ADMIN)
    newer["Statement"].append(NEW_STATEMENT)
    version = aws_publishes(ADMIN, newer)
    code, out, _ = run_cli("check", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)
    assert code == 2
    lagging = "lags behind AWSThinkboxDeadlineSpotEventPluginAdminPolicy: made from v1, its default version is now"
    assert f"{lagging} {version}" in out
    assert run_cli("apply", "--no-access-key", "--allowed-source-ips", RCS, "--endpoint-url", endpoint)[0] == 0
    statements = default_document(iam, arn)["Statement"]
    assert len(statements) == len(newer["Statement"])
    assert statements[-1]["Action"] == NEW_STATEMENT["Action"] and "IpAddress" in statements[-1]["Condition"]
    tag = {t["Key"]: t["Value"] for t in iam.get_policy(PolicyArn=arn)["Policy"]["Tags"]}["DeadlineSpotIamSetup:source"]
    assert tag == f"{ADMIN} {version}"


# -- a copy an admin edited: reported with what differs, never overwritten ---------------------------------------
# "Versioning IAM policies" (IAM User Guide): an edit of a customer managed policy is a new version, and the default
# version is the one in effect. The copy's default version is compared, as parsed JSON with IAM's normalisations, with
# what this project writes for the AWS version it was made from (its tag DeadlineSpotIamSetup:source) and the address
# list its statements carry.
ADMINS_DENY = {"Sid": "NoUserDeletion", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}


def edit_copy(iam, arn: str, edit) -> dict:
    """An admin's edit of the copy: a new default version of the document ``edit`` returns."""
    document = edit(default_document(iam, arn))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    return document


def with_deny(document: dict) -> dict:
    return {**document, "Statement": [*document["Statement"], ADMINS_DENY]}


#: The options of the restricted mode these tests run with: the commands below, and the state ``restricted_account``
#: puts back, are the same desired state.
RESTRICTED_OPTIONS = ("--no-access-key", "--allowed-source-ips", RCS)
RESTRICTED = desired_state(settings_from(parse_command_line(["apply", *RESTRICTED_OPTIONS])))


def apply_restricted(proxy, *extra: str) -> tuple[int, str, str]:
    return run_cli("apply", *RESTRICTED_OPTIONS, "--endpoint-url", proxy.endpoint_url, *extra)


def restricted_account(proxy) -> None:
    """The test's fresh account as ``apply_restricted`` leaves it (a real apply once per test process: ``converged``),
    made behind the proxy: it counts none of its calls."""
    converged(proxy.upstream_url, RESTRICTED)


def check_restricted(proxy) -> tuple[int, str, str]:
    return run_cli("check", *RESTRICTED_OPTIONS, "--endpoint-url", proxy.endpoint_url)


def assert_in_place_and_left_alone(proxy) -> None:
    """check finds the copies in place, and apply writes nothing."""
    proxy.clear()
    code, out, err = check_restricted(proxy)
    assert code == 0, out + err
    assert apply_restricted(proxy)[0] == 0
    assert writes(proxy) == []


def test_an_admins_added_deny_is_reported_with_what_differs_and_never_overwritten(proxy, iam):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])
    edited = edit_copy(iam, arn, with_deny)
    code, out, _ = check_restricted(proxy)
    assert code == 2
    assert "lags behind" not in out
    assert "edited by hand: adds statement 'NoUserDeletion' (Deny iam:DeleteUser)" in out
    proxy.clear()
    code, out, _ = apply_restricted(proxy, "--json")
    assert code == 2
    assert writes(proxy) == []  # the admin's version stays the default
    assert default_document(iam, arn) == edited
    (step,) = [m for m in json.loads(out)["manual"] if m["kind"] == "policy-copy"]
    assert step["name"] == COPIES[0] and "NoUserDeletion" in step["problem"]
    assert "policy of your own" in step["remedy"]


def test_a_copy_saved_again_in_another_spelling_iam_reads_the_same_is_in_place(proxy, iam):
    """IAM reads "Action": "x" as ["x"], takes list elements in any order and context key names in any case
    ("IAM JSON policy elements: Condition": "Context key names are not case-sensitive"); a console or a tool that
    rewrites the copy so is no edit."""
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])

    def respelled(document: dict) -> dict:
        statements = []
        for statement in reversed(document["Statement"]):
            actions = statement["Action"]
            statement = {**statement, "Action": actions[0] if len(actions) == 1 else list(reversed(actions))}
            ips = statement["Condition"].pop("IpAddress")["aws:SourceIp"]
            statement["Condition"]["IpAddress"] = {"AWS:SourceIP": list(reversed(ips))}
            statements.append(statement)
        return {"Statement": statements, "Version": document["Version"]}

    edit_copy(iam, arn, respelled)
    assert_in_place_and_left_alone(proxy)


def test_a_newer_aws_version_keeps_the_statements_an_admin_added(proxy, iam, aws_publishes):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])
    edit_copy(iam, arn, with_deny)
    newer = default_document(iam, ADMIN)
    newer["Statement"].append(NEW_STATEMENT)
    aws_publishes(ADMIN, newer)
    code, out, _ = check_restricted(proxy)
    assert code == 2 and "lags behind AWSThinkboxDeadlineSpotEventPluginAdminPolicy: made from v1" in out
    assert "keeping the statement added by hand 'NoUserDeletion'" in out
    code, out, _ = apply_restricted(proxy)
    assert code == 2  # the admin's statement is still reported, with its fix
    statements = default_document(iam, arn)["Statement"]
    assert ADMINS_DENY in statements
    assert [s for s in statements if s != ADMINS_DENY] == [
        {**s, "Condition": {**s.get("Condition", {}), "IpAddress": {"aws:SourceIp": RCS.split(",")}}}
        for s in newer["Statement"]
    ]


def test_a_changed_address_list_keeps_the_statements_an_admin_added(proxy, iam):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])
    edit_copy(iam, arn, with_deny)
    code, out, _ = run_cli(
        "apply", "--no-access-key", "--allowed-source-ips", "198.51.100.0/24", "--endpoint-url", proxy.endpoint_url
    )
    assert code == 2, out
    statements = default_document(iam, arn)["Statement"]
    assert ADMINS_DENY in statements
    assert allowed_ips_of({"Statement": statements}) == {"198.51.100.0/24"}


def test_a_statement_of_the_copy_an_admin_changed_is_reported_and_the_copy_left_alone(proxy, iam, aws_publishes):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])

    def widened(document: dict) -> dict:
        first = document["Statement"][0]
        first["Action"] = [*first["Action"], "ec2:DescribeInstances"]
        return document

    edited = edit_copy(iam, arn, widened)
    newer = default_document(iam, ADMIN)
    newer["Statement"].append(NEW_STATEMENT)
    aws_publishes(ADMIN, newer)
    code, out, _ = check_restricted(proxy)
    assert code == 2
    assert "edited by hand" in out and "(Allow ec2:CancelSpotFleetRequests" in out and "its Action differs" in out
    proxy.clear()
    code, out, _ = apply_restricted(proxy, "--json")
    assert code == 2
    assert writes(proxy) == []
    assert default_document(iam, arn) == edited
    (step,) = [m for m in json.loads(out)["manual"] if m["kind"] == "policy-copy"]
    assert "left as it is" in step["remedy"]


def untag_source(iam, arn: str) -> None:
    iam.untag_policy(PolicyArn=arn, TagKeys=["DeadlineSpotIamSetup:source"])


def test_a_copy_without_a_record_is_in_place_while_its_document_proves_the_current_version(proxy, iam):
    """As a CloudFormation stack makes it: AWS::IAM::ManagedPolicy has no Tags property."""
    restricted_account(proxy)
    untag_source(iam, copy_arn(COPIES[0]))
    assert_in_place_and_left_alone(proxy)


def test_a_wrong_record_is_mended_when_the_document_proves_the_version(proxy, iam):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "DeadlineSpotIamSetup:source", "Value": f"{ADMIN} v7"}])
    code, out, _ = check_restricted(proxy)
    assert code == 2 and f"its record DeadlineSpotIamSetup:source says '{ADMIN} v7', but it was made from v1" in out
    proxy.clear()
    assert apply_restricted(proxy)[0] == 0
    assert writes(proxy) == ["TagPolicy"]
    tag = {t["Key"]: t["Value"] for t in iam.get_policy(PolicyArn=arn)["Policy"]["Tags"]}["DeadlineSpotIamSetup:source"]
    assert tag == f"{ADMIN} v1"


@pytest.mark.parametrize("record", [None, f"{ADMIN} v99", f"{TRACKER_ADMIN} v1", "garbage"])
def test_a_lagging_copy_whose_record_is_lost_or_wrong_is_reported_not_rewritten(proxy, iam, aws_publishes, record):
    restricted_account(proxy)
    arn = copy_arn(COPIES[0])
    untag_source(iam, arn)
    if record is not None:
        iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "DeadlineSpotIamSetup:source", "Value": record}])
    newer = default_document(iam, ADMIN)
    newer["Statement"].append(NEW_STATEMENT)
    aws_publishes(ADMIN, newer)
    proxy.clear()
    code, out, _ = apply_restricted(proxy, "--json")
    assert code == 2
    assert writes(proxy) == []
    (step,) = [m for m in json.loads(out)["manual"] if m["kind"] == "policy-copy"]
    assert "DeadlineSpotIamSetup:source" in step["problem"] and "lacks statement" in step["problem"]
    assert f"'{ADMIN} v" in step["remedy"]


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

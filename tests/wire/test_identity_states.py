"""Each identity ok, missing and drifted, against moto over HTTP: check reports exactly that identity, and
apply repairs it with exactly the writes it needs, never touching what an admin added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from states import (
    ADMIN,
    BREAKAGES,
    FLEET,
    TRACKER_ROLE,
    USER,
    WORKER,
    WORKER_ROLE,
    trust,
)

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.values import NewAccessKey
from tests.support.command_line import run_cli
from tests.support.wire import converged, make_gateway

DESIRED = desired_state(Settings())


def converge(endpoint: str) -> list[NewAccessKey]:
    """The test's fresh account as apply leaves it (a real apply once per test process: ``converged``)."""
    return converged(endpoint, DESIRED)


def statuses(endpoint: str) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    plan = plan_changes(make_gateway(endpoint), DESIRED)
    return {(f.kind, f.name): (f.status, f.problems) for f in plan.findings}


def test_empty_account_reports_every_identity_missing(endpoint: str) -> None:
    code, out, _ = run_cli("check", "--json", "--endpoint-url", endpoint)
    report = json.loads(out)
    assert code == 2 and report["ok"] is False
    assert [(i["kind"], i["status"]) for i in report["identities"]] == [
        ("spot-user", "missing"),
        ("access-key", "missing"),
        ("worker-role", "missing"),
        ("instance-profile", "missing"),
        ("fleet-role", "missing"),
        ("tracker-role", "missing"),
        ("service-linked-role", "missing"),
        ("service-linked-role", "missing"),
        ("spot-permissions", "missing"),
    ]


def test_converged_account_reports_every_identity_ok(endpoint: str, iam) -> None:
    converge(endpoint)
    code, out, _ = run_cli("check", "--json", "--endpoint-url", endpoint)
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert {i["status"] for i in report["identities"]} == {"ok"}
    # What apply built is what the Spot Event Plugin needs, read back with plain boto3.
    role = iam.get_role(RoleName=WORKER_ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com"
    profile = iam.get_instance_profile(InstanceProfileName=WORKER_ROLE)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [WORKER_ROLE]
    fleet = iam.list_attached_role_policies(RoleName="aws-ec2-spot-fleet-tagging-role")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in fleet] == [FLEET]
    assert iam.get_role(RoleName="AWSServiceRoleForEC2Spot")["Role"]["Path"] == "/aws-service-role/spot.amazonaws.com/"


@pytest.mark.parametrize(
    "kind,name,breakage,status,repairs",
    BREAKAGES,
    ids=[f"{kind}-{status}-{i}" for i, (kind, _, _, status, _) in enumerate(BREAKAGES)],
)
def test_one_broken_identity_is_reported_and_repaired(endpoint, iam, proxy, kind, name, breakage, status, repairs):
    converge(endpoint)
    breakage(iam)
    found = statuses(endpoint)
    assert found[(kind, name)][0] == status
    assert found[(kind, name)][1], "a problem must say what is wrong"
    others = {key: value for key, value in found.items() if key[0] != kind and value[0] != "ok"}
    # Deleting the user or the worker role also takes its key / profile link with it; nothing else breaks.
    # The permission chain is judged once the Spot credentials and their policies are there.
    allowed = {"spot-user": {"access-key", "spot-permissions"}, "worker-role": {"instance-profile"}}.get(kind, set())
    assert {key[0] for key in others} <= allowed

    keys: list[NewAccessKey] = []
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=keys.append)
    assert outcome.ok
    writes = {op for op in proxy.counts() if op and not op.startswith(("Get", "List"))}
    assert writes == repairs
    assert all(value[0] == "ok" for value in statuses(endpoint).values())


def test_trust_repair_keeps_the_admins_statements(endpoint, iam) -> None:
    converge(endpoint)
    iam.update_assume_role_policy(RoleName=WORKER_ROLE, PolicyDocument=trust("lambda.amazonaws.com"))
    assert apply_changes(make_gateway(endpoint), DESIRED, key_sink=lambda key: None).ok
    statements = iam.get_role(RoleName=WORKER_ROLE)["Role"]["AssumeRolePolicyDocument"]["Statement"]
    assert {s["Principal"]["Service"] for s in statements} == {"lambda.amazonaws.com", "ec2.amazonaws.com"}


def test_policies_an_admin_attached_are_never_detached(endpoint, iam, proxy) -> None:
    converge(endpoint)
    extra = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_role_policy(RoleName=WORKER_ROLE, PolicyArn=extra)
    iam.attach_user_policy(UserName=USER, PolicyArn=extra)
    iam.detach_role_policy(RoleName=WORKER_ROLE, PolicyArn=WORKER)
    assert apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=lambda key: None).ok
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=WORKER_ROLE)["AttachedPolicies"]}
    assert attached == {extra, WORKER}
    assert extra in {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]}
    assert not [op for op in proxy.counts() if op and op.startswith(("Detach", "Delete", "Remove"))]


def test_instance_profile_holding_another_role_needs_an_admin(endpoint, iam, proxy) -> None:
    converge(endpoint)
    iam.remove_role_from_instance_profile(InstanceProfileName=WORKER_ROLE, RoleName=WORKER_ROLE)
    iam.create_role(RoleName="DeadlineSpotOther", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    iam.add_role_to_instance_profile(InstanceProfileName=WORKER_ROLE, RoleName="DeadlineSpotOther")
    code, out, _ = run_cli("apply", "--endpoint-url", proxy.endpoint_url)
    assert code == 2
    assert "holds role DeadlineSpotOther, not DeadlineSpotWorker" in out
    assert "Still needs an admin" in out
    assert not [op for op in proxy.counts() if op and not op.startswith(("Get", "List"))]
    roles = iam.get_instance_profile(InstanceProfileName=WORKER_ROLE)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == ["DeadlineSpotOther"]


def test_two_inactive_keys_never_lead_to_a_third(endpoint, iam, proxy) -> None:
    converge(endpoint)
    iam.create_access_key(UserName=USER)
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.update_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    code, out, _ = run_cli("apply", "--secret-out", "/dev/null/never", "--endpoint-url", proxy.endpoint_url)
    assert code == 1  # the secret destination is refused before any AWS call
    assert proxy.counts() == {}
    code, out, _ = run_cli("apply", "--endpoint-url", proxy.endpoint_url)
    assert code == 2 and "IAM's limit" in out
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 2
    assert "CreateAccessKey" not in proxy.counts()


def test_role_under_a_path_is_reported_as_unusable(endpoint, iam) -> None:
    converge(endpoint)
    iam.detach_role_policy(
        RoleName=TRACKER_ROLE,
        PolicyArn="arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAccessPolicy",
    )
    iam.delete_role(RoleName=TRACKER_ROLE)
    iam.create_role(RoleName=TRACKER_ROLE, Path="/render/", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    status, problems = statuses(endpoint)[("tracker-role", TRACKER_ROLE)]
    assert status == "drift" and any("path /render/" in p for p in problems)


def test_spot_role_mode_attaches_the_admin_policies_to_an_existing_role(endpoint, iam) -> None:
    iam.create_role(RoleName="RcsInstanceRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    code, out, _ = run_cli("apply", "--spot-role", "RcsInstanceRole", "--endpoint-url", endpoint)
    assert code == 0, out
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="RcsInstanceRole")["AttachedPolicies"]}
    assert ADMIN in attached and len(attached) == 2
    assert iam.list_users()["Users"] == []


def test_spot_role_that_does_not_exist_is_never_created(endpoint, iam) -> None:
    code, out, _ = run_cli("apply", "--spot-role", "RcsInstanceRole", "--endpoint-url", endpoint)
    assert code == 2 and "RcsInstanceRole" in out and "does not exist" in out
    assert "RcsInstanceRole" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_creation_options_reach_what_is_created(endpoint, iam, tmp_path: Path) -> None:
    boundary = iam.create_policy(
        PolicyName="Boundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    code, out, err = run_cli(
        "apply",
        "--path",
        "/deadline/",
        "--permissions-boundary",
        boundary,
        "--tag",
        "team=render",
        "--tag",
        "cost-center=",
        "--no-resource-tracker",
        "--secret-out",
        str(tmp_path / "key.json"),
        "--endpoint-url",
        endpoint,
    )
    assert code == 0, out + err
    user = iam.get_user(UserName=USER)["User"]
    assert user["Path"] == "/deadline/"  # (moto does not keep a user's boundary; a role's it does)
    role = iam.get_role(RoleName=WORKER_ROLE)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert role["Path"] == "/"  # roles stay at / so role/DeadlineSpot* still matches them
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {"team": "render", "cost-center": ""}
    assert iam.get_instance_profile(InstanceProfileName=WORKER_ROLE)["InstanceProfile"]["Path"] == "/deadline/"
    assert TRACKER_ROLE not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]}
    assert attached == {ADMIN}

"""The pure planner: findings, actions and manual steps from hand-built observations."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from DeadlineSpotIamSetup.desired import (
    SPOT_ADMIN_POLICY,
    TRACKER_ADMIN_POLICY,
    WORKER_POLICY,
    AccessKey,
    CreationOptions,
    CredentialsRole,
    DesiredState,
    InstanceProfile,
    PolicyCopy,
    ServiceLinkedRole,
    ServiceRole,
    Settings,
    SpotPermissions,
    SpotUser,
    desired_state,
)
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.findings import Draft, Plan, PlanContext, Read
from DeadlineSpotIamSetup.handlers.base import attached_tag
from DeadlineSpotIamSetup.handlers.policy_copy import SOURCE_TAG, PolicyCopyHandler, copy_origin
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.source_ip import compare_copy, merged_copy, restrict_document
from DeadlineSpotIamSetup.trust import service_trust_policy, trusted_services
from DeadlineSpotIamSetup.values import (
    AccessKeyInfo,
    Observation,
    Observed,
    PolicyInfo,
    PrincipalPolicies,
    ProfileInfo,
    RoleInfo,
)

ACCOUNT = "123456789012"


def arns(policies, partition="aws") -> frozenset[str]:
    return frozenset(policy.arn(partition) for policy in policies)


def present(identity, partition="aws") -> Observed:
    """What IAM holds for ``identity`` when it is exactly as desired."""
    iam = f"arn:{partition}:iam::{ACCOUNT}"
    if isinstance(identity, (SpotUser, CredentialsRole)):
        return Observed(True, attached=arns(identity.policies, partition))
    if isinstance(identity, AccessKey):
        return Observed(True, keys=(AccessKeyInfo("AKIAACTIVEKEY0000001", True, None),))
    if isinstance(identity, ServiceRole):
        role = RoleInfo(f"{iam}:role/{identity.name}", "/", service_trust_policy(identity.service))
        return Observed(True, attached=arns(identity.policies, partition), role=role)
    if isinstance(identity, InstanceProfile):
        profile = ProfileInfo(f"{iam}:instance-profile{identity.path}{identity.name}", (identity.role_name,))
        return Observed(True, profile=profile)
    if isinstance(identity, ServiceLinkedRole):
        path = f"/aws-service-role/{identity.service}/"
        role = RoleInfo(f"{iam}:role{path}{identity.name}", path, service_trust_policy(identity.service))
        return Observed(True, role=role)
    if isinstance(identity, SpotPermissions):  # its policies allow everything: the chain holds
        attached = frozenset(f"arn:{partition}:iam::aws:policy/{name}" for name in identity.policies)
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        arn = f"{iam}:{identity.principal}/{identity.name}"
        return Observed(True, grants=PrincipalPolicies(arn, (("everything", everything),), None, attached))
    raise TypeError(identity)


def empty_account(desired: DesiredState) -> Observation:
    return Observation({identity: Observed(False) for identity in desired})


def complete_account(desired: DesiredState, partition="aws", **changes: Observed) -> Observation:
    """Every identity in place, except the kinds (``worker_role=...``) given in ``changes``."""
    observed = {}
    for identity in desired:
        key = identity.kind.replace("-", "_")
        observed[identity] = changes.get(key) or present(identity, partition)
    return Observation(observed)


def one(desired: DesiredState, kind: str):
    (identity,) = desired.of_kind(kind)
    return identity


def finding(plan: Plan, kind: str):
    (found,) = [f for f in plan.findings if f.kind == kind]
    return found


def others_ok(plan: Plan, kind: str) -> bool:
    return all(f.status == "ok" for f in plan.findings if f.kind != kind)


def operations(plan: Plan) -> list[str]:
    return [action.operation for action in plan.actions]


DEFAULT = desired_state(Settings())
ADMIN_POLICIES = (SPOT_ADMIN_POLICY, TRACKER_ADMIN_POLICY)


# -- empty and complete accounts ------------------------------------------------------------------


def test_empty_account_reports_every_identity_missing():
    plan = make_plan(DEFAULT, empty_account(DEFAULT), "aws")
    assert [f.status for f in plan.findings] == ["missing"] * len(DEFAULT.identities)
    assert all(f.problems for f in plan.findings)
    assert not plan.ok
    assert plan.manual == ()


def test_empty_account_plans_one_create_per_identity_and_every_attachment():
    plan = make_plan(DEFAULT, empty_account(DEFAULT), "aws")
    targets = sorted(
        (
            a.operation,
            a.params.get("RoleName")
            or a.params.get("UserName")
            or a.params.get("InstanceProfileName")
            or a.params.get("AWSServiceName"),
            a.params.get("PolicyArn"),
        )
        for a in plan.actions
    )
    admin, tracker_admin = SPOT_ADMIN_POLICY.arn("aws"), TRACKER_ADMIN_POLICY.arn("aws")
    assert targets == sorted(
        [
            ("CreateUser", "DeadlineSpotEventPluginAdmin", None),
            ("AttachUserPolicy", "DeadlineSpotEventPluginAdmin", admin),
            ("AttachUserPolicy", "DeadlineSpotEventPluginAdmin", tracker_admin),
            ("TagUser", "DeadlineSpotEventPluginAdmin", None),  # what this project attached
            ("CreateRole", "DeadlineSpotWorker", None),
            ("CreateRole", "aws-ec2-spot-fleet-tagging-role", None),
            ("CreateRole", "DeadlineResourceTrackerAccessRole", None),
            ("AttachRolePolicy", "DeadlineSpotWorker", WORKER_POLICY.arn("aws")),
            (
                "AttachRolePolicy",
                "aws-ec2-spot-fleet-tagging-role",
                "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole",
            ),
            (
                "AttachRolePolicy",
                "DeadlineResourceTrackerAccessRole",
                "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAccessPolicy",
            ),
            ("CreateInstanceProfile", "DeadlineSpotWorker", None),
            ("AddRoleToInstanceProfile", "DeadlineSpotWorker", None),
            ("CreateServiceLinkedRole", "spot.amazonaws.com", None),
            ("CreateServiceLinkedRole", "spotfleet.amazonaws.com", None),
            ("CreateAccessKey", "DeadlineSpotEventPluginAdmin", None),
        ]
    )


def test_empty_account_actions_run_in_dependency_order_ending_with_the_access_key():
    ops = operations(make_plan(DEFAULT, empty_account(DEFAULT), "aws"))

    def last(op):
        return max(i for i, o in enumerate(ops) if o == op)

    def first(op):
        return min(i for i, o in enumerate(ops) if o == op)

    assert ops[-1] == "CreateAccessKey"
    assert ops.count("CreateAccessKey") == 1
    assert last("CreateUser") < first("AttachUserPolicy")
    assert last("CreateRole") < first("AttachRolePolicy")
    assert last("CreateRole") < first("AddRoleToInstanceProfile")
    assert last("CreateInstanceProfile") < first("AddRoleToInstanceProfile")


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_policy_arns_are_planned_in_the_given_partition(partition):
    plan = make_plan(DEFAULT, empty_account(DEFAULT), partition)
    policy_arns = [a.params["PolicyArn"] for a in plan.actions if "PolicyArn" in a.params]
    assert len(policy_arns) == 5
    assert all(arn.startswith(f"arn:{partition}:iam::aws:policy/") for arn in policy_arns)


def test_created_roles_trust_their_service_at_the_root_path():
    plan = make_plan(DEFAULT, empty_account(DEFAULT), "aws")
    created = {a.params["RoleName"]: a.params for a in plan.actions if a.operation == "CreateRole"}
    expected = {
        "DeadlineSpotWorker": "ec2.amazonaws.com",
        "aws-ec2-spot-fleet-tagging-role": "spotfleet.amazonaws.com",
        "DeadlineResourceTrackerAccessRole": "lambda.amazonaws.com",
    }
    assert set(created) == set(expected)
    for name, service in expected.items():
        assert trusted_services(json.loads(created[name]["AssumeRolePolicyDocument"])) == {service}
        assert created[name]["Path"] == "/"


def test_creates_carry_boundary_and_tags_but_instance_profile_gets_no_boundary():
    boundary = "arn:aws:iam::123456789012:policy/Boundary"
    desired = desired_state(Settings(permissions_boundary=boundary, tags=(("Team", "Render"),)))
    plan = make_plan(desired, empty_account(desired), "aws")
    creates = {a.operation: a.params for a in plan.actions if a.operation.startswith("Create")}
    tags = [{"Key": "Team", "Value": "Render"}]
    for operation in ("CreateUser", "CreateRole"):
        assert creates[operation]["PermissionsBoundary"] == boundary
        assert creates[operation]["Tags"] == tags
    assert creates["CreateInstanceProfile"]["Tags"] == tags
    assert "PermissionsBoundary" not in creates["CreateInstanceProfile"]


def test_creates_carry_no_boundary_or_tags_unless_asked():
    plan = make_plan(DEFAULT, empty_account(DEFAULT), "aws")
    for action in plan.actions:
        if action.operation == "TagUser":  # the record of what this project attached, not a creation tag
            assert {t["Key"] for t in action.params["Tags"]} == {attached_tag(p) for p in ADMIN_POLICIES}
            continue
        assert "Tags" not in action.params
        assert "PermissionsBoundary" not in action.params


def test_user_and_instance_profile_are_created_at_the_configured_path():
    desired = desired_state(Settings(path="/deadline/"))
    plan = make_plan(desired, empty_account(desired), "aws")
    paths = {a.operation: a.params.get("Path") for a in plan.actions}
    assert paths["CreateUser"] == "/deadline/"
    assert paths["CreateInstanceProfile"] == "/deadline/"
    assert paths["CreateRole"] == "/"


def test_complete_account_is_all_ok_with_nothing_to_do():
    plan = make_plan(DEFAULT, complete_account(DEFAULT), "aws")
    assert [f.status for f in plan.findings] == ["ok"] * len(DEFAULT.identities)
    assert all(f.problems == () for f in plan.findings)
    assert plan.actions == ()
    assert plan.manual == ()
    assert plan.ok


def test_policies_attached_in_another_partition_count_as_attached():
    plan = make_plan(DEFAULT, complete_account(DEFAULT, partition="aws-cn"), "aws")
    assert plan.ok
    assert plan.actions == ()


def test_findings_follow_the_order_of_the_desired_identities():
    plan = make_plan(DEFAULT, complete_account(DEFAULT), "aws")
    assert [f.identity for f in plan.findings] == list(DEFAULT.identities)


# -- drift ------------------------------------------------------------------------------------------


def test_role_trusting_the_wrong_service_gets_its_trust_extended_keeping_the_old_statement():
    worker = one(DEFAULT, "worker-role")
    old = service_trust_policy("lambda.amazonaws.com")
    seen = Observed(
        True,
        attached=arns(worker.policies),
        role=RoleInfo(f"arn:aws:iam::{ACCOUNT}:role/{worker.name}", "/", old),
    )
    plan = make_plan(DEFAULT, complete_account(DEFAULT, worker_role=seen), "aws")
    found = finding(plan, "worker-role")
    assert found.status == "drift"
    assert any("ec2.amazonaws.com" in problem and "lambda.amazonaws.com" in problem for problem in found.problems)
    (action,) = plan.actions
    assert action.operation == "UpdateAssumeRolePolicy"
    assert action.params["RoleName"] == worker.name
    document = json.loads(action.params["PolicyDocument"])
    assert old["Statement"][0] in document["Statement"]
    assert trusted_services(document) == {"lambda.amazonaws.com", "ec2.amazonaws.com"}
    assert others_ok(plan, "worker-role")


def test_role_trusting_the_china_spelling_of_its_service_is_ok():
    worker = one(DEFAULT, "worker-role")
    seen = Observed(
        True,
        attached=arns(worker.policies),
        role=RoleInfo(
            f"arn:aws-cn:iam::{ACCOUNT}:role/{worker.name}", "/", service_trust_policy("ec2.amazonaws.com.cn")
        ),
    )
    plan = make_plan(DEFAULT, complete_account(DEFAULT, worker_role=seen), "aws-cn")
    assert plan.ok
    assert plan.actions == ()


def test_missing_role_attachment_plans_only_that_attach():
    worker = one(DEFAULT, "worker-role")
    seen = present(worker)
    seen = Observed(True, attached=frozenset(), role=seen.role)
    plan = make_plan(DEFAULT, complete_account(DEFAULT, worker_role=seen), "aws")
    assert finding(plan, "worker-role").status == "drift"
    assert [(a.operation, a.params) for a in plan.actions] == [
        ("AttachRolePolicy", {"RoleName": worker.name, "PolicyArn": WORKER_POLICY.arn("aws")})
    ]
    assert others_ok(plan, "worker-role")


def test_missing_user_attachment_plans_only_that_attach():
    seen = Observed(True, attached=arns([SPOT_ADMIN_POLICY]))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, spot_user=seen), "aws")
    found = finding(plan, "spot-user")
    assert found.status == "drift"
    assert found.problems == (f"policy {TRACKER_ADMIN_POLICY.name} is not attached",)
    assert [(a.operation, a.params) for a in plan.actions] == [
        (
            "AttachUserPolicy",
            {"UserName": "DeadlineSpotEventPluginAdmin", "PolicyArn": TRACKER_ADMIN_POLICY.arn("aws")},
        ),
        (
            "TagUser",
            {
                "UserName": "DeadlineSpotEventPluginAdmin",
                "Tags": [{"Key": attached_tag(TRACKER_ADMIN_POLICY), "Value": "true"}],
            },
        ),
    ]


def test_extra_policies_attached_by_an_admin_are_never_detached():
    extra = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess", f"arn:aws:iam::{ACCOUNT}:policy/Custom"})
    changes = {}
    for identity in DEFAULT:
        seen = present(identity)
        if seen.attached:
            seen = Observed(True, attached=seen.attached | extra, role=seen.role)
        changes[identity.kind.replace("-", "_")] = seen
    plan = make_plan(DEFAULT, complete_account(DEFAULT, **changes), "aws")
    assert plan.ok
    assert plan.actions == ()


def test_no_plan_ever_detaches_or_deletes_anything():
    worker = one(DEFAULT, "worker-role")
    wrong = Observed(
        True,
        attached=frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"}),
        role=RoleInfo(
            "arn:aws:iam::123456789012:role/x/DeadlineSpotWorker",
            "/x/",
            service_trust_policy("lambda.amazonaws.com"),
        ),
    )
    profile = Observed(
        True,
        profile=ProfileInfo("arn:aws:iam::123456789012:instance-profile/DeadlineSpotWorker", ("OtherRole",)),
    )
    keys = Observed(True, keys=(AccessKeyInfo("AKIA1", False, None), AccessKeyInfo("AKIA2", False, None)))
    plan = make_plan(
        DEFAULT,
        complete_account(DEFAULT, worker_role=wrong, instance_profile=profile, access_key=keys),
        "aws",
    )
    assert operations(plan)  # something to do, yet ...
    assert not [op for op in operations(plan) if op.startswith(("Detach", "Delete", "Remove"))]
    assert worker.name in {a.params.get("RoleName") for a in plan.actions}


def test_instance_profile_holding_no_role_gets_the_worker_role_added():
    seen = Observed(True, profile=ProfileInfo("arn:aws:iam::123456789012:instance-profile/DeadlineSpotWorker", ()))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, instance_profile=seen), "aws")
    assert finding(plan, "instance-profile").status == "drift"
    assert [(a.operation, a.params) for a in plan.actions] == [
        (
            "AddRoleToInstanceProfile",
            {"InstanceProfileName": "DeadlineSpotWorker", "RoleName": "DeadlineSpotWorker"},
        )
    ]
    assert plan.manual == ()


def test_instance_profile_holding_another_role_is_left_to_an_admin():
    seen = Observed(
        True,
        profile=ProfileInfo("arn:aws:iam::123456789012:instance-profile/DeadlineSpotWorker", ("SomeoneElsesRole",)),
    )
    plan = make_plan(DEFAULT, complete_account(DEFAULT, instance_profile=seen), "aws")
    found = finding(plan, "instance-profile")
    assert found.status == "drift"
    assert plan.actions == ()
    (manual,) = plan.manual
    assert "SomeoneElsesRole" in manual.problem and "DeadlineSpotWorker" in manual.problem
    assert not plan.ok


def test_role_at_another_path_is_drift_left_to_an_admin():
    worker = one(DEFAULT, "worker-role")
    seen = Observed(
        True,
        attached=arns(worker.policies),
        role=RoleInfo(
            f"arn:aws:iam::{ACCOUNT}:role/custom/{worker.name}",
            "/custom/",
            service_trust_policy(worker.service),
        ),
    )
    plan = make_plan(DEFAULT, complete_account(DEFAULT, worker_role=seen), "aws")
    found = finding(plan, "worker-role")
    assert found.status == "drift"
    assert any("/custom/" in problem for problem in found.problems)
    assert plan.actions == ()
    (manual,) = plan.manual
    assert (manual.kind, manual.name) == (Kind.WORKER_ROLE, worker.name)
    assert "/custom/" in manual.problem


def test_user_with_only_an_inactive_key_gets_a_new_key():
    seen = Observed(True, keys=(AccessKeyInfo("AKIAOLD", False, None),))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, access_key=seen), "aws")
    found = finding(plan, "access-key")
    assert found.status == "drift"
    assert "inactive" in found.problems[0]
    assert [(a.operation, a.params) for a in plan.actions] == [
        ("CreateAccessKey", {"UserName": "DeadlineSpotEventPluginAdmin"})
    ]


def test_user_with_one_active_key_among_inactive_ones_is_ok():
    seen = Observed(True, keys=(AccessKeyInfo("AKIAOLD", False, None), AccessKeyInfo("AKIANEW", True, None)))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, access_key=seen), "aws")
    assert finding(plan, "access-key").status == "ok"
    assert plan.actions == ()


def test_existing_user_without_any_key_reports_the_key_missing():
    seen = Observed(True, keys=())
    plan = make_plan(DEFAULT, complete_account(DEFAULT, access_key=seen), "aws")
    assert finding(plan, "access-key").status == "missing"
    assert operations(plan) == ["CreateAccessKey"]


def test_user_with_two_inactive_keys_gets_no_new_key_but_a_manual_step():
    seen = Observed(True, keys=(AccessKeyInfo("AKIA1", False, None), AccessKeyInfo("AKIA2", False, None)))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, access_key=seen), "aws")
    assert finding(plan, "access-key").status == "drift"
    assert "CreateAccessKey" not in operations(plan)
    (manual,) = plan.manual
    assert (manual.kind, manual.name) == (Kind.ACCESS_KEY, "DeadlineSpotEventPluginAdmin")
    assert "2" in manual.problem and "limit" in manual.problem


def test_without_a_place_to_deliver_the_secret_no_key_is_planned():
    plan = make_plan(DEFAULT, empty_account(DEFAULT), "aws", deliver_key=False)
    assert "CreateAccessKey" not in operations(plan)
    assert "CreateUser" in operations(plan)
    assert finding(plan, "access-key").status == "missing"
    assert [m for m in plan.manual if (m.kind, m.name) == (Kind.ACCESS_KEY, "DeadlineSpotEventPluginAdmin")]


def test_credentials_role_missing_is_never_created_only_reported():
    desired = desired_state(Settings(spot_role="RcsInstanceRole"))
    plan = make_plan(desired, empty_account(desired), "aws")
    found = finding(plan, "spot-role")
    assert found.status == "missing"
    created_roles = {a.params["RoleName"] for a in plan.actions if a.operation == "CreateRole"}
    assert "RcsInstanceRole" not in created_roles
    assert not [a for a in plan.actions if a.params.get("RoleName") == "RcsInstanceRole"]
    assert [m for m in plan.manual if (m.kind, m.name) == (Kind.SPOT_ROLE, "RcsInstanceRole")]
    assert "CreateUser" not in operations(plan)
    assert "CreateAccessKey" not in operations(plan)


def test_existing_credentials_role_gets_its_missing_policies_attached():
    desired = desired_state(Settings(spot_role="RcsInstanceRole"))
    seen = Observed(True, attached=frozenset())
    plan = make_plan(desired, complete_account(desired, spot_role=seen), "aws")
    assert finding(plan, "spot-role").status == "drift"
    assert [(a.operation, a.params.get("PolicyArn")) for a in plan.actions] == [
        ("AttachRolePolicy", SPOT_ADMIN_POLICY.arn("aws")),
        ("AttachRolePolicy", TRACKER_ADMIN_POLICY.arn("aws")),
        ("TagRole", None),  # what this project attached
    ]


def test_missing_service_linked_role_is_created_by_service_name():
    spot = next(i for i in DEFAULT.of_kind("service-linked-role") if i.service == "spot.amazonaws.com")
    observed = complete_account(DEFAULT).observed
    observed[spot] = Observed(False)
    plan = make_plan(DEFAULT, Observation(observed), "aws")
    assert [(a.operation, a.params) for a in plan.actions] == [
        ("CreateServiceLinkedRole", {"AWSServiceName": "spot.amazonaws.com"})
    ]


ORGANISATION_ROLES = desired_state(Settings(service_linked_roles=False))


def test_service_linked_roles_the_organisation_creates_are_never_created_and_expected_while_missing():
    """--no-service-linked-roles: a missing one is no problem but a note (the Spot Event Plugin's fleet requests need
    it: "If you use the AWS CLI or an API, you must ensure that these roles exist", EC2 User Guide, Spot Fleet
    permissions); a present one is simply ok."""
    linked = ORGANISATION_ROLES.of_kind("service-linked-role")
    observed = complete_account(ORGANISATION_ROLES).observed
    observed[linked[0]] = Observed(False)
    plan = make_plan(ORGANISATION_ROLES, Observation(observed), "aws")
    assert plan.actions == () and plan.manual == () and plan.ok
    missing, present = (next(f for f in plan.findings if f.identity == identity) for identity in linked)
    assert missing.status is Status.OK and missing.problems == ()
    assert any("expected from your organisation" in note for note in missing.notes)
    assert present.status is Status.OK and present.notes == ()


def test_plan_is_not_ok_when_only_manual_work_remains():
    seen = Observed(
        True, profile=ProfileInfo("arn:aws:iam::123456789012:instance-profile/DeadlineSpotWorker", ("Other",))
    )
    plan = make_plan(DEFAULT, complete_account(DEFAULT, instance_profile=seen), "aws")
    assert plan.actions == ()
    assert not plan.ok


def test_plan_ok_does_not_depend_on_key_delivery_when_a_key_exists():
    assert make_plan(DEFAULT, complete_account(DEFAULT), "aws", deliver_key=False).ok


def test_observation_partition_comes_from_any_returned_arn():
    assert complete_account(DEFAULT, partition="aws-cn").partition == "aws-cn"
    assert empty_account(DEFAULT).partition is None


def test_one_role_name_is_never_created_twice_in_one_plan():
    try:
        desired = desired_state(Settings(fleet_role="DeadlineSpotWorker"))
    except InvalidSettings:
        return  # refusing the shared name is a fix as good as planning it once
    plan = make_plan(desired, empty_account(desired), "aws")
    created = [a.params["RoleName"] for a in plan.actions if a.operation == "CreateRole"]
    assert len(created) == len(set(created))


# -- an explicit Deny in a trust policy, two active keys --------------------------------------------


def worker_trusting(*statements: dict) -> Observation:
    worker = one(DEFAULT, "worker-role")
    seen = present(worker)
    assert seen.role is not None
    trust = {"Version": "2012-10-17", "Statement": list(statements)}
    return complete_account(
        DEFAULT, worker_role=Observed(True, attached=seen.attached, role=RoleInfo(seen.role.arn, "/", trust))
    )


def assume(effect: str, service: str, **extra: str) -> dict:
    return {"Effect": effect, "Principal": {"Service": service}, "Action": "sts:AssumeRole", **extra}


def test_trust_with_an_explicit_deny_of_the_service_is_drift_left_to_an_admin():
    observation = worker_trusting(
        assume("Allow", "ec2.amazonaws.com"), assume("Deny", "ec2.amazonaws.com", Sid="NoEc2")
    )
    plan = make_plan(DEFAULT, observation, "aws")
    found = finding(plan, "worker-role")
    assert found.status == "drift" and not plan.ok
    assert "explicitly denies ec2.amazonaws.com" in found.problems[0] and "NoEc2" in found.problems[0]
    assert operations(plan) == []  # no Allow apply could add would help, and the admin's Deny stays
    (manual,) = plan.manual
    assert (manual.kind, manual.name) == (Kind.WORKER_ROLE, "DeadlineSpotWorker") and "Deny" in manual.remedy


def test_trust_allowing_another_service_and_denying_ours_is_not_repaired_by_adding_an_allow():
    observation = worker_trusting(assume("Allow", "lambda.amazonaws.com"), assume("Deny", "ec2.amazonaws.com"))
    plan = make_plan(DEFAULT, observation, "aws")
    assert "UpdateAssumeRolePolicy" not in operations(plan)
    assert finding(plan, "worker-role").status == "drift"


def test_two_active_access_keys_are_drift_with_a_remedy():
    keys = (AccessKeyInfo("AKIAFIRSTKEY00000001", True, None), AccessKeyInfo("AKIASECONDKEY0000002", True, None))
    plan = make_plan(DEFAULT, complete_account(DEFAULT, access_key=Observed(True, keys=keys)), "aws")
    found = finding(plan, "access-key")
    assert found.status == "drift" and not plan.ok
    assert "2 active access keys" in found.problems[0] and "AKIASECONDKEY0000002" in found.problems[0]
    assert operations(plan) == []
    (manual,) = plan.manual
    assert manual.kind is Kind.ACCESS_KEY and "delete" in manual.remedy


# -- the IP-restricted mode ------------------------------------------------------------------------


def test_restricted_mode_on_an_empty_account_creates_copies_then_attaches_them_not_the_aws_policies():
    from DeadlineSpotIamSetup.values import PolicyInfo

    desired = desired_state(Settings(allowed_source_ips=("203.0.113.10/32",), path="/farm/"))
    source = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    observation = Observation(
        {
            identity: Observed(
                False,
                source=PolicyInfo(identity.source.arn("aws"), "v3", source) if identity.kind == "policy-copy" else None,
            )
            for identity in desired
        }
    )
    plan = make_plan(desired, observation, "aws", account=ACCOUNT)
    creates = [a for a in plan.actions if a.operation == "CreatePolicy"]
    assert [a.params["PolicyName"] for a in creates] == [
        "DeadlineSpotEventPluginAdminPolicy-SourceIp",
        "DeadlineResourceTrackerAdminPolicy-SourceIp",
    ]
    assert all(a.params["Path"] == "/farm/" for a in creates)
    document = json.loads(creates[0].params["PolicyDocument"])
    assert document["Statement"][0]["Condition"] == {"IpAddress": {"aws:SourceIp": ["203.0.113.10/32"]}}
    attached_arns = [a.params["PolicyArn"] for a in plan.actions if a.operation == "AttachUserPolicy"]
    assert attached_arns == [
        f"arn:aws:iam::{ACCOUNT}:policy/farm/DeadlineSpotEventPluginAdminPolicy-SourceIp",
        f"arn:aws:iam::{ACCOUNT}:policy/farm/DeadlineResourceTrackerAdminPolicy-SourceIp",
    ]
    assert "TagUser" not in operations(plan)  # nothing AWS managed is attached, so nothing to record
    stages = {a.operation: a.stage for a in plan.actions}
    assert stages["CreatePolicy"] < stages["AttachUserPolicy"]


def test_restricted_mode_cannot_be_planned_without_the_account():
    desired = desired_state(Settings(allowed_source_ips=("203.0.113.10/32",)))
    with pytest.raises(ValueError, match="account"):
        make_plan(desired, empty_account(desired), "aws")


# -- an IP-restricted copy: what it was made from, what an admin changed ---------------------------------------------
COPY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/DeadlineSpotEventPluginAdminPolicy-SourceIp"
SOURCE_ARN = SPOT_ADMIN_POLICY.arn("aws")
RCS = ("203.0.113.10/32",)
V1 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RequestSpotFleet"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::*:role/DeadlineSpot*"]},
    ],
}
NEW_STATEMENT = {"Effect": "Allow", "Action": "ec2:DescribeSpotPriceHistory", "Resource": "*"}
V2 = {**V1, "Statement": [*V1["Statement"], NEW_STATEMENT]}
ADMINS_DENY = {"Sid": "NoUserDeletion", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}


def spot_copy(addresses=RCS) -> PolicyCopy:
    return next(
        identity
        for identity in desired_state(Settings(allowed_source_ips=addresses))
        if isinstance(identity, PolicyCopy) and identity.source == SPOT_ADMIN_POLICY
    )


def copy_seen(document: dict, record: str | None = "v1", source=("v1", V1), origin=None) -> Observed:
    tags = {} if record is None else {SOURCE_TAG: f"{SOURCE_ARN} {record}"}
    return Observed(
        True,
        policy=PolicyInfo(COPY_ARN, "v3", document, tags),
        source=PolicyInfo(SOURCE_ARN, *source),
        origin=None if origin is None else PolicyInfo(SOURCE_ARN, *origin),
    )


def plan_copy(seen: Observed, addresses=RCS) -> Draft:
    identity = spot_copy(addresses)
    draft = Draft(identity, seen.exists)
    PolicyCopyHandler().plan(identity, seen, draft, PlanContext("aws", CreationOptions(), account=ACCOUNT))
    return draft


def plus(document: dict, *statements: dict) -> dict:
    return {**document, "Statement": [*document["Statement"], *statements]}


def test_a_copy_as_this_project_made_it_is_in_place():
    draft = plan_copy(copy_seen(restrict_document(V1, RCS)))
    assert (draft.problems, draft.actions, draft.manual) == ([], [], [])


def test_a_copy_made_from_the_recorded_version_lags_behind_a_newer_one_and_is_updated():
    draft = plan_copy(copy_seen(restrict_document(V1, RCS), source=("v2", V2), origin=("v1", V1)))
    assert draft.problems == [
        "lags behind AWSThinkboxDeadlineSpotEventPluginAdminPolicy: made from v1, its default version is now v2"
    ]
    create, tag = draft.actions
    assert create.operation == "CreatePolicyVersion" and json.loads(create.params["PolicyDocument"]) == (
        restrict_document(V2, RCS)
    )
    assert tag.params["Tags"] == [{"Key": SOURCE_TAG, "Value": f"{SOURCE_ARN} v2"}]
    assert draft.manual == []


def test_an_admins_statement_is_reported_and_kept_in_the_update():
    edited = plus(restrict_document(V1, RCS), ADMINS_DENY)
    in_place = plan_copy(copy_seen(edited))
    assert in_place.actions == []
    (step,) = in_place.manual
    assert step.problem == "edited by hand: adds statement 'NoUserDeletion' (Deny iam:DeleteUser)"
    lagging = plan_copy(copy_seen(edited, source=("v2", V2), origin=("v1", V1)))
    create = next(a for a in lagging.actions if a.operation == "CreatePolicyVersion")
    assert json.loads(create.params["PolicyDocument"]) == plus(restrict_document(V2, RCS), ADMINS_DENY)
    assert "keeping the statement added by hand 'NoUserDeletion'" in create.summary
    assert [m.problem for m in lagging.manual] == [step.problem]


def test_an_admins_statement_reusing_a_sid_of_the_new_version_blocks_the_update():
    v2 = plus(V1, {"Sid": "NoUserDeletion", "Effect": "Allow", "Action": "ec2:DescribeImages", "Resource": "*"})
    draft = plan_copy(copy_seen(plus(restrict_document(V1, RCS), ADMINS_DENY), source=("v2", v2), origin=("v1", V1)))
    assert draft.actions == []
    assert "cannot be updated keeping what was added by hand" in draft.manual[-1].problem


def test_a_changed_statement_of_the_project_is_reported_and_the_copy_left_alone():
    edited = restrict_document(V1, RCS)
    edited["Statement"][1]["Resource"] = ["*"]
    draft = plan_copy(copy_seen(edited, source=("v2", V2), origin=("v1", V1)))
    assert draft.actions == []
    (step,) = draft.manual
    assert step.problem.startswith(
        "edited by hand: changes statement (Allow iam:PassRole): its Resource differs "
        "(+*, -arn:aws:iam::*:role/DeadlineSpot*) (compared with what this project writes for "
        "AWSThinkboxDeadlineSpotEventPluginAdminPolicy v1 and 203.0.113.10/32)"
    )
    assert step.problem.endswith("not updated to AWSThinkboxDeadlineSpotEventPluginAdminPolicy v2 while so")
    assert "left as it is" in step.remedy and "set-default-policy-version" in step.remedy


def test_a_copy_without_a_record_is_in_place_while_its_document_proves_the_current_version():
    """A CloudFormation stack's copy has no record: AWS::IAM::ManagedPolicy has no Tags property."""
    draft = plan_copy(copy_seen(restrict_document(V1, RCS), record=None))
    assert (draft.problems, draft.actions, draft.manual) == ([], [], [])


@pytest.mark.parametrize("record", ["v7", "seven"])
def test_a_wrong_record_is_mended_when_the_document_proves_the_version(record):
    draft = plan_copy(copy_seen(restrict_document(V1, RCS), record=record))
    assert draft.problems == [f"its record {SOURCE_TAG} says '{SOURCE_ARN} {record}', but it was made from v1"]
    (tag,) = draft.actions
    assert tag.operation == "TagPolicy" and tag.params["Tags"] == [{"Key": SOURCE_TAG, "Value": f"{SOURCE_ARN} v1"}]


def test_a_lost_record_and_a_newer_aws_version_leave_the_copy_to_an_admin():
    draft = plan_copy(copy_seen(restrict_document(V1, RCS), record=None, source=("v2", V2)))
    assert draft.actions == []
    (step,) = draft.manual
    assert "lacks statement (Allow ec2:DescribeSpotPriceHistory)" in step.problem and "is missing" in step.problem
    assert f"tag it {SOURCE_TAG} = '{SOURCE_ARN} vN'" in step.remedy


def test_the_address_list_a_copy_was_made_with_is_read_from_it_and_a_new_list_keeps_the_additions():
    edited = plus(restrict_document(V1, RCS), ADMINS_DENY)
    draft = plan_copy(copy_seen(edited), addresses=("198.51.100.0/24",))
    assert draft.problems[1] == (
        "allows 203.0.113.10/32 instead of 198.51.100.0/24, keeping the statement added by hand 'NoUserDeletion'"
    )
    create = next(a for a in draft.actions if a.operation == "CreatePolicyVersion")
    assert json.loads(create.params["PolicyDocument"]) == plus(restrict_document(V1, ("198.51.100.0/24",)), ADMINS_DENY)


@pytest.mark.parametrize(
    ("record", "read"),
    [
        (f"{SOURCE_ARN} v1", None),  # the default version: read in the first round already
        (f"{SOURCE_ARN} v7", ("origin", "policy_version", (SOURCE_ARN, "v7"))),
        (f"{TRACKER_ADMIN_POLICY.arn('aws')} v7", None),  # another policy's version: no record of this copy
        (f"{SOURCE_ARN} seven", None),  # not a version ID: never sent to IAM
        (None, None),
    ],
)
def test_the_recorded_version_is_read_in_a_second_round_only_when_it_is_not_the_default(record, read):
    tags = {} if record is None else {SOURCE_TAG: record}
    answers = {"policy": PolicyInfo(COPY_ARN, "v3", {}, tags), "source": PolicyInfo(SOURCE_ARN, "v1", V1)}
    reads = PolicyCopyHandler().later_reads(spot_copy(), answers)
    assert reads == (() if read is None else (Read(*read),))


# The copy's origin over generated documents: whatever AWS versions and address lists it could have been made from,
# the one chosen explains the whole copy (this project's statements for it, plus additions) with no more additions
# than the true one.
statement_strategy = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.sampled_from(["ec2:RunInstances", "iam:PassRole", "s3:GetObject", "ec2:CreateTags"]),
        "Resource": st.sampled_from(["*", "arn:aws:s3:::farm/*"]),
    }
)
source_strategy = st.lists(statement_strategy, min_size=1, max_size=4).map(
    lambda statements: {"Version": "2012-10-17", "Statement": statements}
)
address_strategy = st.sampled_from([("203.0.113.10/32",), ("198.51.100.0/24", "2001:db8::/64"), ("192.0.2.0/24",)])


@settings(max_examples=300, derandomize=True, deadline=None)
@given(source_strategy, source_strategy, address_strategy, address_strategy, st.lists(statement_strategy, max_size=2))
def test_the_origin_chosen_explains_the_whole_copy(recorded, current, made_with, wanted, additions):
    copy_document = plus(restrict_document(recorded, made_with), *additions)
    sources = [PolicyInfo(SOURCE_ARN, "v2", current), PolicyInfo(SOURCE_ARN, "v1", recorded)]
    origin = copy_origin(spot_copy(wanted), copy_document, sources)
    assert origin.difference.changed == ()
    expected = restrict_document(current if origin.version == "v2" else recorded, origin.addresses)
    assert compare_copy(merged_copy(expected, origin.difference), copy_document).same
    true_origin = compare_copy(copy_document, restrict_document(recorded, made_with))
    assert len(origin.difference.added) <= len(true_origin.added)

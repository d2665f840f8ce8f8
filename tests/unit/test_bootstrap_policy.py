"""The least-privilege bootstrap policy, checked against every IAM call check and apply can make."""

from __future__ import annotations

import json
import re

import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.desired import (
    AccessKey,
    DesiredState,
    InstanceProfile,
    ServiceLinkedRole,
    ServiceRole,
    Settings,
    SpotUser,
    desired_state,
)
from DeadlineSpotIamSetup.findings import Action
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.trust import service_trust_policy
from DeadlineSpotIamSetup.values import Observation, Observed, RoleInfo
from tests.support.policy_evaluator import _as_list, allowed

ACCOUNT = "123456789012"
BOUNDARY = "arn:aws:iam::123456789012:policy/Boundary"


def test_the_evaluator_itself_denies_what_no_statement_allows():
    policy = {"Statement": [{"Effect": "Allow", "Action": ["iam:GetRole"], "Resource": ["arn:aws:iam::*:role/A"]}]}
    assert allowed(policy, "iam:GetRole", "arn:aws:iam::123456789012:role/A")
    assert not allowed(policy, "iam:GetRole", "arn:aws:iam::123456789012:role/AB")
    assert not allowed(policy, "iam:CreateRole", "arn:aws:iam::123456789012:role/A")


def test_the_evaluator_is_strict_where_iam_is():
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:AttachRolePolicy"],
                "Resource": ["arn:aws:iam::*:role/A"],
                "Condition": {"ArnEquals": {"iam:PolicyARN": ["arn:aws:iam::aws:policy/P"]}},
            },
            {"Effect": "Allow", "Action": ["iam:TagRole"], "Resource": ["arn:aws:iam::*:role/A"]},
        ]
    }
    attach = "arn:aws:iam::123456789012:role/A"
    assert allowed(policy, "iam:AttachRolePolicy", attach, {"iam:PolicyARN": "arn:aws:iam::aws:policy/P"})
    # A wildcard matches within its ARN segment only: the account's never reaches into the resource.
    assert not allowed(policy, "iam:TagRole", "arn:aws:iam::123456789012:x:role/A")
    # Resource names are case-sensitive; a condition key the request does not carry fails the statement.
    assert not allowed(policy, "iam:TagRole", "arn:aws:iam::123456789012:role/a")
    assert not allowed(policy, "iam:AttachRolePolicy", attach)
    assert not allowed(policy, "iam:AttachRolePolicy", attach, {"iam:PolicyARN": "arn:aws:iam::aws:policy/Q"})
    with pytest.raises(AssertionError, match="not understood"):
        allowed(
            {"Statement": [{**policy["Statement"][0], "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]},
            "iam:AttachRolePolicy",
            attach,
            {"aws:SecureTransport": "true"},
        )


# -- what check and apply call ---------------------------------------------------------------------


def spot_user(desired: DesiredState) -> SpotUser:
    (user,) = desired.of_kind("spot-user")
    return user


def resource_of(action: Action, desired: DesiredState, partition: str) -> str:
    iam = f"arn:{partition}:iam::{ACCOUNT}"
    identity = action.identity
    if isinstance(identity, (SpotUser, AccessKey)):
        user = spot_user(desired)
        return f"{iam}:user{user.path}{user.name}"
    if isinstance(identity, InstanceProfile):
        return f"{iam}:instance-profile{identity.path}{identity.name}"
    if isinstance(identity, ServiceLinkedRole):
        return f"{iam}:role/aws-service-role/{identity.service}/{identity.name}"
    return f"{iam}:role/{action.params['RoleName']}"


def required_permissions(action: Action, desired: DesiredState, partition: str) -> list[tuple[str, str, dict]]:
    """The (IAM action, resource, condition context) triples IAM authorizes for one planned call."""
    resource = resource_of(action, desired, partition)
    params = action.params
    context = {}
    if "PolicyArn" in params:
        context["iam:PolicyARN"] = params["PolicyArn"]
    if "AWSServiceName" in params:
        context["iam:AWSServiceName"] = params["AWSServiceName"]
    if "PermissionsBoundary" in params:
        context["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    tag_keys = {"aws:TagKeys": [tag["Key"] for tag in params.get("Tags", [])]}
    if action.operation.startswith("Tag"):
        context.update(tag_keys)
    needed = [(f"iam:{action.operation}", resource, context)]
    noun = {"CreateUser": "User", "CreateRole": "Role", "CreateInstanceProfile": "InstanceProfile"}.get(
        action.operation
    )
    if noun and "Tags" in params:
        needed.append((f"iam:Tag{noun}", resource, tag_keys))
    if noun and "PermissionsBoundary" in params:
        needed.append(
            (
                f"iam:Put{noun}PermissionsBoundary",
                resource,
                {"iam:PermissionsBoundary": params["PermissionsBoundary"]},
            )
        )
    if action.operation == "AddRoleToInstanceProfile":
        needed.append(("iam:PassRole", f"arn:{partition}:iam::{ACCOUNT}:role/{params['RoleName']}", {}))
    return needed


def empty(desired: DesiredState) -> Observation:
    return Observation({identity: Observed(False) for identity in desired})


def roles_trusting_nothing(desired: DesiredState) -> Observation:
    """Every role exists with an unrelated trust, so each gets an UpdateAssumeRolePolicy."""
    observed = {}
    for identity in desired:
        if isinstance(identity, ServiceRole):
            observed[identity] = Observed(
                True,
                role=RoleInfo(
                    f"arn:aws:iam::{ACCOUNT}:role/{identity.name}",
                    "/",
                    service_trust_policy("example.amazonaws.com"),
                ),
            )
        else:
            observed[identity] = Observed(False)
    return Observation(observed)


SETTINGS = {
    "default": Settings(),
    "tags-boundary-path": Settings(
        path="/deadline/", permissions_boundary=BOUNDARY, tags=(("Team", "Render"), ("Cost", ""))
    ),
    "renamed": Settings(
        spot_user="SpotAdmin",
        worker_role="DeadlineSpotNodes",
        instance_profile="NodesProfile",
        fleet_role="DeadlineSpotFleet",
        tracker_role="DeadlineResourceTrackerAccessX",
    ),
    "no-tracker-no-key": Settings(resource_tracker=False, access_key=False),
}


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize(("partition", "account"), [("aws", "*"), ("aws", ACCOUNT), ("aws-cn", ACCOUNT)])
def test_policy_allows_every_write_apply_plans(name, partition, account):
    desired = desired_state(SETTINGS[name])
    policy = bootstrap_policy(desired, partition, account)
    actions = list(make_plan(desired, empty(desired), partition).actions)
    actions += list(make_plan(desired, roles_trusting_nothing(desired), partition).actions)
    operations = {a.operation for a in actions}
    assert {"CreateRole", "UpdateAssumeRolePolicy", "AddRoleToInstanceProfile"} <= operations
    for action in actions:
        for iam_action, resource, context in required_permissions(action, desired, partition):
            assert allowed(policy, iam_action, resource, context), (iam_action, resource, context)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_policy_allows_every_read_and_the_key_cleanup(name):
    desired = desired_state(SETTINGS[name])
    policy = bootstrap_policy(desired, "aws", ACCOUNT)
    iam = f"arn:aws:iam::{ACCOUNT}"
    for identity in desired:
        if isinstance(identity, SpotUser):
            user = f"{iam}:user{identity.path}{identity.name}"
            for action in ("iam:GetUser", "iam:ListAttachedUserPolicies"):
                assert allowed(policy, action, user), action
        elif isinstance(identity, AccessKey):
            user = spot_user(desired)
            for action in ("iam:ListAccessKeys", "iam:DeleteAccessKey"):
                assert allowed(policy, action, f"{iam}:user{user.path}{user.name}"), action
        elif isinstance(identity, ServiceRole):
            for action in ("iam:GetRole", "iam:ListAttachedRolePolicies"):
                assert allowed(policy, action, f"{iam}:role/{identity.name}"), action
        elif isinstance(identity, InstanceProfile):
            assert allowed(policy, "iam:GetInstanceProfile", f"{iam}:instance-profile{identity.path}{identity.name}")
        elif isinstance(identity, ServiceLinkedRole):
            assert allowed(policy, "iam:GetRole", f"{iam}:role/aws-service-role/{identity.service}/{identity.name}")


def test_pass_role_is_allowed_on_the_worker_role_only_among_the_service_roles():
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    assert allowed(policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker")
    assert not allowed(policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/DeadlineResourceTrackerAccessRole")
    assert not allowed(policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/SomeAdminRole")


def test_policy_allows_nothing_on_other_names():
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    iam = f"arn:aws:iam::{ACCOUNT}"
    assert not allowed(policy, "iam:CreateRole", f"{iam}:role/DeadlineSpotWorker2")
    assert not allowed(policy, "iam:CreateUser", f"{iam}:user/Administrator")
    assert not allowed(policy, "iam:CreateAccessKey", f"{iam}:user/Administrator")
    assert not allowed(policy, "iam:GetRole", "arn:aws:iam::999999999999:role/DeadlineSpotWorker")


def test_attach_is_conditioned_on_exactly_the_managed_policies_of_each_identity():
    desired = desired_state(Settings())
    policy = bootstrap_policy(desired, "aws", ACCOUNT)
    attaching = [s for s in policy["Statement"] if {"iam:AttachRolePolicy", "iam:AttachUserPolicy"} & set(s["Action"])]
    assert attaching
    assert all(set(s["Action"]) <= {"iam:AttachRolePolicy", "iam:AttachUserPolicy"} for s in attaching)
    expected = {}
    for identity in desired:
        if isinstance(identity, SpotUser):
            expected[f"arn:aws:iam::{ACCOUNT}:user/{identity.name}"] = {p.arn("aws") for p in identity.policies}
        elif isinstance(identity, ServiceRole):
            expected[f"arn:aws:iam::{ACCOUNT}:role/{identity.name}"] = {p.arn("aws") for p in identity.policies}
    found = {}
    for statement in attaching:
        # The identity at the root path, and under any other path an admin may have put it.
        resource, under_a_path = statement["Resource"]
        kind, name = resource.rsplit(":", 1)[1].split("/")
        assert under_a_path == resource.replace(f":{kind}/{name}", f":{kind}/*/{name}")
        assert list(statement["Condition"]) == ["ArnEquals"]
        assert list(statement["Condition"]["ArnEquals"]) == ["iam:PolicyARN"]
        found[resource] = set(statement["Condition"]["ArnEquals"]["iam:PolicyARN"])
    assert found == expected


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"),
        ("iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin"),
    ],
)
def test_attaching_any_other_policy_is_denied(action, resource):
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    for other in ("arn:aws:iam::aws:policy/AdministratorAccess", f"arn:aws:iam::{ACCOUNT}:policy/Mine"):
        assert not allowed(policy, action, resource, {"iam:PolicyARN": other})


def test_create_service_linked_role_is_conditioned_on_the_two_spot_services():
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    statements = [s for s in policy["Statement"] if "iam:CreateServiceLinkedRole" in s["Action"]]
    assert {s["Condition"]["StringEquals"]["iam:AWSServiceName"] for s in statements} == {
        "spot.amazonaws.com",
        "spotfleet.amazonaws.com",
    }
    elb = "elasticloadbalancing.amazonaws.com"
    resource = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/{elb}/AWSServiceRoleForELB"
    assert not allowed(
        policy,
        "iam:CreateServiceLinkedRole",
        resource,
        {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"},
    )


def test_service_linked_roles_the_organisation_creates_are_not_asked_for():
    policy = bootstrap_policy(desired_state(Settings(service_linked_roles=False)), "aws", ACCOUNT)
    assert "iam:CreateServiceLinkedRole" not in all_actions(policy)
    assert "iam:GetRole" in all_actions(policy)  # check still reads them


def all_actions(policy: dict) -> set[str]:
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_tagging_is_allowed_only_when_tags_are_given():
    untagged = all_actions(bootstrap_policy(desired_state(Settings())))
    tagged = all_actions(bootstrap_policy(desired_state(Settings(tags=(("Team", "Render"),)))))
    tag_actions = {"iam:TagRole", "iam:TagInstanceProfile"}
    assert not untagged & tag_actions
    assert tag_actions | {"iam:TagUser"} <= tagged


def test_the_spot_user_may_be_tagged_only_with_the_record_of_attached_policies_and_the_given_tags():
    user = f"arn:aws:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin"
    marker = "DeadlineSpotIamSetup:attached:AWSThinkboxDeadlineSpotEventPluginAdminPolicy"
    untagged = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    assert allowed(untagged, "iam:TagUser", user, {"aws:TagKeys": [marker]})
    assert not allowed(untagged, "iam:TagUser", user, {"aws:TagKeys": [marker, "Team"]})
    tagged = bootstrap_policy(desired_state(Settings(tags=(("Team", "Render"),))), "aws", ACCOUNT)
    assert allowed(tagged, "iam:TagUser", user, {"aws:TagKeys": [marker, "Team"]})
    assert not allowed(tagged, "iam:TagUser", user, {"aws:TagKeys": ["Owner"]})


def test_permissions_boundary_puts_are_allowed_only_with_a_boundary_and_only_that_one():
    unbounded = all_actions(bootstrap_policy(desired_state(Settings())))
    assert not {a for a in unbounded if "PermissionsBoundary" in a}
    policy = bootstrap_policy(desired_state(Settings(permissions_boundary=BOUNDARY)), "aws", ACCOUNT)
    role = f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"
    user = f"arn:aws:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin"
    assert allowed(policy, "iam:PutRolePermissionsBoundary", role, {"iam:PermissionsBoundary": BOUNDARY})
    assert allowed(policy, "iam:PutUserPermissionsBoundary", user, {"iam:PermissionsBoundary": BOUNDARY})
    other = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert not allowed(policy, "iam:PutRolePermissionsBoundary", role, {"iam:PermissionsBoundary": other})
    assert not allowed(policy, "iam:PutUserPermissionsBoundary", user, {"iam:PermissionsBoundary": other})


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_partition_and_account_are_applied_in_every_resource_and_condition(partition):
    policy = bootstrap_policy(desired_state(SETTINGS["tags-boundary-path"]), partition, ACCOUNT)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert resources
    # Besides this account's resources: the documents of AWS managed policies the Spot credentials may hold (the
    # permission chain reads them).
    aws_managed = f"arn:{partition}:iam::*:policy/*"
    assert all(r.startswith(f"arn:{partition}:iam::{ACCOUNT}:") or r == aws_managed for r in resources)
    for statement in policy["Statement"]:
        for arn in statement.get("Condition", {}).get("ArnEquals", {}).get("iam:PolicyARN", []):
            assert arn.startswith(f"arn:{partition}:iam::aws:policy/")


def test_default_account_is_a_wildcard_in_the_account_field_only():
    policy = bootstrap_policy(desired_state(Settings()))
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert all(r.startswith("arn:aws:iam::*:") or r == "arn:aws:iam::*:policy/*" for r in resources)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_no_statement_allows_every_resource_or_every_action(name):
    policy = bootstrap_policy(desired_state(SETTINGS[name]), "aws", ACCOUNT)
    assert '"Resource": "*"' not in json.dumps(policy)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "*" not in _as_list(statement["Resource"])
        for action in statement["Action"]:
            assert action.startswith("iam:") and "*" not in action


@pytest.mark.parametrize("name", list(SETTINGS))
def test_statement_ids_are_unique_and_alphanumeric(name):
    policy = bootstrap_policy(desired_state(SETTINGS[name]))
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    assert policy["Version"] == "2012-10-17"


def test_credentials_role_mode_reads_and_attaches_but_never_creates_the_role():
    desired = desired_state(Settings(spot_role="RcsInstanceRole"))
    policy = bootstrap_policy(desired, "aws", ACCOUNT)
    role = f"arn:aws:iam::{ACCOUNT}:role/RcsInstanceRole"
    assert allowed(policy, "iam:GetRole", role)
    assert allowed(policy, "iam:ListAttachedRolePolicies", role)
    for identity_policy in desired.identities[0].policies:
        assert allowed(policy, "iam:AttachRolePolicy", role, {"iam:PolicyARN": identity_policy.arn("aws")})
    assert not allowed(policy, "iam:CreateRole", role)
    assert not allowed(policy, "iam:UpdateAssumeRolePolicy", role)
    assert not {a for a in all_actions(policy) if "User" in a or "AccessKey" in a}


def test_policy_lets_check_read_a_role_that_sits_at_another_path():
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    role = f"arn:aws:iam::{ACCOUNT}:role/custom/DeadlineSpotWorker"
    assert allowed(policy, "iam:GetRole", role)
    assert allowed(policy, "iam:ListAttachedRolePolicies", role)

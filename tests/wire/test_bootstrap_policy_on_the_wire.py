"""The bootstrap policy proven by the calls really made: every IAM call of a full apply (in each mode), of every
repair, of a key race and of check is recorded on the wire client, mapped to the IAM action, the exact resource
ARN it touches and the condition keys it carries, and must be allowed by the policy generated for those settings.
(moto's own authorization checks actions only; this covers resources and conditions.)"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from states import BREAKAGES

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.desired import SERVICE_LINKED_ROLES, Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes, rotate_access_key
from DeadlineSpotIamSetup.fleet_config import parse_fleet_config
from DeadlineSpotIamSetup.rotation import HeldKey, KeyHolder, RotationOptions
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import KEY_IDLE_BEFORE_RETIRING, KEY_RETIRE_GRACE
from tests.support.policy_evaluator import allowed
from tests.support.wire import converged, make_gateway

ACCOUNT = "123456789012"
IAM = f"arn:aws:iam::{ACCOUNT}"
BOUNDARY = f"{IAM}:policy/RenderBoundary"
LINKED = {service: name for name, service in SERVICE_LINKED_ROLES}
# Read-only, on any resource of their type: the documents of whatever managed policies the Spot credentials hold
# (and their groups' policies), and whatever instance profile a Spot Fleet configuration names.
READ_ANYWHERE = {
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListAttachedGroupPolicies",
    "iam:ListGroupPolicies",
    "iam:GetGroupPolicy",
    "iam:GetInstanceProfile",
}


@dataclass
class Recorder:
    """Every IAM call a gateway makes: (operation, parameters), and what IAM authorizes for it, worked out when the
    call is made (``iam``, a plain client straight to moto, looks up where each entity is at that moment, see
    :meth:`arn`: a role that does not exist yet is authorized at role/NAME, whatever path it has once created)."""

    iam: Any
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    needs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    found: dict[tuple[str, str], str] = field(default_factory=dict)  # the ARNs of entities that exist, by kind and name

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        for kind, name in _entities(params):
            if model.name in MOVES[kind]:
                self.found.pop((kind, name), None)
        needs = needed(model.name, dict(params), self)
        with self.lock:
            self.calls.append((model.name, dict(params)))
            self.needs.extend(needs)

    def arn(self, kind: str, name: str) -> str:
        """The entity's ARN as IAM has it (its path included), looked up once while it exists: only a call that
        makes, deletes or moves it changes its ARN (MOVES), and every call of the recorded gateways is seen here
        first; one that does not exist (yet) is looked up again at each call."""
        known = self.found.get((kind, name))
        if known is not None:
            return known
        arn = found_arn(self.iam, kind, name)
        if arn is None:
            return f"{IAM}:{kind}/{name}"  # authorized at role/NAME, whatever path it has once created
        self.found[(kind, name)] = arn
        return arn

    def gateway(self, endpoint: str):
        gateway = make_gateway(endpoint)
        gateway._iam.meta.events.register("before-parameter-build.iam", self)
        return gateway


# The calls that make, delete or move (a new path) an entity of each kind: only they change its ARN.
MOVES = {
    "user": {"CreateUser", "DeleteUser", "UpdateUser"},
    "role": {"CreateRole", "DeleteRole"},
    "instance-profile": {"CreateInstanceProfile", "DeleteInstanceProfile"},
}
NAME_PARAMETERS = {"user": "UserName", "role": "RoleName", "instance-profile": "InstanceProfileName"}


def _entities(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [(kind, params[key]) for kind, key in NAME_PARAMETERS.items() if key in params]


def found_arn(iam, kind: str, name: str) -> str | None:
    """The entity's ARN as IAM has it (its path included); None when it does not exist (anymore)."""
    try:
        if kind == "user":
            return iam.get_user(UserName=name)["User"]["Arn"]
        if kind == "role":
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return None


def needed(operation: str, params: dict[str, Any], recorder: Recorder) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, resource, condition context) IAM authorizes for one call, the entities' ARNs as ``recorder`` finds
    them when the call is made."""
    context: dict[str, Any] = {}
    if "PolicyArn" in params and operation.startswith(("Attach", "Detach")):
        context["iam:PolicyARN"] = params["PolicyArn"]
    if "PermissionsBoundary" in params:
        context["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    tag_keys = [tag["Key"] for tag in params.get("Tags", [])]
    if "Tags" in params:  # a create with tags, or a Tag* call: the keys, and each tag as a request tag
        context["aws:TagKeys"] = tag_keys
        context.update({f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in params["Tags"]})
    if "TagKeys" in params:  # an Untag* call
        context["aws:TagKeys"] = list(params["TagKeys"])
    if operation == "CreateServiceLinkedRole":
        service = params["AWSServiceName"]
        context["iam:AWSServiceName"] = service
        return [(f"iam:{operation}", f"{IAM}:role/aws-service-role/{service}/{LINKED[service]}", context)]
    if operation == "CreatePolicy":
        resource = f"{IAM}:policy{params.get('Path', '/')}{params['PolicyName']}"
    elif operation in (
        "GetPolicy",
        "GetPolicyVersion",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        "ListPolicyVersions",
        "TagPolicy",
    ):
        resource = params["PolicyArn"]
    elif operation in ("CreateUser", "CreateRole", "CreateInstanceProfile"):  # where the request puts it
        kind = {"CreateUser": "user", "CreateRole": "role", "CreateInstanceProfile": "instance-profile"}[operation]
        name = params[NAME_PARAMETERS[kind]]
        resource = f"{IAM}:{kind}{params.get('Path', '/')}{name}"
    elif operation == "GetAccessKeyLastUsed":  # authorized on the key's user, which the request does not name
        user = recorder.iam.get_access_key_last_used(AccessKeyId=params["AccessKeyId"])["UserName"]
        resource = recorder.arn("user", user)
    elif "GroupName" in params:
        resource = f"{IAM}:group/{params['GroupName']}"
    elif "InstanceProfileName" in params:
        resource = recorder.arn("instance-profile", params["InstanceProfileName"])
    elif "UserName" in params:
        resource = recorder.arn("user", params["UserName"])
    elif "RoleName" in params:
        resource = recorder.arn("role", params["RoleName"])
    else:
        raise AssertionError(f"no resource known for {operation}")
    result = [(f"iam:{operation}", resource, context)]
    noun = {
        "CreateUser": "User",
        "CreateRole": "Role",
        "CreateInstanceProfile": "InstanceProfile",
        "CreatePolicy": "Policy",
    }.get(operation)
    if noun and tag_keys:
        tags = {key: value for key, value in context.items() if key.startswith("aws:")}
        result.append((f"iam:Tag{noun}", resource, tags))
    if noun and "PermissionsBoundary" in params:
        boundary = {"iam:PermissionsBoundary": params["PermissionsBoundary"]}
        result.append((f"iam:Put{noun}PermissionsBoundary", resource, boundary))
    if operation == "AddRoleToInstanceProfile":
        result.append(("iam:PassRole", recorder.arn("role", params["RoleName"]), {}))
    return result


def assert_allowed(recorder: Recorder, settings: Settings, iam) -> int:
    policy = bootstrap_policy(desired_state(settings), "aws", ACCOUNT)
    refused = [
        (action, resource, context)
        for action, resource, context in recorder.needs
        if not allowed(policy, action, resource, context)
    ]
    assert refused == []
    # Nothing the tool does is allowed on "*", nor on any other user, role, profile or policy of the account, but
    # the reads that judge what the Spot credentials and the fleet configuration name, whatever that is.
    elsewhere = [
        (action, other, context)
        for action, resource, context in recorder.needs
        for other in ("*", *(() if action in READ_ANYWHERE else (resource.rsplit("/", 1)[0] + "/SomeoneElse",)))
        if allowed(policy, action, other, context)
    ]
    assert elsewhere == []
    return len(recorder.calls)


SETTINGS = [
    Settings(),
    Settings(path="/farm/", permissions_boundary=BOUNDARY, tags=(("team", "render"),)),
    Settings(resource_tracker=False),
    Settings(allowed_source_ips=("203.0.113.10/32",), path="/farm/"),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "path-boundary-tags", "no-tracker", "source-ips"])
def test_every_call_of_an_apply_on_an_empty_account_and_of_check_is_allowed(settings, proxy, iam):
    recorder = Recorder(iam)
    gateway = recorder.gateway(proxy.endpoint_url)
    assert apply_changes(gateway, desired_state(settings), key_sink=lambda key: None).ok
    plan_changes(gateway, desired_state(settings))
    # The recorder saw every operation that went over the wire (the new key's STS check needs no permission). Counted
    # as operations, not requests: botocore retries a read that timed out (a busy machine), the same operation again.
    on_the_wire = Counter(proxy.actions())
    assert on_the_wire.pop("GetCallerIdentity", 0) >= 1
    assert set(on_the_wire) == {operation for operation, _ in recorder.calls}
    operations = {operation for operation, _ in recorder.calls}
    assert {"CreateUser", "CreateRole", "AttachUserPolicy", "CreateAccessKey", "ListAccessKeys"} <= operations
    assert assert_allowed(recorder, settings, iam) > 30


def test_every_call_of_the_spot_role_mode_is_allowed(endpoint, iam):
    iam.create_role(RoleName="RcsInstanceRole", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    settings = Settings(spot_role="RcsInstanceRole")
    recorder = Recorder(iam)
    assert apply_changes(recorder.gateway(endpoint), desired_state(settings), key_sink=lambda key: None).ok
    assert ("AttachRolePolicy", "RcsInstanceRole") in {(op, p.get("RoleName")) for op, p in recorder.calls}
    assert_allowed(recorder, settings, iam)


@pytest.mark.parametrize(("kind", "name", "breakage", "status", "repairs"), BREAKAGES)
def test_every_call_of_each_repair_is_allowed(kind, name, breakage, status, repairs, endpoint, iam):
    converged(endpoint, desired_state(Settings()))
    breakage(iam)
    recorder = Recorder(iam)
    assert apply_changes(recorder.gateway(endpoint), desired_state(Settings()), key_sink=lambda key: None).ok
    assert repairs <= {operation for operation, _ in recorder.calls}
    assert_allowed(recorder, Settings(), iam)


def test_every_call_of_switching_to_the_restricted_mode_is_allowed(endpoint, iam):
    converged(endpoint, desired_state(Settings()))
    settings = Settings(allowed_source_ips=("203.0.113.10/32",))
    recorder = Recorder(iam)
    assert apply_changes(recorder.gateway(endpoint), desired_state(settings), key_sink=lambda key: None).ok
    assert "DetachUserPolicy" in {operation for operation, _ in recorder.calls}
    assert_allowed(recorder, settings, iam)


def test_every_call_of_updating_a_copy_after_aws_publishes_a_new_version_is_allowed(endpoint, iam, aws_publishes):
    """The copy's AWS policy at the version it records is read in a second round (GetPolicyVersion of that version)."""
    settings = Settings(allowed_source_ips=("203.0.113.10/32",))
    converged(endpoint, desired_state(settings))
    source = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginAdminPolicy"
    document = iam.get_policy_version(PolicyArn=source, VersionId="v1")["PolicyVersion"]["Document"]
    document["Statement"].append({"Effect": "Allow", "Action": "ec2:DescribeSpotPriceHistory", "Resource": "*"})
    aws_publishes(source, document)
    recorder = Recorder(iam)
    assert apply_changes(recorder.gateway(endpoint), desired_state(settings), key_sink=lambda key: None).ok
    versions = [params.get("VersionId") for operation, params in recorder.calls if operation == "GetPolicyVersion"]
    assert "v1" in versions and "CreatePolicyVersion" in {operation for operation, _ in recorder.calls}
    assert_allowed(recorder, settings, iam)


def test_every_call_of_a_key_race_is_allowed(endpoint, iam):
    converged(endpoint, desired_state(Settings(access_key=False)))
    recorder = Recorder(iam)
    runs = [
        threading.Thread(
            target=apply_changes,
            args=(recorder.gateway(endpoint), desired_state(Settings())),
            kwargs={"key_sink": lambda key: None},
        )
        for _ in range(4)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(1 for operation, _ in recorder.calls if operation == "CreateAccessKey") >= 1
    assert_allowed(recorder, Settings(), iam)


def join_a_group(iam) -> None:
    """The Spot user in a group with a policy of its own: the permission chain reads the group's policies too."""
    iam.create_group(GroupName="Artists")
    iam.add_user_to_group(GroupName="Artists", UserName="DeadlineSpotEventPluginAdmin")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
    iam.put_group_policy(GroupName="Artists", PolicyName="Look", PolicyDocument=json.dumps(allow))


OTHER_PROFILE_GROUPS = parse_fleet_config(
    json.dumps({"old": {"LaunchSpecifications": [{"IamInstanceProfile": {"Name": "OldRender"}}]}}), "test"
)


def test_every_call_of_check_with_a_grouped_user_and_a_fleet_configuration_is_allowed(endpoint, iam):
    converged(endpoint, desired_state(Settings()))
    join_a_group(iam)
    profile = f"{IAM}:instance-profile/DeadlineSpotWorker"
    config = {
        "gpu": {"IamFleetRole": f"{IAM}:role/x", "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": profile}}]}
    }
    settings = Settings(fleet_groups=parse_fleet_config(json.dumps(config), "test") + OTHER_PROFILE_GROUPS)
    recorder = Recorder(iam)
    plan_changes(recorder.gateway(endpoint), desired_state(settings))
    operations = {operation for operation, _ in recorder.calls}
    assert {"ListGroupsForUser", "ListAttachedGroupPolicies", "GetGroupPolicy", "GetInstanceProfile"} <= operations
    assert_allowed(recorder, settings, iam)


class Handed(KeyHolder):
    """Where a rotation hands its keys: ``delivered``; ``automatic``: the event plugin's way (it holds the pair and
    reads it back), otherwise the command line's (an admin enters the key and confirms with --finish)."""

    def __init__(self, delivered: list[NewAccessKey], automatic: bool) -> None:
        self.delivered = delivered
        self._automatic = automatic

    @property
    def automatic(self) -> bool:
        return self._automatic

    def stage(self, key: NewAccessKey) -> None:
        self.delivered.append(key)

    def held(self) -> HeldKey | None:
        key = self.delivered[-1] if self._automatic and self.delivered else None
        return HeldKey(key.access_key_id, key.secret_access_key) if key is not None else None


def rotate_through(recorder: Recorder, endpoint: str, desired, delivered: list[NewAccessKey]) -> None:
    """Both front ends' rotations, each through all their runs: create, verify, deliver, record, switch over (the
    command line once confirmed and the old key idle), delete the retired key after the grace period."""
    options = RotationOptions(key_verification=5.0, sleep=lambda seconds: None)
    start = datetime.now(timezone.utc)
    for automatic in (False, True):  # the command line's rotation, then the event plugin's
        holder = Handed(delivered, automatic)
        rotate_access_key(recorder.gateway(endpoint), desired, holder, options, now=start)
        later = start + KEY_IDLE_BEFORE_RETIRING + timedelta(minutes=1)
        finishing = replace(options, start=False, confirm_entered=not automatic)
        rotate_access_key(recorder.gateway(endpoint), desired, holder, finishing, now=later)
        done = rotate_access_key(
            recorder.gateway(endpoint), desired, holder, replace(finishing, confirm_entered=False),
            now=later + KEY_RETIRE_GRACE + timedelta(days=1),
        )  # fmt: skip
        assert done.complete, done
        start = later + KEY_RETIRE_GRACE + timedelta(days=2)


def test_every_call_of_a_key_rotation_is_allowed(endpoint, iam):
    desired = desired_state(Settings())
    delivered: list[NewAccessKey] = []
    assert apply_changes(make_gateway(endpoint), desired, key_sink=delivered.append).ok
    recorder = Recorder(iam)
    rotate_through(recorder, endpoint, desired, delivered)
    operations = {operation for operation, _ in recorder.calls}
    assert {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "GetAccessKeyLastUsed", "UntagUser"} <= operations
    assert_allowed(recorder, Settings(), iam)


def test_the_proof_fails_for_a_policy_without_one_statement(endpoint, iam):
    """The proof can fail: with any one statement removed, some call of an apply and a key rotation is no longer
    allowed."""
    recorder = Recorder(iam)
    delivered: list[NewAccessKey] = []
    assert apply_changes(recorder.gateway(endpoint), desired_state(Settings()), key_sink=delivered.append).ok
    rotate_through(recorder, endpoint, desired_state(Settings()), delivered)
    join_a_group(iam)
    plan_changes(recorder.gateway(endpoint), desired_state(Settings(fleet_groups=OTHER_PROFILE_GROUPS)))
    policy = bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)
    for index in range(len(policy["Statement"])):
        reduced = {**policy, "Statement": policy["Statement"][:index] + policy["Statement"][index + 1 :]}
        assert any(not allowed(reduced, action, resource, context) for action, resource, context in recorder.needs), (
            f"statement {policy['Statement'][index]['Sid']} is not needed by any call"
        )

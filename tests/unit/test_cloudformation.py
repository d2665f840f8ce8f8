"""The CloudFormation export says what the engine means: for each setting, the template's resources (parameters at
their defaults, intrinsic functions resolved for an account and partition) equal, compared as data, what the engine
would create in an empty account of that account and partition (its planned writes). Pure, no AWS.

The differences a template cannot avoid are listed here one by one, and each must be named in the template's
Metadata: no access key, no tags on instance profiles and managed policies, no AWS managed policy attached to a Spot
credentials role it does not create, no record tags of what this project attached (the stack owns its attachments).
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass, replace
from typing import Any

import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.cloudformation import (
    MAX_MANAGED_POLICY_CHARACTERS,
    MAX_ROLE_INLINE_CHARACTERS,
    bootstrap_role_template,
    sub,
    template,
)
from DeadlineSpotIamSetup.desired import (
    TRACKER_ADMIN_POLICY,
    CredentialsRole,
    DesiredState,
    Identity,
    PolicyCopy,
    ServiceRole,
    Settings,
    desired_state,
)
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.fleet_config import parse_fleet_config
from DeadlineSpotIamSetup.kinds import Kind
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.values import Observation, Observed, PolicyInfo
from DeadlineSpotIamSetup.yaml_writer import to_yaml

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
RCS = ("203.0.113.10/32", "2001:db8::/64")


def source_documents(partition: str) -> dict[str, dict]:
    """Stand-ins for the AWS managed admin policies as IAM holds them in ``partition``: ARNs, a statement with a
    condition, a Deny, and a policy variable (``${aws:username}``, which a template must keep as written)."""

    def document(service: str) -> dict:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": [f"{service}:Describe*"], "Resource": "*"},
                {
                    "Sid": "Pass",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": [f"arn:{partition}:iam::*:role/DeadlineSpot*"],
                    "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com"}},
                },
                {
                    "Effect": "Allow",
                    "Action": "iam:GetUser",
                    "Resource": f"arn:{partition}:iam::*:user/${{aws:username}}",
                },
                {"Effect": "Deny", "Action": "iam:DeleteRole", "Resource": f"arn:{partition}:iam::*:role/*"},
            ],
        }

    return {
        "AWSThinkboxDeadlineSpotEventPluginAdminPolicy": document("ec2"),
        "AWSThinkboxDeadlineResourceTrackerAdminPolicy": document("dynamodb"),
    }


FLEET_CONFIG = json.dumps(
    {
        "gpu": {
            "IamFleetRole": f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role",
            "LaunchSpecifications": [
                {"IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/DeadlineSpotWorker"}}
            ],
            "TargetCapacity": 1,
        }
    }
)

CASES = {
    "defaults": Settings(),
    "custom names": Settings(
        spot_user="RenderSpot",
        worker_role="DeadlineSpotNodes",
        instance_profile="RenderNodes",
        fleet_role="DeadlineSpotFleetRole",
        tracker_role="DeadlineResourceTrackerAccessFarm",
    ),
    "path": Settings(path="/deadline/spot/"),
    "permissions boundary": Settings(permissions_boundary=f"arn:aws:iam::{ACCOUNT}:policy/Deadline/RenderBoundary"),
    "AWS managed boundary": Settings(permissions_boundary="arn:aws:iam::aws:policy/PowerUserAccess"),
    "tags": Settings(tags=(("team", "render"), ("cost-centre", "vfx 42"), ("empty", ""))),
    "no Resource Tracker": Settings(resource_tracker=False),
    "source IPs": Settings(allowed_source_ips=RCS, path="/deadline/", tags=(("team", "render"),)),
    "spot role": Settings(spot_role="RcsMachineRole"),
    "spot role, source IPs": Settings(spot_role="RcsMachineRole", allowed_source_ips=RCS),
    "everything": Settings(
        spot_user="RenderSpot",
        worker_role="DeadlineSpotNodes",
        path="/farm/",
        permissions_boundary=f"arn:aws:iam::{ACCOUNT}:policy/RenderBoundary",
        tags=(("team", "render"),),
        allowed_source_ips=RCS,
        fleet_groups=parse_fleet_config(FLEET_CONFIG, "spot-config.json"),
    ),
    "checks only": Settings(
        resource_tracker=False,
        spot_uses_resource_tracker=True,
        fleet_groups=parse_fleet_config(FLEET_CONFIG, "spot-config.json"),
    ),
}


# -- the engine's side: what apply would write in an empty account -------------------------------------------------


def empty_account(desired: DesiredState, partition: str) -> Observation:
    """Nothing exists, but the AWS managed policies the copies are made from, and a Spot credentials role (only its
    owner creates it)."""
    documents = source_documents(partition)
    observed = {}
    for identity in desired:
        if isinstance(identity, PolicyCopy):
            source = PolicyInfo(identity.source.arn(partition), "v3", documents[identity.source.name])
            observed[identity] = Observed(False, source=source)
        elif isinstance(identity, CredentialsRole):
            observed[identity] = Observed(True)
        else:
            observed[identity] = Observed(False)
    return Observation(observed)


def engine_model(desired: DesiredState, partition: str = "aws", account: str = ACCOUNT) -> dict[tuple, dict]:
    """Every identity apply would create, as data, from the writes it plans."""
    plan = make_plan(desired, empty_account(desired, partition), partition, account=account)
    model: dict[tuple, dict] = {}
    for action in plan.actions:
        op, p = action.operation, action.params
        if op == "CreateUser":
            model[("user", p["UserName"])] = {
                "path": p["Path"],
                "boundary": p.get("PermissionsBoundary"),
                "tags": p.get("Tags", []),
                "policies": set(),
            }
        elif op == "CreateRole":
            model[("role", p["RoleName"])] = {
                "path": p["Path"],
                "trust": json.loads(p["AssumeRolePolicyDocument"]),
                "description": p["Description"],
                "boundary": p.get("PermissionsBoundary"),
                "tags": p.get("Tags", []),
                "policies": set(),
            }
        elif op == "CreateInstanceProfile":
            model[("instance-profile", p["InstanceProfileName"])] = {
                "path": p["Path"],
                "roles": [],
                "tags": p.get("Tags", []),
            }
        elif op == "AddRoleToInstanceProfile":
            model[("instance-profile", p["InstanceProfileName"])]["roles"].append(p["RoleName"])
        elif op == "CreatePolicy":
            model[("policy", p["PolicyName"])] = {
                "path": p["Path"],
                "document": json.loads(p["PolicyDocument"]),
                "description": p["Description"],
                "tags": p["Tags"],
            }
        elif op == "CreateServiceLinkedRole":
            model[("service-linked-role", p["AWSServiceName"])] = {}
        elif op == "AttachUserPolicy":
            model[("user", p["UserName"])]["policies"].add(p["PolicyArn"])
        elif op == "AttachRolePolicy":
            key = ("role", p["RoleName"]) if ("role", p["RoleName"]) in model else ("existing-role", p["RoleName"])
            model.setdefault(key, {"policies": set()})["policies"].add(p["PolicyArn"])
        elif op in ("TagUser", "TagRole", "CreateAccessKey"):
            continue  # the records of what this project attached; the key: neither belongs in a template
        else:
            raise AssertionError(f"the comparison does not know the engine's {op}: teach it")
    return model


def as_template_can(model: dict[tuple, dict]) -> dict[tuple, dict]:
    """The engine's model less what a template cannot hold: tags on instance profiles and managed policies, and an
    AWS managed policy on a role the template does not create."""
    adjusted: dict[tuple, dict] = {}
    for key, entry in model.items():
        entry = dict(entry)
        if key[0] in ("instance-profile", "policy"):
            entry["tags"] = []
        if key[0] == "existing-role":
            entry["policies"] = {arn for arn in entry["policies"] if ":iam::aws:" not in arn}
            if not entry["policies"]:
                continue
        adjusted[key] = entry
    return adjusted


# -- the template's side: its resources, resolved ------------------------------------------------------------------


@dataclass
class Deployment:
    """Where a template is deployed: account, partition and parameter values (the defaults unless overridden)."""

    document: dict[str, Any]
    partition: str = "aws"
    account: str = ACCOUNT
    overrides: dict[str, str] | None = None

    def parameter(self, name: str) -> str:
        if name == "AWS::Partition":
            return self.partition
        if name == "AWS::AccountId":
            return self.account
        return (self.overrides or {}).get(name, self.document["Parameters"][name]["Default"])

    def physical(self, logical: str) -> str:
        """What Ref of a resource answers: a managed policy's ARN, otherwise its name."""
        resource = self.document["Resources"][logical]
        properties = self.resolve(resource["Properties"])
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            return (
                f"arn:{self.partition}:iam::{self.account}:policy{properties['Path']}{properties['ManagedPolicyName']}"
            )
        name_property = {"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName"}[resource["Type"]]
        return properties[name_property]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                if name in self.document["Parameters"] or name.startswith("AWS::"):
                    return self.parameter(name)
                return self.physical(name)
            if set(value) == {"Fn::Sub"}:
                assert isinstance(value["Fn::Sub"], str)
                text = re.sub(r"\$\{(?!!)([A-Za-z0-9:]+)\}", lambda m: self.parameter(m.group(1)), value["Fn::Sub"])
                return text.replace("${!", "${")
            assert not any(key.startswith("Fn::") for key in value), value
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def condition(self, name: str) -> bool:
        (operands,) = self.document["Conditions"][name].values()
        first, second = (self.resolve(operand) for operand in operands)
        return first == second

    def model(self) -> dict[tuple, dict]:
        model: dict[tuple, dict] = {}
        for logical, resource in self.document["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            p = self.resolve(resource["Properties"])
            kind = resource["Type"]
            if kind == "AWS::IAM::User":
                model[("user", p["UserName"])] = {
                    "path": p["Path"],
                    "boundary": p.get("PermissionsBoundary"),
                    "tags": p.get("Tags", []),
                    "policies": set(p["ManagedPolicyArns"]),
                }
            elif kind == "AWS::IAM::Role":
                model[("role", p["RoleName"])] = {
                    "path": p["Path"],
                    "trust": p["AssumeRolePolicyDocument"],
                    "description": p["Description"],
                    "boundary": p.get("PermissionsBoundary"),
                    "tags": p.get("Tags", []),
                    "policies": set(p["ManagedPolicyArns"]),
                }
            elif kind == "AWS::IAM::InstanceProfile":
                model[("instance-profile", p["InstanceProfileName"])] = {
                    "path": p["Path"],
                    "roles": p["Roles"],
                    "tags": [],
                }
            elif kind == "AWS::IAM::ManagedPolicy":
                model[("policy", p["ManagedPolicyName"])] = {
                    "path": p["Path"],
                    "document": p["PolicyDocument"],
                    "description": p["Description"],
                    "tags": [],
                }
                for role in p.get("Roles", []):
                    model.setdefault(("existing-role", role), {"policies": set()})["policies"].add(
                        self.physical(logical)
                    )
                assert not p.get("Users") and not p.get("Groups")
            elif kind == "AWS::IAM::ServiceLinkedRole":
                model[("service-linked-role", p["AWSServiceName"])] = {}
            else:
                raise AssertionError(f"the comparison does not know {kind}: teach it")
        return model


def notes(document: dict) -> str:
    return "\n".join(document["Metadata"]["DeadlineSpotIamSetup"]["NotInTemplate"])


def render(settings: Settings, partition: str = "aws", **options: Any) -> dict:
    return template(desired_state(settings), source_documents(partition), partition=partition, **options)


# -- the comparison ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_the_template_creates_what_the_engine_would_create(case):
    desired = desired_state(CASES[case])
    assert Deployment(render(CASES[case])).model() == as_template_can(engine_model(desired))


@pytest.mark.parametrize("case", CASES)
def test_every_difference_from_the_engine_is_named_in_the_template(case):
    settings = CASES[case]
    desired = desired_state(settings)
    document = render(settings)
    said = notes(document)
    engine = engine_model(desired)
    for (kind, name), entry in engine.items():
        if kind in ("instance-profile", "policy") and entry["tags"]:
            assert f"{kind if kind != 'policy' else 'policy-copy'} {name}: not tagged" in said
        if kind == "existing-role" and any(":iam::aws:" in arn for arn in entry["policies"]):
            assert f"spot-role {name}: not created" in said and "attach" in said
    if settings.spot_role is None and settings.access_key:
        assert f"access-key {settings.spot_user}: not created (a secret does not belong in a template)" in said
    if settings.spot_role is not None:
        assert f"spot-role {settings.spot_role}: not created" in said
        assert "The Spot credentials role is not created" in document["Description"]


def test_the_comparison_sees_a_wrong_name_a_missing_policy_and_a_wrong_path():
    """The comparison itself can fail: it is not blind to the fields it compares."""
    desired = desired_state(Settings(path="/deadline/"))
    document = render(Settings(path="/deadline/"))
    engine = as_template_can(engine_model(desired))
    assert Deployment(document).model() == engine
    changed = json.loads(json.dumps(document))
    changed["Resources"]["WorkerRole"]["Properties"]["ManagedPolicyArns"] = []
    assert Deployment(changed).model() != engine
    changed = json.loads(json.dumps(document))
    changed["Resources"]["WorkerInstanceProfile"]["Properties"]["Path"] = "/"
    assert Deployment(changed).model() != engine
    assert Deployment(document, overrides={"SpotUserName": "Someone"}).model() != engine


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("case", ["defaults", "permissions boundary", "source IPs", "spot role, source IPs"])
def test_one_template_fits_every_partition(partition, case):
    """Rendered once (the copies from documents read in the aws partition), deployed in each partition: what the
    engine creates there, its boundary the policy of that name in the partition and account deployed to."""
    settings = CASES[case]
    document = template(desired_state(settings), source_documents("aws"))
    if settings.permissions_boundary:
        settings = replace(
            settings, permissions_boundary=settings.permissions_boundary.replace("arn:aws:", f"arn:{partition}:")
        )
    expected = as_template_can(engine_model(desired_state(settings), partition))
    assert Deployment(document, partition=partition).model() == expected


def test_a_permissions_boundary_names_the_policy_of_the_account_deployed_to():
    """A boundary must be a policy of the bounded user's or role's own account (or AWS managed): in a StackSet, the
    policy of that name in each account."""
    document = render(CASES["permissions boundary"])
    deployed = Deployment(document, account=OTHER_ACCOUNT).model()
    boundaries = {entry.get("boundary") for key, entry in deployed.items() if key[0] in ("user", "role")}
    assert boundaries == {f"arn:aws:iam::{OTHER_ACCOUNT}:policy/Deadline/RenderBoundary"}
    deployed = Deployment(render(CASES["AWS managed boundary"]), account=OTHER_ACCOUNT).model()
    boundaries = {entry.get("boundary") for key, entry in deployed.items() if key[0] in ("user", "role")}
    assert boundaries == {"arn:aws:iam::aws:policy/PowerUserAccess"}


@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_a_template_for_one_partition_writes_its_arns_as_they_are(partition):
    settings = replace(CASES["everything"], permissions_boundary=f"arn:{partition}:iam::{ACCOUNT}:policy/B")
    document = render(settings, partition, partition_agnostic=False)
    assert "${AWS::" not in json.dumps(document)
    assert Deployment(document, partition=partition).model() == as_template_can(
        engine_model(desired_state(settings), partition)
    )


def test_the_name_parameters_drive_every_reference():
    """A StackSet may override a name: the instance profile holds the worker role of that name, the user takes the
    copies, the Rules compare the names given."""
    document = render(CASES["source IPs"])
    overrides = {"WorkerRoleName": "DeadlineSpotRender", "SpotUserName": "FarmSpot", "InstanceProfileName": "Nodes"}
    deployed = Deployment(document, overrides=overrides).model()
    settings = replace(
        CASES["source IPs"], worker_role="DeadlineSpotRender", spot_user="FarmSpot", instance_profile="Nodes"
    )
    assert deployed == as_template_can(engine_model(desired_state(settings)))


# -- what the Parameters enforce -----------------------------------------------------------------------------------

NAMES = {
    "WorkerRoleName": (
        "worker_role",
        [
            "DeadlineSpotWorker",
            "DeadlineSpot",
            "DeadlineSpot+=,.@_-",
            "Workers",
            "deadlinespotWorker",
            "DeadlineSpot/x",
            "DeadlineSpot x",
            "DeadlineSpot" + "x" * 52,
            "DeadlineSpot" + "x" * 53,
            "DeadlineSpot\u00e9",
        ],
    ),
    "FleetRoleName": (
        "fleet_role",
        [
            "aws-ec2-spot-fleet-tagging-role",
            "DeadlineSpotFleet",
            "SpotFleet",
            "aws-ec2-spot-fleet-tagging-role2",
            "xaws-ec2-spot-fleet-tagging-role",
            "DeadlineSpot" + "y" * 53,
        ],
    ),
    "TrackerRoleName": (
        "tracker_role",
        [
            "DeadlineResourceTrackerAccessRole",
            "DeadlineResourceTrackerAccess",
            "DeadlineResourceTracker",
            "TrackerRole",
            "DeadlineResourceTrackerAccess" + "z" * 36,
        ],
    ),
    "SpotUserName": ("spot_user", ["DeadlineSpotEventPluginAdmin", "a", "", "has space", "x" * 64, "x" * 65, "a/b"]),
    "InstanceProfileName": ("instance_profile", ["RenderNodes", "p" * 128, "p" * 129, "a b", "a:b"]),
}


def accepts(parameter: dict, value: str) -> bool:
    """As CloudFormation checks a parameter: its length and its AllowedPattern, matched whole."""
    return (
        parameter["MinLength"] <= len(value) <= parameter["MaxLength"]
        and re.fullmatch(parameter["AllowedPattern"], value) is not None
    )


@pytest.mark.parametrize("parameter", NAMES)
def test_each_name_parameter_accepts_exactly_the_names_the_engine_accepts(parameter):
    field_name, candidates = NAMES[parameter]
    spec = render(Settings())["Parameters"][parameter]
    for value in candidates:
        try:
            desired_state(replace(Settings(), **{field_name: value}))
            engine = True
        except InvalidSettings:
            engine = False
        assert accepts(spec, value) == engine, value


def test_the_rules_refuse_one_role_under_two_names_as_the_engine_does():
    document = render(CASES["spot role, source IPs"])
    rules = document["Rules"]
    compared = {
        tuple(sorted(ref["Ref"] for ref in rule["Assertions"][0]["Assert"]["Fn::Not"][0]["Fn::Equals"]))
        for rule in rules.values()
    }
    assert compared == {
        ("FleetRoleName", "WorkerRoleName"),
        ("SpotRoleName", "WorkerRoleName"),
        ("FleetRoleName", "SpotRoleName"),
        ("SpotRoleName", "TrackerRoleName"),
    }
    with pytest.raises(InvalidSettings):
        desired_state(Settings(worker_role="DeadlineSpotX", fleet_role="DeadlineSpotX"))
    with pytest.raises(InvalidSettings):
        desired_state(Settings(spot_role="DeadlineSpotWorker"))
    assert set(render(Settings())["Rules"]) == {"WorkerRoleAndFleetRoleDiffer"}


def test_every_parameter_has_a_use_and_every_name_is_a_parameter():
    for case, settings in CASES.items():
        document = render(settings)
        text = json.dumps(document["Resources"]) + json.dumps(document.get("Conditions", {}))
        for name in document["Parameters"]:
            assert f'{{"Ref": "{name}"}}' in text, (case, name)


# -- service-linked roles, the access key --------------------------------------------------------------------------


def test_the_service_linked_roles_hang_on_a_parameter_and_stay_when_the_stack_goes():
    document = render(Settings())
    parameter = document["Parameters"]["CreateServiceLinkedRoles"]
    assert parameter["Default"] == "true" and parameter["AllowedValues"] == ["true", "false"]
    linked = {k: r for k, r in document["Resources"].items() if r["Type"] == "AWS::IAM::ServiceLinkedRole"}
    assert {r["Properties"]["AWSServiceName"] for r in linked.values()} == {
        "spot.amazonaws.com",
        "spotfleet.amazonaws.com",
    }
    for resource in linked.values():
        assert resource["Condition"] == "ServiceLinkedRolesWanted"
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    without = Deployment(document, overrides={"CreateServiceLinkedRoles": "false"}).model()
    assert not [key for key in without if key[0] == "service-linked-role"]
    assert "CreateServiceLinkedRoles=false" in document["Description"]


def test_service_linked_roles_the_organisation_creates_are_not_in_the_template():
    document = render(Settings(service_linked_roles=False))
    assert "CreateServiceLinkedRoles" not in document["Parameters"]
    assert "AWS::IAM::ServiceLinkedRole" not in {r["Type"] for r in document["Resources"].values()}


@pytest.mark.parametrize("case", CASES)
def test_no_access_key_and_no_secret_in_any_template(case):
    document = render(CASES[case])
    types = {resource["Type"] for resource in document["Resources"].values()}
    assert "AWS::IAM::AccessKey" not in types
    assert not re.search(r"SecretAccessKey|LoginProfile|Password", json.dumps(document))


# -- the identities the renderer knows -----------------------------------------------------------------------------


def test_every_kind_of_identity_is_either_created_or_named_as_not_created():
    """Each class of the desired state's Identity union appears in some case, and the template renders it or says
    why it does not: a new kind of identity needs a decision here."""
    seen: set[type] = set()
    for settings in CASES.values():
        desired = desired_state(settings)
        document = render(settings)
        said = notes(document)
        for identity in desired:
            seen.add(type(identity))
            mentioned = f"{identity.kind} {identity.name}" in said
            created = identity.name in repr(Deployment(document).model()) or identity.kind in (
                Kind.SERVICE_LINKED_ROLE,
            )
            assert mentioned or created, identity
    assert seen == set(typing.get_args(Identity))


def test_an_identity_no_handler_knows_is_a_type_error():
    """Each identity is rendered by its kind's handler (Handler.cloudformation): one that claims a kind without being
    its identity type, or a service role of a kind no service role handler has, is refused, never skipped."""

    @dataclass(frozen=True)
    class Unknown:
        kind = Kind.WORKER_ROLE
        name = "DeadlineSpotWorker"

    desired = desired_state(Settings())
    with pytest.raises(TypeError, match="no handler"):
        template(replace(desired, identities=(*desired.identities, Unknown())))
    odd_role = ServiceRole(Kind.SPOT_USER, "DeadlineSpotOdd", "ec2.amazonaws.com", ())
    with pytest.raises(TypeError, match="no handler"):
        template(replace(desired, identities=(*desired.identities, odd_role)))


def test_the_copies_need_the_documents_they_restrict():
    desired = desired_state(CASES["source IPs"])
    with pytest.raises(InvalidSettings, match="AWSThinkboxDeadlineSpotEventPluginAdminPolicy"):
        template(desired)
    with pytest.raises(InvalidSettings, match="over IAM's limit"):
        many = tuple(f"198.51.100.{n}/32" for n in range(150))
        template(desired_state(Settings(allowed_source_ips=many)), source_documents("aws"))


def test_a_copy_keeps_a_policy_variable_as_written():
    document = render(CASES["source IPs"])
    copy = document["Resources"]["DeadlineSpotEventPluginAdminPolicySourceIp"]["Properties"]["PolicyDocument"]
    (user_statement,) = [s for s in copy["Statement"] if s["Action"] == "iam:GetUser"]
    assert user_statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:user/${!aws:username}"}
    assert TRACKER_ADMIN_POLICY.name in json.dumps(document)


def test_sub_escapes_every_other_placeholder_and_leaves_a_plain_text_alone():
    assert sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${aws:username}") == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${!aws:username}"
    }
    assert sub("arn:aws:iam::*:user/${aws:username}") == "arn:aws:iam::*:user/${aws:username}"
    resolved = Deployment({"Parameters": {}}).resolve(sub("${AWS::AccountId}/${x}/${AWS::Partition}"))
    assert resolved == f"{ACCOUNT}/${{x}}/aws"


# -- the bootstrap role --------------------------------------------------------------------------------------------


def bootstrap_statements(document: dict, deployment: Deployment) -> list[dict]:
    """The bootstrap role's policy statements as deployed: inline, or in the managed policies attached to it."""
    role = deployment.resolve(document["Resources"]["BootstrapRole"]["Properties"])
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for arn in role.get("ManagedPolicyArns", []):
        (logical,) = [k for k in document["Resources"] if deployment.physical(k) == arn and k != "BootstrapRole"]
        statements += deployment.resolve(document["Resources"][logical]["Properties"])["PolicyDocument"]["Statement"]
    return statements


def policy_characters(statements: list[dict]) -> int:
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov"])
@pytest.mark.parametrize("case", ["defaults", "source IPs", "spot role", "everything"])
def test_the_bootstrap_role_holds_the_bootstrap_policy_of_the_account_deployed_to(partition, case):
    settings = CASES[case]
    document = bootstrap_role_template(desired_state(settings), ACCOUNT)
    deployment = Deployment(document, partition=partition, account=OTHER_ACCOUNT)
    if settings.permissions_boundary:  # the boundary of the account deployed to, as in the identities' template
        boundary = settings.permissions_boundary.replace(
            f"arn:aws:iam::{ACCOUNT}:", f"arn:{partition}:iam::{OTHER_ACCOUNT}:"
        )
        settings = replace(settings, permissions_boundary=boundary)
    expected = bootstrap_policy(desired_state(settings), partition, OTHER_ACCOUNT)["Statement"]
    assert bootstrap_statements(document, deployment) == expected
    role = deployment.resolve(document["Resources"]["BootstrapRole"]["Properties"])
    assert role["RoleName"] == "DeadlineSpotIamSetupBootstrap" and role["Path"] == "/"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ]
    if "Policies" in role:
        assert policy_characters(expected) <= MAX_ROLE_INLINE_CHARACTERS


def test_a_bootstrap_policy_too_large_to_be_inline_is_split_into_managed_policies():
    tags = tuple((f"tag-key-{n:02d}-" + "k" * 40, "v") for n in range(40))
    settings = replace(CASES["everything"], tags=tags)
    document = bootstrap_role_template(desired_state(settings), ACCOUNT)
    deployment = Deployment(document, partition="aws-us-gov")
    role = deployment.resolve(document["Resources"]["BootstrapRole"]["Properties"])
    assert "Policies" not in role and len(role["ManagedPolicyArns"]) >= 2
    expected = bootstrap_policy(
        desired_state(replace(settings, permissions_boundary=f"arn:aws-us-gov:iam::{ACCOUNT}:policy/RenderBoundary")),
        "aws-us-gov",
        ACCOUNT,
    )["Statement"]
    assert bootstrap_statements(document, deployment) == expected
    for logical, resource in document["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            policy = deployment.resolve(resource["Properties"])
            assert policy_characters(policy["PolicyDocument"]["Statement"]) <= MAX_MANAGED_POLICY_CHARACTERS, logical
            assert policy["ManagedPolicyName"].startswith("DeadlineSpotIamSetupBootstrap-")


@pytest.mark.parametrize(
    "principal, trusted",
    [
        (f"arn:aws:iam::{ACCOUNT}:role/FarmAdmins", f"arn:aws:iam::{ACCOUNT}:role/FarmAdmins"),
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
        (f"arn:aws-cn:iam::{ACCOUNT}:root", f"arn:aws-cn:iam::{ACCOUNT}:root"),
    ],
)
def test_the_bootstrap_role_trusts_the_principal_given(principal, trusted):
    document = bootstrap_role_template(desired_state(Settings()), principal)
    role = Deployment(document).resolve(document["Resources"]["BootstrapRole"]["Properties"])
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": trusted}


@pytest.mark.parametrize(
    "principal",
    [
        "12345678901",
        "1234567890123",
        "١٢٣٤٥٦٧٨٩٠١٢",
        "*",
        "arn:aws:iam::123456789012:group/x",
        "",
        "arn:aws:iam::123456789012:role/",
    ],
)
def test_the_bootstrap_role_refuses_a_principal_that_is_not_an_account_or_arn(principal):
    with pytest.raises(InvalidSettings, match="trusted principal"):
        bootstrap_role_template(desired_state(Settings()), principal)


# -- YAML ----------------------------------------------------------------------------------------------------------


def scalars(text: str) -> list[str]:
    """Every scalar the YAML holds: after ``key: `` or ``- `` on each line."""
    found = []
    for line in text.splitlines():
        body = line.strip()
        while body.startswith("- "):
            body = body[2:]
        if body.startswith('"'):
            found.append(body)
            continue
        match = re.fullmatch(r'([A-Za-z_][A-Za-z0-9_.:/-]*|"(?:[^"\\]|\\.)*"):(?: (.*))?', body)
        assert match, line
        if match.group(2) is not None:
            found.append(match.group(2))
    return found


@pytest.mark.parametrize("case", CASES)
def test_the_yaml_writes_every_scalar_json_style_and_intrinsics_in_their_long_form(case):
    document = render(CASES[case])
    text = to_yaml(document)
    values = [json.loads(scalar) for scalar in scalars(text)]  # each one is a JSON value
    assert any(isinstance(value, int) and not isinstance(value, bool) for value in values)
    assert "Fn::Sub:" in text and "Ref:" in text and "!Sub" not in text and "!Ref" not in text
    assert text.endswith("\n") and "\t" not in text

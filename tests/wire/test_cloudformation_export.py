"""The exported CloudFormation template deployed on moto's CloudFormation (over HTTP, us-east-1), then judged by the
engine's own `check`.

What moto does with such a stack, found by trying (moto 5): it creates the users, roles, instance profiles and
managed policies under the template's names and paths; a role gets its trust policy, description, permissions boundary
and tags, an instance profile its role, a managed policy its document (intrinsic functions resolved) and the roles its
Roles property names. It ignores ManagedPolicyArns on AWS::IAM::User and AWS::IAM::Role, a user's permissions boundary
and tags, and AWS::IAM::ServiceLinkedRole altogether (nothing is created, whatever the Condition says); it validates no
parameter (AllowedPattern, Rules). It keeps an inline policy of a role as the Python repr of the resolved document.
So: names, paths, trust, boundaries and tags of roles, the instance profile and the copies are judged on the deployed
account; the managed policy attachments from the template itself (attached by hand as the template says, then the
engine's check must find everything the template creates in place).
"""

from __future__ import annotations

import ast
import json
import uuid
from pathlib import Path

import boto3
import pytest
from states import ADMIN, FLEET, TRACKER_ACCESS, TRACKER_ADMIN, WORKER, trust

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.cloudformation import bootstrap_role_template, template
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import plan_changes
from DeadlineSpotIamSetup.kinds import Kind, Status
from tests.support.cloudformation_cases import (
    ACCOUNT,
    BOUNDARY,
    CUSTOM_NAMES,
    RCS,
    SPOT_ROLE,
    managed_policy_sources,
    settings_of,
)
from tests.support.command_line import run_cli
from tests.support.wire import make_gateway

LINKED = ("spot.amazonaws.com", "spotfleet.amazonaws.com")
# What the template creates (the access key and the checks are not in it).
CREATED = {
    Kind.SPOT_USER,
    Kind.WORKER_ROLE,
    Kind.INSTANCE_PROFILE,
    Kind.FLEET_ROLE,
    Kind.TRACKER_ROLE,
    Kind.POLICY_COPY,
}

OUTPUTS = {Kind.WORKER_ROLE: "WorkerRoleArn", Kind.FLEET_ROLE: "FleetRoleArn", Kind.TRACKER_ROLE: "TrackerRoleArn"}

CASES = {
    "defaults": [],
    "custom names": CUSTOM_NAMES,
    "path, boundary, tags": ["--path", "/deadline/", "--permissions-boundary", BOUNDARY, "--tag", "team=render"],
    "no Resource Tracker": ["--no-resource-tracker"],
    "source IPs": ["--allowed-source-ips", RCS, "--path", "/deadline/"],
    "spot role": ["--spot-role", SPOT_ROLE],
    "spot role, source IPs": ["--spot-role", SPOT_ROLE, "--allowed-source-ips", RCS],
}


class Stacks:
    """Stacks deployed on moto's CloudFormation in this test, deleted afterwards."""

    def __init__(self, endpoint: str) -> None:
        self.client = boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-east-1")
        self.names: list[str] = []

    def deploy(self, body: str, **parameters: str) -> dict[str, str]:
        """Create a stack from ``body``; its outputs once CREATE_COMPLETE."""
        name = f"spot-iam-{uuid.uuid4().hex[:12]}"
        self.names.append(name)
        given = [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()]
        self.client.create_stack(StackName=name, TemplateBody=body, Parameters=given)
        (stack,) = self.client.describe_stacks(StackName=name)["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def delete(self) -> None:
        for name in self.names:  # the next test empties IAM anyway; a stack whose resources are gone may refuse
            try:
                self.client.delete_stack(StackName=name)
            except Exception:
                pass


@pytest.fixture
def cfn(endpoint):
    stacks = Stacks(endpoint)
    yield stacks
    stacks.delete()


def resolve(value, parameters: dict[str, str], resources: dict):
    """Ref / Fn::Sub of the template, as CloudFormation resolves them in this account."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name in parameters:
            return parameters[name]
        properties = resources[name]["Properties"]
        return f"arn:aws:iam::{ACCOUNT}:policy{properties['Path']}{properties['ManagedPolicyName']}"
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return value["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)
    if isinstance(value, list):
        return [resolve(item, parameters, resources) for item in value]
    return value


def template_attachments(document: dict) -> list[tuple[str, str, str]]:
    """(principal, name, policy ARN) for each user's and role's ManagedPolicyArns in the template (what moto
    ignores), at the parameters' defaults."""
    parameters = {name: spec["Default"] for name, spec in document["Parameters"].items()}
    found = []
    for resource in document["Resources"].values():
        properties = resource["Properties"]
        for arn in resolve(properties.get("ManagedPolicyArns", []), parameters, document["Resources"]):
            if resource["Type"] == "AWS::IAM::User":
                found.append(("user", resolve(properties["UserName"], parameters, {}), arn))
            else:
                found.append(("role", resolve(properties["RoleName"], parameters, {}), arn))
    return found


def attach(iam, attachments: list[tuple[str, str, str]]) -> None:
    for principal, name, arn in attachments:
        if principal == "user":
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        else:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def check(endpoint: str, settings: Settings):
    return plan_changes(make_gateway(endpoint), desired_state(settings))


def attached(iam, principal: str, name: str) -> set[str]:
    if principal == "user":
        return {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]}
    return {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}


@pytest.mark.parametrize("case", CASES)
def test_the_template_deploys_and_check_finds_everything_it_creates(case, endpoint, iam, cfn):
    argv = CASES[case]
    settings = settings_of(argv)
    desired = desired_state(settings)
    if settings.spot_role:
        iam.create_role(RoleName=SPOT_ROLE, AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    for service in LINKED:  # as in an account that has used Spot: the stack leaves them out
        iam.create_service_linked_role(AWSServiceName=service)
    code, body, err = run_cli("export", *argv, "--endpoint-url", endpoint)
    assert code == 0, err
    outputs = cfn.deploy(body, CreateServiceLinkedRoles="false")
    document = template(desired, managed_policy_sources(iam, desired))  # the same moto account the export read

    # The deployed account: names, paths, trust, the instance profile's role, the copies.
    for identity in (
        desired.of_kind(Kind.WORKER_ROLE) + desired.of_kind(Kind.FLEET_ROLE) + desired.of_kind(Kind.TRACKER_ROLE)
    ):
        role = iam.get_role(RoleName=identity.name)["Role"]
        assert role["Path"] == "/"
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": identity.service}, "Action": "sts:AssumeRole"}
        ]
        assert role["Description"] == identity.description
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        assert boundary == settings.permissions_boundary
        assert iam.list_role_tags(RoleName=identity.name)["Tags"] == [
            {"Key": key, "Value": value} for key, value in settings.tags
        ]
        assert attached(iam, "role", identity.name) == set()  # moto ignores ManagedPolicyArns
        assert outputs[OUTPUTS[identity.kind]] == role["Arn"]
    (profile_identity,) = desired.of_kind(Kind.INSTANCE_PROFILE)
    profile = iam.get_instance_profile(InstanceProfileName=profile_identity.name)["InstanceProfile"]
    assert profile["Path"] == settings.path
    assert [role["RoleName"] for role in profile["Roles"]] == [settings.worker_role]
    assert outputs["WorkerInstanceProfileArn"] == profile["Arn"]
    if settings.spot_role is None:
        user = iam.get_user(UserName=settings.spot_user)["User"]
        assert user["Path"] == settings.path and outputs["SpotUserArn"] == user["Arn"]
        assert iam.list_access_keys(UserName=settings.spot_user)["AccessKeyMetadata"] == []
    copies = {p["PolicyName"]: p for p in iam.list_policies(Scope="Local")["Policies"]}
    assert set(copies) == {c.name for c in desired.of_kind(Kind.POLICY_COPY)}
    for copy in desired.of_kind(Kind.POLICY_COPY):
        assert copies[copy.name]["Path"] == settings.path
    if settings.spot_role is not None:  # the copies' Roles property attached them to the existing role
        assert attached(iam, "role", SPOT_ROLE) == {copies[name]["Arn"] for name in copies}

    # The engine's check: what the template creates is in place but for the attachments moto ignored.
    attachments = template_attachments(document)
    ignored = {(principal, name, arn.rsplit("/", 1)[-1]) for principal, name, arn in attachments}
    before = check(endpoint, settings)
    for finding in before.findings:
        if finding.kind not in CREATED:
            continue
        for problem in finding.problems:
            assert problem.startswith("policy ") and problem.endswith(" is not attached"), (finding, problem)
            principal = "user" if finding.kind is Kind.SPOT_USER else "role"
            assert (principal, finding.name, problem.split()[1]) in ignored, problem

    # A Spot credentials role the template does not create gets no AWS managed policy from it: its Metadata says to
    # attach them, as the admin does here.
    for identity in desired.of_kind(Kind.SPOT_ROLE):
        (finding,) = [f for f in before.findings if f.kind is Kind.SPOT_ROLE]
        said = "\n".join(document["Metadata"]["DeadlineSpotIamSetup"]["NotInTemplate"])
        if identity.copies:
            assert finding.status is Status.OK
            continue
        assert finding.problems == tuple(f"policy {p.name} is not attached" for p in identity.policies)
        assert all(p.name in said for p in identity.policies) and f"spot-role {identity.name}: not created" in said
        attachments += [("role", identity.name, p.arn("aws")) for p in identity.policies]

    # Attached as the template says, everything it creates is ok, and so is the whole chain.
    attach(iam, attachments)
    after = check(endpoint, settings)
    status = {(f.kind, f.name): f.status for f in after.findings}
    for (kind, name), found in status.items():
        if kind is Kind.ACCESS_KEY:
            assert found is Status.MISSING  # not in a template: the plugin or `apply --secret-out` makes it
        else:
            assert found is Status.OK, (kind, name, after.findings)
    assert {kind for kind, _ in status} >= {Kind.WORKER_ROLE, Kind.INSTANCE_PROFILE, Kind.PERMISSIONS}


def test_the_template_names_the_aws_managed_policies_the_engine_attaches():
    """Judged on the template itself, since moto ignores ManagedPolicyArns."""
    document = template(desired_state(Settings()))
    names: dict[tuple[str, str], set[str]] = {}
    for principal, name, arn in template_attachments(document):
        names.setdefault((principal, name), set()).add(arn)
    assert names == {
        ("user", "DeadlineSpotEventPluginAdmin"): {ADMIN, TRACKER_ADMIN},
        ("role", "DeadlineSpotWorker"): {WORKER},
        ("role", "aws-ec2-spot-fleet-tagging-role"): {FLEET},
        ("role", "DeadlineResourceTrackerAccessRole"): {TRACKER_ACCESS},
    }


def test_the_stack_parameters_name_what_it_creates(endpoint, iam, cfn):
    code, body, err = run_cli("export", "--endpoint-url", endpoint)
    assert code == 0, err
    names = {
        "SpotUserName": "FarmSpot",
        "WorkerRoleName": "DeadlineSpotFarm",
        "InstanceProfileName": "FarmNodes",
        "FleetRoleName": "DeadlineSpotFarmFleet",
        "TrackerRoleName": "DeadlineResourceTrackerAccessFarm",
    }
    cfn.deploy(body, CreateServiceLinkedRoles="false", **names)
    assert iam.get_user(UserName="FarmSpot")["User"]["UserName"] == "FarmSpot"
    for role in ("DeadlineSpotFarm", "DeadlineSpotFarmFleet", "DeadlineResourceTrackerAccessFarm"):
        assert iam.get_role(RoleName=role)["Role"]["Path"] == "/"
    profile = iam.get_instance_profile(InstanceProfileName="FarmNodes")["InstanceProfile"]
    assert [role["RoleName"] for role in profile["Roles"]] == ["DeadlineSpotFarm"]
    settings = Settings(
        spot_user="FarmSpot",
        worker_role="DeadlineSpotFarm",
        instance_profile="FarmNodes",
        fleet_role="DeadlineSpotFarmFleet",
        tracker_role="DeadlineResourceTrackerAccessFarm",
    )
    found = {(f.kind, f.status) for f in check(endpoint, settings).findings}
    assert (Kind.INSTANCE_PROFILE, Status.OK) in found
    assert iam.list_roles()["Roles"] and not [
        r for r in iam.list_roles()["Roles"] if r["RoleName"] == "DeadlineSpotWorker"
    ]


def test_moto_creates_no_service_linked_role_from_a_template_so_check_reports_them_missing(endpoint, iam, cfn):
    """What moto really does: AWS::IAM::ServiceLinkedRole is not implemented; on AWS the default (true) creates them."""
    code, body, err = run_cli("export", "--endpoint-url", endpoint)
    assert code == 0, err
    cfn.deploy(body)  # CreateServiceLinkedRoles left at its default, true
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["Path"].startswith("/aws-service-role/")] == []
    linked = [f for f in check(endpoint, Settings()).findings if f.kind is Kind.SERVICE_LINKED_ROLE]
    assert [f.status for f in linked] == [Status.MISSING, Status.MISSING]


# -- the bootstrap role --------------------------------------------------------------------------------------------


def test_the_bootstrap_role_template_deploys_with_the_bootstrap_policy_of_this_account(endpoint, iam, cfn):
    code, body, err = run_cli("bootstrap-policy", "--format", "cloudformation", "--trust-principal", "210987654321")
    assert code == 0, err
    outputs = cfn.deploy(body)
    role = iam.get_role(RoleName="DeadlineSpotIamSetupBootstrap")["Role"]
    assert outputs["BootstrapRoleArn"] == role["Arn"] and role["Path"] == "/"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"}
    ]
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["DeadlineSpotIamSetupBootstrap"]
    stored = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="DeadlineSpotIamSetupBootstrap")
    document = stored["PolicyDocument"]
    if isinstance(document, str):  # moto keeps a template's inline policy as the Python repr of the document
        document = ast.literal_eval(document)
    assert document == bootstrap_policy(desired_state(Settings()), "aws", ACCOUNT)


def test_a_bootstrap_policy_too_large_for_inline_deploys_as_managed_policies(endpoint, iam, cfn):
    tags = [arg for n in range(40) for arg in ("--tag", f"tag-key-{n:02d}-{'k' * 40}=v")]
    argv = ["--allowed-source-ips", RCS, "--permissions-boundary", BOUNDARY, *tags]
    code, body, err = run_cli("bootstrap-policy", "--format", "cloudformation", "--trust-principal", ACCOUNT, *argv)
    assert code == 0, err
    cfn.deploy(body)
    policies = sorted(
        (p for p in iam.list_policies(Scope="Local")["Policies"]), key=lambda p: int(p["PolicyName"].rsplit("-", 1)[1])
    )
    assert len(policies) >= 2
    assert all(p["PolicyName"].startswith("DeadlineSpotIamSetupBootstrap-") for p in policies)
    statements = []
    for policy in policies:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        statements += version["PolicyVersion"]["Document"]["Statement"]
    assert statements == bootstrap_policy(desired_state(settings_of(argv)), "aws", ACCOUNT)["Statement"]
    # moto ignores the role's ManagedPolicyArns: the template names each part (the unit tests resolve them).
    assert attached(iam, "role", "DeadlineSpotIamSetupBootstrap") == set()
    assert bootstrap_role_template(desired_state(settings_of(argv)), ACCOUNT)["Resources"]["BootstrapRole"][
        "Properties"
    ]["ManagedPolicyArns"] == [{"Ref": f"BootstrapPolicy{n}"} for n in range(1, len(policies) + 1)]


# -- the command line ----------------------------------------------------------------------------------------------


def test_export_writes_its_file_and_replaces_one_only_with_force(tmp_path: Path, endpoint):
    target = tmp_path / "spot-iam.yaml"
    code, out, err = run_cli("export", "--format", "cloudformation", "--output", str(target))
    assert (code, err) == (0, "") and str(target) in out
    first = target.read_text(encoding="utf-8")
    assert first == run_cli("export")[1]
    code, _, err = run_cli("export", "--no-resource-tracker", "--output", str(target))
    assert code == 1 and err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert target.read_text(encoding="utf-8") == first
    code, _, err = run_cli("export", "--no-resource-tracker", "--output", str(target), "--force")
    assert code == 0, err
    assert "TrackerRole" not in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["spot-iam.yaml"]  # no temporary file left
    code, _, err = run_cli("export", "--output", str(tmp_path / "missing" / "t.yaml"))
    assert code == 1 and err.startswith("error: --output") and err.count("\n") == 1


def test_export_makes_no_aws_call_without_source_ips_and_refuses_in_one_line_without_aws():
    code, out, err = run_cli("export", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 0 and out.startswith('AWSTemplateFormatVersion: "2010-09-09"\n') and err == ""
    code, out, err = run_cli("export", "--allowed-source-ips", RCS, "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("error: --allowed-source-ips: the template embeds the AWS managed policies")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bootstrap-policy", "--format", "cloudformation"], "needs --trust-principal"),
        (["bootstrap-policy", "--trust-principal", ACCOUNT], "goes with --format cloudformation"),
        (["bootstrap-policy", "--format", "cloudformation", "--trust-principal", "1234"], "trusted principal"),
        (
            ["bootstrap-policy", "--format", "cloudformation", "--trust-principal", ACCOUNT, "--account", ACCOUNT],
            "--account",
        ),
        (["bootstrap-policy", "--format", "yaml"], "invalid choice"),
        (["export", "--format", "terraform"], "invalid choice"),
        (["export", "--worker-role", "Workers"], "DeadlineSpot"),
    ],
)
def test_refused_options_exit_1_with_one_line(argv, message):
    code, out, err = run_cli(*argv)
    assert code == 1 and out == "" and err.count("\n") == 1 and message in err, err


def test_bootstrap_policy_json_stays_the_default_and_unchanged():
    code, out, _ = run_cli("bootstrap-policy")
    assert code == 0 and json.loads(out) == bootstrap_policy(desired_state(Settings()), "aws", "*")
    assert run_cli("bootstrap-policy", "--format", "json")[1] == out
    code, out, _ = run_cli("bootstrap-policy", "--partition", "aws-cn", "--account", ACCOUNT)
    assert json.loads(out) == bootstrap_policy(desired_state(Settings()), "aws-cn", ACCOUNT)

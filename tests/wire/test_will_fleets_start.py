"""Will the Spot fleets start? On moto's server: the permission chain judged from the Spot credentials' real policy
documents (managed, inline, group, boundary), and the Spot Event Plugin's fleet configuration audited against the
account, launch templates included."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from conftest import make_gateway
from states import USER

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.fleet_config import parse_fleet_config
from DeadlineSpotIamSetup.kinds import Kind, Status

ACCOUNT = "123456789012"
IAM = f"arn:aws:iam::{ACCOUNT}"
FLEET_ROLE = f"{IAM}:role/aws-ec2-spot-fleet-tagging-role"
PROFILE = f"{IAM}:instance-profile/DeadlineSpotWorker"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


DEFAULTS = Settings()


def converge(endpoint: str, settings: Settings = DEFAULTS) -> None:
    assert apply_changes(make_gateway(endpoint), desired_state(settings), key_sink=lambda key: None).ok


def chain(endpoint: str, settings: Settings = DEFAULTS):
    plan = plan_changes(make_gateway(endpoint), desired_state(settings))
    finding = plan.finding(Kind.PERMISSIONS)
    assert finding is not None
    return finding, [step for step in plan.manual if step.kind is Kind.PERMISSIONS]


def test_the_chain_holds_with_the_aws_managed_policies_and_with_the_ip_restricted_copies(endpoint) -> None:
    converge(endpoint)
    finding, _ = chain(endpoint)
    assert finding.status is Status.OK, finding
    restricted = Settings(allowed_source_ips=("203.0.113.0/24",))
    converge(endpoint, restricted)
    finding, _ = chain(endpoint, restricted)
    assert finding.status is Status.OK, finding  # allowed when called from the allowed addresses


def test_an_inline_deny_breaks_the_chain_naming_the_call_and_the_statement(endpoint, iam) -> None:
    converge(endpoint)
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoPassing", "Effect": "Deny", "Action": "iam:Pass*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName=USER, PolicyName="Lockdown", PolicyDocument=json.dumps(deny))
    finding, steps = chain(endpoint)
    assert finding.status is Status.DRIFT
    problems = [step.problem for step in steps]
    assert any(
        p.startswith("cannot pass the worker role to EC2 (iam:PassRole on role/DeadlineSpotWorker)") for p in problems
    )
    assert all("inline policy Lockdown of user" in p and "NoPassing" in p for p in problems), problems
    assert {step.remedy for step in steps} == {"remove or narrow that Deny"}


def test_a_hand_edited_copy_without_passrole_breaks_the_chain(endpoint, iam) -> None:
    restricted = Settings(allowed_source_ips=("203.0.113.0/24",))
    converge(endpoint, restricted)
    arn = f"{IAM}:policy/DeadlineSpotEventPluginAdminPolicy-SourceIp"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document["Statement"] = [s for s in document["Statement"] if "iam:PassRole" not in json.dumps(s)]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    _, steps = chain(endpoint, restricted)
    passing = [step for step in steps if "iam:PassRole" in step.problem]
    assert len(passing) == 2 and all("not allowed by any attached policy" in s.problem for s in passing), steps


def test_a_permissions_boundary_without_passrole_breaks_the_chain(endpoint, iam) -> None:
    """On the Spot credentials role (moto keeps a permissions boundary for roles only; the user's is read the same
    way, from GetUser)."""
    narrow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    boundary = iam.create_policy(PolicyName="RenderBoundary", PolicyDocument=json.dumps(narrow))["Policy"]["Arn"]
    iam.create_role(
        RoleName="RcsInstanceRole", AssumeRolePolicyDocument=json.dumps(EC2_TRUST), PermissionsBoundary=boundary
    )
    settings = Settings(spot_role="RcsInstanceRole")
    outcome = apply_changes(make_gateway(endpoint), desired_state(settings), key_sink=lambda key: None)
    assert [f.kind for f in outcome.after.findings if f.status is not Status.OK] == [Kind.PERMISSIONS]
    _, steps = chain(endpoint, settings)
    assert steps and all(step.problem.split(" (")[1].startswith("iam:") for step in steps), steps
    assert all("permissions boundary" in step.problem and "permissions boundary" in step.remedy for step in steps)


def test_a_group_policy_of_the_spot_user_counts(endpoint, iam) -> None:
    converge(endpoint)
    iam.create_group(GroupName="Artists")
    iam.add_user_to_group(GroupName="Artists", UserName=USER)
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "ec2:RequestSpotFleet", "Resource": "*"}],
    }
    iam.put_group_policy(GroupName="Artists", PolicyName="NoFleets", PolicyDocument=json.dumps(deny))
    _, steps = chain(endpoint)
    assert [s.problem.split(":")[0] for s in steps] == ["cannot request a Spot Fleet (ec2"], steps
    assert "inline policy NoFleets of group Artists" in steps[0].problem


def test_policies_not_yet_attached_are_one_problem_for_apply_not_a_list_of_refusals(endpoint, iam) -> None:
    converge(endpoint)
    for policy in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=USER, PolicyArn=policy["PolicyArn"])
    finding, steps = chain(endpoint)
    assert finding.problems == (
        "judged once AWSThinkboxDeadlineSpotEventPluginAdminPolicy, AWSThinkboxDeadlineResourceTrackerAdminPolicy "
        "are attached",
    )
    assert steps == []


def test_the_spot_role_mode_has_its_chain_judged_too(endpoint, iam) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="RcsInstanceRole", AssumeRolePolicyDocument=json.dumps(trust))
    settings = Settings(spot_role="RcsInstanceRole")
    converge(endpoint, settings)
    finding, _ = chain(endpoint, settings)
    assert finding.status is Status.OK and finding.name == "RcsInstanceRole"


SPOT_CONFIG = {
    "gpu": {"IamFleetRole": FLEET_ROLE, "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": PROFILE}}]},
    "elsewhere": {
        "IamFleetRole": "arn:aws:iam::111111111111:role/aws-ec2-spot-fleet-tagging-role",
        "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": f"{IAM}:instance-profile/RenderWorker"}}],
    },
    "templated": {
        "IamFleetRole": FLEET_ROLE,
        "LaunchTemplateConfigs": [
            {"LaunchTemplateSpecification": {"LaunchTemplateName": "good-node", "Version": "$Latest"}},
            {"LaunchTemplateSpecification": {"LaunchTemplateName": "old-node", "Version": "$Default"}},
            {"LaunchTemplateSpecification": {"LaunchTemplateName": "gone-node"}},
        ],
    },
}


def make_templates(endpoint: str, iam) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="OldRenderRole", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName="OldRender")
    iam.add_role_to_instance_profile(InstanceProfileName="OldRender", RoleName="OldRenderRole")
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    for name, profile in (("good-node", PROFILE), ("old-node", f"{IAM}:instance-profile/OldRender")):
        ec2.create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData={"ImageId": "ami-12c6146b", "IamInstanceProfile": {"Arn": profile}},
        )


def test_each_fleet_group_is_audited_against_the_account(endpoint, iam) -> None:
    converge(endpoint)
    make_templates(endpoint, iam)
    groups = parse_fleet_config(json.dumps(SPOT_CONFIG), "spot-config.json")
    plan = plan_changes(make_gateway(endpoint), desired_state(Settings(fleet_groups=groups)))
    found = {f.name: f for f in plan.findings if f.kind is Kind.FLEET_GROUP}
    assert found["gpu"].status is Status.OK
    elsewhere = " ".join(found["elsewhere"].problems)
    assert "names account 111111111111" in elsewhere and "RenderWorker" in elsewhere and "does not exist" in elsewhere
    templated = found["templated"].problems
    assert len(templated) == 2, templated  # good-node is fine
    assert any("old-node" in p and "OldRenderRole" in p and "DeadlineSpot" in p for p in templated), templated
    assert any("gone-node" in p and "not checked" in p and "does not exist in region us-east-1" in p for p in templated)
    remedies = " ".join(step.remedy for step in plan.manual)
    assert FLEET_ROLE in remedies and PROFILE in remedies  # the corrected ARNs, to paste
    assert not plan.actions  # apply never edits the fleet configuration


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_check_with_a_spot_config_reports_each_problem_with_exit_2(endpoint, tmp_path: Path) -> None:
    converge(endpoint)
    config = tmp_path / "spot-config.json"
    config.write_text(json.dumps({"gpu": SPOT_CONFIG["gpu"]}))
    assert run_cli("check", "--spot-config", str(config), "--endpoint-url", endpoint)[0] == 0
    config.write_text(json.dumps(SPOT_CONFIG))
    code, out, _ = run_cli("plan", "--spot-config", str(config), "--endpoint-url", endpoint)
    assert code == 2
    assert "drift    fleet-group" in out and "  - fleet-group elsewhere: IamFleetRole" in out
    assert f"set IamFleetRole to {FLEET_ROLE}" in out


@pytest.mark.parametrize(
    "text,where",
    [
        ('{"gpu": {"IamFleetRole": "x",}}', "line 1 column"),
        ('{"gpu": []}', "group 'gpu'"),
        (
            '{"gpu": {"LaunchSpecifications": [{"IamInstanceProfile": {}}]}}',
            "LaunchSpecifications[0].IamInstanceProfile",
        ),
    ],
)
def test_a_malformed_spot_config_is_one_line_naming_where_it_breaks(tmp_path: Path, text: str, where: str) -> None:
    config = tmp_path / "spot-config.json"
    config.write_text(text)
    code, out, err = run_cli("check", "--spot-config", str(config), "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1 and err.count("\n") == 1 and where in err and str(config) in err, err


def test_the_resource_tracker_in_use_but_left_out_here_is_reported(endpoint) -> None:
    settings = Settings(resource_tracker=False)
    converge(endpoint, settings)
    plan = plan_changes(
        make_gateway(endpoint), desired_state(Settings(resource_tracker=False, spot_uses_resource_tracker=True))
    )
    finding = plan.finding(Kind.TRACKER_IN_USE)
    assert finding is not None and finding.status is Status.DRIFT
    assert "Use Resource Tracker is on" in finding.problems[0]
    assert (
        plan_changes(make_gateway(endpoint), desired_state(Settings(spot_uses_resource_tracker=True))).finding(
            Kind.TRACKER_IN_USE
        )
        is None
    )  # the Resource Tracker is set up here: its role's own finding covers it

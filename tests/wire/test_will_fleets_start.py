"""Will the Spot fleets start? On moto's server: the permission chain judged from the Spot credentials' real policy
documents (managed, inline, group, boundary), and the Spot Event Plugin's fleet configuration audited against the
account, launch templates included."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from states import USER

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.fleet_config import parse_fleet_config
from DeadlineSpotIamSetup.kinds import Kind, Status
from tests.support import rfdk_fleet as rfdk
from tests.support.command_line import run_cli
from tests.support.rfdk_fleet import make_rfdk_fleet
from tests.support.wire import converged, make_gateway

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
    """The test's fresh account as apply leaves it (a real apply once per test process: ``converged``)."""
    converged(endpoint, desired_state(settings))


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
    assert apply_changes(make_gateway(endpoint), desired_state(restricted), key_sink=lambda key: None).ok  # on top
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
    assert apply_changes(make_gateway(endpoint), desired_state(settings), key_sink=lambda key: None).ok  # on that role
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


# -- judged as IAM documents it ------------------------------------------------------------------------------------


def problems_of(steps) -> list[str]:
    return [step.problem for step in steps]


def put_inline(iam, name: str, *statements: dict, on_group: str | None = None) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    if on_group is None:
        iam.put_user_policy(UserName=USER, PolicyName=name, PolicyDocument=document)
    else:
        iam.create_group(GroupName=on_group)
        iam.add_user_to_group(GroupName=on_group, UserName=USER)
        iam.put_group_policy(GroupName=on_group, PolicyName=name, PolicyDocument=document)


def test_a_managed_policy_locking_the_user_to_another_region_refuses_every_ec2_call(endpoint, iam) -> None:
    """IAM User Guide, AWS global condition context keys, aws:RequestedRegion: "Use this key to compare the AWS Region
    that was called in the request with the Region that you specify in the policy." The Spot plugin calls EC2 in its
    region (here the check's, us-east-1); IAM itself is called in us-east-1."""
    converge(endpoint)
    lock = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyFrankfurt",
                "Effect": "Deny",
                "Action": "ec2:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}},
            }
        ],
    }
    arn = iam.create_policy(PolicyName="RegionLock", PolicyDocument=json.dumps(lock))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    finding, steps = chain(endpoint)
    assert finding.status is Status.DRIFT
    refused = [p for p in problems_of(steps) if p.startswith("cannot ")]
    assert refused and all("ec2:" in p and "policy RegionLock v1 statement OnlyFrankfurt" in p for p in refused)
    assert not any("iam:" in p for p in problems_of(steps))  # IAM's calls go to us-east-1 whatever the lock
    assert {step.remedy for step in steps} == {"remove or narrow that Deny"}
    frankfurt = Settings(spot_region="eu-central-1")
    assert chain(endpoint, frankfurt)[0].status is Status.OK


def copy_statements(iam, change) -> None:
    """Rewrite every statement of the IP-restricted copy of the admin policy (a customer managed policy)."""
    arn = f"{IAM}:policy/DeadlineSpotEventPluginAdminPolicy-SourceIp"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    for statement in document["Statement"]:
        change(statement)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)


RESTRICTED = Settings(allowed_source_ips=("203.0.113.0/24",))


def test_a_copy_allowing_only_another_region_names_the_statement_and_its_condition(endpoint, iam) -> None:
    """Condition operators: a condition that does not hold makes the Allow not apply; the line names the statement
    that would allow the call, and what it needs."""
    converge(endpoint, RESTRICTED)
    copy_statements(iam, lambda s: s["Condition"].update({"StringEquals": {"aws:RequestedRegion": "eu-central-1"}}))
    _, steps = chain(endpoint, RESTRICTED)
    launch = next(p for p in problems_of(steps) if p.startswith("cannot launch the workers"))
    assert "policy DeadlineSpotEventPluginAdminPolicy-SourceIp v2 statement" in launch
    assert "allows it only if aws:RequestedRegion StringEquals eu-central-1" in launch


def test_a_copy_allowed_until_a_past_date_refuses_every_call(endpoint, iam) -> None:
    """Condition operators, Date: "Matching before a specific date and time" (DateLessThan), compared with
    aws:CurrentTime, which "is always included in the request context"."""
    converge(endpoint, RESTRICTED)
    copy_statements(iam, lambda s: s["Condition"].update({"DateLessThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}))
    finding, steps = chain(endpoint, RESTRICTED)
    assert finding.status is Status.DRIFT
    assert len(steps) >= 10 and all(p.startswith("cannot ") for p in problems_of(steps))
    assert all("only if the time is DateLessThan 2024-01-01T00:00:00Z" in p for p in problems_of(steps))


def test_a_grant_ending_within_thirty_days_is_a_warning_with_its_date(endpoint, iam) -> None:
    from datetime import datetime, timedelta, timezone

    converge(endpoint, RESTRICTED)
    soon = (datetime.now(timezone.utc) + timedelta(days=10)).replace(microsecond=0)
    until = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    copy_statements(iam, lambda s: s["Condition"].update({"DateLessThan": {"aws:CurrentTime": until}}))
    finding, _ = chain(endpoint, RESTRICTED)
    assert finding.status is Status.OK
    assert finding.notes and all(f"is allowed only until {until}" in note for note in finding.notes)


def judged_with(endpoint: str, *statements: dict, boundary: tuple[str, dict] | None = None):
    """The chain judged on the Spot user's documents as IAM holds them, plus these statements (an inline policy
    "Bridged"), and a boundary: for documents moto refuses to store though IAM takes them (moto's policy validation
    wants an IAM resource path after the account, so it refuses "arn:aws:iam::*"), or that moto does not keep (a
    user's permissions boundary)."""
    from datetime import datetime, timezone

    from DeadlineSpotIamSetup.permission_chain import Judge, caller_of, chain_steps
    from DeadlineSpotIamSetup.values import PrincipalPolicies

    grants = make_gateway(endpoint).principal_policies("user", USER, ())
    bridged = ("inline policy Bridged of user " + USER, {"Version": "2012-10-17", "Statement": list(statements)})
    grants = PrincipalPolicies(
        grants.arn, grants.policies + (bridged,), boundary, grants.attached, grants.principal_id, grants.tags
    )
    identity = next(i for i in desired_state(DEFAULTS) if i.kind is Kind.PERMISSIONS)
    caller = caller_of(identity, grants, None, datetime.now(timezone.utc))
    return Judge(grants).steps(chain_steps(identity, caller))


def test_an_inline_deny_of_passrole_on_every_iam_resource_refuses_passing_the_roles(endpoint) -> None:
    """IAM JSON policy elements: Resource: "If the * wildcard is the last character of a resource ARN segment, it can
    expand to match beyond the colon boundaries." So arn:aws:iam::* covers every role."""
    converge(endpoint)
    judged = judged_with(
        endpoint, {"Sid": "NoPass", "Effect": "Deny", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*"}
    )
    refused = [j.problem() for j in judged if j.verdict != "allowed"]
    assert len(refused) == 3, refused  # the worker, fleet and Resource Tracker roles
    assert all("iam:PassRole" in p and "explicitly denied by inline policy Bridged" in p for p in refused)
    assert all(p.endswith("statement NoPass") for p in refused)


def test_a_group_policy_requiring_mfa_refuses_the_access_key(endpoint, iam) -> None:
    """AWS global condition context keys, aws:MultiFactorAuthPresent: "The key is not present in AWS CLI, AWS API, or
    AWS SDK requests that are made using long-term credentials." ...IfExists: "If the key is not present, evaluate
    the condition element as true." So a Deny with BoolIfExists false applies to the Spot user's access key."""
    converge(endpoint)
    force_mfa = {
        "Sid": "ForceMFA",
        "Effect": "Deny",
        "NotAction": "iam:ChangePassword",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    put_inline(iam, "RequireMfa", force_mfa, on_group="Artists")
    finding, steps = chain(endpoint)
    assert finding.status is Status.DRIFT
    assert all(
        "explicitly denied by inline policy RequireMfa of group Artists statement ForceMFA" in p
        for p in problems_of(steps)
    )


def test_a_deny_on_run_instances_scoped_to_instances_refuses_the_launch(endpoint, iam) -> None:
    """RunInstances is authorized on the instance it creates among its other resources (Amazon EC2 User Guide,
    Launch instances (RunInstances))."""
    converge(endpoint)
    put_inline(
        iam, "NoLaunch", {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*"}
    )
    _, steps = chain(endpoint)
    assert [p.split(":")[0] for p in problems_of(steps)] == ["cannot launch the workers (ec2"], problems_of(steps)
    assert "ec2:RunInstances on instance/*" in steps[0].problem and "inline policy NoLaunch" in steps[0].problem


def test_a_deny_on_a_present_source_ip_hangs_on_how_the_machine_calls(endpoint, iam) -> None:
    """Condition operators, Null: "false (the key exists and its value is not null)". aws:SourceIp "is included in
    the request context, except when the requester uses a VPC endpoint": the check cannot know which."""
    converge(endpoint)
    put_inline(
        iam,
        "OnlyViaEndpoint",
        {
            "Sid": "NoPublic",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Null": {"aws:SourceIp": "false"}},
        },
    )
    finding, steps = chain(endpoint)
    assert finding.status is Status.DRIFT
    assert all(
        ": denied if the RCS/Pulse machine calls AWS not through a VPC endpoint" in p for p in problems_of(steps)
    )
    assert all("statement NoPublic" in p for p in problems_of(steps))
    apply_changes(make_gateway(endpoint), desired_state(RESTRICTED), key_sink=lambda key: None)  # leaves the Deny
    restricted_steps = chain(endpoint, RESTRICTED)[1]  # the IP-restricted mode: it calls with a public address
    assert restricted_steps and all(p.startswith("cannot ") for p in problems_of(restricted_steps))


RCS_ROLE = "RcsInstanceRole"


def role_with_boundary(iam, boundary: dict) -> Settings:
    """The Spot credentials as a role with a permissions boundary (moto keeps a boundary for roles only)."""
    arn = iam.create_policy(PolicyName="RcsBoundary", PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
    iam.create_role(RoleName=RCS_ROLE, AssumeRolePolicyDocument=json.dumps(EC2_TRUST), PermissionsBoundary=arn)
    settings = Settings(spot_role=RCS_ROLE)
    apply_changes(make_gateway(endpoint_of(iam)), desired_state(settings), key_sink=lambda key: None)
    return settings


def endpoint_of(iam) -> str:
    return iam.meta.endpoint_url


def boundary_document(condition: dict, sid: str = "Limit") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}],
    }


def test_an_allow_restricted_by_source_ip_without_the_ip_mode_says_allowed_only_if(endpoint, iam, tmp_path) -> None:
    settings = role_with_boundary(
        iam, boundary_document({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, "AllowFromOffice")
    )
    finding, steps = chain(endpoint, settings)
    assert finding.status is Status.DRIFT
    expected = (
        ": the permissions boundary allows it only if the RCS/Pulse machine calls from 203.0.113.0/24 "
        "(permissions boundary"
    )
    assert steps and all(expected in p and "statement AllowFromOffice)" in p for p in problems_of(steps)), problems_of(
        steps
    )[0]
    code, out, _ = run_cli("check", "--spot-role", RCS_ROLE, "--endpoint-url", endpoint)
    assert code == 2
    assert "pass the worker role to EC2 (iam:PassRole on role/DeadlineSpotWorker)" + expected in out


def test_an_expired_permissions_boundary_refuses_every_call(endpoint, iam) -> None:
    settings = role_with_boundary(iam, boundary_document({"DateLessThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}}))
    _, steps = chain(endpoint, settings)
    assert steps and all("allowed by the policies but not by the permissions boundary" in p for p in problems_of(steps))
    assert all("only if the time is DateLessThan 2024-06-30T00:00:00Z" in p for p in problems_of(steps))
    assert all("permissions boundary of role RcsInstanceRole" in step.remedy for step in steps)


def test_a_boundary_requiring_mfa_hangs_on_the_role_session(endpoint, iam) -> None:
    """A role's session may have authenticated with MFA or not: the check does not see the session."""
    settings = role_with_boundary(iam, boundary_document({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, "MfaOnly"))
    _, steps = chain(endpoint, settings)
    assert steps and all(
        ": the permissions boundary allows it only if the Spot credentials' session was authenticated with MFA" in p
        for p in problems_of(steps)
    )


def test_a_boundary_requiring_mfa_refuses_a_users_access_key(endpoint) -> None:
    """For the Spot user's access key aws:MultiFactorAuthPresent is absent (long-term credentials): the boundary's
    Bool true condition is false."""
    converge(endpoint)
    boundary = ("permissions boundary MfaOnly", boundary_document({"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    judged = judged_with(endpoint, boundary=boundary)
    assert judged and all(j.verdict == "denied" for j in judged)
    assert all("only if the Spot credentials' session was authenticated with MFA" in j.problem() for j in judged)


# -- RFDK-style fleets ---------------------------------------------------------------------------------------------

SPOT_FLEET_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "spotfleet.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def fleet_findings(endpoint: str, groups_config: dict, settings: Settings = DEFAULTS):
    groups = parse_fleet_config(json.dumps(groups_config), "spot-config.json")
    plan = plan_changes(make_gateway(endpoint), desired_state(replace(settings, fleet_groups=groups)))
    return {f.name: f for f in plan.findings if f.kind is Kind.FLEET_GROUP}, plan


def test_an_rfdk_fleet_with_its_passrole_grant_is_ok(endpoint, iam, tmp_path: Path) -> None:
    converge(endpoint)
    found, plan = fleet_findings(endpoint, {"rfdk": make_rfdk_fleet(iam, USER)})
    assert found["rfdk"].status is Status.OK, found["rfdk"]
    assert plan.finding(Kind.PERMISSIONS).status is Status.OK
    config = tmp_path / "spot-config.json"
    config.write_text(json.dumps({"rfdk": rfdk_fleet_config(iam)}))
    code, out, _ = run_cli("check", "--spot-config", str(config), "--endpoint-url", endpoint)
    assert code == 0 and "ok       fleet-group" in out, out


def rfdk_fleet_config(iam) -> dict:
    fleet = iam.get_role(RoleName=rfdk.FLEET_ROLE)["Role"]["Arn"]
    profile = iam.get_instance_profile(InstanceProfileName=rfdk.PROFILE)["InstanceProfile"]["Arn"]
    return {"IamFleetRole": fleet, "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": profile}}]}


def test_an_rfdk_fleet_without_the_grant_is_refused_by_the_chain(endpoint, iam) -> None:
    converge(endpoint)
    found, _ = fleet_findings(endpoint, {"rfdk": make_rfdk_fleet(iam, None)})
    problems = found["rfdk"].problems
    assert found["rfdk"].status is Status.DRIFT and len(problems) == 2, problems
    fleet, profile = problems
    assert fleet.startswith(f"IamFleetRole {IAM}:role/{rfdk.FLEET_ROLE}: the Spot credentials may not pass it to EC2")
    assert "not allowed by any attached policy" in fleet
    assert f"holds role {rfdk.INSTANCE_ROLE}: the Spot credentials may not pass it to EC2" in profile
    assert "allows iam:PassRole only on role/DeadlineSpot*" in profile


def test_a_deadline_spot_role_under_a_path_is_refused(endpoint, iam) -> None:
    """The fleet role is passed as its real ARN, path included: role/DeadlineSpot* does not match
    role/render/DeadlineSpotRender (IAM JSON policy elements: Resource)."""
    converge(endpoint)
    role = iam.create_role(
        RoleName="DeadlineSpotRender", Path="/render/", AssumeRolePolicyDocument=json.dumps(SPOT_FLEET_TRUST)
    )
    group = {"IamFleetRole": role["Role"]["Arn"], "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": PROFILE}}]}
    found, _ = fleet_findings(endpoint, {"pathed": group})
    (problem,) = found["pathed"].problems
    assert problem.startswith(
        f"IamFleetRole {IAM}:role/render/DeadlineSpotRender: the Spot credentials may not pass it"
    )


def test_a_passrole_grant_on_the_users_own_name_covers_roles_named_after_it(endpoint, iam) -> None:
    """Variables and tags: "When this policy is evaluated, IAM replaces the variable ${aws:username} with the friendly
    name of the actual current user." Only for roles named after the Spot user."""
    converge(endpoint)
    put_inline(
        iam,
        "OwnRoles",
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::*:role/${aws:username}-*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
    )
    groups = {}
    for owner in (USER, "SomeoneElse"):
        role = f"{owner}-render"
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
        iam.create_instance_profile(InstanceProfileName=role)
        iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
        groups[owner] = {
            "IamFleetRole": FLEET_ROLE,
            "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": f"{IAM}:instance-profile/{role}"}}],
        }
    found, _ = fleet_findings(endpoint, groups)
    assert found[USER].status is Status.OK, found[USER]
    assert "holds role SomeoneElse-render: the Spot credentials may not pass it" in found["SomeoneElse"].problems[0]


def test_a_groups_launch_is_asked_about_on_its_own_image_and_subnet(endpoint, iam) -> None:
    """RunInstances "requires an AMI" ... "Launching into a VPC requires a subnet" (Amazon EC2 User Guide)."""
    converge(endpoint)
    put_inline(
        iam,
        "NoOldImage",
        {"Sid": "NoOldAmi", "Effect": "Deny", "Action": "ec2:*", "Resource": "arn:aws:ec2:*::image/ami-0old"},
    )
    spec = {"IamInstanceProfile": {"Arn": PROFILE}, "ImageId": "ami-0old", "SubnetId": "subnet-1, subnet-2"}
    found, plan = fleet_findings(endpoint, {"old": {"IamFleetRole": FLEET_ROLE, "LaunchSpecifications": [spec]}})
    problems = found["old"].problems
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        "cannot request group old's Spot Fleet (LaunchSpecifications[0]) (ec2:RequestSpotFleet on"
    )
    assert problems[1].startswith("cannot launch group old's workers (LaunchSpecifications[0]) (ec2:RunInstances on")
    assert all("image/ami-0old" in p and "subnet/subnet-2" in p and "statement NoOldAmi" in p for p in problems)
    assert plan.finding(Kind.PERMISSIONS).status is Status.OK  # no image is named there

"""The permission chain: the requests the Spot Event Plugin makes, as IAM authorizes them, with the condition keys
the check knows filled in and the others declared unknown; the verdicts and their wording."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from DeadlineSpotIamSetup.desired import Settings, SpotPermissions, desired_state
from DeadlineSpotIamSetup.fleet_config import LaunchSpec, parse_fleet_config
from DeadlineSpotIamSetup.kinds import Kind
from DeadlineSpotIamSetup.permission_chain import (
    Caller,
    Judge,
    Step,
    caller_of,
    chain_steps,
    describe_hinge,
    ec2_request,
    group_steps,
    iam_request,
    launch_requests,
    remedy,
)
from DeadlineSpotIamSetup.policy_eval import ALLOWED, CONDITIONAL, DENIED, Hinge, OneOf, PolicySource, evaluate
from DeadlineSpotIamSetup.values import PrincipalPolicies

ACCOUNT = "123456789012"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/RcsInstanceRole"


DEFAULTS = Settings()


def identity(settings: Settings = DEFAULTS) -> SpotPermissions:
    return next(i for i in desired_state(settings) if i.kind is Kind.PERMISSIONS)


def grants(*statements: dict, arn: str = USER_ARN, boundary: list[dict] | None = None) -> PrincipalPolicies:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    bounded = None if boundary is None else ("permissions boundary B", {"Version": "2012-10-17", "Statement": boundary})
    return PrincipalPolicies(
        arn, (("inline policy P of user U", document),), bounded, frozenset(), "AIDAEXAMPLE", (("team", "render"),)
    )


def user_caller(**changes) -> Caller:
    return replace(caller_of(identity(), grants(), None, NOW), **changes)


EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}


# The request context


def test_a_users_requests_carry_what_iam_puts_in_them_for_an_access_key():
    request = iam_request(user_caller(), "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/R")
    context = dict(request.context)
    assert context["aws:username"] == "DeadlineSpotEventPluginAdmin"
    assert context["aws:userid"] == "AIDAEXAMPLE"
    assert context["aws:PrincipalType"] == "User"
    assert context["aws:PrincipalArn"] == USER_ARN and context["aws:PrincipalAccount"] == ACCOUNT
    assert context["aws:PrincipalTag/team"] == "render"
    assert context["aws:CurrentTime"] == "2026-12-02T10:00:00Z" and context["aws:EpochTime"] == "1796205600"
    assert context["aws:SecureTransport"] == "true" and context["aws:ViaAWSService"] == "false"
    assert context["aws:RequestedRegion"] == "us-east-1"  # "IAM calls are always made to the us-east-1 Region"
    # "The key is not present in ... AWS SDK requests that are made using long-term credentials."
    assert "aws:MultiFactorAuthPresent" not in context and "aws:MultiFactorAuthPresent" not in request.unknown
    assert {"aws:SourceIp", "aws:SourceVpc", "aws:SourceVpce"} <= set(request.unknown)


def test_a_roles_session_details_are_unknown_but_its_arn_and_tags_are_known():
    role = caller_of(identity(Settings(spot_role="RcsInstanceRole")), grants(arn=ROLE_ARN), None, NOW)
    request = iam_request(role, "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/R")
    assert request.context["aws:PrincipalType"] == "AssumedRole"
    assert request.context["aws:PrincipalArn"] == ROLE_ARN
    assert request.context["aws:PrincipalTag/team"] == "render"
    assert "aws:username" not in request.context
    assert {"aws:userid", "aws:MultiFactorAuthPresent", "aws:TokenIssueTime", "aws:PrincipalTag/*"} <= set(
        request.unknown
    )


def test_the_ip_restricted_mode_says_the_plugin_calls_from_one_of_its_networks():
    restricted = identity(Settings(allowed_source_ips=("203.0.113.0/24", "198.51.100.7")))
    caller = caller_of(restricted, grants(), None, NOW)
    request = iam_request(caller, "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/R")
    assert request.context["aws:SourceIp"] == OneOf(("203.0.113.0/24", "198.51.100.7/32"))
    assert "aws:SourceIp" not in request.unknown


def test_the_region_is_the_spot_plugins_else_the_checks_else_the_partitions_default():
    assert caller_of(identity(Settings(spot_region="eu-west-1")), grants(), "us-west-2", NOW).region == "eu-west-1"
    assert caller_of(identity(), grants(), "us-west-2", NOW).region == "us-west-2"
    assert caller_of(identity(), grants(), None, NOW).region == "us-east-1"
    china = grants(arn=f"arn:aws-cn:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin")
    assert caller_of(identity(), china, None, NOW).region == "cn-north-1"


def test_an_iam_call_outside_the_commercial_partition_has_its_region_declared_unknown():
    china = grants(arn=f"arn:aws-cn:iam::{ACCOUNT}:user/DeadlineSpotEventPluginAdmin")
    request = iam_request(caller_of(identity(), china, None, NOW), "iam:GetRole", "arn:aws-cn:iam::1:role/R")
    assert "aws:RequestedRegion" in request.unknown


def test_an_ec2_request_names_its_region_and_declares_its_resource_types_keys_unknown():
    caller = user_caller(region="us-west-2")
    instance = ec2_request(caller, "ec2:RunInstances", "instance", "i-1", {"ec2:InstanceType": "c5.large"})
    assert instance.resource == f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-1"
    assert instance.context["ec2:Region"] == instance.context["aws:RequestedRegion"] == "us-west-2"
    assert instance.context["ec2:InstanceType"] == "c5.large"
    assert "ec2:InstanceType" not in instance.unknown and "ec2:Tenancy" in instance.unknown
    subnet = ec2_request(caller, "ec2:RunInstances", "subnet", "subnet-1", {"ec2:SubnetID": "subnet-1"})
    assert "ec2:InstanceType" not in subnet.unknown and "ec2:InstanceType" not in subnet.context  # absent there
    image = ec2_request(caller, "ec2:RunInstances", "image", "ami-1")
    assert image.resource == "arn:aws:ec2:us-west-2::image/ami-1"  # no account in an AMI's ARN
    assert ec2_request(caller, "ec2:DescribeSpotFleetRequests", None).resource == "*"


def launch_verdict(condition: dict, spec: LaunchSpec | None) -> str:
    """The verdict of launching under one Allow of RunInstances on "*" with this condition."""
    statement = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": condition}
    return Judge(grants(statement)).step(Step("launch", launch_requests(user_caller(), spec))).verdict


def test_an_instance_type_condition_without_if_exists_refuses_the_launch_as_iam_documents():
    """Condition operators, ...IfExists: "The entire statement is evaluated against every resource that is required
    to launch the instance. These additional resources do not have the ec2:InstanceType condition key, so the
    StringLike check fails, and the user is not granted the ability to launch any instance type." """
    spec = LaunchSpec("LaunchSpecifications[0]", "ami-1", "t2.large", ("subnet-1",))
    assert launch_verdict({"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*"]}}, spec) == DENIED
    assert launch_verdict({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}, spec) == ALLOWED
    assert launch_verdict({"StringLikeIfExists": {"ec2:InstanceType": ["p3.*"]}}, spec) == DENIED
    # Without a launch specification the instance type is not known: the verdict hangs on it.
    assert launch_verdict({"StringLikeIfExists": {"ec2:InstanceType": ["t2.*"]}}, None) == CONDITIONAL


# The steps


def test_run_instances_is_asked_about_on_what_it_creates_and_what_the_group_names():
    spec = LaunchSpec("LaunchSpecifications[0]", "ami-1", "c5.large", ("subnet-1", "subnet-2"), ("sg-1",), "render")
    resources = [r.resource.split(":", 5)[5] for r in launch_requests(user_caller(), spec)]
    assert [r.split("/")[0] for r in resources] == [
        "instance",
        "network-interface",
        "volume",
        "image",
        "subnet",
        "subnet",
        "security-group",
        "key-pair",
    ]
    assert "key-pair/render" in resources and "image/ami-1" in resources


def test_the_chain_asks_every_call_of_the_spot_plugin_once():
    steps = chain_steps(identity(), user_caller())
    calls = [step.call for step in steps]
    assert calls[0] == "ec2:RequestSpotFleet on spot-fleet-request/*"
    assert "ec2:RunInstances on instance/*, network-interface/*, volume/*" in calls
    assert "iam:PassRole on role/DeadlineSpotWorker" in calls
    assert "iam:PassRole on role/DeadlineResourceTrackerAccessRole" in calls
    assert len(calls) == len(set(calls)) == 17


def test_the_chain_does_not_ask_for_service_linked_roles_the_organisation_creates():
    created_here = [step.purpose for step in chain_steps(identity(), user_caller())]
    assert "create AWSServiceRoleForEC2Spot when it is missing" in created_here
    organisation = identity(Settings(service_linked_roles=False))
    steps = chain_steps(organisation, caller_of(organisation, grants(), None, NOW))
    assert [step.purpose for step in steps] == [
        purpose for purpose in created_here if "AWSServiceRoleFor" not in purpose
    ]


def test_a_groups_steps_name_its_launch_specifications_resources():
    config = {
        "gpu": {
            "IamFleetRole": f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role",
            "LaunchSpecifications": [{"ImageId": "ami-1", "SubnetId": "subnet-1"}],
        }
    }
    (group,) = parse_fleet_config(json.dumps(config), "config")
    request, launch = group_steps(group, user_caller())
    assert request.call == "ec2:RequestSpotFleet on spot-fleet-request/*, image/ami-1, subnet/subnet-1"
    assert launch.purpose == "launch group gpu's workers (LaunchSpecifications[0])"


# Verdicts and their words


def test_a_step_is_refused_by_its_first_refused_request():
    deny_subnets = {"Sid": "NoSubnets", "Effect": "Deny", "Action": "*", "Resource": "arn:aws:ec2:*:*:subnet/*"}
    spec = LaunchSpec("LaunchSpecifications[0]", "ami-1", None, ("subnet-1",))
    judged = Judge(grants(EVERYTHING, deny_subnets)).step(
        Step("launch the workers", launch_requests(user_caller(), spec))
    )
    assert judged.verdict == DENIED
    assert judged.decision.denied_by == ("inline policy P of user U statement NoSubnets",)
    assert judged.problem().startswith("cannot launch the workers (ec2:RunInstances on instance/*, ")


def test_a_conditional_step_says_what_it_hangs_on_and_the_remedy_what_to_make_sure_of():
    office = {"Sid": "AllowFromOffice", **EVERYTHING, "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    judged = Judge(grants(office)).steps(chain_steps(identity(), user_caller()))
    assert {j.verdict for j in judged} == {CONDITIONAL}
    assert judged[0].problem() == (
        "request a Spot Fleet (ec2:RequestSpotFleet on spot-fleet-request/*): allowed only if the RCS/Pulse machine "
        "calls from 203.0.113.0/24 (inline policy P of user U statement AllowFromOffice)"
    )
    assert remedy(judged[0], identity()).startswith("make sure it holds on every machine running RCS/Pulse")
    outside = {"Sid": "NotOutside", "Effect": "Deny", "Action": "*", "Resource": "*"}
    outside["Condition"] = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    (first, *_) = Judge(grants(EVERYTHING, outside)).steps(chain_steps(identity(), user_caller()))
    assert first.problem().endswith(
        ": denied if the RCS/Pulse machine calls from outside 203.0.113.0/24 "
        "(inline policy P of user U statement NotOutside)"
    )
    assert remedy(first, identity()).startswith("make sure that condition does not hold")


def test_a_grant_that_ends_within_thirty_days_is_a_note_with_its_end():
    until = {
        "Sid": "UntilNewYear",
        **EVERYTHING,
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}},
    }
    judged = Judge(grants(until)).step(chain_steps(identity(), user_caller())[0])
    assert judged.verdict == ALLOWED and judged.problem() is None
    assert judged.note() == (
        "request a Spot Fleet (ec2:RequestSpotFleet on spot-fleet-request/*) is allowed only until "
        "2027-01-01T00:00:00Z (inline policy P of user U statement UntilNewYear)"
    )
    later = {**until, "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-06-01T00:00:00Z"}}}
    assert Judge(grants(later)).step(chain_steps(identity(), user_caller())[0]).note() is None


@pytest.mark.parametrize(
    ("decision_statements", "boundary", "expected"),
    [
        ([EVERYTHING, {"Effect": "Deny", "Action": "*", "Resource": "*"}], None, "remove or narrow that Deny"),
        (
            [EVERYTHING],
            [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            "allow it in the permissions boundary",
        ),
        (
            [{**EVERYTHING, "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-central-1"}}}],
            None,
            "change that statement's condition",
        ),
        ([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], None, "attach AWSThinkboxDeadlineSpotEventPlugin"),
    ],
)
def test_the_remedy_follows_what_refuses_the_call(decision_statements, boundary, expected):
    judged = Judge(grants(*decision_statements, boundary=boundary)).step(chain_steps(identity(), user_caller())[0])
    assert judged.verdict == DENIED
    assert remedy(judged, identity()).startswith(expected)


@pytest.mark.parametrize(
    ("hinge", "words"),
    [
        (Hinge("aws:SourceIp", "IpAddress", ("203.0.113.0/24",)), "the RCS/Pulse machine calls from 203.0.113.0/24"),
        (
            Hinge("aws:SourceIp", "NotIpAddressIfExists", ("10.0.0.0/8",)),
            "the RCS/Pulse machine calls from outside 10.0.0.0/8",
        ),
        (Hinge("AWS:SOURCEIP", "Null", ("true",)), "the RCS/Pulse machine calls AWS through a VPC endpoint"),
        (
            Hinge("aws:SourceVpce", "StringEquals", ("vpce-1",)),
            "the RCS/Pulse machine calls through VPC endpoint vpce-1",
        ),
        (Hinge("aws:SourceVpc", "StringNotEquals", ("vpc-1",)), "the RCS/Pulse machine calls not through VPC vpc-1"),
        (
            Hinge("aws:MultiFactorAuthPresent", "Bool", ("true",)),
            "the Spot credentials' session was authenticated with MFA",
        ),
        (Hinge("aws:CurrentTime", "DateLessThan", ("2027-01-01",)), "the time is DateLessThan 2027-01-01"),
        (Hinge("aws:PrincipalOrgID", "StringEquals", ("o-1",)), "aws:PrincipalOrgID StringEquals o-1"),
    ],
)
def test_conditions_are_worded_for_the_spot_plugins_setup(hinge, words):
    assert describe_hinge(hinge).startswith(words)


def test_the_judge_compiles_the_documents_once_for_every_step():
    judge = Judge(grants(EVERYTHING))
    steps = chain_steps(identity(), user_caller())
    assert all(j.verdict == ALLOWED for j in judge.steps(steps))
    request = steps[0].requests[0]
    assert evaluate(request, judge.policies) == evaluate(
        request, [PolicySource("inline policy P of user U", {"Version": "2012-10-17", "Statement": [EVERYTHING]})]
    )

"""Identity-based policies evaluated for one request: what a decision names (statements, conditions it hangs on),
how it is explained, documents read, the compiled policies, a grant's end, and the AWS managed policy of the Spot
Event Plugin. Each documented rule's verdicts are in test_policy_eval_rules.py."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from DeadlineSpotIamSetup.policy_eval import (
    ALLOWED,
    CONDITIONAL,
    DENIED,
    CompiledPolicies,
    Decision,
    Dependent,
    Hinge,
    OneOf,
    PolicySource,
    Request,
    compile_policies,
    evaluate,
    explain,
    grant_ends,
)

ACCOUNT = "123456789012"
WORKER = f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"
EC2 = {"iam:PassedToService": "ec2.amazonaws.com"}

# The AWS managed policy AWSThinkboxDeadlineSpotEventPluginAdminPolicy, as IAM returns it.
ADMIN_POLICY = {"Statement": [{"Action": ["ec2:CancelSpotFleetRequests", "ec2:DescribeSpotFleetInstances", "ec2:DescribeSpotFleetRequests", "ec2:ModifySpotFleetRequest", "ec2:RequestSpotFleet"], "Effect": "Allow", "Resource": ["*"]}, {"Action": ["ec2:CreateTags"], "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}}, "Effect": "Allow", "Resource": ["arn:aws:ec2:*:*:instance/*"]}, {"Action": ["ec2:RunInstances"], "Effect": "Allow", "Resource": ["*"]}, {"Action": ["ec2:TerminateInstances"], "Condition": {"StringLike": {"ec2:ResourceTag/aws:ec2spot:fleet-request-id": "*"}}, "Effect": "Allow", "Resource": ["arn:aws:ec2:*:*:instance/*"]}, {"Action": ["iam:CreateServiceLinkedRole"], "Condition": {"StringEquals": {"iam:AWSServiceName": ["spot.amazonaws.com", "spotfleet.amazonaws.com"]}}, "Effect": "Allow", "Resource": ["arn:aws:iam::*:role/aws-service-role/*"]}, {"Action": ["iam:GetInstanceProfile"], "Effect": "Allow", "Resource": ["arn:aws:iam::*:instance-profile/*"]}, {"Action": ["iam:GetRole"], "Effect": "Allow", "Resource": ["arn:aws:iam::*:role/aws-ec2-spot-fleet-tagging-role", "arn:aws:iam::*:role/DeadlineSpot*"]}, {"Action": ["iam:GetUser"], "Effect": "Allow", "Resource": ["*"]}, {"Action": ["iam:PassRole"], "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com"}}, "Effect": "Allow", "Resource": ["arn:aws:iam::*:role/aws-ec2-spot-fleet-tagging-role", "arn:aws:iam::*:role/DeadlineSpot*"]}], "Version": "2012-10-17"}  # noqa: E501 # fmt: skip
ADMIN_LABEL = "AWS managed policy AWSThinkboxDeadlineSpotEventPluginAdminPolicy v5"


def statement(action="*", resource="*", effect="Allow", condition=None, **extra):
    found = {"Effect": effect, **extra}
    if action is not None:
        found["Action"] = action
    if resource is not None:
        found["Resource"] = resource
    if condition is not None:
        found["Condition"] = condition
    return found


def source(*statements, label="inline policy P of user U"):
    return PolicySource(label, {"Version": "2012-10-17", "Statement": list(statements)})


def decide(request, *statements, boundary=None):
    return evaluate(request, [source(*statements)], boundary)


def allows(action, resource, *statements, context=None):
    return decide(Request(action, resource, context or {}), *statements).allowed


OFFICE = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
SOURCE_IP = ("aws:SourceIp",)


# Decisions name what they hang on


def test_an_allow_on_a_declared_unknown_key_is_conditional_and_names_the_statement_and_condition():
    ip_only = statement(action="iam:PassRole", condition=OFFICE, Sid="AllowFromOffice")
    decision = decide(Request("iam:PassRole", WORKER, EC2, SOURCE_IP), ip_only)
    assert decision.verdict == CONDITIONAL and not decision.allowed
    assert decision.allowed_by == ()
    hinge = Hinge("aws:SourceIp", "IpAddress", ("203.0.113.0/24",))
    assert decision.allowed_if == (Dependent("inline policy P of user U statement AllowFromOffice", (hinge,)),)
    assert decision.unknown_keys == ("aws:SourceIp",)


def test_a_key_neither_given_nor_declared_unknown_is_absent():
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(condition=OFFICE))
    assert decision.verdict == DENIED
    assert decision.allowed_if == () and decision.unknown_keys == ()


def test_a_known_condition_that_fails_outweighs_an_unknown_one():
    condition = {**OFFICE, "StringEquals": {"iam:PassedToService": "x"}}
    decision = decide(Request("iam:PassRole", WORKER, EC2, SOURCE_IP), statement(condition=condition))
    assert decision.verdict == DENIED
    assert decision.allowed_if == () and decision.unknown_keys == ()


def test_the_keys_a_verdict_hangs_on_are_sorted_and_unique():
    condition = {"StringEquals": {"aws:username": "spot", "aws:PrincipalTag/team": "render"}, **OFFICE}
    second = {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}
    unknown = ("aws:SourceIp", "aws:username", "aws:PrincipalTag/*")
    decision = decide(
        Request("s3:GetObject", "*", {}, unknown), statement(condition=condition), statement(condition=second)
    )
    assert decision.unknown_keys == ("aws:PrincipalTag/team", "aws:SourceIp", "aws:username")


def test_an_outright_allow_makes_a_conditional_one_irrelevant():
    decision = decide(
        Request("iam:GetUser", "*", {}, SOURCE_IP), statement(condition=OFFICE), statement(action="iam:GetUser")
    )
    assert decision.verdict == ALLOWED
    assert decision.allowed_by == ("inline policy P of user U statement #2",)
    assert [d.statement for d in decision.allowed_if] == ["inline policy P of user U statement #1"]
    assert decision.hanging_on == () and decision.unknown_keys == ()


def test_an_operator_iam_does_not_document_is_never_assumed_to_hold():
    condition = {"StringSoundsLike": {"aws:username": "spot"}}
    decision = decide(Request("iam:GetUser", "*", {"aws:username": "spot"}), statement(condition=condition))
    assert decision.verdict == CONDITIONAL
    assert decision.unknown_keys == ("aws:username",)


def test_a_deny_on_a_declared_unknown_key_makes_the_verdict_conditional():
    outside_office = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    deny = statement(effect="Deny", Sid="OnlyFromOffice", condition=outside_office)
    decision = decide(Request("iam:PassRole", WORKER, EC2, SOURCE_IP), statement(), deny)
    assert decision.verdict == CONDITIONAL
    assert decision.denied_by == ()
    assert decision.may_be_denied_by == ("inline policy P of user U statement OnlyFromOffice",)
    assert decision.unknown_keys == ("aws:SourceIp",)


def test_a_deny_of_another_action_does_not_apply():
    decision = decide(Request("iam:GetUser", "*"), statement(), statement(action="iam:PassRole", effect="Deny"))
    assert decision.allowed
    assert decision.denied_by == ()


def test_a_request_no_statement_covers_is_denied_naming_nothing():
    decision = decide(Request("s3:GetObject", "*"), statement(action="iam:*"))
    assert decision == Decision(DENIED)


def test_an_explicit_deny_names_every_statement_that_allows_and_denies():
    decision = decide(
        Request("iam:PassRole", WORKER, EC2),
        statement(action="iam:*"),
        statement(action="iam:PassRole", effect="Deny", Sid="DenyPass"),
    )
    assert decision.verdict == DENIED
    assert decision.allowed_by == ("inline policy P of user U statement #1",)
    assert decision.denied_by == ("inline policy P of user U statement DenyPass",)


def test_a_deny_in_another_policy_applies_too():
    request = Request("iam:PassRole", WORKER, EC2)
    lockdown = source(statement(effect="Deny", Sid="DenyAll"), label="inline policy Lockdown of user X")
    decision = evaluate(request, [source(statement()), lockdown])
    assert not decision.allowed
    assert decision.denied_by == ("inline policy Lockdown of user X statement DenyAll",)


# Permissions boundary


def test_a_boundary_that_allows_the_request_lets_the_policy_decide():
    boundary = [source(statement(action="iam:*"), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), boundary=boundary)
    assert decision.allowed
    assert not decision.boundary_blocks
    assert decision.allowed_by == ("inline policy P of user U statement #1",)


def test_allowed_by_the_policy_but_not_the_boundary_is_blocked():
    boundary = [source(statement(action="ec2:*"), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), boundary=boundary)
    assert not decision.allowed
    assert decision.boundary_blocks
    assert decision.denied_by == ()


def test_a_deny_in_the_boundary_is_named():
    boundary = [source(statement(), statement(action="iam:PassRole", effect="Deny"), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), boundary=boundary)
    assert not decision.allowed
    assert decision.denied_by == ("permissions boundary B statement #2",)


def test_an_empty_boundary_allows_nothing_and_no_boundary_limits_nothing():
    request = Request("iam:PassRole", WORKER, EC2)
    assert decide(request, statement(), boundary=[]).boundary_blocks
    assert not decide(request, statement(), boundary=[]).allowed
    assert decide(request, statement(), boundary=None).allowed


def test_a_boundary_that_hangs_on_a_declared_unknown_key_is_named():
    boundary = [source(statement(condition=OFFICE), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2, SOURCE_IP), statement(), boundary=boundary)
    assert decision.verdict == CONDITIONAL
    assert [d.statement for d in decision.hanging_on] == ["permissions boundary B statement #1"]
    assert decision.unknown_keys == ("aws:SourceIp",)


# Documents


def test_a_single_statement_dict_and_string_elements_are_read():
    document = {"Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": WORKER}}
    assert evaluate(Request("iam:PassRole", WORKER), [PolicySource("p", document)]).allowed


def test_a_url_encoded_json_document_is_read():
    document = quote(json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    assert evaluate(Request("iam:GetUser", "*"), [PolicySource("p", document)]).allowed


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"Statement": None},
        {"Statement": "Allow everything"},
        {"Statement": [None, 3, "x", ["Allow"]]},
        {"Statement": [{"Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": "yes"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": "x"}}]},
        {"Statement": [{"Effect": "Allow", "Action": [1, None], "Resource": "*"}]},
        "not json",
        "",
        None,
        "[1, 2]",
    ],
)
def test_malformed_documents_allow_nothing_and_do_not_raise(document):
    decision = evaluate(Request("iam:GetUser", "*", {"aws:SourceIp": "203.0.113.1"}), [PolicySource("p", document)])
    assert not decision.allowed
    assert decision.allowed_by == ()


def test_statement_names_use_the_sid_or_the_position_among_all_statements():
    document = {"Statement": ["junk", {"Effect": "Allow", "Action": "*", "Resource": "*"}, statement(Sid="Named")]}
    decision = evaluate(Request("iam:GetUser", "*"), [PolicySource("policy X", document)])
    assert decision.allowed_by == ("policy X statement #2", "policy X statement Named")


def test_compiled_policies_decide_as_the_documents_do_for_many_requests():
    documents = [
        source(statement(action=["ec2:Describe*", "iam:Get*"]), statement(effect="Deny", action="iam:GetRole"))
    ]
    compiled = compile_policies(documents)
    assert isinstance(compiled, CompiledPolicies) and compile_policies(compiled) is compiled
    for action in ("ec2:DescribeImages", "iam:GetUser", "iam:GetRole", "iam:PassRole", "s3:GetObject"):
        request = Request(action, "*")
        assert evaluate(request, compiled) == evaluate(request, documents)


def test_an_action_list_of_thousands_is_matched_by_service_and_pattern():
    actions = [f"svc{n}:Get*" for n in range(3000)] + ["ec2:Describe*", "ec2:GetConsoleOutput", "*:ListTags*"]
    compiled = compile_policies([source(statement(action=actions))])
    assert evaluate(Request("ec2:DescribeSpotFleetRequests", "*"), compiled).allowed
    assert evaluate(Request("ec2:getconsoleoutput", "*"), compiled).allowed
    assert evaluate(Request("svc2999:GetThing", "*"), compiled).allowed
    assert evaluate(Request("iam:ListTagsForRole", "*"), compiled).allowed
    assert not evaluate(Request("ec2:RunInstances", "*"), compiled).allowed
    assert not evaluate(Request("svc3000:GetThing", "*"), compiled).allowed


# Request and explain


def test_request_describe_shows_action_resource_and_context():
    assert Request("iam:PassRole", WORKER, EC2).describe() == (
        f"iam:PassRole on {WORKER} (iam:PassedToService=ec2.amazonaws.com)"
    )
    assert Request("iam:GetUser", "*").describe() == "iam:GetUser on *"
    ranges = Request("iam:GetUser", "*", {"aws:SourceIp": OneOf(("203.0.113.0/24", "198.51.100.0/24"))})
    assert ranges.describe() == "iam:GetUser on * (aws:SourceIp=one of [203.0.113.0/24, 198.51.100.0/24])"


def test_a_request_is_hashable_even_with_a_list_context_value():
    request = Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]})
    assert hash(request) == hash(Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]}))
    assert request == Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]})
    assert request.context["aws:TagKeys"] == ("a", "b")


def test_with_context_replaces_a_key_whatever_its_case():
    request = Request("s3:GetObject", "*", {"AWS:CurrentTime": "2026-01-01T00:00:00Z"}, SOURCE_IP)
    later = request.with_context({"aws:CurrentTime": "2026-02-01T00:00:00Z"})
    assert dict(later.context) == {"aws:CurrentTime": "2026-02-01T00:00:00Z"}
    assert later.unknown == SOURCE_IP


def test_explain_is_empty_when_allowed():
    request = Request("iam:GetUser", "*")
    assert explain(decide(request, statement()), request) == ""


def test_explain_names_the_denying_statement():
    request = Request("iam:PassRole", WORKER, EC2)
    lockdown = source(statement(effect="Deny", Sid="DenyPass"), label="inline policy Lockdown of user X")
    decision = evaluate(request, [source(statement()), lockdown])
    assert explain(decision) == "explicitly denied by inline policy Lockdown of user X statement DenyPass"


def test_explain_says_when_no_policy_allows():
    request = Request("iam:PassRole", WORKER, EC2)
    assert explain(decide(request, statement(action="ec2:*"))) == "not allowed by any attached policy"


def test_explain_says_when_the_boundary_blocks():
    request = Request("iam:PassRole", WORKER, EC2)
    decision = decide(request, statement(), boundary=[])
    assert explain(decision) == "allowed by the policies but not by the permissions boundary"


def test_explain_says_what_a_conditional_verdict_hangs_on_in_the_words_given():
    allow_office = statement(condition=OFFICE, Sid="AllowFromOffice")
    deny_vpc = statement(effect="Deny", condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}, Sid="OnlyVpc")
    request = Request("iam:PassRole", WORKER, EC2, ("aws:SourceIp", "aws:SourceVpc"))
    decision = decide(request, allow_office, deny_vpc)
    assert explain(decision) == (
        "allowed only if aws:SourceIp IpAddress 203.0.113.0/24 (inline policy P of user U statement AllowFromOffice); "
        "denied if aws:SourceVpc StringNotEquals vpc-1 (inline policy P of user U statement OnlyVpc)"
    )
    assert explain(decision, lambda hinge: f"<{hinge.key}>").startswith("allowed only if <aws:SourceIp> (")


# A grant's end

NOW = "2026-12-02T10:00:00Z"


def until(moment, operator="DateLessThan", key="aws:CurrentTime", effect="Allow"):
    return statement(effect=effect, condition={operator: {key: moment}}, Sid="TimeBoxed")


def test_a_grant_ending_within_the_window_names_its_end():
    request = Request("s3:GetObject", "*", {"aws:CurrentTime": NOW})
    assert grant_ends(request, [source(until("2026-12-20T00:00:00Z"))]) == datetime(2026, 12, 20, tzinfo=timezone.utc)


def test_a_grant_ending_after_the_window_has_no_end_to_report():
    request = Request("s3:GetObject", "*", {"aws:CurrentTime": NOW})
    assert grant_ends(request, [source(until("2027-03-01T00:00:00Z"))]) is None
    assert grant_ends(request, [source(until("2027-03-01T00:00:00Z"))], within=timedelta(days=100)) is not None


def test_a_grant_that_has_already_ended_or_never_ends_has_no_end_to_report():
    request = Request("s3:GetObject", "*", {"aws:CurrentTime": NOW})
    assert grant_ends(request, [source(until("2026-01-01T00:00:00Z"))]) is None
    assert grant_ends(request, [source(statement())]) is None


def test_a_grant_ends_by_epoch_time_by_a_deny_from_a_date_and_by_the_boundary():
    request = Request("s3:GetObject", "*", {"aws:CurrentTime": NOW, "aws:EpochTime": "1796205600"})
    by_epoch = until("1796300000", "NumericLessThan", "aws:EpochTime")
    assert grant_ends(request, [source(by_epoch)]) == datetime.fromtimestamp(1796300000, timezone.utc)
    deny_from = until("2026-12-10T00:00:00Z", "DateGreaterThanEquals", effect="Deny")
    assert grant_ends(request, [source(statement(), deny_from)]) == datetime(2026, 12, 10, tzinfo=timezone.utc)
    boundary = [source(until("2026-12-15T00:00:00Z"), label="boundary")]
    assert grant_ends(request, [source(statement())], boundary) == datetime(2026, 12, 15, tzinfo=timezone.utc)


def test_a_grant_kept_by_another_statement_does_not_end():
    request = Request("s3:GetObject", "*", {"aws:CurrentTime": NOW})
    assert grant_ends(request, [source(until("2026-12-20T00:00:00Z"), statement())]) is None


# The AWS managed policy of the Spot Event Plugin


def admin(document=None):
    return [PolicySource(ADMIN_LABEL, document or ADMIN_POLICY)]


def test_the_admin_policy_allows_passing_a_deadline_spot_role_to_ec2():
    decision = evaluate(Request("iam:PassRole", WORKER, EC2), admin())
    assert decision.allowed
    assert decision.allowed_by == (f"{ADMIN_LABEL} statement #9",)
    assert decision.unknown_keys == ()


def test_the_admin_policy_does_not_allow_passing_another_role():
    request = Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/MyWorker", EC2)
    decision = evaluate(request, admin())
    assert not decision.allowed
    assert explain(decision) == "not allowed by any attached policy"


def test_the_admin_policy_does_not_allow_passing_the_role_to_another_service():
    request = Request("iam:PassRole", WORKER, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not evaluate(request, admin()).allowed


def test_the_admin_policy_does_not_allow_passing_a_role_to_no_service():
    decision = evaluate(Request("iam:PassRole", WORKER), admin())
    assert decision.verdict == DENIED


def test_the_admin_policy_allows_its_unconditional_ec2_and_iam_reads():
    assert evaluate(Request("ec2:RequestSpotFleet", "*"), admin()).allowed
    tagging_role = f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role"
    assert evaluate(Request("iam:GetRole", tagging_role), admin()).allowed
    assert not evaluate(Request("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/Other"), admin()).allowed


def test_the_admin_policy_allows_creating_only_the_spot_service_linked_roles():
    resource = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/spotfleet.amazonaws.com/AWSServiceRoleForEC2SpotFleet"
    spot = Request("iam:CreateServiceLinkedRole", resource, {"iam:AWSServiceName": "spotfleet.amazonaws.com"})
    other = Request("iam:CreateServiceLinkedRole", resource, {"iam:AWSServiceName": "ecs.amazonaws.com"})
    assert evaluate(spot, admin()).allowed
    assert not evaluate(other, admin()).allowed


def test_the_ip_restricted_admin_policy_allows_only_from_the_allowed_networks():
    restricted = copy.deepcopy(ADMIN_POLICY)
    for each in restricted["Statement"]:
        if each["Effect"] == "Allow":
            each["Condition"] = {**each.get("Condition", {}), "IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}
    declared = evaluate(Request("iam:PassRole", WORKER, EC2, SOURCE_IP), admin(restricted))
    assert declared.verdict == CONDITIONAL and declared.unknown_keys == ("aws:SourceIp",)
    inside = evaluate(Request("iam:PassRole", WORKER, {**EC2, "aws:SourceIp": "203.0.113.9"}), admin(restricted))
    assert inside.allowed and inside.unknown_keys == ()
    outside = evaluate(Request("iam:PassRole", WORKER, {**EC2, "aws:SourceIp": "192.0.2.9"}), admin(restricted))
    assert outside.verdict == DENIED
    from_the_ranges = {**EC2, "aws:SourceIp": OneOf(("203.0.113.0/25", "203.0.113.128/25"))}
    assert evaluate(Request("iam:PassRole", WORKER, from_the_ranges), admin(restricted)).allowed


def test_explain_names_the_allow_statements_whose_conditions_the_request_does_not_meet():
    """Condition operators: "If the key that you specify in a policy condition is not present in the request context,
    the values do not match and the condition is false": the statement would allow the call, but does not apply."""
    region = statement(condition={"StringEquals": {"aws:RequestedRegion": "eu-central-1"}}, Sid="OnlyFrankfurt")
    mfa = statement(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}, Sid="WithMfa")
    request = Request("ec2:RunInstances", "*", {"aws:RequestedRegion": "us-west-2"})
    decision = decide(request, region, mfa, statement(action="s3:*"))
    assert decision.verdict == DENIED
    assert explain(decision) == (
        "not allowed by any attached policy (inline policy P of user U statement OnlyFrankfurt allows it only if "
        "aws:RequestedRegion StringEquals eu-central-1; inline policy P of user U statement WithMfa allows it only if "
        "aws:MultiFactorAuthPresent Bool true)"
    )
    boundary = [source(region, label="permissions boundary B")]
    blocked = decide(request, statement(), boundary=boundary)
    assert explain(blocked) == (
        "allowed by the policies but not by the permissions boundary (permissions boundary B statement OnlyFrankfurt "
        "allows it only if aws:RequestedRegion StringEquals eu-central-1)"
    )


def test_explain_says_separately_what_the_boundary_needs():
    boundary = [source(statement(condition=OFFICE, Sid="Office"), label="permissions boundary B")]
    request = Request("iam:PassRole", WORKER, EC2, ("aws:SourceIp", "aws:SourceVpc"))
    vpc = statement(condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}}, Sid="FromVpc")
    decision = decide(request, vpc, boundary=boundary)
    assert explain(decision) == (
        "allowed only if aws:SourceVpc StringEquals vpc-1 (inline policy P of user U statement FromVpc); the "
        "permissions boundary allows it only if aws:SourceIp IpAddress 203.0.113.0/24 (permissions boundary B "
        "statement Office)"
    )

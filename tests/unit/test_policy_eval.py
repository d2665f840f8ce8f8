"""Identity-based policies evaluated for one request, as IAM evaluates them."""

from __future__ import annotations

import copy
import json
from urllib.parse import quote

import pytest

from DeadlineSpotIamSetup.policy_eval import Decision, PolicySource, Request, evaluate, explain

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


def condition_holds(condition, context):
    """Whether an Allow with this condition block allows a request carrying this context."""
    decision = decide(Request("s3:GetObject", "*", context), statement(condition=condition))
    assert decision.unknown_keys == (), decision
    return decision.allowed


# Actions


def test_a_service_wildcard_action_matches_every_action_of_that_service():
    assert allows("iam:PassRole", WORKER, statement(action="iam:*"))
    assert not allows("ec2:RunInstances", "*", statement(action="iam:*"))


def test_star_and_question_mark_are_wildcards_in_an_action():
    assert allows("iam:PassRole", WORKER, statement(action="*"))
    assert allows("iam:PassRole", WORKER, statement(action="iam:Pass*"))
    assert allows("iam:PassRole", WORKER, statement(action="iam:P?ssRole"))
    assert not allows("iam:PassRole", WORKER, statement(action="iam:P?Role"))


def test_an_action_pattern_matches_the_whole_action_not_a_prefix():
    assert not allows("iam:PassRoleX", WORKER, statement(action="iam:PassRole"))
    assert not allows("iam:PassRole", WORKER, statement(action="iam:Pass"))


def test_actions_match_ignoring_case():
    assert allows("iam:PassRole", WORKER, statement(action="IAM:passrole"))
    assert allows("IAM:PASSROLE", WORKER, statement(action=["ec2:RunInstances", "iam:passRole"]))


def test_dots_and_brackets_in_an_action_pattern_are_not_special():
    assert not allows("iamXPassRole", WORKER, statement(action="iam.PassRole"))
    assert not allows("iam:P", WORKER, statement(action="iam:[P]"))


def test_not_action_matches_every_action_outside_its_patterns():
    not_iam = statement(action=None, NotAction=["iam:*"])
    assert allows("ec2:RunInstances", "*", not_iam)
    assert not allows("iam:PassRole", WORKER, not_iam)


def test_not_action_compares_ignoring_case():
    assert not allows("iam:PassRole", WORKER, statement(action=None, NotAction="IAM:PASSROLE"))


def test_a_statement_without_action_or_not_action_allows_nothing():
    assert not allows("iam:PassRole", WORKER, statement(action=None))


# Resources


def test_an_arn_pattern_with_wildcards_matches_by_segment():
    pattern = "arn:aws:iam::*:role/DeadlineSpot*"
    assert allows("iam:GetRole", WORKER, statement(resource=pattern))
    assert not allows("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/Other", statement(resource=pattern))


def test_a_wildcard_in_the_account_segment_does_not_span_a_colon():
    # Matched as one string, the "*" would cover "123456789012:log-group"; IAM matches segment by segment.
    resource = "arn:aws:logs:us-east-1:123456789012:log-group:deadline"
    assert not allows("logs:PutLogEvents", resource, statement(resource="arn:aws:logs:us-east-1:*:deadline"))
    assert allows("logs:PutLogEvents", resource, statement(resource="arn:aws:logs:us-east-1:*:log-group:deadline"))


def test_a_wildcard_in_the_region_segment_does_not_cover_the_account():
    assert not allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam:*:role/DeadlineSpotWorker"))


def test_a_wildcard_in_the_last_segment_covers_colons_inside_it():
    resource = "arn:aws:logs:us-east-1:123456789012:log-group:deadline:log-stream:worker"
    assert allows("logs:PutLogEvents", resource, statement(resource="arn:aws:logs:*:*:log-group:*"))


def test_an_empty_segment_in_the_pattern_matches_only_an_empty_segment():
    assert not allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam:us-east-1:*:role/*"))
    assert allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam::*:role/*"))


def test_resource_segments_match_case_sensitively():
    assert not allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam::*:role/deadlinespot*"))


def test_a_star_resource_matches_every_resource_and_star():
    assert allows("iam:GetRole", WORKER, statement(resource="*"))
    assert allows("ec2:DescribeSpotFleetRequests", "*", statement(resource=["*"]))


def test_an_arn_pattern_does_not_match_a_star_request_resource():
    assert not allows("ec2:RunInstances", "*", statement(resource="arn:aws:ec2:*:*:instance/*"))


def test_a_question_mark_matches_one_character_in_a_segment():
    assert allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam::12345678901?:role/DeadlineSpotWorker"))
    assert not allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam::?:role/DeadlineSpotWorker"))


def test_an_arn_pattern_with_fewer_than_six_segments_matches_nothing():
    assert not allows("iam:GetRole", WORKER, statement(resource="arn:aws:iam::*"))


def test_a_non_arn_pattern_is_matched_as_a_whole():
    assert allows("iam:GetRole", WORKER, statement(resource="*role/DeadlineSpot*"))
    assert not allows("iam:GetRole", WORKER, statement(resource="*role/Other"))


def test_not_resource_matches_every_resource_outside_its_patterns():
    outside_roles = statement(resource=None, NotResource="arn:aws:iam::*:role/*")
    assert allows("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/spot", outside_roles)
    assert not allows("iam:GetRole", WORKER, outside_roles)


def test_a_statement_without_resource_or_not_resource_allows_nothing():
    assert not allows("iam:GetRole", WORKER, statement(resource=None))


# Conditions: strings


def test_string_equals_holds_for_any_listed_value_and_is_case_sensitive():
    condition = {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}}
    assert condition_holds(condition, EC2)
    assert not condition_holds(condition, {"iam:PassedToService": "EC2.amazonaws.com"})


def test_string_not_equals_holds_only_when_no_listed_value_matches():
    condition = {"StringNotEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}}
    assert not condition_holds(condition, EC2)
    assert condition_holds(condition, {"iam:PassedToService": "ecs.amazonaws.com"})


def test_string_equals_ignore_case_and_its_negation():
    assert condition_holds({"StringEqualsIgnoreCase": {"aws:username": "SPOT"}}, {"aws:username": "spot"})
    assert not condition_holds({"StringNotEqualsIgnoreCase": {"aws:username": "SPOT"}}, {"aws:username": "spot"})
    assert condition_holds({"StringNotEqualsIgnoreCase": {"aws:username": "SPOT"}}, {"aws:username": "other"})


def test_string_like_and_string_not_like_use_wildcards():
    assert condition_holds({"StringLike": {"iam:PassedToService": "ec2.*"}}, EC2)
    assert not condition_holds({"StringLike": {"iam:PassedToService": "lambda.*"}}, EC2)
    assert condition_holds({"StringNotLike": {"iam:PassedToService": "lambda.*"}}, EC2)
    assert not condition_holds({"StringNotLike": {"iam:PassedToService": "ec2.?????????.com"}}, EC2)


def test_condition_keys_are_looked_up_ignoring_case():
    assert condition_holds({"StringEquals": {"IAM:PASSEDTOSERVICE": "ec2.amazonaws.com"}}, EC2)


def test_condition_operators_are_read_ignoring_case():
    assert condition_holds({"stringequals": {"iam:PassedToService": "ec2.amazonaws.com"}}, EC2)


# Conditions: ARNs, Bool, numbers


def test_arn_like_and_arn_equals_match_segment_by_segment():
    context = {"aws:SourceArn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:spot-fleet-request/sfr-1"}
    assert condition_holds({"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:*:spot-fleet-request/*"}}, context)
    assert condition_holds({"ArnEquals": {"aws:SourceArn": "arn:aws:ec2:us-west-2:*:spot-fleet-request/*"}}, context)
    assert not condition_holds({"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:spot-fleet-request/*"}}, context)


def test_arn_not_like_and_arn_not_equals_are_negations():
    context = {"aws:SourceArn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:spot-fleet-request/sfr-1"}
    assert not condition_holds({"ArnNotLike": {"aws:SourceArn": "arn:aws:ec2:*:*:*"}}, context)
    assert condition_holds({"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::*"}}, context)


def test_a_json_boolean_in_a_string_condition_reads_as_lowercase_text():
    assert condition_holds({"StringEquals": {"aws:ViaAWSService": True}}, {"aws:ViaAWSService": "true"})


def test_bool_compares_true_and_false_including_json_booleans():
    assert condition_holds({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "true"})
    assert condition_holds({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert not condition_holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"})


@pytest.mark.parametrize(
    ("operator", "wanted", "holds"),
    [
        ("NumericEquals", "10", True),
        ("NumericEquals", "11", False),
        ("NumericNotEquals", "11", True),
        ("NumericNotEquals", "10.0", False),
        ("NumericLessThan", "11", True),
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericLessThanEquals", "9", False),
        ("NumericGreaterThan", "9", True),
        ("NumericGreaterThan", "10", False),
        ("NumericGreaterThanEquals", 10, True),
        ("NumericGreaterThanEquals", "11", False),
    ],
)
def test_numeric_operators_compare_numbers(operator, wanted, holds):
    assert condition_holds({operator: {"s3:max-keys": wanted}}, {"s3:max-keys": "10"}) is holds


def test_a_numeric_condition_on_text_that_is_not_a_number_does_not_hold():
    assert not condition_holds({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"})


# Conditions: IP addresses


def test_ip_address_matches_an_ipv4_cidr():
    condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7"]}}
    assert condition_holds(condition, {"aws:SourceIp": "203.0.113.45"})
    assert condition_holds(condition, {"aws:SourceIp": "198.51.100.7"})
    assert not condition_holds(condition, {"aws:SourceIp": "198.51.100.8"})


def test_ip_address_matches_an_ipv6_cidr_and_never_crosses_versions():
    condition = {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}
    assert condition_holds(condition, {"aws:SourceIp": "2001:db8:1::5"})
    assert not condition_holds(condition, {"aws:SourceIp": "2001:db9::5"})
    assert not condition_holds({"IpAddress": {"aws:SourceIp": "::/0"}}, {"aws:SourceIp": "203.0.113.45"})


def test_not_ip_address_holds_outside_every_listed_network():
    condition = {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}
    assert condition_holds(condition, {"aws:SourceIp": "192.0.2.1"})
    assert not condition_holds(condition, {"aws:SourceIp": "203.0.113.1"})
    assert not condition_holds(condition, {"aws:SourceIp": "2001:db8::1"})


def test_an_ip_condition_on_a_value_that_is_not_an_address_does_not_hold():
    assert not condition_holds({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "somewhere"})


# Conditions: several, missing keys, sets


def test_all_operators_and_keys_of_a_statement_must_hold():
    condition = {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com", "aws:username": "spot"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    context = {**EC2, "aws:username": "spot", "aws:SourceIp": "203.0.113.1"}
    assert condition_holds(condition, context)
    assert not condition_holds(condition, {**context, "aws:username": "other"})
    assert not condition_holds(condition, {**context, "aws:SourceIp": "192.0.2.1"})


def test_if_exists_holds_when_the_key_is_missing_and_tests_it_when_present():
    condition = {"StringEqualsIfExists": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert condition_holds(condition, {})
    assert condition_holds(condition, EC2)
    assert not condition_holds(condition, {"iam:PassedToService": "lambda.amazonaws.com"})


def test_if_exists_works_with_negated_and_ip_operators():
    assert condition_holds({"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}, {})
    assert not condition_holds({"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "::1"})
    assert not condition_holds({"StringNotLikeIfExists": {"iam:PassedToService": "ec2*"}}, EC2)


def test_null_true_holds_only_for_a_missing_key_and_null_false_only_for_a_present_one():
    assert condition_holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not condition_holds({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01"})
    assert not condition_holds({"Null": {"aws:TokenIssueTime": "false"}}, {})
    assert condition_holds({"Null": {"aws:TokenIssueTime": False}}, {"aws:TokenIssueTime": "2024-01-01"})


def test_for_any_value_holds_when_one_context_value_matches():
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Deadline", "Owner"]}}
    assert condition_holds(condition, {"aws:TagKeys": ["Other", "Owner"]})
    assert not condition_holds(condition, {"aws:TagKeys": ["Other", "Cost"]})
    assert not condition_holds(condition, {"aws:TagKeys": []})


def test_for_all_values_holds_when_every_context_value_matches():
    condition = {"ForAllValues:StringLike": {"aws:TagKeys": ["Deadline*", "Owner"]}}
    assert condition_holds(condition, {"aws:TagKeys": ["DeadlineGroup", "Owner"]})
    assert not condition_holds(condition, {"aws:TagKeys": ["DeadlineGroup", "Cost"]})
    assert condition_holds(condition, {"aws:TagKeys": []})


def test_for_all_values_holds_vacuously_for_a_missing_key():
    assert condition_holds({"ForAllValues:StringEquals": {"aws:TagKeys": "Deadline"}}, {})


def test_for_any_value_on_a_missing_key_is_unknown():
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}
    decision = decide(Request("s3:GetObject", "*"), statement(condition=condition))
    assert decision.allowed
    assert decision.unknown_keys == ("aws:TagKeys",)


def test_a_set_operator_with_a_negated_operator_tests_each_value():
    condition = {"ForAllValues:StringNotEquals": {"aws:TagKeys": "Secret"}}
    assert condition_holds(condition, {"aws:TagKeys": ["Deadline", "Owner"]})
    assert not condition_holds(condition, {"aws:TagKeys": ["Deadline", "Secret"]})


def test_a_single_valued_operator_on_a_list_holds_when_any_value_matches():
    assert condition_holds({"StringEquals": {"aws:TagKeys": "Owner"}}, {"aws:TagKeys": ["Cost", "Owner"]})


# Unknown keys and operators


def test_an_allow_on_an_unknown_key_still_allows_and_names_the_key():
    ip_only = statement(action="iam:PassRole", condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    decision = decide(Request("iam:PassRole", WORKER, EC2), ip_only)
    assert decision.allowed
    assert decision.allowed_by == ("inline policy P of user U statement #1",)
    assert decision.unknown_keys == ("aws:SourceIp",)


def test_a_known_condition_that_fails_outweighs_an_unknown_one():
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "StringEquals": {"iam:PassedToService": "x"}}
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(condition=condition))
    assert not decision.allowed
    assert decision.allowed_by == ()
    assert decision.unknown_keys == ()


def test_unknown_keys_are_sorted_and_unique():
    condition = {
        "StringEquals": {"aws:username": "spot", "aws:PrincipalTag/team": "render"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    second = {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}
    decision = decide(Request("s3:GetObject", "*"), statement(condition=condition), statement(condition=second))
    assert decision.unknown_keys == ("aws:PrincipalTag/team", "aws:SourceIp", "aws:username")


def test_an_allow_without_unknown_keys_leaves_unknown_keys_empty():
    conditional = statement(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    decision = decide(Request("iam:GetUser", "*"), conditional, statement(action="iam:GetUser"))
    assert decision.allowed
    assert len(decision.allowed_by) == 2
    assert decision.unknown_keys == ()


def test_an_unsupported_operator_is_treated_as_an_unknown_key():
    condition = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    request = Request("iam:GetUser", "*", {"aws:CurrentTime": "2024-01-01T00:00:00Z"})
    decision = decide(request, statement(condition=condition))
    assert decision.allowed
    assert decision.unknown_keys == ("aws:CurrentTime",)


# Deny


def test_an_explicit_deny_beats_an_allow():
    decision = decide(
        Request("iam:PassRole", WORKER, EC2),
        statement(action="iam:*"),
        statement(action="iam:PassRole", effect="Deny", Sid="DenyPass"),
    )
    assert not decision.allowed
    assert decision.allowed_by == ("inline policy P of user U statement #1",)
    assert decision.denied_by == ("inline policy P of user U statement DenyPass",)


def test_a_deny_in_another_policy_applies_too():
    request = Request("iam:PassRole", WORKER, EC2)
    lockdown = source(statement(effect="Deny", Sid="DenyAll"), label="inline policy Lockdown of user X")
    decision = evaluate(request, [source(statement()), lockdown])
    assert not decision.allowed
    assert decision.denied_by == ("inline policy Lockdown of user X statement DenyAll",)


def test_a_deny_whose_condition_fails_does_not_apply():
    deny = statement(effect="Deny", condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), deny)
    assert decision.allowed
    assert decision.denied_by == ()
    assert decision.may_be_denied_by == ()


def test_a_deny_whose_condition_holds_applies():
    deny = statement(effect="Deny", condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
    request = Request("iam:PassRole", WORKER, {"iam:PassedToService": "lambda.amazonaws.com"})
    decision = decide(request, statement(), deny)
    assert not decision.allowed
    assert decision.denied_by == ("inline policy P of user U statement #2",)


def test_a_deny_on_an_unknown_key_may_deny_but_does_not_refuse():
    outside_office = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    deny = statement(effect="Deny", Sid="OnlyFromOffice", condition=outside_office)
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), deny)
    assert decision.allowed
    assert decision.denied_by == ()
    assert decision.may_be_denied_by == ("inline policy P of user U statement OnlyFromOffice",)
    assert decision.unknown_keys == ()


def test_a_deny_of_another_action_does_not_apply():
    decision = decide(Request("iam:GetUser", "*"), statement(), statement(action="iam:PassRole", effect="Deny"))
    assert decision.allowed
    assert decision.denied_by == ()


def test_a_request_no_statement_covers_is_not_allowed():
    decision = decide(Request("s3:GetObject", "*"), statement(action="iam:*"))
    assert not decision.allowed
    assert decision == Decision(False, (), (), (), (), False)


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


def test_allowed_by_the_boundary_alone_is_not_allowed():
    boundary = [source(statement(), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(action="ec2:*"), boundary=boundary)
    assert not decision.allowed
    assert not decision.boundary_blocks


def test_a_deny_in_the_boundary_denies():
    boundary = [source(statement(), statement(action="iam:PassRole", effect="Deny"), label="permissions boundary B")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), boundary=boundary)
    assert not decision.allowed
    assert decision.boundary_blocks
    assert decision.denied_by == ("permissions boundary B statement #2",)


def test_an_empty_boundary_allows_nothing_and_no_boundary_limits_nothing():
    request = Request("iam:PassRole", WORKER, EC2)
    assert decide(request, statement(), boundary=[]).boundary_blocks
    assert not decide(request, statement(), boundary=[]).allowed
    assert decide(request, statement(), boundary=None).allowed


def test_unknown_keys_of_the_boundary_are_reported():
    boundary = [source(statement(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), label="boundary")]
    decision = decide(Request("iam:PassRole", WORKER, EC2), statement(), boundary=boundary)
    assert decision.allowed
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


def test_malformed_condition_values_do_not_raise():
    condition = {
        "NumericLessThan": {"s3:max-keys": ["a", None]},
        "IpAddress": {"aws:SourceIp": ["not a network", {"x": 1}]},
    }
    assert not condition_holds(condition, {"s3:max-keys": "1", "aws:SourceIp": "203.0.113.1"})


def test_statement_names_use_the_sid_or_the_position_among_all_statements():
    document = {"Statement": ["junk", {"Effect": "Allow", "Action": "*", "Resource": "*"}, statement(Sid="Named")]}
    decision = evaluate(Request("iam:GetUser", "*"), [PolicySource("policy X", document)])
    assert decision.allowed_by == ("policy X statement #2", "policy X statement Named")


# Request and explain


def test_request_describe_shows_action_resource_and_context():
    assert Request("iam:PassRole", WORKER, EC2).describe() == (
        f"iam:PassRole on {WORKER} (iam:PassedToService=ec2.amazonaws.com)"
    )
    assert Request("iam:GetUser", "*").describe() == "iam:GetUser on *"


def test_a_request_is_hashable_even_with_a_list_context_value():
    request = Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]})
    assert hash(request) == hash(Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]}))
    assert request == Request("s3:GetObject", "*", {"aws:TagKeys": ["a", "b"]})
    assert request.context["aws:TagKeys"] == ("a", "b")


def test_explain_is_empty_when_allowed():
    request = Request("iam:GetUser", "*")
    assert explain(decide(request, statement()), request) == ""


def test_explain_names_the_denying_statement():
    request = Request("iam:PassRole", WORKER, EC2)
    lockdown = source(statement(effect="Deny", Sid="DenyPass"), label="inline policy Lockdown of user X")
    decision = evaluate(request, [source(statement()), lockdown])
    assert explain(decision, request) == "explicitly denied by inline policy Lockdown of user X statement DenyPass"


def test_explain_says_when_no_policy_allows():
    request = Request("iam:PassRole", WORKER, EC2)
    assert explain(decide(request, statement(action="ec2:*")), request) == "not allowed by any attached policy"


def test_explain_says_when_the_boundary_blocks():
    request = Request("iam:PassRole", WORKER, EC2)
    decision = decide(request, statement(), boundary=[])
    assert explain(decision, request).startswith("allowed by the policies but not by the permissions boundary")


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
    assert explain(decision, request) == "not allowed by any attached policy"


def test_the_admin_policy_does_not_allow_passing_the_role_to_another_service():
    request = Request("iam:PassRole", WORKER, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not evaluate(request, admin()).allowed


def test_the_admin_policy_needs_the_passed_to_service_key_to_be_known():
    decision = evaluate(Request("iam:PassRole", WORKER), admin())
    assert decision.allowed
    assert decision.unknown_keys == ("iam:PassedToService",)


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


def test_the_ip_restricted_admin_policy_allows_if_the_source_ip_condition_holds():
    restricted = copy.deepcopy(ADMIN_POLICY)
    for each in restricted["Statement"]:
        if each["Effect"] == "Allow":
            each["Condition"] = {**each.get("Condition", {}), "IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}
    decision = evaluate(Request("iam:PassRole", WORKER, EC2), admin(restricted))
    assert decision.allowed
    assert decision.unknown_keys == ("aws:SourceIp",)
    inside = evaluate(Request("iam:PassRole", WORKER, {**EC2, "aws:SourceIp": "203.0.113.9"}), admin(restricted))
    assert inside.allowed and inside.unknown_keys == ()
    outside = evaluate(Request("iam:PassRole", WORKER, {**EC2, "aws:SourceIp": "192.0.2.9"}), admin(restricted))
    assert not outside.allowed

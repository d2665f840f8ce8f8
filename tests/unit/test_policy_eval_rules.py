"""The evaluator against the IAM User Guide, one table row per documented rule and case. Each row names the page and
quotes the sentence it follows; the row's id says what it checks. A verdict is ``allowed`` (outright), ``denied``, or
``conditional`` (it hangs on a key the request declares unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from DeadlineSpotIamSetup.policy_eval import ALLOWED, CONDITIONAL, DENIED, OneOf, PolicySource, Request, evaluate

ACCOUNT = "123456789012"
WORKER = f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"
INSTANCE = f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-0123456789abcdef0"
LOG_STREAM = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:deadline:log-stream:worker"
OBJECT = "arn:aws:s3:::render-bucket/1/2/test/object.jpg"

# The IAM User Guide pages, and the sentences the rows follow.
RESOURCE = (
    'IAM JSON policy elements: Resource: "You can use wildcard characters (* and ?) within the individual segments of '
    'an ARN (the parts separated by colons)" ... "If the * wildcard is the last character of a resource ARN segment, '
    'it can expand to match beyond the colon boundaries."'
)
RESOURCE_SLASH = (
    'IAM JSON policy elements: Resource: "The asterisk (*) character can expand to replace everything within a '
    "segment, including characters like a forward slash (/) that may otherwise appear to be a delimiter within a given "
    'service namespace."'
)
RESOURCE_CASE = 'IAM JSON policy elements: Resource: "In the Resource element, the IAM user name is case sensitive."'
RESOURCE_ARN = (
    'IAM answers MalformedPolicyDocument "Resource ... must be in ARN format or "*"." '
    "(trussworks/terraform-aws-s3-anti-virus#21): no other resource is ever stored"
)
NOT_RESOURCE = 'IAM JSON policy elements: NotResource: NotResource "matches every resource except those specified"'
ACTION = (
    'IAM JSON policy elements: Action: "The prefix and the action name are case insensitive." ... "You can also use '
    'wildcards (*) as part of the action name."'
)
NOT_ACTION = 'IAM JSON policy elements: NotAction: NotAction "matches everything except the specified list of actions"'
MISSING = (
    'Condition operators: "If the key that you specify in a policy condition is not present in the request context, '
    "the values do not match and the condition is false. If the policy condition requires that the key is not "
    'matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition is true."'
)
STRING = (
    'Condition operators, String: StringEquals "Exact matching, case sensitive", StringEqualsIgnoreCase "Exact '
    'matching, ignoring case", StringLike "The values can include multi-character match wildcards (*) and '
    'single-character match wildcards (?) anywhere in the string."'
)
OR_NOR = (
    'Conditions with multiple keys or values: "If a single condition operator includes multiple values for one key, '
    'that condition operator is evaluated using a logical OR." ... "When multiple values are listed in a policy for '
    "negated matching condition operators such as StringNotEquals and DateNotEquals, the effective permissions work "
    'like a logical AND."'
)
AND = (
    'Conditions with multiple keys or values: "If your policy has multiple condition operators or multiple keys '
    'attached to a single condition operator, the conditions are evaluated using a logical AND."'
)
NUMERIC = (
    'Condition operators, Numeric: "Numeric condition operators let you construct Condition elements that restrict '
    'access based on comparing a key to an integer or decimal value."'
)
DATE = (
    'Condition operators, Date: "You must specify date/time values with one of the W3C implementations of the ISO '
    '8601 date formats or in epoch (UNIX) time."'
)
BOOL = (
    'Condition operators, Boolean: "Boolean conditions let you construct Condition elements that restrict access '
    'based on comparing a key to "true" or "false.""'
)
BINARY = (
    'Condition operators, Binary: "It compares the value of the specified key byte for byte against a base-64 '
    'encoded representation of the binary value in the policy."'
)
IP = (
    'Condition operators, IP address: "The value must be in the standard CIDR format (for example, 203.0.113.0/24 or '
    "2001:DB8:1234:5678::/64). If you specify an IP address without the associated routing prefix, IAM uses the "
    'default prefix value of /32."'
)
ARN = (
    'Condition operators, ARN: "Each of the six colon-delimited components of the ARN is checked separately and each '
    'can include multi-character match wildcards (*) or single-character match wildcards (?)."'
)
IF_EXISTS = (
    'Condition operators, ...IfExists: "If the policy key is present in the context of the request, process the key '
    'as specified in the policy. If the key is not present, evaluate the condition element as true."'
)
NULL = (
    "Condition operators, Null: \"use either true (the key doesn't exist — it is null) or false (the key exists and "
    'its value is not null)."'
)
FOR_ALL = (
    'Creating a condition with multiple keys or values, ForAllValues: "The condition returns true if every key value '
    "in the request matches at least one value in the policy. It also returns true if there are no keys in the "
    'request, or if the key values resolve to a null data set, such as an empty string."'
)
FOR_ANY = (
    'Creating a condition with multiple keys or values, ForAnyValue: "The condition returns true if any one of the '
    "key values in the request matches any one of the condition values in the policy. For no matching key or a null "
    'dataset, the condition returns false."'
)
KEY_CASE = 'IAM JSON policy elements: Condition: "Condition key names are not case-sensitive."'
VARIABLES = (
    'Variables and tags: "When the policy is evaluated, the policy variables are replaced with values that come from '
    'the conditional context keys passed in the request."'
)
VARIABLE_VERSION = (
    "Variables and tags: \"If you don't include the Version element and set it to an appropriate version date, "
    'variables like ${aws:username} are treated as literal strings in the policy."'
)
VARIABLE_RESOURCE_PART = (
    'Variables and tags: "You can use a policy variable in the Resource element, but only in the resource portion of '
    "the ARN. This portion of the ARN appears after the fifth colon (:). You can't use a variable to replace parts of "
    'the ARN before the fifth colon, such as the service or account."'
)
VARIABLE_NULL_RESOURCE = (
    'Variables and tags: "If a variable that has no value in the authorization context is used as part of the '
    "Resource or NotResource element of a policy, the resource that includes a policy variable with no value will "
    'not match any resource."'
)
VARIABLE_NULL_CONDITION = (
    'Variables and tags: "When you use a variable with no value in the condition element of an IAM policy, ... '
    'condition operators like StringEquals or StringLike do not match" ... "Inverted condition operators like '
    'StringNotEquals or StringNotLike do match against a null value"'
)
VARIABLE_SPECIAL = (
    'Variables and tags, Special characters: "${*} - use where you need an * (asterisk) character." "${?} - use where '
    'you need a ? (question mark) character." "${$} - use where you need a $ (dollar sign) character."'
)
VARIABLE_DEFAULT = (
    'Variables and tags, Specifying default values: "To add a default value to a variable, surround the default value '
    "with single quotes (' '), and separate the variable text and the default value with a comma and space (, ).\""
)
VARIABLE_OPERATORS = (
    "Variables and tags: \"You can't use a policy variable with other operators, such as Numeric, Date, Boolean, "
    'Binary, IP Address, or Null operators."'
)
EVALUATION = (
    'Policy evaluation logic: "By default, all requests are implicitly denied" ... "An explicit allow in an '
    'identity-based or resource-based policy overrides this default." ... "An explicit deny in any policy overrides '
    'any allows."'
)
BOUNDARY = (
    "Permissions boundaries: \"An entity's permissions boundary allows it to perform only the actions that are allowed "
    'by both its identity-based policies and its permissions boundaries." ... "An explicit deny in either of these '
    'policies overrides the allow."'
)
UNKNOWN = (
    "This evaluator's own rule, for a key the caller declares it cannot know (IAM knows every key): a verdict that "
    "hangs on it is conditional, never allowed or denied outright"
)
GLOBAL_KEYS = (
    'AWS global condition context keys, aws:MultiFactorAuthPresent: "The key is not present in AWS CLI, AWS API, or '
    'AWS SDK requests that are made using long-term credentials."'
)


@dataclass(frozen=True)
class Case:
    id: str
    cite: str
    statements: tuple[dict[str, Any], ...]
    request: Request
    expected: str
    version: str | None = "2012-10-17"
    boundary: tuple[dict[str, Any], ...] | None = None


def allow(action: Any = "*", resource: Any = "*", condition: dict | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", **extra}
    if action is not None:
        statement["Action"] = action
    if resource is not None:
        statement["Resource"] = resource
    if condition is not None:
        statement["Condition"] = condition
    return statement


def deny(action: Any = "*", resource: Any = "*", condition: dict | None = None, **extra: Any) -> dict[str, Any]:
    return {**allow(action, resource, condition, **extra), "Effect": "Deny"}


def on(resource: str, action: str = "iam:PassRole", context: dict | None = None, unknown: tuple = ()) -> Request:
    return Request(action, resource, context or {}, unknown)


def keys(context: dict | None = None, unknown: tuple = ()) -> Request:
    """A request whose verdict the condition decides (every action and resource are allowed)."""
    return Request("s3:GetObject", "*", context or {}, unknown)


def when(cite: str, id: str, condition: dict, context: dict | None, expected: str, unknown: tuple = ()) -> Case:
    """An Allow under ``condition`` for a request carrying ``context``."""
    return Case(id, cite, (allow(condition=condition),), keys(context, unknown), expected)


A, D, C = ALLOWED, DENIED, CONDITIONAL

CASES: list[Case] = [
    # -- Action --------------------------------------------------------------------------------------------------
    Case("action-exact", ACTION, (allow("iam:PassRole"),), on(WORKER), A),
    Case("action-ignores-case-in-policy", ACTION, (allow("IAM:passrole"),), on(WORKER), A),
    Case("action-ignores-case-in-request", ACTION, (allow("iam:PassRole"),), on(WORKER, "IAM:PASSROLE"), A),
    Case("action-service-wildcard", ACTION, (allow("iam:*"),), on(WORKER), A),
    Case("action-service-wildcard-other-service", ACTION, (allow("iam:*"),), on(INSTANCE, "ec2:RunInstances"), D),
    Case("action-partial-wildcard", ACTION, (allow("iam:Pass*"),), on(WORKER), A),
    Case("action-infix-wildcard", ACTION, (allow("iam:*Role"),), on(WORKER), A),
    Case("action-question-mark", ACTION, (allow("iam:P?ssRole"),), on(WORKER), A),
    Case("action-question-mark-is-one-character", ACTION, (allow("iam:P?Role"),), on(WORKER), D),
    Case("action-whole-not-prefix", ACTION, (allow("iam:Pass"),), on(WORKER), D),
    Case("action-whole-not-longer", ACTION, (allow("iam:PassRole"),), on(WORKER, "iam:PassRoles"), D),
    Case("action-dot-is-literal", ACTION, (allow("iam.PassRole"),), on(WORKER, "iamXPassRole"), D),
    Case("action-in-a-list", ACTION, (allow(["ec2:RunInstances", "iam:passRole"]),), on(WORKER), A),
    Case("action-star", ACTION, (allow("*"),), on(INSTANCE, "ec2:RunInstances"), A),
    Case("action-wildcard-service-part", ACTION, (allow("*:PassRole"),), on(WORKER), A),
    Case("action-missing-element", ACTION, (allow(None),), on(WORKER), D),
    Case("not-action-other-action", NOT_ACTION, (allow(None, NotAction="iam:*"),), on(INSTANCE, "ec2:RunInstances"), A),
    Case("not-action-listed-action", NOT_ACTION, (allow(None, NotAction="iam:*"),), on(WORKER), D),
    Case("not-action-ignores-case", NOT_ACTION, (allow(None, NotAction="IAM:PASSROLE"),), on(WORKER), D),
    Case("not-action-deny-spares-listed", NOT_ACTION, (allow(), deny(None, NotAction="iam:*")), on(WORKER), A),
    Case("not-action-deny-hits-others", NOT_ACTION, (allow(), deny(None, NotAction="iam:*")), on(INSTANCE, "ec2:X"), D),
    # -- Resource ------------------------------------------------------------------------------------------------
    Case("resource-star", RESOURCE, (allow(resource="*"),), on(WORKER), A),
    Case("resource-star-covers-star", RESOURCE, (allow(resource="*"),), on("*", "ec2:DescribeSpotFleetRequests"), A),
    Case("resource-exact", RESOURCE, (allow(resource=WORKER),), on(WORKER), A),
    Case("resource-name-prefix", RESOURCE, (allow(resource="arn:aws:iam::*:role/DeadlineSpot*"),), on(WORKER), A),
    Case("resource-other-name", RESOURCE, (allow(resource="arn:aws:iam::*:role/Other*"),), on(WORKER), D),
    Case("resource-account-star-spans-colons", RESOURCE, (allow(resource="arn:aws:iam::*"),), on(WORKER), A),
    Case("resource-region-star-spans-colons", RESOURCE, (allow(resource="arn:aws:ec2:*"),), on(INSTANCE), A),
    Case("resource-service-star-spans-all", RESOURCE, (allow(resource="arn:aws:*"),), on(INSTANCE), A),
    Case("resource-arn-star", RESOURCE, (allow(resource="arn:*"),), on(WORKER), A),
    Case(
        "resource-region-star-covers-account",
        RESOURCE,
        (allow(resource="arn:aws:iam:*:role/DeadlineSpotWorker"),),
        on(WORKER),
        A,
    ),
    Case(
        "resource-account-star-covers-type",
        RESOURCE,
        (allow(resource="arn:aws:logs:us-east-1:*:deadline:log-stream:worker"),),
        on(LOG_STREAM),
        A,
    ),
    Case(
        "resource-last-star-covers-colons",
        RESOURCE,
        (allow(resource="arn:aws:logs:*:*:log-group:*"),),
        on(LOG_STREAM),
        A,
    ),
    Case(
        "resource-inner-star-stays-in-segment",
        RESOURCE,
        (allow(resource="arn:aws:logs:us-east-1:1*2:log-group:deadline:log-stream:worker"),),
        on(LOG_STREAM),
        A,
    ),
    Case(
        "resource-inner-star-does-not-cross-colon",
        RESOURCE,
        (allow(resource="arn:aws:logs:us-east-1:1*stream:worker"),),
        on(LOG_STREAM),
        D,
    ),
    Case(
        "resource-question-mark-one-character",
        RESOURCE,
        (allow(resource="arn:aws:iam::12345678901?:role/DeadlineSpotWorker"),),
        on(WORKER),
        A,
    ),
    Case(
        "resource-question-mark-not-several",
        RESOURCE,
        (allow(resource="arn:aws:iam::?:role/DeadlineSpotWorker"),),
        on(WORKER),
        D,
    ),
    Case(
        "resource-question-mark-not-colon",
        RESOURCE,
        (allow(resource="arn:aws:iam:?123456789012:role/*"),),
        on(WORKER),
        D,
    ),
    Case(
        "resource-empty-segment-literal", RESOURCE, (allow(resource="arn:aws:iam:us-east-1:*:role/*"),), on(WORKER), D
    ),
    Case("resource-empty-region-matches", RESOURCE, (allow(resource="arn:aws:iam::*:role/*"),), on(WORKER), A),
    Case(
        "resource-arn-pattern-not-star-request", RESOURCE, (allow(resource="arn:aws:ec2:*:*:instance/*"),), on("*"), D
    ),
    Case("resource-trailing-arn-star-not-star-request", RESOURCE, (allow(resource="arn:aws:*"),), on("*"), D),
    Case("resource-other-partition", RESOURCE, (allow(resource="arn:aws-cn:iam::*"),), on(WORKER), D),
    Case(
        "resource-slash-crossing",
        RESOURCE_SLASH,
        (allow(resource="arn:aws:s3:::render-bucket/*/test/*"),),
        on(OBJECT),
        A,
    ),
    Case(
        "resource-slash-no-match",
        RESOURCE_SLASH,
        (allow(resource="arn:aws:s3:::render-bucket/*/test/*"),),
        on("arn:aws:s3:::render-bucket/1-test/object.jpg"),
        D,
    ),
    Case(
        "resource-case-sensitive", RESOURCE_CASE, (allow(resource="arn:aws:iam::*:role/deadlinespot*"),), on(WORKER), D
    ),
    Case("resource-not-an-arn", RESOURCE_ARN, (allow(resource="*role/DeadlineSpot*"),), on(WORKER), D),
    Case("resource-not-an-arn-deny", RESOURCE_ARN, (allow(), deny(resource="*role/DeadlineSpot*")), on(WORKER), A),
    Case("resource-missing-element", RESOURCE, (allow(resource=None),), on(WORKER), D),
    Case("resource-list-any", RESOURCE, (allow(resource=["arn:aws:s3:::x", WORKER]),), on(WORKER), A),
    Case("deny-account-star-spans-colons", RESOURCE, (allow(), deny("iam:PassRole", "arn:aws:iam::*")), on(WORKER), D),
    Case(
        "deny-region-star-spans-colons",
        RESOURCE,
        (allow(), deny("ec2:*", "arn:aws:ec2:*")),
        on(INSTANCE, "ec2:RunInstances"),
        D,
    ),
    Case(
        "deny-instance-scoped",
        RESOURCE,
        (allow(), deny("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*")),
        on(INSTANCE, "ec2:RunInstances"),
        D,
    ),
    Case(
        "not-resource-outside",
        NOT_RESOURCE,
        (allow(resource=None, NotResource="arn:aws:iam::*:role/*"),),
        on(f"arn:aws:iam::{ACCOUNT}:user/spot", "iam:GetUser"),
        A,
    ),
    Case(
        "not-resource-inside", NOT_RESOURCE, (allow(resource=None, NotResource="arn:aws:iam::*:role/*"),), on(WORKER), D
    ),
    Case(
        "not-resource-trailing-star", NOT_RESOURCE, (allow(resource=None, NotResource="arn:aws:iam::*"),), on(WORKER), D
    ),
    Case(
        "not-resource-deny-spares-listed",
        NOT_RESOURCE,
        (allow(), deny(resource=None, NotResource=WORKER)),
        on(WORKER),
        A,
    ),
    Case(
        "not-resource-deny-hits-others",
        NOT_RESOURCE,
        (allow(), deny(resource=None, NotResource=WORKER)),
        on(INSTANCE, "ec2:RunInstances"),
        D,
    ),
    # -- A missing key -------------------------------------------------------------------------------------------
    when(MISSING, "missing-string-equals", {"StringEquals": {"aws:PrincipalTag/team": "render"}}, None, D),
    when(MISSING, "missing-string-not-equals", {"StringNotEquals": {"aws:PrincipalTag/team": "render"}}, None, A),
    when(
        MISSING, "missing-string-equals-ignore-case", {"StringEqualsIgnoreCase": {"aws:PrincipalTag/t": "r"}}, None, D
    ),
    when(
        MISSING,
        "missing-string-not-equals-ignore-case",
        {"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/t": "r"}},
        None,
        A,
    ),
    when(MISSING, "missing-string-like", {"StringLike": {"aws:PrincipalTag/team": "*"}}, None, D),
    when(MISSING, "missing-string-not-like", {"StringNotLike": {"aws:PrincipalTag/team": "*"}}, None, A),
    when(MISSING, "missing-numeric-equals", {"NumericEquals": {"aws:MultiFactorAuthAge": "1"}}, None, D),
    when(MISSING, "missing-numeric-not-equals", {"NumericNotEquals": {"aws:MultiFactorAuthAge": "1"}}, None, A),
    when(MISSING, "missing-numeric-less-than", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, None, D),
    when(MISSING, "missing-date-less-than", {"DateLessThan": {"aws:TokenIssueTime": "2030-01-01T00:00:00Z"}}, None, D),
    when(
        MISSING, "missing-date-not-equals", {"DateNotEquals": {"aws:TokenIssueTime": "2030-01-01T00:00:00Z"}}, None, A
    ),
    when(MISSING, "missing-date-greater-than", {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01"}}, None, D),
    when(MISSING, "missing-bool", {"Bool": {"aws:MultiFactorAuthPresent": "false"}}, None, D),
    when(MISSING, "missing-binary", {"BinaryEquals": {"s3:x-amz-key": "QmluYXJ5"}}, None, D),
    when(MISSING, "missing-ip-address", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, None, D),
    when(MISSING, "missing-not-ip-address", {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, None, A),
    when(MISSING, "missing-arn-like", {"ArnLike": {"aws:SourceArn": "arn:aws:*"}}, None, D),
    when(MISSING, "missing-arn-equals", {"ArnEquals": {"aws:SourceArn": "arn:aws:*"}}, None, D),
    when(MISSING, "missing-arn-not-like", {"ArnNotLike": {"aws:SourceArn": "arn:aws:*"}}, None, A),
    when(MISSING, "missing-arn-not-equals", {"ArnNotEquals": {"aws:SourceArn": "arn:aws:*"}}, None, A),
    Case(
        "missing-mfa-denies-the-allow",
        GLOBAL_KEYS,
        (allow(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),),
        keys(),
        D,
    ),
    Case(
        "missing-mfa-deny-on-false-does-not-apply",
        GLOBAL_KEYS,
        (allow(), deny(condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
        keys(),
        A,
    ),
    Case(
        "missing-mfa-deny-if-exists",
        GLOBAL_KEYS,
        (allow(), deny(condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})),
        keys(),
        D,
    ),
    # -- String --------------------------------------------------------------------------------------------------
    when(STRING, "string-equals-match", {"StringEquals": {"aws:username": "spot"}}, {"aws:username": "spot"}, A),
    when(
        STRING, "string-equals-case-sensitive", {"StringEquals": {"aws:username": "Spot"}}, {"aws:username": "spot"}, D
    ),
    when(STRING, "string-equals-star-literal", {"StringEquals": {"aws:username": "sp*"}}, {"aws:username": "spot"}, D),
    when(STRING, "string-not-equals-other", {"StringNotEquals": {"aws:username": "x"}}, {"aws:username": "spot"}, A),
    when(STRING, "string-not-equals-same", {"StringNotEquals": {"aws:username": "spot"}}, {"aws:username": "spot"}, D),
    when(
        STRING,
        "string-ignore-case-match",
        {"StringEqualsIgnoreCase": {"aws:username": "SPOT"}},
        {"aws:username": "spot"},
        A,
    ),
    when(
        STRING,
        "string-ignore-case-other",
        {"StringEqualsIgnoreCase": {"aws:username": "x"}},
        {"aws:username": "spot"},
        D,
    ),
    when(
        STRING,
        "string-not-ignore-case-same",
        {"StringNotEqualsIgnoreCase": {"aws:username": "SPOT"}},
        {"aws:username": "spot"},
        D,
    ),
    when(
        STRING,
        "string-not-ignore-case-other",
        {"StringNotEqualsIgnoreCase": {"aws:username": "x"}},
        {"aws:username": "spot"},
        A,
    ),
    when(STRING, "string-like-star", {"StringLike": {"aws:username": "sp*"}}, {"aws:username": "spot"}, A),
    when(STRING, "string-like-question", {"StringLike": {"aws:username": "sp?t"}}, {"aws:username": "spot"}, A),
    when(STRING, "string-like-whole", {"StringLike": {"aws:username": "sp"}}, {"aws:username": "spot"}, D),
    when(STRING, "string-like-case-sensitive", {"StringLike": {"aws:username": "SP*"}}, {"aws:username": "spot"}, D),
    when(STRING, "string-like-dot-literal", {"StringLike": {"aws:username": "s.ot"}}, {"aws:username": "spot"}, D),
    when(STRING, "string-not-like-match", {"StringNotLike": {"aws:username": "sp*"}}, {"aws:username": "spot"}, D),
    when(STRING, "string-not-like-other", {"StringNotLike": {"aws:username": "x*"}}, {"aws:username": "spot"}, A),
    when(
        STRING,
        "string-json-true-as-text",
        {"StringEquals": {"aws:ViaAWSService": True}},
        {"aws:ViaAWSService": "true"},
        A,
    ),
    when(OR_NOR, "or-any-value", {"StringEquals": {"aws:username": ["x", "spot"]}}, {"aws:username": "spot"}, A),
    when(OR_NOR, "or-no-value", {"StringEquals": {"aws:username": ["x", "y"]}}, {"aws:username": "spot"}, D),
    when(OR_NOR, "nor-one-matches", {"StringNotEquals": {"aws:username": ["x", "spot"]}}, {"aws:username": "spot"}, D),
    when(OR_NOR, "nor-none-matches", {"StringNotEquals": {"aws:username": ["x", "y"]}}, {"aws:username": "spot"}, A),
    when(OR_NOR, "nor-not-like", {"StringNotLike": {"aws:username": ["x*", "s*"]}}, {"aws:username": "spot"}, D),
    when(
        AND,
        "and-two-keys-hold",
        {"StringEquals": {"aws:username": "spot", "aws:PrincipalType": "User"}},
        {"aws:username": "spot", "aws:PrincipalType": "User"},
        A,
    ),
    when(
        AND,
        "and-one-key-fails",
        {"StringEquals": {"aws:username": "spot", "aws:PrincipalType": "User"}},
        {"aws:username": "spot", "aws:PrincipalType": "AssumedRole"},
        D,
    ),
    when(
        AND,
        "and-two-operators-one-fails",
        {"StringEquals": {"aws:username": "spot"}, "Bool": {"aws:SecureTransport": "false"}},
        {"aws:username": "spot", "aws:SecureTransport": "true"},
        D,
    ),
    when(KEY_CASE, "key-name-ignores-case", {"StringEquals": {"AWS:USERNAME": "spot"}}, {"aws:username": "spot"}, A),
    when(
        KEY_CASE,
        "key-name-ignores-case-in-request",
        {"StringEquals": {"aws:username": "spot"}},
        {"AWS:UserName": "spot"},
        A,
    ),
    when(
        KEY_CASE,
        "tag-key-ignores-case",
        {"StringEquals": {"aws:PrincipalTag/TEAM": "r"}},
        {"aws:PrincipalTag/team": "r"},
        A,
    ),
    # -- Numeric -------------------------------------------------------------------------------------------------
    when(NUMERIC, "numeric-equals", {"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, A),
    when(NUMERIC, "numeric-equals-decimal", {"NumericEquals": {"s3:max-keys": "10.0"}}, {"s3:max-keys": "10"}, A),
    when(NUMERIC, "numeric-equals-other", {"NumericEquals": {"s3:max-keys": "11"}}, {"s3:max-keys": "10"}, D),
    when(NUMERIC, "numeric-not-equals-other", {"NumericNotEquals": {"s3:max-keys": "11"}}, {"s3:max-keys": "10"}, A),
    when(NUMERIC, "numeric-not-equals-same", {"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, D),
    when(NUMERIC, "numeric-less-than", {"NumericLessThan": {"s3:max-keys": "11"}}, {"s3:max-keys": "10"}, A),
    when(
        NUMERIC, "numeric-less-than-equal-value", {"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, D
    ),
    when(
        NUMERIC, "numeric-less-than-equals", {"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, A
    ),
    when(
        NUMERIC,
        "numeric-less-than-equals-over",
        {"NumericLessThanEquals": {"s3:max-keys": "9"}},
        {"s3:max-keys": "10"},
        D,
    ),
    when(NUMERIC, "numeric-greater-than", {"NumericGreaterThan": {"s3:max-keys": "9"}}, {"s3:max-keys": "10"}, A),
    when(
        NUMERIC,
        "numeric-greater-than-equal-value",
        {"NumericGreaterThan": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        D,
    ),
    when(
        NUMERIC,
        "numeric-greater-than-equals",
        {"NumericGreaterThanEquals": {"s3:max-keys": 10}},
        {"s3:max-keys": "10"},
        A,
    ),
    when(
        NUMERIC,
        "numeric-greater-than-equals-under",
        {"NumericGreaterThanEquals": {"s3:max-keys": "11"}},
        {"s3:max-keys": "10"},
        D,
    ),
    when(NUMERIC, "numeric-not-a-number", {"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, D),
    when(
        NUMERIC,
        "numeric-policy-not-a-number",
        {"NumericLessThan": {"s3:max-keys": ["a", None]}},
        {"s3:max-keys": "1"},
        D,
    ),
    when(
        VARIABLE_OPERATORS,
        "numeric-variable-not-substituted",
        {"NumericEquals": {"s3:max-keys": "${aws:username}"}},
        {"s3:max-keys": "10", "aws:username": "10"},
        D,
    ),
    when(
        NUMERIC,
        "numeric-epoch-time",
        {"NumericLessThan": {"aws:EpochTime": "2000000000"}},
        {"aws:EpochTime": "1800000000"},
        A,
    ),
    # -- Date ----------------------------------------------------------------------------------------------------
    when(
        DATE,
        "date-less-than-before",
        {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-less-than-expired",
        {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-less-than-equal-moment",
        {"DateLessThan": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-less-than-equals-equal-moment",
        {"DateLessThanEquals": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-greater-than-after",
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-greater-than-not-yet",
        {"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-greater-than-equals",
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-equals",
        {"DateEquals": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-equals-other-zone",
        {"DateEquals": {"aws:CurrentTime": "2026-12-02T12:00:00+02:00"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-not-equals",
        {"DateNotEquals": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:01Z"},
        A,
    ),
    when(
        DATE,
        "date-not-equals-same",
        {"DateNotEquals": {"aws:CurrentTime": "2026-12-02T10:00:00Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-day-only",
        {"DateLessThan": {"aws:CurrentTime": "2026-12-03"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-year-only",
        {"DateGreaterThan": {"aws:CurrentTime": "2026"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-minutes-only",
        {"DateLessThan": {"aws:CurrentTime": "2026-12-02T10:01Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-fraction",
        {"DateLessThan": {"aws:CurrentTime": "2026-12-02T10:00:00.5Z"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-epoch-in-policy",
        {"DateLessThan": {"aws:CurrentTime": "1893456000"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-epoch-in-request",
        {"DateLessThan": {"aws:EpochTime": "2030-01-01T00:00:00Z"}},
        {"aws:EpochTime": "1796205600"},
        A,
    ),
    when(
        DATE,
        "date-epoch-expired",
        {"DateLessThan": {"aws:EpochTime": "1700000000"}},
        {"aws:EpochTime": "1796205600"},
        D,
    ),
    when(
        DATE,
        "date-not-a-date",
        {"DateLessThan": {"aws:CurrentTime": "soon"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-not-a-date-negated",
        {"DateNotEquals": {"aws:CurrentTime": "soon"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        A,
    ),
    when(
        DATE,
        "date-no-wildcards",
        {"DateEquals": {"aws:CurrentTime": "2026-*"}},
        {"aws:CurrentTime": "2026-12-02T10:00:00Z"},
        D,
    ),
    when(
        DATE,
        "date-invalid-day",
        {"DateLessThan": {"aws:CurrentTime": "2026-02-30"}},
        {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
        D,
    ),
    Case(
        "date-expired-deny-window-ignored",
        DATE,
        (allow(), deny(condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})),
        keys({"aws:CurrentTime": "2026-12-02T10:00:00Z"}),
        A,
    ),
    Case(
        "date-deny-from-a-past-date",
        DATE,
        (allow(), deny(condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})),
        keys({"aws:CurrentTime": "2026-12-02T10:00:00Z"}),
        D,
    ),
    # -- Bool ----------------------------------------------------------------------------------------------------
    when(BOOL, "bool-true", {"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, A),
    when(BOOL, "bool-json-true", {"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}, A),
    when(BOOL, "bool-false-vs-true", {"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, D),
    when(BOOL, "bool-ignores-case", {"Bool": {"aws:SecureTransport": "TRUE"}}, {"aws:SecureTransport": "true"}, A),
    when(BOOL, "bool-json-false", {"Bool": {"aws:ViaAWSService": False}}, {"aws:ViaAWSService": "false"}, A),
    when(
        BOOL,
        "bool-if-exists-present",
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
        {"aws:MultiFactorAuthPresent": "false"},
        D,
    ),
    when(BOOL, "bool-if-exists-absent", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, None, A),
    # -- Binary --------------------------------------------------------------------------------------------------
    when(
        BINARY, "binary-equal-bytes", {"BinaryEquals": {"k:bin": "QmluYXJ5VmFsdWU="}}, {"k:bin": "QmluYXJ5VmFsdWU="}, A
    ),
    when(BINARY, "binary-other-bytes", {"BinaryEquals": {"k:bin": "QmluYXJ5VmFsdWU="}}, {"k:bin": "T3RoZXI="}, D),
    when(BINARY, "binary-not-base64-in-policy", {"BinaryEquals": {"k:bin": "not base64!"}}, {"k:bin": "QmluYXJ5"}, D),
    when(BINARY, "binary-if-exists-absent", {"BinaryEqualsIfExists": {"k:bin": "QmluYXJ5"}}, None, A),
    when(BINARY, "binary-same-bytes-other-padding", {"BinaryEquals": {"k:bin": "YWJj"}}, {"k:bin": "YWJj"}, A),
    # -- IP address ----------------------------------------------------------------------------------------------
    when(IP, "ip-v4-in-range", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.45"}, A),
    when(IP, "ip-v4-outside", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, D),
    when(
        IP,
        "ip-address-alone-is-32",
        {"IpAddress": {"aws:SourceIp": "198.51.100.7"}},
        {"aws:SourceIp": "198.51.100.7"},
        A,
    ),
    when(
        IP,
        "ip-address-alone-not-neighbour",
        {"IpAddress": {"aws:SourceIp": "198.51.100.7"}},
        {"aws:SourceIp": "198.51.100.8"},
        D,
    ),
    when(
        IP,
        "ip-v6-in-range",
        {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}},
        {"aws:SourceIp": "2001:db8:1234:5678::1"},
        A,
    ),
    when(IP, "ip-v6-outside", {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db9::5"}, D),
    when(IP, "ip-versions-never-cross", {"IpAddress": {"aws:SourceIp": "::/0"}}, {"aws:SourceIp": "203.0.113.45"}, D),
    when(
        IP,
        "ip-any-listed-range",
        {"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}},
        {"aws:SourceIp": "203.0.113.1"},
        A,
    ),
    when(IP, "not-ip-outside", {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "192.0.2.1"}, A),
    when(IP, "not-ip-inside", {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.1"}, D),
    when(IP, "ip-not-an-address", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "somewhere"}, D),
    when(
        IP,
        "ip-policy-not-a-network",
        {"IpAddress": {"aws:SourceIp": ["not a network", {"x": 1}]}},
        {"aws:SourceIp": "203.0.113.1"},
        D,
    ),
    when(
        IP,
        "ip-range-within",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": OneOf(("203.0.113.0/25",))},
        A,
    ),
    when(
        IP,
        "ip-range-disjoint",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": OneOf(("198.51.100.0/24",))},
        D,
    ),
    when(
        IP,
        "ip-range-partly-inside",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/25"}},
        {"aws:SourceIp": OneOf(("203.0.113.0/24",))},
        C,
    ),
    when(
        IP,
        "ip-one-of-ranges-mixed",
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": OneOf(("203.0.113.0/24", "198.51.100.0/24"))},
        C,
    ),
    when(
        IP,
        "not-ip-range-within",
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": OneOf(("203.0.113.0/26",))},
        D,
    ),
    # -- ARN operators -------------------------------------------------------------------------------------------
    when(
        ARN,
        "arn-like-segments",
        {"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:*:spot-fleet-request/*"}},
        {"aws:SourceArn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:spot-fleet-request/sfr-1"},
        A,
    ),
    when(
        ARN,
        "arn-equals-behaves-like-arn-like",
        {"ArnEquals": {"aws:SourceArn": "arn:aws:ec2:us-west-2:*:spot-fleet-request/*"}},
        {"aws:SourceArn": f"arn:aws:ec2:us-west-2:{ACCOUNT}:spot-fleet-request/sfr-1"},
        A,
    ),
    when(
        ARN,
        "arn-star-does-not-cross-components",
        {"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"},
        D,
    ),
    when(
        ARN,
        "string-like-crosses-where-arn-like-does-not",
        {"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"},
        A,
    ),
    when(
        ARN, "arn-too-few-components", {"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*"}}, {"aws:SourceArn": INSTANCE}, D
    ),
    when(
        ARN,
        "arn-case-sensitive",
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/SPOT"}},
        {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/spot"},
        D,
    ),
    when(
        ARN, "arn-not-like-other", {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, {"aws:SourceArn": INSTANCE}, A
    ),
    when(
        ARN,
        "arn-not-like-match",
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:ec2:*:*:*"}},
        {"aws:SourceArn": INSTANCE},
        D,
    ),
    when(
        ARN,
        "arn-not-equals-other",
        {"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::*"}},
        {"aws:SourceArn": INSTANCE},
        A,
    ),
    when(
        ARN,
        "arn-last-component-holds-colons",
        {"ArnLike": {"aws:SourceArn": "arn:aws:logs:*:*:log-group:*"}},
        {"aws:SourceArn": LOG_STREAM},
        A,
    ),
    # -- ...IfExists ---------------------------------------------------------------------------------------------
    when(IF_EXISTS, "if-exists-absent-string", {"StringEqualsIfExists": {"ec2:InstanceType": "t3.large"}}, None, A),
    when(
        IF_EXISTS,
        "if-exists-present-match",
        {"StringEqualsIfExists": {"ec2:InstanceType": "t3.large"}},
        {"ec2:InstanceType": "t3.large"},
        A,
    ),
    when(
        IF_EXISTS,
        "if-exists-present-other",
        {"StringEqualsIfExists": {"ec2:InstanceType": "t3.large"}},
        {"ec2:InstanceType": "p3.2xlarge"},
        D,
    ),
    when(IF_EXISTS, "if-exists-like-absent", {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}, None, A),
    when(IF_EXISTS, "if-exists-negated-absent", {"StringNotLikeIfExists": {"iam:PassedToService": "ec2*"}}, None, A),
    when(
        IF_EXISTS,
        "if-exists-negated-present",
        {"StringNotLikeIfExists": {"iam:PassedToService": "ec2*"}},
        {"iam:PassedToService": "ec2.amazonaws.com"},
        D,
    ),
    when(
        IF_EXISTS, "if-exists-numeric-absent", {"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}, None, A
    ),
    when(IF_EXISTS, "if-exists-date-absent", {"DateLessThanIfExists": {"aws:TokenIssueTime": "2020-01-01"}}, None, A),
    when(IF_EXISTS, "if-exists-ip-absent", {"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}, None, A),
    when(
        IF_EXISTS,
        "if-exists-ip-present-other-version",
        {"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "::1"},
        D,
    ),
    when(IF_EXISTS, "if-exists-not-ip-absent", {"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}, None, A),
    when(IF_EXISTS, "if-exists-arn-absent", {"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:s3:::*"}}, None, A),
    Case(
        "if-exists-deny-on-missing-key",
        IF_EXISTS,
        (allow(), deny(condition={"StringNotEqualsIfExists": {"aws:RequestedRegion": "us-west-2"}})),
        keys(),
        D,
    ),
    # -- Null ----------------------------------------------------------------------------------------------------
    when(NULL, "null-true-absent", {"Null": {"aws:TokenIssueTime": "true"}}, None, A),
    when(NULL, "null-true-present", {"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01"}, D),
    when(
        NULL, "null-false-present", {"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01"}, A
    ),
    when(NULL, "null-false-absent", {"Null": {"aws:TokenIssueTime": "false"}}, None, D),
    when(NULL, "null-json-boolean", {"Null": {"aws:TokenIssueTime": True}}, None, A),
    when(
        NULL,
        "null-ignores-if-exists-suffix-name",
        {"Null": {"aws:SourceVpc": "true"}},
        {"aws:SourceIp": "203.0.113.1"},
        A,
    ),
    Case(
        "null-deny-source-ip-present",
        NULL,
        (allow(), deny(condition={"Null": {"aws:SourceIp": "false"}})),
        keys({"aws:SourceIp": "203.0.113.1"}),
        D,
    ),
    Case("null-deny-source-ip-absent", NULL, (allow(), deny(condition={"Null": {"aws:SourceIp": "false"}})), keys(), A),
    # -- ForAllValues / ForAnyValue ------------------------------------------------------------------------------
    when(
        FOR_ALL,
        "for-all-every-value",
        {"ForAllValues:StringLike": {"aws:TagKeys": ["Deadline*", "Owner"]}},
        {"aws:TagKeys": ["DeadlineGroup", "Owner"]},
        A,
    ),
    when(
        FOR_ALL,
        "for-all-one-value-outside",
        {"ForAllValues:StringLike": {"aws:TagKeys": ["Deadline*", "Owner"]}},
        {"aws:TagKeys": ["DeadlineGroup", "Cost"]},
        D,
    ),
    when(FOR_ALL, "for-all-missing-key", {"ForAllValues:StringEquals": {"aws:TagKeys": "Deadline"}}, None, A),
    when(
        FOR_ALL, "for-all-empty-set", {"ForAllValues:StringEquals": {"aws:TagKeys": "Deadline"}}, {"aws:TagKeys": []}, A
    ),
    when(
        FOR_ALL,
        "for-all-negated-each-value",
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": "Secret"}},
        {"aws:TagKeys": ["Deadline", "Owner"]},
        A,
    ),
    when(
        FOR_ALL,
        "for-all-negated-one-hit",
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": "Secret"}},
        {"aws:TagKeys": ["Deadline", "Secret"]},
        D,
    ),
    when(
        FOR_ALL,
        "for-all-single-value",
        {"ForAllValues:StringEquals": {"aws:TagKeys": "Owner"}},
        {"aws:TagKeys": "Owner"},
        A,
    ),
    when(FOR_ALL, "for-all-missing-negated", {"ForAllValues:StringNotEquals": {"aws:TagKeys": "Secret"}}, None, A),
    when(
        FOR_ANY,
        "for-any-one-value",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Owner", "Cost"]}},
        {"aws:TagKeys": ["Other", "Owner"]},
        A,
    ),
    when(
        FOR_ANY,
        "for-any-no-value",
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Owner", "Cost"]}},
        {"aws:TagKeys": ["Other", "X"]},
        D,
    ),
    when(FOR_ANY, "for-any-missing-key", {"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}, None, D),
    when(FOR_ANY, "for-any-empty-set", {"ForAnyValue:StringEquals": {"aws:TagKeys": "x"}}, {"aws:TagKeys": []}, D),
    when(FOR_ANY, "for-any-missing-negated", {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "x"}}, None, D),
    when(
        FOR_ANY,
        "for-any-like",
        {"ForAnyValue:StringLike": {"aws:TagKeys": "Dead*"}},
        {"aws:TagKeys": ["Owner", "DeadlineGroup"]},
        A,
    ),
    Case(
        "for-any-deny-on-missing-key-does-not-apply",
        FOR_ANY,
        (allow(), deny(condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "Secret"}})),
        keys(),
        A,
    ),
    Case(
        "for-all-deny-on-missing-key-applies",
        FOR_ALL,
        (allow(), deny(condition={"ForAllValues:StringEquals": {"aws:TagKeys": "Secret"}})),
        keys(),
        D,
    ),
    # -- Policy variables ----------------------------------------------------------------------------------------
    Case(
        "variable-username-in-resource",
        VARIABLES,
        (allow(resource="arn:aws:iam::*:role/${aws:username}-*"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot-render", context={"aws:username": "spot"}),
        A,
    ),
    Case(
        "variable-username-other-user",
        VARIABLES,
        (allow(resource="arn:aws:iam::*:role/${aws:username}-*"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot-render", context={"aws:username": "other"}),
        D,
    ),
    Case(
        "variable-principal-tag-in-resource",
        VARIABLES,
        (allow(resource="arn:aws:iam::*:role/DeadlineSpot${aws:PrincipalTag/team}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotRender", context={"aws:PrincipalTag/team": "Render"}),
        A,
    ),
    Case(
        "variable-name-ignores-case",
        VARIABLES,
        (allow(resource="arn:aws:iam::*:role/${AWS:USERNAME}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot", context={"aws:username": "spot"}),
        A,
    ),
    Case(
        "variable-value-is-literal-not-wildcard",
        VARIABLES,
        (allow(resource="arn:aws:iam::*:role/${aws:PrincipalTag/team}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/render", context={"aws:PrincipalTag/team": "r?nder"}),
        D,
    ),
    Case(
        "variable-userid-in-condition",
        VARIABLES,
        (allow(condition={"StringEquals": {"aws:PrincipalTag/owner": "${aws:userid}"}}),),
        keys({"aws:PrincipalTag/owner": "AIDAEXAMPLE", "aws:userid": "AIDAEXAMPLE"}),
        A,
    ),
    Case(
        "variable-in-string-like",
        VARIABLES,
        (allow(condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}}),),
        keys({"s3:prefix": "home/spot/renders", "aws:username": "spot"}),
        A,
    ),
    Case(
        "variable-in-arn-like",
        VARIABLES,
        (allow(condition={"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:${aws:PrincipalAccount}:*"}}),),
        keys({"aws:SourceArn": INSTANCE, "aws:PrincipalAccount": ACCOUNT}),
        A,
    ),
    Case(
        "variable-in-arn-like-other-account",
        VARIABLES,
        (allow(condition={"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:${aws:PrincipalAccount}:*"}}),),
        keys({"aws:SourceArn": INSTANCE, "aws:PrincipalAccount": "111111111111"}),
        D,
    ),
    Case(
        "variable-source-account",
        VARIABLES,
        (allow(condition={"StringEquals": {"aws:ResourceAccount": "${aws:SourceAccount}"}}),),
        keys({"aws:ResourceAccount": ACCOUNT, "aws:SourceAccount": ACCOUNT}),
        A,
    ),
    Case(
        "variable-in-bool",
        VARIABLES,
        (allow(condition={"Bool": {"aws:SecureTransport": "${aws:ViaAWSService}"}}),),
        keys({"aws:SecureTransport": "false", "aws:ViaAWSService": "false"}),
        A,
    ),
    Case(
        "variable-deny-on-username-applies",
        VARIABLES,
        (allow(), deny("iam:PassRole", "arn:aws:iam::*:role/${aws:username}")),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot", context={"aws:username": "spot"}),
        D,
    ),
    Case(
        "variable-not-resource",
        VARIABLES,
        (allow(resource=None, NotResource="arn:aws:iam::*:role/${aws:username}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot", context={"aws:username": "spot"}),
        D,
    ),
    Case(
        "variable-missing-key-resource-matches-nothing",
        VARIABLE_NULL_RESOURCE,
        (allow(resource="arn:aws:iam::*:role/${aws:username}*"),),
        on(WORKER),
        D,
    ),
    Case(
        "variable-missing-key-deny-matches-nothing",
        VARIABLE_NULL_RESOURCE,
        (allow(), deny(resource="arn:aws:iam::*:role/*${aws:PrincipalTag/team}")),
        on(WORKER),
        A,
    ),
    Case(
        "variable-missing-key-not-resource-excludes-nothing",
        VARIABLE_NULL_RESOURCE,
        (allow(resource=None, NotResource="arn:aws:iam::*:role/${aws:username}"),),
        on(WORKER),
        A,
    ),
    Case(
        "variable-missing-key-condition-equals",
        VARIABLE_NULL_CONDITION,
        (allow(condition={"StringEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}),),
        keys({"s3:ExistingObjectTag/Team": "render"}),
        D,
    ),
    Case(
        "variable-missing-key-condition-not-equals",
        VARIABLE_NULL_CONDITION,
        (allow(condition={"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}),),
        keys({"s3:ExistingObjectTag/Team": "render"}),
        A,
    ),
    Case(
        "variable-missing-key-condition-like",
        VARIABLE_NULL_CONDITION,
        (allow(condition={"StringLike": {"s3:prefix": "${aws:username}/*"}}),),
        keys({"s3:prefix": "spot/x"}),
        D,
    ),
    Case(
        "variable-missing-key-deny-not-equals-applies",
        VARIABLE_NULL_CONDITION,
        (allow(), deny(condition={"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}})),
        keys({"s3:ExistingObjectTag/Team": "render"}),
        D,
    ),
    Case(
        "variable-default-used-when-missing",
        VARIABLE_DEFAULT,
        (allow(resource="arn:aws:iam::*:role/DeadlineSpot${aws:PrincipalTag/team, 'Worker'}"),),
        on(WORKER),
        A,
    ),
    Case(
        "variable-default-ignored-when-present",
        VARIABLE_DEFAULT,
        (allow(resource="arn:aws:iam::*:role/DeadlineSpot${aws:PrincipalTag/team, 'Worker'}"),),
        on(WORKER, context={"aws:PrincipalTag/team": "Render"}),
        D,
    ),
    Case(
        "variable-default-in-condition",
        VARIABLE_DEFAULT,
        (allow(condition={"StringEquals": {"aws:RequestedRegion": "${aws:PrincipalTag/region, 'us-west-2'}"}}),),
        keys({"aws:RequestedRegion": "us-west-2"}),
        A,
    ),
    Case(
        "variable-escape-star-is-literal",
        VARIABLE_SPECIAL,
        (allow(resource="arn:aws:s3:::render-bucket/${*}"),),
        on("arn:aws:s3:::render-bucket/*", "s3:GetObject"),
        A,
    ),
    Case(
        "variable-escape-star-is-not-wildcard",
        VARIABLE_SPECIAL,
        (allow(resource="arn:aws:s3:::render-bucket/${*}"),),
        on("arn:aws:s3:::render-bucket/anything", "s3:GetObject"),
        D,
    ),
    Case(
        "variable-escape-question-is-literal",
        VARIABLE_SPECIAL,
        (allow(condition={"StringLike": {"s3:prefix": "what${?}"}}),),
        keys({"s3:prefix": "what?"}),
        A,
    ),
    Case(
        "variable-escape-question-is-not-wildcard",
        VARIABLE_SPECIAL,
        (allow(condition={"StringLike": {"s3:prefix": "what${?}"}}),),
        keys({"s3:prefix": "whatx"}),
        D,
    ),
    Case(
        "variable-escape-dollar",
        VARIABLE_SPECIAL,
        (allow(condition={"StringEquals": {"s3:prefix": "${$}{aws:username}"}}),),
        keys({"s3:prefix": "${aws:username}", "aws:username": "spot"}),
        A,
    ),
    Case(
        "variable-without-version-is-literal",
        VARIABLE_VERSION,
        (allow(resource="arn:aws:iam::*:role/${aws:username}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot", context={"aws:username": "spot"}),
        D,
        version=None,
    ),
    Case(
        "variable-without-version-matches-the-text",
        VARIABLE_VERSION,
        (allow(resource="arn:aws:iam::*:role/${aws:username}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/${{aws:username}}", context={"aws:username": "spot"}),
        A,
        version=None,
    ),
    Case(
        "variable-old-version-is-literal",
        VARIABLE_VERSION,
        (allow(condition={"StringEquals": {"aws:PrincipalTag/name": "${aws:username}"}}),),
        keys({"aws:PrincipalTag/name": "spot", "aws:username": "spot"}),
        D,
        version="2008-10-17",
    ),
    Case(
        "variable-without-version-deny-on-username-ignored",
        VARIABLE_VERSION,
        (allow(), deny(resource="arn:aws:iam::*:role/${aws:username}")),
        on(f"arn:aws:iam::{ACCOUNT}:role/spot", context={"aws:username": "spot"}),
        A,
        version=None,
    ),
    Case(
        "variable-before-fifth-colon-is-literal",
        VARIABLE_RESOURCE_PART,
        (allow(resource="arn:aws:iam::${aws:PrincipalAccount}:role/*"),),
        on(WORKER, context={"aws:PrincipalAccount": ACCOUNT}),
        D,
    ),
    Case(
        "variable-in-ip-operator-not-substituted",
        VARIABLE_OPERATORS,
        (allow(condition={"IpAddress": {"aws:SourceIp": "${aws:PrincipalTag/office}"}}),),
        keys({"aws:SourceIp": "203.0.113.1", "aws:PrincipalTag/office": "203.0.113.0/24"}),
        D,
    ),
    Case(
        "variable-in-date-operator-not-substituted",
        VARIABLE_OPERATORS,
        (allow(condition={"DateLessThan": {"aws:CurrentTime": "${aws:PrincipalTag/until}"}}),),
        keys({"aws:CurrentTime": "2026-12-02T10:00:00Z", "aws:PrincipalTag/until": "2030-01-01"}),
        D,
    ),
    Case(
        "variable-declared-unknown-is-conditional",
        UNKNOWN,
        (allow(resource="arn:aws:iam::*:role/${aws:SourceVpc}"),),
        on(f"arn:aws:iam::{ACCOUNT}:role/vpc-1", unknown=("aws:SourceVpc",)),
        C,
    ),
    # -- Declared-unknown keys -----------------------------------------------------------------------------------
    Case(
        "unknown-allow-is-conditional",
        UNKNOWN,
        (allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),),
        keys(unknown=("aws:SourceIp",)),
        C,
    ),
    Case(
        "unknown-deny-is-conditional",
        UNKNOWN,
        (allow(), deny(condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
        keys(unknown=("aws:SourceIp",)),
        C,
    ),
    Case(
        "unknown-allow-and-outright-allow",
        UNKNOWN,
        (allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), allow()),
        keys(unknown=("aws:SourceIp",)),
        A,
    ),
    Case(
        "unknown-and-failing-known-condition",
        UNKNOWN,
        (allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "StringEquals": {"aws:username": "x"}}),),
        keys({"aws:username": "spot"}, unknown=("aws:SourceIp",)),
        D,
    ),
    Case(
        "unknown-deny-and-outright-deny",
        UNKNOWN,
        (allow(), deny(condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), deny("s3:*")),
        keys(unknown=("aws:SourceIp",)),
        D,
    ),
    Case(
        "unknown-deny-and-no-allow",
        UNKNOWN,
        (deny(condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),),
        keys(unknown=("aws:SourceIp",)),
        D,
    ),
    Case(
        "unknown-if-exists-is-still-unknown",
        UNKNOWN,
        (allow(condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}),),
        keys(unknown=("aws:SourceVpc",)),
        C,
    ),
    Case(
        "unknown-null-is-unknown",
        UNKNOWN,
        (allow(condition={"Null": {"aws:SourceVpce": "true"}}),),
        keys(unknown=("aws:SourceVpce",)),
        C,
    ),
    Case(
        "unknown-pattern",
        UNKNOWN,
        (allow(condition={"StringEquals": {"aws:ResourceTag/Owner": "render"}}),),
        keys(unknown=("aws:ResourceTag/*",)),
        C,
    ),
    Case(
        "unknown-pattern-ignores-case",
        UNKNOWN,
        (allow(condition={"StringEquals": {"AWS:RESOURCETAG/Owner": "render"}}),),
        keys(unknown=("aws:ResourceTag/*",)),
        C,
    ),
    Case(
        "unknown-pattern-known-key-wins",
        UNKNOWN,
        (allow(condition={"StringEquals": {"aws:ResourceTag/Owner": "render"}}),),
        keys({"aws:ResourceTag/Owner": "render"}, unknown=("aws:ResourceTag/*",)),
        A,
    ),
    Case(
        "unknown-other-key-is-absent",
        UNKNOWN,
        (allow(condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}}),),
        keys(unknown=("aws:SourceIp",)),
        D,
    ),
    Case(
        "unknown-undocumented-operator",
        UNKNOWN,
        (allow(condition={"StringSoundsLike": {"aws:username": "spot"}}),),
        keys({"aws:username": "spot"}),
        C,
    ),
    Case(
        "unknown-in-boundary-is-conditional",
        UNKNOWN,
        (allow(),),
        keys(unknown=("aws:SourceIp",)),
        C,
        boundary=(allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),),
    ),
    # -- Evaluation logic ----------------------------------------------------------------------------------------
    Case("implicit-deny", EVALUATION, (), on(WORKER), D),
    Case("implicit-deny-other-action", EVALUATION, (allow("iam:GetRole"),), on(WORKER), D),
    Case("explicit-allow", EVALUATION, (allow("iam:PassRole", WORKER),), on(WORKER), A),
    Case("explicit-deny-beats-allow", EVALUATION, (allow(), deny("iam:PassRole")), on(WORKER), D),
    Case("deny-of-other-action", EVALUATION, (allow(), deny("iam:GetRole")), on(WORKER), A),
    Case("deny-of-other-resource", EVALUATION, (allow(), deny(resource="arn:aws:iam::*:role/Other")), on(WORKER), A),
    Case(
        "deny-condition-fails",
        EVALUATION,
        (allow(), deny(condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
        on(WORKER, context={"iam:PassedToService": "ec2.amazonaws.com"}),
        A,
    ),
    Case(
        "deny-condition-holds",
        EVALUATION,
        (allow(), deny(condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
        on(WORKER, context={"iam:PassedToService": "lambda.amazonaws.com"}),
        D,
    ),
    Case("effect-is-case-sensitive", EVALUATION, ({"Effect": "allow", "Action": "*", "Resource": "*"},), on(WORKER), D),
    Case(
        "deny-region-other-than-allowed",
        EVALUATION,
        (allow(), deny(condition={"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}})),
        on(INSTANCE, "ec2:RunInstances", {"aws:RequestedRegion": "us-west-2"}),
        D,
    ),
    Case(
        "allow-only-another-region",
        EVALUATION,
        (allow(condition={"StringEquals": {"aws:RequestedRegion": "eu-central-1"}}),),
        on(INSTANCE, "ec2:RunInstances", {"aws:RequestedRegion": "us-west-2"}),
        D,
    ),
    # -- Permissions boundary ------------------------------------------------------------------------------------
    Case("boundary-allows", BOUNDARY, (allow(),), on(WORKER), A, boundary=(allow("iam:*"),)),
    Case("boundary-does-not-allow", BOUNDARY, (allow(),), on(WORKER), D, boundary=(allow("ec2:*"),)),
    Case("boundary-alone-grants-nothing", BOUNDARY, (allow("ec2:*"),), on(WORKER), D, boundary=(allow(),)),
    Case("boundary-deny", BOUNDARY, (allow(),), on(WORKER), D, boundary=(allow(), deny("iam:PassRole"))),
    Case("boundary-empty", BOUNDARY, (allow(),), on(WORKER), D, boundary=()),
    Case(
        "boundary-expired",
        BOUNDARY,
        (allow(),),
        keys({"aws:CurrentTime": "2026-12-02T10:00:00Z"}),
        D,
        boundary=(allow(condition={"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}),),
    ),
    Case(
        "boundary-requires-mfa",
        BOUNDARY,
        (allow(),),
        keys(),
        D,
        boundary=(allow(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),),
    ),
    Case(
        "boundary-with-mfa-session",
        BOUNDARY,
        (allow(),),
        keys({"aws:MultiFactorAuthPresent": "true"}),
        A,
        boundary=(allow(condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),),
    ),
    Case(
        "boundary-not-resource",
        BOUNDARY,
        (allow(),),
        on(WORKER),
        D,
        boundary=(allow(resource=None, NotResource="arn:aws:iam::*:role/*"),),
    ),
    Case(
        "boundary-trailing-star",
        BOUNDARY,
        (allow(),),
        on(WORKER),
        A,
        boundary=(allow("iam:*", "arn:aws:iam::*"),),
    ),
    Case(
        "boundary-with-identity-deny",
        BOUNDARY,
        (allow(), deny("iam:PassRole")),
        on(WORKER),
        D,
        boundary=(allow(),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_documented_rule(case: Case) -> None:
    document: dict[str, Any] = {"Statement": list(case.statements)}
    if case.version is not None:
        document["Version"] = case.version
    boundary = None
    if case.boundary is not None:
        boundary = [PolicySource("permissions boundary B", {"Version": "2012-10-17", "Statement": list(case.boundary)})]
    decision = evaluate(case.request, [PolicySource("inline policy P of user U", document)], boundary)
    assert decision.verdict == case.expected, f"{case.cite}\n{decision}"


def test_the_table_is_large_and_every_row_cites_the_documentation() -> None:
    assert len(CASES) >= 200
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(case.cite for case in CASES)

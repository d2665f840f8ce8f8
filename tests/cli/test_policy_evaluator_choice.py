"""Why the bootstrap policy is proven with the in-house evaluator (tests/support/policy_evaluator.py) and not with a
policy library's helpers, shown on the generated policy itself.

parliament's evaluation helpers (``Policy.get_allowed_resources``, ``is_arn_match``) know AWS's database of which
resource type each action takes, and agree with the in-house evaluator on every (action, ARN) the policy allows;
but they do not read conditions, so they call "allowed" what IAM refuses: attaching AdministratorAccess, creating
another service's service-linked role, tagging with any key. policyuniverse evaluates no request at all (it expands
actions and summarises statements), and policy_sentry writes policies and queries that database. So the proof keeps
the in-house evaluator (about 60 lines, standard library only, so it also runs in the Python 3.10 suite), and
parliament checks the same policies from the other side: this test and tests/cli/test_bootstrap_policy_lint.py.
"""

from __future__ import annotations

import json
import warnings

import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.desired import Settings, desired_state
from tests.support.policy_evaluator import allowed

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # parliament imports the deprecated pkg_resources
    from parliament import analyze_policy_string, is_arn_match
    from parliament.statement import get_privilege_info

ACCOUNT = "123456789012"
POLICY = bootstrap_policy(
    desired_state(Settings(path="/farm/", permissions_boundary=f"arn:aws:iam::{ACCOUNT}:policy/B", tags=(("t", ""),))),
    "aws",
    ACCOUNT,
)


def satisfying(condition: dict) -> dict:
    """A request context that meets ``condition`` (its first value of each key, wildcards filled in)."""
    context = {}
    for operator, entries in condition.items():
        for key, values in entries.items():
            first = (values if isinstance(values, list) else [values])[0].replace("*", "x")
            context[key] = [first] if operator.startswith("ForAllValues:") else first
    return context


def requests() -> list[tuple[str, str, dict]]:
    """Every (action, concrete ARN, context) the policy means to allow: each statement's actions on each of its
    resources, a path wildcard filled in."""
    return [
        (action, resource.replace("*", "farm"), satisfying(statement.get("Condition", {})))
        for statement in POLICY["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
    ]


def parliament_allows(action: str, arn: str) -> bool:
    """parliament's own evaluation: the policy's resources that the action applies to (by AWS's resource types),
    one of which matches the ARN."""
    service, name = action.split(":")
    types = [t["resource_type"].rstrip("*") for t in get_privilege_info(service, name)["resource_types"]]
    patterns = analyze_policy_string(json.dumps(POLICY)).get_allowed_resources(service, name)
    return any(is_arn_match(kind, pattern, arn) for kind in types if kind for pattern in patterns)


def test_parliament_agrees_on_every_action_and_arn_the_policy_allows():
    cases = requests()
    assert len(cases) > 40
    for action, arn, context in cases:
        assert allowed(POLICY, action, arn, context), (action, arn, context)
        assert parliament_allows(action, arn), (action, arn)


@pytest.mark.parametrize(
    ("action", "arn", "context"),
    [
        (
            "iam:AttachUserPolicy",
            f"arn:aws:iam::{ACCOUNT}:user/farm/DeadlineSpotEventPluginAdmin",
            {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        (
            "iam:CreateServiceLinkedRole",
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot",
            {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"},
        ),
        (
            "iam:TagUser",
            f"arn:aws:iam::{ACCOUNT}:user/farm/DeadlineSpotEventPluginAdmin",
            {"aws:TagKeys": ["Owner"], "aws:RequestTag/Owner": "me"},
        ),
        (
            "iam:PutRolePermissionsBoundary",
            f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker",
            {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
    ],
    ids=["attach-another-policy", "another-services-linked-role", "another-tag-key", "another-boundary"],
)
def test_parliament_cannot_see_the_conditions_the_in_house_evaluator_enforces(action, arn, context):
    assert not allowed(POLICY, action, arn, context)
    assert parliament_allows(action, arn)  # condition-blind: it would call this request allowed

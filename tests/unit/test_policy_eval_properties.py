"""Invariants of the evaluator over generated policies and requests (hypothesis), each from the IAM User Guide's
Policy evaluation logic: "An explicit deny in any policy overrides any allows"; an allow can only add to what is
allowed and a deny only take away; a permissions boundary "sets the maximum permissions that an identity-based policy
can grant"; and a key the caller declares unknown never yields a verdict that some value of that key would change."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from DeadlineSpotIamSetup.policy_eval import ALLOWED, CONDITIONAL, DENIED, PolicySource, Request, evaluate

ACCOUNT = "123456789012"
REQUESTS = (
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/DeadlineSpotWorker"),
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/spot-render"),
    ("ec2:RunInstances", f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-0123456789abcdef0"),
    ("ec2:RequestSpotFleet", "*"),
    ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role"),
)
ACTIONS = ("*", "iam:*", "iam:PassRole", "ec2:Run*", "ec2:*", "*:Get*", "iam:P?ssRole", "ec2:RequestSpotFleet")
RESOURCES = (
    "*",
    "arn:aws:iam::*",
    "arn:aws:iam::*:role/DeadlineSpot*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:*",
    "arn:aws:iam::*:role/${aws:username}-*",
    "arn:aws:iam::*:role/${aws:PrincipalTag/team, 'DeadlineSpot'}*",
    "arn:aws:iam:*:role/*",
)
# The keys the conditions test, with the values a request may carry for them.
VALUES: dict[str, tuple[Any, ...]] = {
    "aws:SourceIp": ("203.0.113.7", "198.51.100.9", "2001:db8::1"),
    "aws:username": ("spot", "other"),
    "aws:PrincipalTag/team": ("DeadlineSpot", "render"),
    "aws:CurrentTime": ("2026-12-02T10:00:00Z", "2031-01-01T00:00:00Z"),
    "aws:MultiFactorAuthPresent": ("true", "false"),
    "aws:RequestedRegion": ("us-west-2", "eu-central-1"),
    "aws:TagKeys": (("Owner",), ("Owner", "Secret"), ()),
}
CONDITIONS = {
    "aws:SourceIp": (
        ("IpAddress", "203.0.113.0/24"),
        ("NotIpAddress", "203.0.113.0/24"),
        ("IpAddressIfExists", "2001:db8::/32"),
        ("Null", "false"),
    ),
    "aws:username": (("StringEquals", "spot"), ("StringLike", "sp*"), ("StringNotEquals", "spot")),
    "aws:PrincipalTag/team": (("StringEquals", "render"), ("StringNotLikeIfExists", "Dead*"), ("Null", "true")),
    "aws:CurrentTime": (("DateLessThan", "2027-01-01T00:00:00Z"), ("DateGreaterThan", "2026-06-01T00:00:00Z")),
    "aws:MultiFactorAuthPresent": (("Bool", "true"), ("BoolIfExists", "false")),
    "aws:RequestedRegion": (("StringEquals", "us-west-2"), ("StringNotEquals", "us-west-2")),
    "aws:TagKeys": (("ForAllValues:StringEquals", "Owner"), ("ForAnyValue:StringEquals", "Secret")),
}
RANK = {DENIED: 0, CONDITIONAL: 1, ALLOWED: 2}

# Every strategy is built once, here: hypothesis checks a strategy the first time it draws from it, which costs far
# more than a draw (a strategy made inside a composite is a new one at every draw); and a dictionary of distinct keys
# drawn one by one costs several times what one draw among the sets of keys costs.
KEY_SETS = st.sampled_from([chosen for size in range(3) for chosen in itertools.combinations(sorted(CONDITIONS), size)])
CONDITION_INDEXES = st.integers(min_value=0, max_value=3)
BOOLEANS = st.booleans()
EFFECTS = st.sampled_from(["Allow", "Deny"])
ACTION_CHOICES = st.sampled_from(ACTIONS)
RESOURCE_CHOICES = st.sampled_from(RESOURCES)
ONE_IN_SIX = st.integers(0, 5)
REQUEST_CHOICES = st.sampled_from(REQUESTS)
VALUE_CHOICES = {key: st.sampled_from(values) for key, values in VALUES.items()}


@st.composite
def conditions(draw: Any) -> dict[str, dict[str, str]]:
    """Up to two condition keys, each with one of its (operator, value) pairs, in any order."""
    keys = list(draw(KEY_SETS))
    if len(keys) == 2 and draw(BOOLEANS):
        keys.reverse()
    return _condition_block({key: draw(CONDITION_INDEXES) for key in keys})


def _condition_block(chosen: dict[str, int]) -> dict[str, dict[str, str]]:
    block: dict[str, dict[str, str]] = {}
    for key, index in chosen.items():
        operator, value = CONDITIONS[key][index % len(CONDITIONS[key])]
        block.setdefault(operator, {})[key] = value
    return block


CONDITION_BLOCKS = conditions()


@st.composite
def statements(draw: Any, effect: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"Effect": effect or draw(EFFECTS)}
    found["NotAction" if draw(BOOLEANS) and draw(BOOLEANS) else "Action"] = draw(ACTION_CHOICES)
    found["NotResource" if draw(ONE_IN_SIX) == 0 else "Resource"] = draw(RESOURCE_CHOICES)
    block = draw(CONDITION_BLOCKS)
    if block:
        found["Condition"] = block
    return found


policies = st.lists(statements(), max_size=5)


@st.composite
def requests(draw: Any) -> Request:
    action, resource = draw(REQUEST_CHOICES)
    context = {key: draw(VALUE_CHOICES[key]) for key in VALUES if draw(BOOLEANS)}
    return Request(action, resource, context)


def verdict(request: Request, identity: list[dict[str, Any]], boundary: list[dict[str, Any]] | None = None) -> str:
    def document(statements: list[dict[str, Any]], label: str) -> list[PolicySource]:
        return [PolicySource(label, {"Version": "2012-10-17", "Statement": statements})]

    limit = document(boundary, "boundary") if boundary is not None else None
    return evaluate(request, document(identity, "policy"), limit).verdict


@settings(max_examples=200, deadline=None)
@given(policies, requests())
def test_an_explicit_deny_that_matches_always_wins(identity, request) -> None:
    matching = {"Effect": "Deny", "Action": request.action, "Resource": request.resource}
    assert verdict(request, identity + [matching]) == DENIED
    if "aws:username" in request.context:
        holding = {**matching, "Condition": {"StringEquals": {"aws:username": request.context["aws:username"]}}}
        assert verdict(request, [holding] + identity) == DENIED


@settings(max_examples=200, deadline=None)
@given(policies, statements(effect="Allow"), requests())
def test_adding_an_allow_never_narrows_the_verdict(identity, extra, request) -> None:
    assert RANK[verdict(request, identity + [extra])] >= RANK[verdict(request, identity)]


@settings(max_examples=200, deadline=None)
@given(policies, statements(effect="Deny"), requests())
def test_adding_a_deny_never_widens_the_verdict(identity, extra, request) -> None:
    assert RANK[verdict(request, identity + [extra])] <= RANK[verdict(request, identity)]


@settings(max_examples=200, deadline=None)
@given(policies, policies, requests())
def test_a_boundary_never_widens_what_the_identity_policies_allow(identity, boundary, request) -> None:
    assert RANK[verdict(request, identity, boundary)] <= RANK[verdict(request, identity)]


@settings(max_examples=200, deadline=None)
@given(policies, policies | st.none(), requests(), st.sampled_from(sorted(VALUES)))
def test_a_declared_unknown_key_never_yields_a_verdict_one_of_its_values_would_change(
    identity, boundary, request, key
) -> None:
    context = {k: v for k, v in request.context.items() if k != key}
    unknown = verdict(Request(request.action, request.resource, context, (key,)), identity, boundary)
    concrete = {verdict(Request(request.action, request.resource, context), identity, boundary)}
    for value in VALUES[key]:
        concrete.add(verdict(Request(request.action, request.resource, {**context, key: value}), identity, boundary))
    if unknown != CONDITIONAL:
        assert concrete == {unknown}
    if len(concrete) > 1:
        assert unknown == CONDITIONAL

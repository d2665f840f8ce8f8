"""The generated bootstrap policies, linted with parliament (Duo Labs' IAM policy linter): no finding above LOW,
except two that are explained here, each limited to exactly where it is expected."""

from __future__ import annotations

import json
import warnings

import pytest

from DeadlineSpotIamSetup.bootstrap_policy import bootstrap_policy
from DeadlineSpotIamSetup.desired import Settings, desired_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # parliament imports the deprecated pkg_resources
    import parliament
    from parliament import analyze_policy_string

SEVERITY = {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
BOUNDARY = "arn:aws:iam::123456789012:policy/RenderBoundary"
SETTINGS = {
    "default": Settings(),
    "everything": Settings(
        path="/farm/", permissions_boundary=BOUNDARY, tags=(("team", "render"),), allowed_source_ips=("203.0.113.0/24",)
    ),
    "spot-role": Settings(spot_role="RcsInstanceRole", allowed_source_ips=("2001:db8::/64",)),
    "no-tracker": Settings(resource_tracker=False),
}


def explained(finding, policy_text: str) -> bool:
    """The findings that are parliament's mistakes, not the policy's."""
    location = finding.location or {}
    if finding.issue == "INVALID_ARN":
        # The AWS managed policies the IP-restricted mode reads: their ARNs name the account "aws" (by design).
        return location.get("string", "").startswith("arn:aws:iam::aws:policy/")
    if finding.issue == "MISMATCHED_TYPE_BUT_USABLE":
        # iam:PermissionsBoundary is a string condition key in IAM's reference, compared with StringEquals as in
        # AWS's own examples; parliament's database types it Arn.
        column = location.get("column", 0)
        return '"iam:PermissionsBoundary"' in policy_text[max(0, column - 80) : column + 80]
    return False


@pytest.mark.parametrize("name", SETTINGS)
def test_parliament_finds_nothing_above_low_that_is_not_explained(name: str):
    policy = bootstrap_policy(desired_state(SETTINGS[name]), "aws", "123456789012")
    text = json.dumps(policy)
    findings = analyze_policy_string(text).findings
    serious = [
        (f.issue, f.detail, f.location)
        for f in findings
        if SEVERITY.get(parliament.config.get(f.issue, {}).get("severity", "HIGH"), 3) > SEVERITY["LOW"]
        and not explained(f, text)
    ]
    assert serious == []
    assert not [f for f in findings if f.issue in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX", "RESOURCE_STAR")]

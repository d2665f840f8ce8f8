"""The generated bootstrap policies, linted with parliament (Duo Labs' IAM policy linter): no finding above LOW,
except two that are explained here, each limited to exactly where it is expected."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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


# parliament's community auditors flag what this tool is for: it creates the Spot user's access key and attaches
# policies. They read actions only; each finding is explained by how the statements granting those actions are
# scoped, and that scoping is checked here rather than taken on trust.
SPOT_USER = "arn:aws:iam::123456789012:user/DeadlineSpotEventPluginAdmin"
ADMIN_POLICIES = {
    "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginAdminPolicy",
    "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAdminPolicy",
}


def granting(policy: dict, action: str) -> list[dict]:
    return [s for s in policy["Statement"] if action in s["Action"]]


def only_on_the_spot_user(policy: dict, action: str) -> bool:
    spot_user = {SPOT_USER, SPOT_USER.replace("user/", "user/*/")}  # at / or under any path
    return all(set(s["Resource"]) == spot_user for s in granting(policy, action))


COMMUNITY_FINDINGS_EXPLAINED = {
    # CreateAccessKey returns a secret: only the Spot user's, the one key this tool exists to create.
    "CREDENTIALS_EXPOSURE": lambda policy: only_on_the_spot_user(policy, "iam:CreateAccessKey"),
    # A key of another user, or attaching any policy to oneself, would escalate; here both are limited to the Spot
    # user, and attaching to the two AWS managed admin policies it must have (iam:PolicyARN).
    "PRIVILEGE_ESCALATION": lambda policy: (
        only_on_the_spot_user(policy, "iam:CreateAccessKey")
        and only_on_the_spot_user(policy, "iam:AttachUserPolicy")
        and all(
            set(s["Condition"]["ArnEquals"]["iam:PolicyARN"]) == ADMIN_POLICIES
            for s in granting(policy, "iam:AttachUserPolicy")
        )
    ),
    # Creating roles, users and instance profiles and attaching policies is the job; every such action is on named
    # identities only, and attaching only with an iam:PolicyARN condition. Only reads (the documents of whatever
    # policies the Spot credentials hold, whatever instance profile a fleet configuration names) are on any name.
    "PERMISSIONS_MANAGEMENT_ACTIONS": lambda policy: (
        all(
            "*" not in resource.rsplit("/", 1)[-1]
            for s in policy["Statement"]
            if not all(a.split(":")[1].startswith(("Get", "List")) for a in s["Action"])
            for resource in s["Resource"]
        )
        and all("Condition" in s for a in ("iam:AttachUserPolicy", "iam:AttachRolePolicy") for s in granting(policy, a))
    ),
}


def test_the_community_auditors_findings_are_what_the_tool_is_for_and_scoped():
    community = Path(parliament.__file__).parent / "community_auditors"
    parliament.override_config(str(community / "config_override.yaml"))
    policy = bootstrap_policy(desired_state(Settings()), "aws", "123456789012")
    findings = analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings
    issues = {f.issue for f in findings}
    assert {"CREDENTIALS_EXPOSURE", "PRIVILEGE_ESCALATION"} <= issues  # the auditors did run
    unexplained = issues - set(COMMUNITY_FINDINGS_EXPLAINED)
    assert unexplained == set()
    for issue in issues:
        assert COMMUNITY_FINDINGS_EXPLAINED[issue](policy), f"{issue}: the scoping that explains it does not hold"

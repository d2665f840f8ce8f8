"""Every CloudFormation template the command line renders passes cfn-lint (no error, no warning, no informational
finding) in each partition, and its YAML reads back, with PyYAML, as exactly the template the renderer built (the
YAML writer's own round trip: test_yaml_writer_reads_back.py).

The IP-restricted cases read the AWS managed policies from the embedded stand-in, as `export` does from IAM.
"""

from __future__ import annotations

import boto3
import cfnlint.api
import pytest
import yaml

from DeadlineSpotIamSetup.cloudformation import bootstrap_role_template, template, to_yaml
from DeadlineSpotIamSetup.desired import desired_state
from tests.support.cloudformation_cases import ACCOUNT, CUSTOM_NAMES, RCS, managed_policy_sources, settings_of
from tests.support.command_line import run_cli

REGIONS = ["us-east-1", "cn-north-1", "us-gov-west-1"]  # one region of each partition the tool knows

CASES = {
    "defaults": [],
    "custom names": CUSTOM_NAMES,
    "path": ["--path", "/deadline/spot/"],
    "permissions boundary": ["--permissions-boundary", f"arn:aws:iam::{ACCOUNT}:policy/RenderBoundary"],
    "tags": ["--tag", "team=render", "--tag", "cost centre=vfx 42", "--tag", "empty="],
    "no Resource Tracker": ["--no-resource-tracker"],
    "source IPs": ["--allowed-source-ips", RCS],
    "spot role": ["--spot-role", "RcsMachineRole"],
    "spot role, source IPs": ["--spot-role", "RcsMachineRole", "--allowed-source-ips", RCS, "--no-resource-tracker"],
    "everything": [
        "--spot-user",
        "RenderSpot",
        "--path",
        "/farm/",
        "--permissions-boundary",
        f"arn:aws:iam::{ACCOUNT}:policy/RenderBoundary",
        "--tag",
        "team=render",
        "--allowed-source-ips",
        RCS,
    ],
}
LARGE = ["--allowed-source-ips", RCS, *[a for n in range(40) for a in ("--tag", f"tag-key-{n:02d}-{'k' * 40}=v")]]
BOOTSTRAP_CASES = {
    "defaults": ([], ACCOUNT),
    "a role": (["--no-resource-tracker"], f"arn:aws:iam::{ACCOUNT}:role/FarmAdmins"),
    "everything": (CASES["everything"], f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
    "split into managed policies": (LARGE, ACCOUNT),
}


def lint(text: str) -> list[str]:
    return [f"{match.rule.id} {match}" for match in cfnlint.api.lint(text, regions=REGIONS)]


def sources(endpoint: str, argv: list[str]) -> dict[str, dict]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return managed_policy_sources(iam, desired_state(settings_of(argv)))


@pytest.mark.parametrize("case", CASES)
def test_every_exported_template_passes_cfn_lint_and_reads_back_as_rendered(case, moto_endpoint):
    argv = CASES[case]
    code, text, err = run_cli("export", *argv, "--endpoint-url", moto_endpoint)
    assert code == 0, err
    assert lint(text) == []
    assert yaml.safe_load(text) == template(desired_state(settings_of(argv)), sources(moto_endpoint, argv))


@pytest.mark.parametrize("case", BOOTSTRAP_CASES)
def test_every_bootstrap_role_template_passes_cfn_lint_and_reads_back_as_rendered(case):
    argv, principal = BOOTSTRAP_CASES[case]
    code, text, err = run_cli("bootstrap-policy", "--format", "cloudformation", "--trust-principal", principal, *argv)
    assert code == 0, err
    assert lint(text) == []
    assert yaml.safe_load(text) == bootstrap_role_template(desired_state(settings_of(argv)), principal)


def test_the_split_case_is_split():
    document = bootstrap_role_template(desired_state(settings_of(LARGE)), ACCOUNT)
    assert "BootstrapPolicy2" in document["Resources"]


def test_cfn_lint_finds_what_is_wrong_in_a_template():
    """The lint is not blind: a role without its trust policy, a name Parameter's default its pattern refuses, a
    service-linked role whose Condition is not defined."""
    document = template(desired_state(settings_of([])))
    del document["Resources"]["WorkerRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert lint(to_yaml(document))
    document = template(desired_state(settings_of([])))
    document["Parameters"]["WorkerRoleName"]["Default"] = "Workers"
    assert lint(to_yaml(document))
    document = template(desired_state(settings_of([])))
    del document["Conditions"]
    assert lint(to_yaml(document))

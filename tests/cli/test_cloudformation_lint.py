"""Every CloudFormation template the command line renders passes cfn-lint (no error, no warning, no informational
finding) in each partition, and its YAML reads back, with PyYAML, as exactly the template the renderer built.

The IP-restricted cases read the AWS managed policies from the embedded stand-in, as `export` does from IAM.
"""

from __future__ import annotations

import io

import boto3
import cfnlint.api
import pytest
import yaml

from DeadlineSpotIamSetup.cli import build_parser, main, settings_from
from DeadlineSpotIamSetup.cloudformation import bootstrap_role_template, template, to_yaml
from DeadlineSpotIamSetup.desired import PolicyCopy, desired_state

ACCOUNT = "123456789012"
RCS = "203.0.113.10/32,2001:db8::/64"
REGIONS = ["us-east-1", "cn-north-1", "us-gov-west-1"]  # one region of each partition the tool knows

CASES = {
    "defaults": [],
    "custom names": [
        "--spot-user",
        "RenderSpot",
        "--worker-role",
        "DeadlineSpotNodes",
        "--instance-profile",
        "RenderNodes",
        "--fleet-role",
        "DeadlineSpotFleetRole",
        "--tracker-role",
        "DeadlineResourceTrackerAccessFarm",
    ],
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


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def settings_of(argv: list[str]):
    return settings_from(build_parser().parse_args(["export", *argv]))


def lint(text: str) -> list[str]:
    return [f"{match.rule.id} {match}" for match in cfnlint.api.lint(text, regions=REGIONS)]


def sources(endpoint: str, argv: list[str]) -> dict[str, dict]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    found = {}
    for identity in desired_state(settings_of(argv)):
        if isinstance(identity, PolicyCopy):
            arn = identity.source.arn("aws")
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            found[identity.source.name] = document
    return found


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


def test_the_yaml_reads_back_whatever_the_strings_hold():
    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Metadata": {
            "yes": "no",
            "On": True,
            "null": None,
            "a b": ["", " lead", "trail ", "#hash", "- dash", "key: value", "{x}", "[y]", "'single'", '"double"'],
            "x:": "caf\u00e9 \U0001d400 \u2028 \x85 \x00 \ufeff back\\slash\ttab\nline \x7f",
            "1": 0,
            "nested": [[1, [2, []]], [{"k": {}}], {"deep": [{"a": [True, False]}]}],
            "Fn::Sub": "${AWS::Partition} ${!Literal}",
        },
    }
    assert yaml.safe_load(to_yaml(document)) == document

"""What the CloudFormation export tests share: the command-line settings they render templates for, the command line
run in-process, and the AWS managed policies a template's IP-restricted copies embed, read as `export` reads them.

Imported by tests/cli (the main interpreter, with cfn-lint) and tests/wire (Python 3.10 with boto3 and pytest only):
the standard library and DeadlineSpotIamSetup only.
"""

from __future__ import annotations

from DeadlineSpotIamSetup.cli import build_parser, settings_from
from DeadlineSpotIamSetup.desired import PolicyCopy, Settings

ACCOUNT = "123456789012"
RCS = "203.0.113.10/32,2001:db8::/64"  # the addresses of a Remote Connection Server, for --allowed-source-ips
SPOT_ROLE = "RcsMachineRole"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/RenderBoundary"

# Every identity under a name of its own (each one the engine accepts).
CUSTOM_NAMES = [
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
]


def settings_of(argv: list[str]) -> Settings:
    """The settings `export` builds from these options."""
    return settings_from(build_parser().parse_args(["export", *argv]))


def managed_policy_sources(iam, desired) -> dict[str, dict]:
    """The documents of the AWS managed policies that ``desired``'s IP-restricted copies restrict, by name, read
    through the boto3 IAM client ``iam`` (their default versions, as `export` reads them)."""
    found = {}
    for identity in desired:
        if isinstance(identity, PolicyCopy):
            arn = identity.source.arn("aws")
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            found[identity.source.name] = document
    return found

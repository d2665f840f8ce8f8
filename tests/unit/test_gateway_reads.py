"""A Read names a gateway method by its name (observe and apply call it with getattr). Besides mypy, which holds the
name to the Gateway protocol's reads (findings.Read.method), every Read any handler makes, for every kind of
identity, is called here against the protocol, the AWS gateway and the tests' in-memory IAM: the method exists on
each, and takes the Read's arguments."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

from DeadlineSpotIamSetup import gateway_protocol
from DeadlineSpotIamSetup.desired import CreationOptions, Settings, desired_state
from DeadlineSpotIamSetup.findings import Draft, PlanContext, Read
from DeadlineSpotIamSetup.fleet_config import parse_fleet_config
from DeadlineSpotIamSetup.gateway import IamGateway
from DeadlineSpotIamSetup.gateway_protocol import Gateway
from DeadlineSpotIamSetup.handlers import handler_for
from DeadlineSpotIamSetup.handlers.policy_copy import SOURCE_TAG
from DeadlineSpotIamSetup.kinds import Kind
from DeadlineSpotIamSetup.values import Observed, PolicyInfo
from tests.support.fake_iam import FakeIam

ACCOUNT = "123456789012"
FLEETS = parse_fleet_config(
    json.dumps(
        {
            "gpu_group": {
                "IamFleetRole": f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role",
                "LaunchSpecifications": [
                    {"IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/DeadlineSpotWorker"}}
                ],
            },
            "cpu_group": {
                "IamFleetRole": f"arn:aws:iam::{ACCOUNT}:role/aws-ec2-spot-fleet-tagging-role",
                "LaunchTemplateConfigs": [
                    {"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0abc", "Version": "$Latest"}}
                ],
            },
        }
    ),
    "Spot Fleet Request Configurations",
)
SETTINGS = (
    Settings(),
    Settings(spot_role="RcsRole"),
    Settings(allowed_source_ips=("203.0.113.0/24",), fleet_groups=FLEETS, spot_uses_resource_tracker=True),
    Settings(spot_role="RcsRole", allowed_source_ips=("203.0.113.0/24",), fleet_groups=FLEETS),
)


def every_read() -> list[Read]:
    """The first round's reads, the second round's (a policy copy whose record names an older version of its AWS
    managed policy) and each action's ``shows_up``, for every identity of every desired state above."""
    reads: list[Read] = []
    context = PlanContext("aws", CreationOptions(), account=ACCOUNT)
    for settings in SETTINGS:
        for identity in desired_state(settings):
            handler = handler_for(identity)
            reads += handler.reads(identity)
            if identity.kind is Kind.POLICY_COPY:
                source = PolicyInfo(identity.source.arn("aws"), "v3", {})
                copy = PolicyInfo("arn", "v1", {}, {SOURCE_TAG: f"{source.arn} v2"})
                reads += handler.later_reads(identity, {"policy": copy, "source": source})
            draft = Draft(identity, exists=False)
            handler.plan(identity, Observed(False), draft, context)
            reads += [action.shows_up for action in draft.actions if action.shows_up is not None]
    return reads


READS = every_read()


def read_names() -> set[str]:
    """The names ``ReadName`` (gateway_protocol.py) allows a Read to give: a type only, so read from the source."""
    tree = ast.parse(Path(gateway_protocol.__file__).read_text(encoding="utf-8"))
    [literal] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["ReadName"]
    ]
    assert isinstance(literal, ast.Subscript)
    return set(ast.literal_eval(literal.slice))


def test_the_reads_cover_every_read_a_read_may_name():
    assert {read.method for read in READS} == read_names()


@pytest.mark.parametrize("implementation", [Gateway, IamGateway, FakeIam], ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("read", sorted(set(READS), key=repr), ids=lambda read: f"{read.field}-{read.method}")
def test_every_read_names_a_method_that_takes_its_arguments(implementation, read):
    method = getattr(implementation, read.method, None)
    assert callable(method), f"{implementation.__name__} has no {read.method}"
    inspect.signature(method).bind(None, *read.args)  # self, then the Read's arguments; raises TypeError if not

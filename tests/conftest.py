"""Shared fixtures: an embedded moto server over HTTP, a fault-injecting proxy in front of it, and an
environment that can never reach a real AWS account or the developer's AWS files."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import DeadlineSpotIamSetup.gateway as gateway_module
from DeadlineSpotIamSetup.gateway import AwsAccess, IamGateway, connect
from DeadlineSpotIamSetup.waits import Timeouts
from tests.support.fault_proxy import FaultProxy, reset_endpoint

# The event plugin's Deadline-side library (spot_iam_plugin) is importable in tests as it is inside Deadline.
_LIB = str(Path(__file__).resolve().parent.parent / "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

DUMMY_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYBOOTSTRAP"


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials; the developer's AWS config and credentials files are never read."""
    home = tmp_path_factory.mktemp("aws-home")
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server over HTTP: the one given by DSIS_MOTO_ENDPOINT (run from another interpreter), or
    one started in this process."""
    given = os.environ.get("DSIS_MOTO_ENDPOINT")
    if given:
        yield given
        return
    from DeadlineSpotIamSetup.standin import MotoStandIn

    with MotoStandIn() as aws:
        yield aws.endpoint_url


def empty_account(endpoint_url: str) -> None:
    """Delete every user, role, instance profile and customer policy over the IAM API. Much faster than
    moto's reset, which reloads the ~1,000 AWS managed policies on the next call."""
    empty_iam(boto3.client("iam", endpoint_url=endpoint_url, region_name="us-east-1"))


def empty_iam(iam, keep_users: frozenset[str] = frozenset()) -> None:
    """Delete, with the client ``iam``, every user (but ``keep_users``), group, role, instance profile and customer
    policy."""
    for group in iam.list_groups()["Groups"]:
        name = group["GroupName"]
        for user in iam.get_group(GroupName=name)["Users"]:
            iam.remove_user_from_group(GroupName=name, UserName=user["UserName"])
        for policy in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]:
            iam.detach_group_policy(GroupName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_group_policies(GroupName=name)["PolicyNames"]:
            iam.delete_group_policy(GroupName=name, PolicyName=policy_name)
        iam.delete_group(GroupName=name)
    for profile in iam.list_instance_profiles()["InstanceProfiles"]:
        for role in profile["Roles"]:
            iam.remove_role_from_instance_profile(
                InstanceProfileName=profile["InstanceProfileName"], RoleName=role["RoleName"]
            )
        iam.delete_instance_profile(InstanceProfileName=profile["InstanceProfileName"])
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        iam.delete_role(RoleName=name)
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        if name in keep_users:
            continue
        for policy in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=policy_name)
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=name)
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        for version in iam.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=policy["Arn"], VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=policy["Arn"])


@pytest.fixture(scope="session")
def _account_reset_once(moto_endpoint: str) -> str:
    reset_endpoint(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def endpoint(_account_reset_once: str) -> str:
    """An empty account for each test."""
    empty_account(_account_reset_once)
    return _account_reset_once


@pytest.fixture
def proxy(endpoint: str) -> Iterator[FaultProxy]:
    """A proxy in front of the fresh account: counts every request by Action, injects faults on demand."""
    with FaultProxy(endpoint) as running:
        yield running


@pytest.fixture
def iam(endpoint: str):
    """A plain boto3 IAM client straight to moto, to arrange and inspect state behind the engine's back."""
    return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def gateway_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records any attempt to build the AWS gateway (and stops it there): input refused before any AWS call."""
    calls: list = []

    class NoAws:
        def __init__(self, *args, **kwargs):
            calls.append((args, kwargs))
            raise RuntimeError("no AWS in unit tests")

    monkeypatch.setattr(gateway_module, "IamGateway", NoAws)
    return calls


@pytest.fixture
def aws_publishes(iam):
    """AWS publishing a new default version of one of its managed policies, as it does when it updates one ("Versioning
    IAM policies", IAM User Guide: "when AWS makes changes to an AWS managed policy, the changed policy doesn't
    overwrite the existing policy. Instead, IAM creates a new version"; the earlier versions stay readable with
    GetPolicyVersion). IAM refuses CreatePolicyVersion on an AWS managed policy to anyone but AWS; moto lets the test
    play AWS's part. Undone afterwards: every test shares the one moto server."""
    published: list[tuple[str, str, str]] = []

    def publish(arn: str, document: dict) -> str:
        before = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        answer = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
        published.append((arn, before, answer["PolicyVersion"]["VersionId"]))
        return answer["PolicyVersion"]["VersionId"]

    yield publish
    for arn, before, version in reversed(published):
        iam.set_default_policy_version(PolicyArn=arn, VersionId=before)
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)

FAST = Timeouts(connect=1.0, read=2.0, call_budget=4.0, call_deadline=6.0, max_attempts=6)


def make_gateway(endpoint_url: str, timeouts: Timeouts = FAST, **access: object) -> IamGateway:
    return connect(AwsAccess(endpoint_url=endpoint_url, timeouts=timeouts, **access))  # type: ignore[arg-type]


def repository_root() -> Path:
    return Path(__file__).resolve().parent.parent

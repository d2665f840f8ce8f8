"""What the suites share to talk to the AWS stand-in: the dummy credentials every test runs with, short timeouts and a
gateway on them, and emptying IAM call by call where an account cannot be reset (not part of the product).

tests/conftest.py's fixtures use it; test modules import it as ``tests.support.wire`` (never ``from conftest``: the
plugin's folder has a conftest.py of its own, and two modules named ``conftest`` cannot both be imported by name).
Python 3.7 and later: the plugin's suite runs under Python 3.7 too.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from DeadlineSpotIamSetup.desired import DesiredState
from DeadlineSpotIamSetup.gateway import AwsAccess, IamGateway, connect
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import Timeouts

DUMMY_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYBOOTSTRAP"

# Short, yet with room for a worker's moto server (one request at a time) queueing a round of 19 parallel reads on 2
# cores busy with the other suites: tests that need a call to time out use their own, shorter bounds.
FAST = Timeouts(connect=2.0, read=4.0, call_budget=8.0, call_deadline=12.0, max_attempts=6)


_OPENED: list[IamGateway] = []


def make_gateway(endpoint_url: str, timeouts: Timeouts = FAST, **access: object) -> IamGateway:
    """A gateway on the test's endpoint, closed when the test ends (:func:`close_gateways`) if the test does not."""
    gateway = connect(AwsAccess(endpoint_url=endpoint_url, timeouts=timeouts, **access))  # type: ignore[arg-type]
    _OPENED.append(gateway)
    return gateway


def close_gateways() -> None:
    """Close every gateway made by :func:`make_gateway` (IamGateway.close: the reads it started ahead are answered),
    so that none of a test's calls reaches the next test's account or proxy."""
    while _OPENED:
        _OPENED.pop().close()


#: What each converged state handed over (the keys apply made), by server and name of the state: the snapshot on the
#: server holds the same keys.
_CONVERGED: dict = {}


def converged(endpoint_url: str, desired: DesiredState) -> list:
    """The test's fresh account (no request since its reset) brought to ``desired``, and the new access keys apply
    handed over: by a real apply (``apply_changes``, asserted ok) the first time this test process asks for ``desired``,
    kept by the test server (tests/support/moto_server.py ``Snapshots``) and put back in one request after that. For a
    test whose starting point is a converged account, not one about the apply itself: the calls of that apply reach the
    server the first time only, and never the test's proxy. Raises AssertionError when requests reached the account
    first."""
    from DeadlineSpotIamSetup.engine import apply_changes

    name = hashlib.sha256(repr(desired).encode()).hexdigest()[:32]
    status = _snapshot(endpoint_url, "restore", name)
    assert status != 409, "converged() needs the test's fresh account: requests reached it since its reset"
    if status == 200:
        return list(_CONVERGED[endpoint_url, name])
    assert status == 404, f"the test server answered {status} to a restore"
    keys: list[NewAccessKey] = []
    with connect(AwsAccess(endpoint_url=endpoint_url, timeouts=FAST)) as gateway:  # closed: every call answered
        outcome = apply_changes(gateway, desired, key_sink=keys.append)
    assert outcome.ok, outcome.after.findings
    _CONVERGED[endpoint_url, name] = tuple(keys)
    assert _snapshot(endpoint_url, "save", name) == 200
    return keys


def _snapshot(endpoint_url: str, action: str, name: str) -> int:
    url = f"{endpoint_url.rstrip('/')}/test-server/snapshot/{action}/{name}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]


def empty_iam(iam, keep_users: frozenset = frozenset()) -> None:
    """Delete, with the client ``iam``, every user (but ``keep_users``), group, role, instance profile and customer
    policy: for a server whose reset would take what must stay (an admin user the test signs its calls with). A test
    account is emptied in one request (the ``endpoint`` fixture)."""
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

"""The test server's snapshots (tests/support/moto_server.py ``Snapshots``, tests/support/wire.py ``converged``): a
converged account put back in one request is the account the real apply made, and a restore never replaces what a
test arranged. Many wire tests start from a converged account: they rely on this."""

from __future__ import annotations

import pytest

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.values import NewAccessKey
from tests.support.fault_proxy import reset_endpoint
from tests.support.wire import caller_arn, converged, make_gateway, snapshot

SETTINGS = Settings()
DESIRED_WORKER_ROLE = SETTINGS.worker_role
DESIRED = desired_state(SETTINGS)


def account(iam) -> dict:
    """Everything IAM holds in the account, as its own reads answer it: each user, group, role (its instance profiles
    included) and managed policy with its documents and attachments (GetAccountAuthorizationDetails), and each
    user's access keys and tags."""
    details = iam.get_account_authorization_details()
    details.pop("ResponseMetadata")
    users = [user["UserName"] for user in details["UserDetailList"]]
    details["AccessKeys"] = {name: iam.list_access_keys(UserName=name)["AccessKeyMetadata"] for name in users}
    details["UserTags"] = {name: iam.list_user_tags(UserName=name)["Tags"] for name in users}
    details["InstanceProfiles"] = iam.list_instance_profiles()["InstanceProfiles"]
    return details


def test_a_restored_account_is_the_account_the_apply_made(endpoint, iam) -> None:
    keys: list[NewAccessKey] = []
    assert apply_changes(make_gateway(endpoint), DESIRED, key_sink=keys.append).ok
    made = account(iam)
    assert made["UserDetailList"] and made["RoleDetailList"] and made["AccessKeys"]
    assert snapshot(endpoint, "save", "made-by-apply") == 200

    reset_endpoint(endpoint)
    assert snapshot(endpoint, "restore", "made-by-apply") == 200
    assert account(iam) == made  # the same objects: names, IDs, dates, documents, keys, tags, attachments

    # The key apply handed over still signs, as the Spot user.
    (key,) = keys
    assert caller_arn(endpoint, key.access_key_id, key.secret_access_key).endswith(":user/" + SETTINGS.spot_user)


def test_converged_gives_the_same_account_and_keys_each_time(endpoint, iam) -> None:
    first = converged(endpoint, DESIRED)
    made = account(iam)
    listed = made["AccessKeys"][SETTINGS.spot_user]
    assert [key.access_key_id for key in first] == [key["AccessKeyId"] for key in listed]
    reset_endpoint(endpoint)
    again = converged(endpoint, DESIRED)
    assert again == first
    assert account(iam) == made
    assert all(finding.status == "ok" for finding in plan_changes(make_gateway(endpoint), DESIRED).findings)


def test_a_restore_never_replaces_what_a_test_arranged(endpoint, iam) -> None:
    converged(endpoint, DESIRED)  # saved, if no test of this process saved it before
    reset_endpoint(endpoint)
    iam.create_user(UserName="arranged-by-the-test")
    with pytest.raises(AssertionError, match="fresh account"):
        converged(endpoint, DESIRED)
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["arranged-by-the-test"]


def test_a_read_since_the_reset_changes_nothing_a_restore_would_replace(endpoint, iam) -> None:
    """A read that arrives after the reset (a run that did not wait for a read it started) does not block a restore:
    only a change would be replaced by it."""
    iam.list_users()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=DESIRED_WORKER_ROLE)
    assert converged(endpoint, DESIRED)
    assert [user["UserName"] for user in iam.list_users()["Users"]] == [SETTINGS.spot_user]


def test_the_server_answers_an_unknown_snapshot_and_request_plainly(endpoint) -> None:
    assert snapshot(endpoint, "restore", "never-saved") == 404
    assert snapshot(endpoint, "forget", "anything") == 400

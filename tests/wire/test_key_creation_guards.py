"""The access key is the one thing apply creates that nobody can recreate from AWS: it is never created when its
secret could not be kept, and never handed off once the caller asked the run to stop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from states import USER

from DeadlineSpotIamSetup.apply import ApplyOptions
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.errors import AccessDenied, Cancelled, KeyDeliveryFailed, SetupError
from DeadlineSpotIamSetup.findings import FAILED
from DeadlineSpotIamSetup.gateway import AwsAccess, connect
from DeadlineSpotIamSetup.key_records import KEY_RECORD_PREFIX
from DeadlineSpotIamSetup.secret_file import SecretFileHolder
from tests.support.command_line import run_cli
from tests.support.wire import FAST, make_gateway

DESIRED = desired_state(Settings())
WRITES = ("Create", "Attach", "Add", "Update", "Delete", "Put", "Tag")


def test_secret_out_never_replaces_an_existing_file_without_force(proxy, iam, tmp_path: Path) -> None:
    secret = tmp_path / "key.json"
    secret.write_text("an earlier key that may still be in use\n")
    code, out, err = run_cli("apply", "--secret-out", str(secret), "--endpoint-url", proxy.endpoint_url)
    assert code == 1 and err.count("\n") == 1 and "--force" in err and "already exists" in err
    assert secret.read_text() == "an earlier key that may still be in use\n"
    assert not [a for a in proxy.actions() if a and a.startswith(WRITES)]  # refused before any write

    code, _, err = run_cli("apply", "--secret-out", str(secret), "--force", "--endpoint-url", proxy.endpoint_url)
    assert code == 0, err
    (key,) = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert key["AccessKeyId"] in secret.read_text()


def test_an_existing_secret_file_is_fine_when_no_key_is_created(endpoint, tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    second.write_text("kept\n")
    assert run_cli("apply", "--secret-out", str(second), "--endpoint-url", endpoint)[0] == 0
    assert second.read_text() == "kept\n"


def test_a_run_cancelled_after_creating_the_key_neither_delivers_nor_keeps_it(proxy, iam) -> None:
    delivered = []

    def cancelled() -> bool:  # the plugin's time limit strikes while CreateAccessKey is under way
        return proxy.counts()["CreateAccessKey"] >= 1

    with pytest.raises(SetupError, match="time limit"):
        apply_changes(
            make_gateway(proxy.endpoint_url),
            DESIRED,
            key_sink=delivered.append,
            options=ApplyOptions(cancelled=cancelled),
        )
    assert delivered == []
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def test_a_failed_hand_off_deletes_the_key_and_names_the_real_cause(proxy, iam) -> None:
    def sink(key) -> None:
        raise RuntimeError(f"database unavailable (while writing {key.secret_access_key})")

    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=sink)
    [failed] = outcome.result.of_state(FAILED)
    assert failed.action.operation == "CreateAccessKey" and isinstance(failed.error, SetupError)
    message = failed.detail
    assert "could not be delivered (RuntimeError: database unavailable (while writing ****))" in message
    assert "it was deleted again" in message and "\n" not in message
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def test_a_hand_over_that_cannot_be_made_final_deletes_the_key_and_names_the_cause(proxy, iam, tmp_path: Path) -> None:
    """The key is staged and recorded, then making the hand-over final fails (the --secret-out file cannot be renamed
    into place): the key is taken back and deleted, and the action fails with the key's own error, the secret masked."""

    class UnpublishableFile(SecretFileHolder):
        def publish(self, key) -> None:
            raise OSError(f"rename refused while holding {key.secret_access_key}")

    holder = UnpublishableFile(tmp_path / "key.json")
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=holder)
    [failed] = outcome.result.of_state(FAILED)
    assert failed.action.operation == "CreateAccessKey" and isinstance(failed.error, KeyDeliveryFailed)
    assert "could not be delivered (OSError: rename refused while holding ****)" in failed.detail
    assert "it was deleted again" in failed.detail and outcome.result.key is None
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    assert not (tmp_path / "key.json").exists()


def test_a_key_whose_run_fails_right_after_creating_it_is_deleted(proxy, iam) -> None:
    """Between CreateAccessKey and the hand-off the run lists the keys; when that fails (refused, throttled past
    its budget, unanswered), the key it just created must not stay behind, undelivered and blocking later runs."""
    gateway = make_gateway(proxy.endpoint_url)
    real_list = gateway.access_keys

    def list_refused_after_create(user):
        if proxy.counts()["CreateAccessKey"]:
            raise AccessDenied("AWS denied iam:ListAccessKeys on user DeadlineSpotEventPluginAdmin: grant it")
        return real_list(user)

    gateway.access_keys = list_refused_after_create
    delivered = []
    with pytest.raises(AccessDenied):
        apply_changes(gateway, DESIRED, key_sink=delivered.append)
    assert delivered == []
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def test_a_run_whose_gateway_is_cancelled_still_deletes_the_key_it_cannot_hand_over(proxy, iam) -> None:
    """As in the event plugin: the gateway itself refuses new calls once cancelled; deleting the run's own key is
    cleaning up, not new work, and goes through."""
    cancelled = lambda: proxy.counts()["CreateAccessKey"] >= 1  # noqa: E731
    delivered = []
    with connect(AwsAccess(endpoint_url=proxy.endpoint_url, timeouts=FAST), cancelled) as gateway:
        with pytest.raises(SetupError, match="time limit"):
            apply_changes(gateway, DESIRED, key_sink=delivered.append, options=ApplyOptions(cancelled=cancelled))
    assert delivered == []
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


# -- the --secret-out file holds a key only while the key exists ----------------------------------------------------


def interrupt_the_record(gateway) -> None:
    """Ctrl-C landing while the new key is recorded on the Spot user (TagUser), as Python delivers it: a
    KeyboardInterrupt in the main thread, out of the call in progress."""
    write = gateway.write

    def interrupted(operation, params, subject, **options):
        if operation == "TagUser" and any(tag["Key"].startswith(KEY_RECORD_PREFIX) for tag in params["Tags"]):
            raise KeyboardInterrupt
        return write(operation, params, subject, **options)

    gateway.write = interrupted


@pytest.mark.parametrize("stop", ["interrupt", "cancel"])
def test_the_secret_file_appears_only_once_the_key_is_kept(stop, proxy, iam, tmp_path: Path) -> None:
    """The key counts as this project's once it is recorded on the Spot user (TagUser); until then its file is written
    aside. Stopped in between (Ctrl-C, or the cancel flag), the key is deleted again and the file never appears: no
    --secret-out file holds a deleted key."""
    gateway = make_gateway(proxy.endpoint_url)
    options = ApplyOptions()
    if stop == "interrupt":
        interrupt_the_record(gateway)
    else:
        options = ApplyOptions(cancelled=lambda: proxy.counts()["TagUser"] >= 2)  # the record is the second TagUser
    with pytest.raises((KeyboardInterrupt, Cancelled)):
        apply_changes(gateway, DESIRED, key_sink=SecretFileHolder(tmp_path / "key.json"), options=options)
    assert proxy.counts()["CreateAccessKey"] == 1 and proxy.counts()["DeleteAccessKey"] == 1
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    assert list(tmp_path.iterdir()) == []  # neither the file nor the copy written aside


def test_a_secret_file_whose_key_no_longer_exists_is_named_so(endpoint, iam, tmp_path: Path) -> None:
    secret = tmp_path / "key.json"
    assert run_cli("apply", "--secret-out", str(secret), "--endpoint-url", endpoint)[0] == 0
    [old] = [key["AccessKeyId"] for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]]
    code, _, err = run_cli("rotate-key", "--secret-out", str(secret), "--endpoint-url", endpoint)
    assert code == 1 and f"it holds access key {old}, a key of user {USER} now, which may be in use" in err, err
    iam.delete_access_key(UserName=USER, AccessKeyId=old)  # as an admin, or a rotation retiring it, would
    for command in ("apply", "rotate-key"):
        code, _, err = run_cli(command, "--secret-out", str(secret), "--endpoint-url", endpoint)
        assert code == 1 and err.count("\n") == 1, err
        assert f"it holds access key {old}, which user {USER} no longer has" in err and "--force" in err, err
        assert "may hold a key still in use" not in err
    assert json.loads(secret.read_text())["AccessKeyId"] == old  # never replaced without --force

"""The access key is the one thing apply creates that nobody can recreate from AWS: it is never created when its
secret could not be kept, and never handed off once the caller asked the run to stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from states import USER

from DeadlineSpotIamSetup.apply import ApplyOptions
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.errors import AccessDenied, SetupError
from DeadlineSpotIamSetup.gateway import AwsAccess, connect
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

    with pytest.raises(SetupError) as caught:
        apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=sink)
    message = str(caught.value)
    assert "could not be delivered (RuntimeError: database unavailable (while writing ****))" in message
    assert "it was deleted again" in message and "\n" not in message
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


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
    gateway = connect(AwsAccess(endpoint_url=proxy.endpoint_url, timeouts=FAST), cancelled)
    delivered = []
    with pytest.raises(SetupError, match="time limit"):
        apply_changes(gateway, DESIRED, key_sink=delivered.append, options=ApplyOptions(cancelled=cancelled))
    assert delivered == []
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []

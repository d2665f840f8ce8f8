"""Ctrl-C and SIGTERM on the command line, as real signals to the command line running in a child process, sent
while a slow proxy holds the reply of a chosen call (so the signal lands inside it, after AWS acted): the run ends
with 128 + the signal's number (130, 143), never a traceback, a table of what it did and one error line saying what
is left; a key created but not yet handed over is deleted again and its --secret-out file never appears. A second
Ctrl-C stops at once, as quietly."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from odd_servers import SlowReplyProxy
from states import USER

from DeadlineSpotIamSetup.key_records import KEY_RECORD_PREFIX
from tests.support.command_line import run_cli, start_cli_process

pytestmark = pytest.mark.waits  # default timeouts and held replies: run first (tests/conftest.py)

HOLD = 3.0  # seconds the proxy holds the chosen reply: the signal lands inside the call


def signalled_inside(proxy: SlowReplyProxy, process: subprocess.Popen, *signals: int) -> tuple[int, str, str]:
    """Send ``signals`` to the child once the proxy holds the chosen call; (exit code, stdout, stderr)."""
    try:
        assert proxy.arrived.wait(90), "the chosen call never came"
        for number in signals:
            process.send_signal(number)
            if len(signals) > 1:
                proxy.stopping.wait(0.3)  # the second signal while the first one's stop is under way
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, err


def test_ctrl_c_right_after_the_key_is_created_deletes_it_and_leaves_no_secret_file(endpoint, iam, tmp_path: Path):
    assert run_cli("apply", "--endpoint-url", endpoint)[0] == 2  # everything but the key
    secret = tmp_path / "key.json"
    # The key exists once CreateAccessKey answered; the signal lands while its record is written on the user.
    with SlowReplyProxy(endpoint, "TagUser", HOLD, holding=KEY_RECORD_PREFIX) as slow:
        process = start_cli_process(
            "apply", "--secret-out", str(secret), "--endpoint-url", slow.endpoint_url, cwd=tmp_path
        )
        code, out, err = signalled_inside(slow, process, signal.SIGINT)
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert err.startswith("Ctrl-C: stopping after the call under way (Ctrl-C again stops at once)\n"), err
    assert err.splitlines()[-1] == (
        "error: interrupted (Ctrl-C): made 0 of 1 changes, 1 left (above): run apply again to make them"
    )
    assert (
        "not attempted  create an access key for user DeadlineSpotEventPluginAdmin: stopped before handing over" in out
    )
    assert "Ctrl-C was pressed; it was deleted again" in out
    assert slow.count("CreateAccessKey") == 1 and slow.count("DeleteAccessKey") == 1
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    assert list(tmp_path.iterdir()) == []  # no secret file, nor the copy it was written aside as
    code, _, err = run_cli("apply", "--secret-out", str(secret), "--endpoint-url", endpoint)
    assert code == 0, err  # the next run finishes
    [key] = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert json.loads(secret.read_text())["AccessKeyId"] == key["AccessKeyId"]


@pytest.mark.parametrize(("number", "name", "code"), [(signal.SIGINT, "Ctrl-C", 130), (signal.SIGTERM, "SIGTERM", 143)])
def test_a_stopped_apply_ends_the_changes_under_way_and_says_what_is_left(number, name, code, endpoint, iam, tmp_path):
    with SlowReplyProxy(endpoint, "CreateRole", HOLD) as slow:
        process = start_cli_process("apply", "--no-access-key", "--endpoint-url", slow.endpoint_url, cwd=tmp_path)
        exit_code, out, err = signalled_inside(slow, process, number)
    assert exit_code == code, out + err
    assert "Traceback" not in out + err
    last = err.splitlines()[-1]
    assert last.startswith(f"error: interrupted ({name}): made ") and last.endswith("run apply again to make them")
    rows = out.split("Not every change was made:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    states = {row[2:16].strip() for row in rows if row.startswith("  ")}
    assert states <= {"done", "not attempted"} and "not attempted" in states, out
    done = [row[2:].split(None, 1)[1] for row in rows if row.startswith("  done ")]
    # The calls under way when the signal came were finished (the held CreateRole among them); no later change began.
    roles = [row for row in done if row.startswith("create role ")]
    made = {role["RoleName"] for role in iam.list_roles()["Roles"] if role["Path"] == "/"}  # not service-linked
    assert roles and made == {row.split()[2] for row in roles}
    assert not [row for row in done if row.startswith(("attach ", "add role ", "tag "))], out
    assert run_cli("apply", "--no-access-key", "--endpoint-url", endpoint)[0] == 0  # the next run makes the rest


def test_a_second_ctrl_c_stops_at_once_quietly(endpoint, tmp_path):
    with SlowReplyProxy(endpoint, "CreateRole", 20.0) as slow:
        process = start_cli_process("apply", "--no-access-key", "--endpoint-url", slow.endpoint_url, cwd=tmp_path)
        code, out, err = signalled_inside(slow, process, signal.SIGINT, signal.SIGINT)
    assert code == 130, out + err
    assert "Traceback" not in out + err and "Exception ignored" not in err
    assert err.splitlines()[-1] == ("error: interrupted (Ctrl-C), stopped at once: run check to see what is in place")


def test_ctrl_c_in_a_rotation_before_its_key_is_delivered_leaves_no_new_key(endpoint, iam, tmp_path: Path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    [old] = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    with SlowReplyProxy(endpoint, "CreateAccessKey", HOLD) as slow:
        process = start_cli_process(
            "rotate-key", "--secret-out", str(second), "--endpoint-url", slow.endpoint_url, cwd=tmp_path
        )
        code, out, err = signalled_inside(slow, process, signal.SIGINT)
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert err.splitlines()[-1].startswith("error: interrupted (Ctrl-C) after ")
    assert err.splitlines()[-1].endswith("before a new key was delivered: run the same rotate-key command again")
    assert [key["AccessKeyId"] for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [
        old["AccessKeyId"]
    ]
    assert not second.exists() and sorted(path.name for path in tmp_path.iterdir()) == ["first.json"]

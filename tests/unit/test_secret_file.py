"""Delivering a new access key to a file only its owner can read."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.secret_file import check_secret_destination, write_secret_file
from DeadlineSpotIamSetup.values import NewAccessKey

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
KEY = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIAIOSFODNN7NEWKEY1", SECRET)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def test_secret_file_holds_exactly_the_key_id_and_secret(tmp_path: Path):
    target = tmp_path / "key.json"
    write_secret_file(target, KEY)
    assert json.loads(target.read_text(encoding="utf-8")) == {
        "AccessKeyId": "AKIAIOSFODNN7NEWKEY1",
        "SecretAccessKey": SECRET,
    }


@posix_only
def test_secret_file_is_readable_by_its_owner_only(tmp_path: Path):
    target = tmp_path / "key.json"
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        write_secret_file(target, KEY)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@posix_only
def test_existing_file_is_replaced_not_rewritten_in_place(tmp_path: Path):
    target = tmp_path / "key.json"
    target.write_text("old content\n", encoding="utf-8")
    target.chmod(0o644)
    with open(target, encoding="utf-8") as reader:  # a reader that opened the old file ...
        write_secret_file(target, KEY)
        assert reader.read() == "old content\n"  # ... still sees it whole: a rename, not a truncate
    assert json.loads(target.read_text(encoding="utf-8"))["AccessKeyId"] == "AKIAIOSFODNN7NEWKEY1"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_no_temporary_file_is_left_behind(tmp_path: Path):
    write_secret_file(tmp_path / "key.json", KEY)
    write_secret_file(tmp_path / "key.json", KEY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.json"]


def test_failed_write_raises_a_setup_error_without_the_secret_and_leaves_no_temporary_file(tmp_path: Path):
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "inside").write_text("x", encoding="utf-8")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(SetupError) as caught:
        write_secret_file(target, KEY)
    assert SECRET not in str(caught.value)
    assert str(target) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


def test_check_secret_destination_accepts_a_new_file_in_an_existing_folder(tmp_path: Path):
    target = tmp_path / "key.json"
    assert check_secret_destination(target) == target


def test_check_secret_destination_accepts_a_bare_file_name_in_the_current_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_secret_destination(Path("key.json")) == Path("key.json")


def test_check_secret_destination_expands_the_home_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert check_secret_destination(Path("~/key.json")) == tmp_path / "key.json"


def test_check_secret_destination_refuses_a_directory(tmp_path: Path):
    with pytest.raises(InvalidSettings, match="is a directory"):
        check_secret_destination(tmp_path)


def test_check_secret_destination_refuses_a_missing_folder(tmp_path: Path):
    with pytest.raises(InvalidSettings, match="does not exist"):
        check_secret_destination(tmp_path / "missing" / "key.json")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX modes and a non-root user")
def test_check_secret_destination_refuses_a_read_only_folder(tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InvalidSettings, match="not writable"):
            check_secret_destination(folder / "key.json")
    finally:
        folder.chmod(0o700)


# -- Windows: an ACL for the current user alone, and a replace the target's readers may hold up ---------


@pytest.fixture
def windows(monkeypatch):
    """The Windows branch, simulated: the platform check answers Windows and icacls is recorded, not run."""
    import DeadlineSpotIamSetup.secret_file as secret_file

    commands: list[list[str]] = []

    def run(command):
        commands.append(command)
        if command[0] == "whoami":  # the service's account, as LocalSystem would answer
            return subprocess.CompletedProcess(command, 0, '"nt authority\\system","S-1-5-18"\r\n', "")
        return subprocess.CompletedProcess(command, 0, "processed 1 files", "")

    monkeypatch.setattr(secret_file, "_on_windows", lambda: True)
    monkeypatch.setattr(secret_file, "_run", run)
    monkeypatch.setenv("USERNAME", "RCS01$")  # what a LocalSystem service sees: not the account it runs as
    return commands


def test_on_windows_the_file_gets_an_acl_for_the_current_user_only_before_the_secret_is_written(tmp_path, windows):
    target = tmp_path / "key.json"
    write_secret_file(target, KEY)
    whoami, (program, file, *arguments) = windows
    assert whoami == ["whoami", "/user", "/fo", "csv", "/nh"]
    assert (program, arguments) == ("icacls", ["/inheritance:r", "/grant:r", "*S-1-5-18:F"])
    assert Path(file).parent == tmp_path and Path(file).name.startswith(".key.json-")  # the temporary file
    assert json.loads(target.read_text())["AccessKeyId"] == KEY.access_key_id


def test_on_windows_a_failing_icacls_leaves_no_secret_behind(tmp_path, windows, monkeypatch):
    import DeadlineSpotIamSetup.secret_file as secret_file

    def run(command):
        if command[0] == "whoami":
            return subprocess.CompletedProcess(command, 0, '"farm\\render","S-1-5-21-1-2-3-1001"', "")
        return subprocess.CompletedProcess(command, 5, "Access is denied.", "")

    monkeypatch.setattr(secret_file, "_run", run)
    with pytest.raises(SetupError, match=r"icacls could not restrict the file to the current user \(S-1-5-21-1-2"):
        write_secret_file(tmp_path / "key.json", KEY)
    assert list(tmp_path.iterdir()) == []


def test_on_windows_an_unknown_account_leaves_no_secret_behind(tmp_path, windows, monkeypatch):
    import DeadlineSpotIamSetup.secret_file as secret_file

    monkeypatch.setattr(secret_file, "_run", lambda command: subprocess.CompletedProcess(command, 1, "", "denied"))
    with pytest.raises(SetupError, match="cannot tell the current Windows account"):
        write_secret_file(tmp_path / "key.json", KEY)
    assert list(tmp_path.iterdir()) == []


def test_a_replace_refused_by_a_sharing_violation_is_tried_again(tmp_path, monkeypatch):
    import DeadlineSpotIamSetup.secret_file as secret_file

    real_replace, refusals = os.replace, []

    def held_open_twice(source, target):
        if len(refusals) < 2:
            error = PermissionError(13, "The process cannot access the file because it is being used")
            error.winerror = 32  # ERROR_SHARING_VIOLATION
            refusals.append(error)
            raise error
        real_replace(source, target)

    monkeypatch.setattr(secret_file.os, "replace", held_open_twice)
    write_secret_file(tmp_path / "key.json", KEY)
    assert len(refusals) == 2
    assert json.loads((tmp_path / "key.json").read_text())["AccessKeyId"] == KEY.access_key_id


def test_a_replace_refused_for_good_fails_in_bounded_time_without_a_temporary_file(tmp_path, monkeypatch):
    import DeadlineSpotIamSetup.secret_file as secret_file

    def always_held(source, target):
        error = PermissionError(13, "held")
        error.winerror = 32
        raise error

    monkeypatch.setattr(secret_file.os, "replace", always_held)
    monkeypatch.setattr(secret_file.time, "sleep", lambda seconds: None)
    with pytest.raises(SetupError, match="cannot write"):
        write_secret_file(tmp_path / "key.json", KEY)
    assert list(tmp_path.iterdir()) == []


# -- the command line's key holder: the file appears once the key is kept, and goes when the key is deleted ---------


def _key(key_id: str = "AKIAIOSFODNN7EXAMPLE"):
    from DeadlineSpotIamSetup.values import NewAccessKey

    return NewAccessKey("DeadlineSpotEventPluginAdmin", key_id, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_a_key_withdrawn_after_staging_leaves_no_file(tmp_path: Path):
    from DeadlineSpotIamSetup.secret_file import SecretFileHolder

    holder = SecretFileHolder(tmp_path / "key.json")
    holder.stage(_key())
    holder.withdraw(_key())
    assert list(tmp_path.iterdir()) == []


def test_a_publication_interrupted_as_the_file_lands_is_taken_back_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A run stopped (Ctrl-C, a kill the run survives long enough to clean up) just as the file was renamed into place:
    the rotation then deletes the key, so the file that names it goes too (an admin would paste a deleted key)."""
    import DeadlineSpotIamSetup.secret_file as secret_file

    moved = secret_file._move_into_place

    def move_then_interrupted(temporary: str, path: Path) -> None:
        moved(temporary, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(secret_file, "_move_into_place", move_then_interrupted)
    holder = secret_file.SecretFileHolder(tmp_path / "key.json")
    holder.stage(_key())
    with pytest.raises(KeyboardInterrupt):
        holder.publish(_key())
    holder.withdraw(_key())
    assert list(tmp_path.iterdir()) == []


def test_withdrawing_a_key_never_removes_a_file_holding_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import DeadlineSpotIamSetup.secret_file as secret_file

    path = tmp_path / "key.json"

    def refused(temporary: str, target: Path) -> None:
        secret_file._remove(temporary)
        raise SetupError(f"cannot write {target}")

    write_secret_file(path, _key("AKIAOTHEROTHEROTHER1"))  # what an earlier run (or an admin) left there
    monkeypatch.setattr(secret_file, "_move_into_place", refused)
    holder = secret_file.SecretFileHolder(path)
    holder.stage(_key())
    with pytest.raises(SetupError):
        holder.publish(_key())
    holder.withdraw(_key())
    assert json.loads(path.read_text())["AccessKeyId"] == "AKIAOTHEROTHEROTHER1"

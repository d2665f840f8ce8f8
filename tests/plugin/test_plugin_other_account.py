"""The plugin installed by one account is loaded and run by another, unprivileged one, in a separate OS process.

Deadline's RCS and Pulse run under a service account, and Monitor machines read the repository over NFS/SMB as
their users; none of them is the account that ran ``install`` (usually root or an admin). Thinkbox's "Database and
Repository Installation" guide (section "Sharing the Repository Folder") has every client read the whole repository,
and AWS's RFDK hands the repository to the RCS's own, unprivileged account (aws/aws-rfdk,
``packages/aws-rfdk/lib/deadline/scripts/bash/installDeadlineRepository.sh``: ``chown -R UID:GID``;
``packages/aws-rfdk/docs/upgrade/upgrading-0.27.md``: RCS mounts the repository as a POSIX UID/GID).

Here root installs (umask 022) and ``nobody`` runs the machine: tests/plugin/host_process.py in a child started with
subprocess's ``user``/``group``/``extra_groups`` (setresuid/setresgid/setgroups before exec), under a Python that
account can execute (Debian's /usr/bin/python3, or DSIS_UNPRIVILEGED_PYTHON) in a virtual environment holding the
boto3 and botocore versions of this interpreter, made once per session in a world-readable folder. The child loads
the installed plugin with the Deadline stand-in and fires a house cleaning against the moto stand-in over loopback.
Then ``nobody`` tries to install into and uninstall from a repository root owns: one line, nothing changed.

The suite must run as root to switch accounts. Where it cannot (or the interpreter is missing), every test here
fails saying what it needs: a skip would let the suite pass without the one test that proves another account can
load the plugin.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore
import pytest
from host_process import HERE, ROOT, Account, HostProcess
from plugin_farm import USER, Farm, checked

from DeadlineSpotIamSetup.install import PLUGIN_NAME, install
from tests.support.fault_proxy import FaultProxy
from tests.support.wire import caller_arn

UNPRIVILEGED = "nobody"
PYTHON = os.environ.get("DSIS_UNPRIVILEGED_PYTHON", "/usr/bin/python3")
COMMAND_TIMEOUT = 300  # seconds: pip may download the two wheels on a fresh machine


@dataclass(frozen=True)
class OtherAccount:
    """``nobody``, with a Python it can run and a world-readable folder holding what it runs."""

    name: str
    uid: int
    gid: int
    python: str  # the virtual environment's interpreter: the base Python plus boto3
    shared: Path  # world-readable: the stand-in's code, a copy of this checkout, the farms
    checkout: Path

    def account(self, groups: tuple[int, ...] = ()) -> Account:
        return Account(self.python, self.uid, self.gid, groups, self.shared / "standin")

    def run(self, *arguments: str) -> subprocess.CompletedProcess:
        """``python ARGUMENTS`` as this account, the checkout's copy on its path."""
        return subprocess.run(
            [self.python, *arguments],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            cwd=self.shared,
            env={**os.environ, "PYTHONPATH": str(self.checkout), "HOME": str(self.shared), "PYTHONNOUSERSITE": "1"},
        )

    def folder(self, name: str) -> Path:
        """A new folder this account can traverse and read (pytest's tmp_path, under /tmp/pytest-of-root, is 0700)."""
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.shared))
        os.chmod(path, 0o755)
        return path


def run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}): {(done.stderr or done.stdout).strip()[-800:]}")


@pytest.fixture(scope="session")
def other_account() -> Iterator[OtherAccount]:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.fail(
            f"these tests run the installed plugin as the unprivileged account {UNPRIVILEGED!r}: run the suite as root "
            "(as CI does) so that it can switch accounts"
        )
    try:
        account = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        pytest.fail(f"these tests need the unprivileged account {UNPRIVILEGED!r}, which this machine lacks")
    if not os.access(PYTHON, os.X_OK):
        pytest.fail(f"no Python at {PYTHON} for {UNPRIVILEGED!r}: install one there or set DSIS_UNPRIVILEGED_PYTHON")
    shared = Path(tempfile.mkdtemp(prefix="dsis-other-account-"))
    previous_umask = os.umask(0o022)  # what follows is made readable by everyone
    try:
        os.chmod(shared, 0o755)
        environment = shared / "python"
        run([PYTHON, "-m", "venv", "--without-pip", str(environment)], f"creating a virtual environment with {PYTHON}")
        python = str(environment / "bin" / "python")
        run(
            [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--disable-pip-version-check",
             f"boto3=={boto3.__version__}", f"botocore=={botocore.__version__}"],
            f"installing boto3 for {UNPRIVILEGED!r}'s Python",
        )  # fmt: skip
        checkout = shared / "checkout"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ("DeadlineSpotIamSetup", "lib"):
            shutil.copytree(ROOT / part, checkout / part, ignore=ignore)
        for part in ("plugin.py", "plugin.param", "command.py", "monitor_script.py"):
            shutil.copy(ROOT / part, checkout / part)
        (shared / "standin").mkdir()
        for part in ("host_process.py", "deadline_standin.py"):
            shutil.copy(HERE / part, shared / "standin" / part)
        os.umask(previous_umask)
        other = OtherAccount(UNPRIVILEGED, account.pw_uid, account.pw_gid, python, shared, checkout)
        answer = other.run("-c", "import boto3, sys; print(sys.version_info >= (3, 7))")
        if answer.stdout.strip() != "True":
            pytest.fail(f"{UNPRIVILEGED!r} cannot run {python} with boto3: {(answer.stderr or answer.stdout).strip()}")
        yield other
    finally:
        os.umask(previous_umask)  # again, when a step above failed
        shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def some_group_of_neither(account: OtherAccount) -> int:
    """A group that is neither root's nor the unprivileged account's own."""
    return next(group.gr_gid for group in grp.getgrall() if group.gr_gid not in (0, account.gid))


# -- installed by root, run by nobody ------------------------------------------------------------------------------


def database_for(account: OtherAccount, folder: Path) -> Path:
    """The shared Deadline database (host_process.py): in a folder both accounts write, its lock file theirs too."""
    database = folder / "deadline-db"
    database.mkdir()
    os.chown(database, account.uid, account.gid)
    lock = database / "deadline-db.json.lock"
    lock.touch()
    os.chown(lock, account.uid, account.gid)
    return database / "deadline-db.json"


@pytest.mark.parametrize("layout", ["events 0755", "events 2770, group-only"])
def test_installed_by_root_the_plugin_is_loaded_and_run_by_an_unprivileged_account(
    other_account: OtherAccount, proxy: FaultProxy, endpoint: str, iam, umask_022, layout: str
):
    groups: tuple[int, ...] = ()

    def lay_out(root: Path) -> None:
        events = root / "custom" / "events"
        assert stat.S_IMODE(events.stat().st_mode) == 0o755  # what umask 022 gave it
        if layout == "events 2770, group-only":  # readable only through the group: the service account is in it
            nonlocal groups
            group = some_group_of_neither(other_account)
            os.chown(events, -1, group)
            os.chmod(events, 0o2770)
            groups = (group,)

    folder = other_account.folder("farm")
    farm = Farm(folder / "repository", proxy, endpoint, database_for(other_account, folder), before_install=lay_out)
    for _ in checked(farm):
        environment = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        with HostProcess(
            farm.root, farm.database, "rcs-a", PLUGIN_NAME, environment, account=other_account.account(groups)
        ) as machine:
            answer = machine.house_cleaning()
        assert answer == {"error": None}, farm.log()
        spot = farm.spot()
        assert spot["AccessID"].startswith("AKIA") and spot["SecretKey"]
        assert caller_arn(farm.endpoint, spot["AccessID"], spot["SecretKey"]).endswith(f":user/{USER}")
        keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
        assert [key["AccessKeyId"] for key in keys] == [spot["AccessID"]]
        assert "Checking the Spot Event Plugin's IAM identities" in farm.log()
        assert f"New access key {spot['AccessID']} for user {USER} delivered" in farm.log()
        assert farm.fake.errors() == []


def test_root_gives_the_installed_tree_to_the_account_that_owns_the_events_folder(
    other_account: OtherAccount, umask_022
):
    repository = other_account.folder("repository")
    events = repository / "custom" / "events"
    events.mkdir(parents=True)
    group = some_group_of_neither(other_account)
    os.chown(events, other_account.uid, group)
    os.chmod(events, 0o700)  # the repository belongs to the RCS account alone, as RFDK lays it out
    target = install(repository)
    tree = [target, *target.rglob("*")]
    assert {(path.stat().st_uid, path.stat().st_gid) for path in tree} == {(other_account.uid, group)}
    readable = other_account.run("-c", f"print(open({str(target / f'{PLUGIN_NAME}.py')!r}).readline())")
    assert readable.returncode == 0, readable.stderr


# -- nobody may not write to root's repository -------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    return {
        str(path.relative_to(folder)): (path.lstat().st_mode, None if path.is_dir() else path.read_bytes())
        for path in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    ("command", "installed_before", "custom_mode", "named"),
    [
        ("install", False, 0o755, "custom/events"),
        ("install", True, 0o755, "custom/events"),
        ("uninstall", True, 0o755, "custom/events"),
        ("install", False, 0o700, "custom"),
        ("uninstall", True, 0o700, "custom"),
    ],
    ids=["install", "reinstall", "uninstall", "install, custom closed", "uninstall, custom closed"],
)
def test_an_account_that_may_not_write_to_the_repository_gets_one_line_and_nothing_changes(
    other_account: OtherAccount, umask_022, command: str, installed_before: bool, custom_mode: int, named: str
):
    repository = other_account.folder("repository")
    events = repository / "custom" / "events"
    events.mkdir(parents=True)  # root's, 0755
    if installed_before:
        install(repository)
    os.chmod(repository / "custom", custom_mode)
    before = snapshot(repository)
    done = other_account.run("-m", "DeadlineSpotIamSetup", command, "--repository", str(repository))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: cannot {command} the plugin: {repository / named} is not writable by {UNPRIVILEGED}; run {command} "
        f"as an account that may write to that folder, or have the repository's administrator give {UNPRIVILEGED} "
        "write access to it\n"
    )
    assert snapshot(repository) == before


def test_reinstalling_over_an_install_this_account_cannot_delete_gets_one_line_and_nothing_changes(
    other_account: OtherAccount, umask_022
):
    """The account may write to custom/events (it owns it), but root installed the plugin there before: its
    folders are root's, so they cannot be emptied by this account, and the previous install stays whole."""
    repository = other_account.folder("repository")
    events = repository / "custom" / "events"
    events.mkdir(parents=True)
    install(repository)  # root's, 0755
    os.chown(events, other_account.uid, other_account.gid)
    before = snapshot(repository)
    done = other_account.run("-m", "DeadlineSpotIamSetup", "install", "--repository", str(repository))
    assert (done.returncode, done.stdout) == (1, "")
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: cannot install the plugin: {events / PLUGIN_NAME}")
    assert f"is not writable by {UNPRIVILEGED}; run install as an account that may write to that folder" in line
    assert snapshot(repository) == before

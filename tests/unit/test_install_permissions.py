"""The installed plugin gets the permissions of the repository folder it goes in, and an install or uninstall that
cannot finish says so in one line and leaves the repository as it was.

Deadline's RCS/Pulse (a service account) and every Monitor machine (over NFS/SMB) read ``custom/events/``: Thinkbox's
"Database and Repository Installation" guide (section "Sharing the Repository Folder") asks for read access to the
whole repository for every client, and AWS's RFDK hands the repository to the RCS's own account
(aws/aws-rfdk ``packages/aws-rfdk/lib/deadline/scripts/bash/installDeadlineRepository.sh``: ``chown -R UID:GID``).
The cross-account proof (install as root, load as ``nobody``) is tests/plugin/test_plugin_other_account.py.
"""

from __future__ import annotations

import errno
import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import DeadlineSpotIamSetup.install as install_module
from DeadlineSpotIamSetup.errors import SetupError
from DeadlineSpotIamSetup.install import PLUGIN_NAME, install, ownership_to_set, uninstall


@pytest.fixture
def umask() -> Iterator[None]:
    """A restrictive umask, as an admin's shell may have: the result must not depend on it."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def repository_with(tmp_path: Path, events_mode: int | None = 0o755, custom_mode: int = 0o755) -> Path:
    """A repository whose custom/ (and custom/events/, unless ``events_mode`` is None) have these modes."""
    repository = tmp_path / "repository"
    (repository / "custom").mkdir(parents=True)
    os.chmod(repository / "custom", custom_mode)
    if events_mode is not None:
        (repository / "custom" / "events").mkdir()
        os.chmod(repository / "custom" / "events", events_mode)
    return repository


def modes(tree: Path) -> dict[str, set[str]]:
    """Every mode found in ``tree`` (itself included), folders and files apart, as octal strings."""
    found: dict[str, set[str]] = {"folders": set(), "files": set()}
    for path in [tree, *tree.rglob("*")]:
        kind = "folders" if path.is_dir() else "files"
        found[kind].add(oct(stat.S_IMODE(path.lstat().st_mode)))
    return found


def owners(tree: Path) -> set[tuple[int, int]]:
    return {(path.lstat().st_uid, path.lstat().st_gid) for path in [tree, *tree.rglob("*")]}


def listing(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its content (None for a folder): what must survive a refused change."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def other_group() -> int:
    """A group this account may give files: any group when root, else its own."""
    if os.geteuid() != 0:
        return os.getegid()
    return next(group.gr_gid for group in grp.getgrall() if group.gr_gid not in (0, os.getegid()))


# -- POSIX: the mode (and group) of custom/events ----------------------------------------------------------------


def test_installed_with_umask_077_into_a_0755_events_folder_the_plugin_is_readable_by_everyone(tmp_path, umask):
    target = install(repository_with(tmp_path, events_mode=0o755))
    assert modes(target) == {"folders": {"0o755"}, "files": {"0o644"}}


def test_a_world_writable_events_folder_gives_no_write_to_others(tmp_path, umask):
    target = install(repository_with(tmp_path, events_mode=0o777))
    assert modes(target) == {"folders": {"0o775"}, "files": {"0o664"}}


def test_a_group_only_setgid_events_folder_gives_the_tree_its_group_and_setgid_folders(tmp_path, umask):
    repository = repository_with(tmp_path, events_mode=0o770)
    events = repository / "custom" / "events"
    group = other_group()
    os.chown(events, -1, group)
    os.chmod(events, 0o2770)  # after chown, which may clear the set-group-ID bit
    target = install(repository)
    assert modes(target) == {"folders": {"0o2770"}, "files": {"0o660"}}
    assert {gid for _, gid in owners(target)} == {group}


def test_the_owner_always_keeps_full_access_so_that_it_can_reinstall(tmp_path, umask):
    target = install(repository_with(tmp_path, events_mode=0o555))
    assert modes(target) == {"folders": {"0o755"}, "files": {"0o644"}}


def test_without_an_events_folder_it_and_the_tree_get_the_permissions_of_custom(tmp_path, umask):
    repository = repository_with(tmp_path, events_mode=None, custom_mode=0o750)
    target = install(repository)
    assert oct(stat.S_IMODE((repository / "custom" / "events").stat().st_mode)) == "0o750"
    assert modes(target) == {"folders": {"0o750"}, "files": {"0o640"}}


def test_a_reinstall_gives_the_same_permissions(tmp_path, umask):
    repository = repository_with(tmp_path, events_mode=0o775)
    first = modes(install(repository))
    assert modes(install(repository)) == first == {"folders": {"0o775"}, "files": {"0o664"}}


# The ownership rule itself (chown(2): only a privileged process may change a file's owner; an unprivileged one may
# set the group only to one it belongs to), without needing root. Root giving the tree to the owner of custom/events
# is shown on the files in tests/plugin/test_plugin_other_account.py.


def test_root_takes_the_owner_and_the_group_of_the_reference_folder():
    assert ownership_to_set(owner=1000, group=1001, euid=0, groups={0}) == (1000, 1001)


def test_an_account_in_the_reference_group_takes_the_group_and_keeps_its_files():
    assert ownership_to_set(owner=1000, group=1001, euid=1002, groups={1001, 1002}) == (-1, 1001)


def test_an_account_outside_the_reference_group_changes_nothing():
    assert ownership_to_set(owner=1000, group=1001, euid=1002, groups={1002}) == (-1, -1)


# -- Windows: the folders' inherited ACLs -------------------------------------------------------------------------


@pytest.fixture
def windows(monkeypatch) -> dict[str, list]:
    """The Windows branch, simulated: the platform check answers Windows; chmod, chown and the modes folders are
    created with are recorded. On Windows os.mkdir(path, 0o700) -- the mode tempfile.mkdtemp uses -- gives the
    folder a protected, owner-only ACL instead of the one inherited from its parent (CPython 3.8.20, 3.9.20,
    3.10.15, 3.11.10, 3.12.4 and later: python/cpython#118486, CVE-2024-4030), and a rename within a volume
    keeps an object's ACL as it is (Microsoft KB 310316)."""
    calls: dict[str, list] = {"mkdir": [], "chmod": [], "chown": []}
    real_mkdir = os.mkdir

    def mkdir(path, mode=0o777, *args, **kwargs):
        calls["mkdir"].append((str(path), mode))
        real_mkdir(path, mode, *args, **kwargs)

    monkeypatch.setattr(install_module, "_on_windows", lambda: True)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: calls["chmod"].append(args))
    monkeypatch.setattr(os, "chown", lambda *args, **kwargs: calls["chown"].append(args))
    return calls


def test_on_windows_every_folder_is_created_without_an_owner_only_acl_and_nothing_changes_acls(tmp_path, windows):
    repository = repository_with(tmp_path, events_mode=None)
    for recorded in windows.values():
        recorded.clear()  # the test's own set-up
    target = install(repository)
    install(repository)  # a reinstall too
    assert (target / f"{PLUGIN_NAME}.py").is_file()
    created = windows["mkdir"]
    assert [path for path, _ in created if Path(path).name.startswith(f".{PLUGIN_NAME}-")]  # the staging folders
    assert any(Path(path) == repository / "custom" / "events" for path, _ in created)
    assert [(path, mode) for path, mode in created if mode == 0o700] == []
    assert windows["chmod"] == windows["chown"] == []


# -- what cannot be done: one line, nothing left behind -----------------------------------------------------------


@pytest.fixture
def installed_once(tmp_path: Path) -> tuple[Path, dict[str, bytes | None]]:
    """A repository holding a previous install, and what its events folder held."""
    repository = repository_with(tmp_path)
    install(repository)
    return repository, listing(repository / "custom" / "events")


def refuse(monkeypatch, function: str, error: OSError, when=lambda *args: True) -> None:
    """``os.<function>`` raises ``error`` when ``when(*args)``; otherwise works."""
    real = getattr(os, function)

    def refusing(*args, **kwargs):
        if when(*args):
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(os, function, refusing)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and f".{PLUGIN_NAME}-" not in message
    return message


@pytest.mark.parametrize(("operation", "refused_call"), [(install, "mkdir"), (uninstall, "rename")])
def test_an_events_folder_this_account_may_not_write_gives_one_line_naming_it_and_what_to_do(
    installed_once, monkeypatch, operation, refused_call
):
    repository, before = installed_once
    events = repository / "custom" / "events"
    refuse(monkeypatch, refused_call, PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(SetupError) as refused:
        operation(repository)
    message = one_line(refused)
    assert f"{events} is not writable by " in message
    assert f"run {operation.__name__} as an account that may write to that folder" in message
    assert "repository's administrator" in message
    assert listing(events) == before


def test_a_refused_swap_puts_the_previous_install_back_and_removes_the_new_one(installed_once, monkeypatch):
    repository, before = installed_once
    events = repository / "custom" / "events"
    # The previous install moves aside, then the new one may not take its place.
    refuse(
        monkeypatch,
        "rename",
        PermissionError(errno.EACCES, "Permission denied"),
        lambda source, target: Path(source).name.startswith(f".{PLUGIN_NAME}-new-"),
    )
    with pytest.raises(SetupError, match="is not writable by"):
        install(repository)
    assert listing(events) == before


def test_a_previous_install_that_cannot_be_moved_aside_stays_and_no_staging_folder_is_left(installed_once, monkeypatch):
    repository, before = installed_once
    refuse(
        monkeypatch,
        "rename",
        PermissionError(errno.EPERM, "Operation not permitted"),
        lambda source, target: Path(source).name == PLUGIN_NAME,
    )
    with pytest.raises(SetupError):
        install(repository)
    assert listing(repository / "custom" / "events") == before


def test_a_previous_install_holding_a_folder_this_account_cannot_empty_is_left_untouched(installed_once, monkeypatch):
    repository, before = installed_once
    locked = repository / "custom" / "events" / PLUGIN_NAME / "lib" / "spot_iam_plugin"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != locked and real_access(path, mode, **kw))
    for operation in (install, uninstall):
        with pytest.raises(SetupError) as refused:
            operation(repository)
        assert f"{locked} is not writable by " in one_line(refused)
        assert listing(repository / "custom" / "events") == before


def test_a_read_only_file_system_is_named_as_such(installed_once, monkeypatch):
    repository, before = installed_once
    refuse(monkeypatch, "mkdir", OSError(errno.EROFS, "Read-only file system"))
    with pytest.raises(SetupError) as refused:
        install(repository)
    assert "is on a read-only file system" in one_line(refused)
    assert listing(repository / "custom" / "events") == before


def test_a_copy_failing_half_way_leaves_no_staging_folder_and_the_previous_install(installed_once, monkeypatch):
    repository, before = installed_once
    real_write = Path.write_bytes
    written = []

    def full_disk(self, data):
        written.append(self)
        if len(written) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(SetupError, match="No space left on device") as refused:
        install(repository)
    one_line(refused)
    assert listing(repository / "custom" / "events") == before


def test_an_events_folder_that_vanishes_mid_way_is_named_and_nothing_is_left(tmp_path, monkeypatch):
    repository = repository_with(tmp_path)
    events = repository / "custom" / "events"
    real_write = Path.write_bytes

    def vanish(self, data):
        real_write(self, data)
        if events.exists():
            import shutil

            shutil.rmtree(events)  # an admin removed the folder meanwhile
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(Path, "write_bytes", vanish)
    with pytest.raises(SetupError) as refused:
        install(repository)
    assert f"{events} disappeared" in one_line(refused)
    assert sorted(path.name for path in (repository / "custom").iterdir()) == []


@pytest.mark.parametrize("operation", [install, uninstall])
def test_a_file_where_the_plugin_folder_goes_is_left_alone(tmp_path, operation):
    repository = repository_with(tmp_path)
    occupant = repository / "custom" / "events" / PLUGIN_NAME
    occupant.write_text("an admin's notes\n", encoding="utf-8")
    with pytest.raises(SetupError) as refused:
        operation(repository)
    assert f"{occupant} is a file" in one_line(refused)
    assert occupant.read_text(encoding="utf-8") == "an admin's notes\n"
    assert listing(repository / "custom" / "events") == {PLUGIN_NAME: b"an admin's notes\n"}


@pytest.mark.parametrize("operation", [install, uninstall])
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symbolic_link_where_the_plugin_folder_goes_is_left_alone(tmp_path, operation, dangling):
    repository = repository_with(tmp_path)
    elsewhere = tmp_path / "an admin's own copy"
    if not dangling:
        install(repository)
        os.rename(repository / "custom" / "events" / PLUGIN_NAME, elsewhere)
    link = repository / "custom" / "events" / PLUGIN_NAME
    link.symlink_to(elsewhere, target_is_directory=True)
    kept = None if dangling else listing(elsewhere)
    with pytest.raises(SetupError) as refused:
        operation(repository)
    assert f"{link} is a symbolic link to {elsewhere}" in one_line(refused)
    assert link.is_symlink() and os.readlink(link) == str(elsewhere)
    assert (None if dangling else listing(elsewhere)) == kept
    assert [path.name for path in (repository / "custom" / "events").iterdir()] == [PLUGIN_NAME]


def test_install_leaves_a_folder_it_did_not_create_alone(tmp_path):
    repository = repository_with(tmp_path)
    foreign = repository / "custom" / "events" / PLUGIN_NAME
    foreign.mkdir()
    (foreign / "notes.txt").write_text("someone else's", encoding="utf-8")
    with pytest.raises(SetupError, match="did not create") as refused:
        install(repository)
    one_line(refused)
    assert listing(foreign) == {"notes.txt": b"someone else's"}


def test_an_events_path_that_is_a_file_is_refused(tmp_path):
    repository = repository_with(tmp_path, events_mode=None)
    (repository / "custom" / "events").write_text("", encoding="utf-8")
    with pytest.raises(SetupError, match="is not a folder"):
        install(repository)


def test_uninstall_moves_the_plugin_out_of_deadlines_sight_first_then_deletes_it(installed_once, monkeypatch):
    repository, _ = installed_once
    events = repository / "custom" / "events"
    renames = []
    real_rename = os.rename

    def rename(source, target):
        renames.append(Path(target).parent)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", rename)
    uninstall(repository)
    assert renames == [events]
    assert list(events.iterdir()) == []

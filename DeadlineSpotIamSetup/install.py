"""Installing the event plugin into a Deadline repository: <repository>/custom/events/DeadlineSpotIamSetup/.

The folder is built aside (a hidden folder beside it in custom/events) and renamed into place, so a re-install
leaves nothing stale and a failed one leaves the previous install as it was. Only Python sources are copied: no
caches, no tests, no demo stand-in.

Who reads it: Deadline's RCS and Pulse, running under a service account, and every Monitor machine, over NFS or
SMB -- seldom the account that runs ``install``. Thinkbox's "Database and Repository Installation" guide (section
"Sharing the Repository Folder") gives every client read access to the whole repository, and AWS's RFDK hands the
repository to the RCS's own unprivileged account (aws/aws-rfdk,
``packages/aws-rfdk/lib/deadline/scripts/bash/installDeadlineRepository.sh``: ``chown -R UID:GID``). So the installed
tree gets the permissions of the repository folder it goes in:

* POSIX: the mode of ``custom/events`` (``custom/`` when events does not exist yet, which then gets them too), less
  write for others, for folders (the set-group-ID bit included); files the same without execute bits; the owner
  keeps full access, so that it can replace and remove the tree. Root also gives the tree that folder's owner and
  group; another account gives it the group when it belongs to it (chown(2): only a privileged process may change
  an owner, an unprivileged one may set a group it is in). The modes are set explicitly, so the umask does not
  matter. On a file system that keeps no POSIX modes or owners (an SMB mount) the refused change is skipped: its
  server's permissions apply.
* Windows: nothing is set. Every folder and file is created without a mode, so it inherits the ACL of the folder it
  is created in, as anything created there does; the build folder is created in custom/events itself, and a rename
  within a volume keeps an object's ACL as it is (Microsoft KB 310316, "How permissions are handled when you copy
  and move files and folders"), so the renamed tree has what a folder created in custom/events has.
  ``tempfile.mkdtemp`` is not used: it creates its folder with mode 0o700, which on Windows (CPython 3.8.20,
  3.9.20, 3.10.15, 3.11.10, 3.12.4 and later; python/cpython#118486, CVE-2024-4030) means a protected DACL for the
  owner, administrators and SYSTEM only -- the plugin would be unreadable to the RCS's account.

What cannot be done ends in one line naming the folder and what to do, and leaves the repository as it was: no build
folder, the previous install whole. Removal (uninstall, or the previous install after a swap) first checks that this
account can empty every folder of the tree, then moves it out of Deadline's sight in one rename, then deletes it.

The plugin's own files (``plugin.py``, ``plugin.param`` and ``lib/spot_iam_plugin`` at the root of the source
tree) come from the installed package, where the wheel carries them as ``DeadlineSpotIamSetup/_plugin/``, or
else from the source checkout this package runs from.

This module is not installed into Deadline, but keeps to Python 3.7 like the engine.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .errors import InvalidSettings, SetupError

PLUGIN_NAME = "DeadlineSpotIamSetup"
# The Deadline releases the plugin runs on, as plugin.py's SUPPORTED says it (README.md, "Supported Deadline versions").
SUPPORTED_DEADLINE = "Deadline 10.1.12 or later running Python 3.7 or later"
_PACKAGE = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE.parent
# In the wheel, the plugin's files; see [tool.setuptools] in pyproject.toml.
_BUNDLED = "_plugin"
# The command line and the demo stand-in (which needs moto) stay out: the plugin uses only the engine.
# The command line itself is installed: command.py runs it with Deadline's own Python (the plugin's log names it).
_NOT_INSTALLED = {"standin.py", "demo.py", "__main__.py"}
# The Monitor script, installed apart from the plugin: <repository>/custom/scripts/General/<MONITOR_SCRIPT>, where
# Monitor lists a General script (Thinkbox's own, e.g. ThinkboxSoftware/Deadline Custom/scripts/General/
# QueryFarmLimits.py). It finds the plugin's code through the plugin's folder.
MONITOR_SCRIPT = "SpotIamSetup.py"
MONITOR_SCRIPT_MARK = "DeadlineSpotIamSetup's Monitor script"
# errno values of a file system that keeps no POSIX modes or owners, or refuses to set an id it does not know.
_NOT_KEPT = {errno.EPERM, errno.EINVAL, getattr(errno, "ENOTSUP", -1), getattr(errno, "EOPNOTSUPP", -1)}
_WINDOWS_SHARING_VIOLATION = 32
_NAME_ATTEMPTS = 100


def _on_windows() -> bool:
    return os.name == "nt"


# -- where from, where to ------------------------------------------------------------------------------------------


def _events_folder(repository: Path) -> Path:
    repository = repository.expanduser()
    if not repository.is_dir():
        raise InvalidSettings(f"repository {repository} is not a folder")
    if not (repository / "custom").is_dir():
        raise InvalidSettings(
            f"{repository} does not look like a Deadline repository (no custom/ folder): pass the repository root"
        )
    events = repository / "custom" / "events"
    if os.path.lexists(str(events)) and not events.is_dir():
        raise InvalidSettings(f"{events} is not a folder: Deadline looks for event plugins there")
    return events


def _plugin_files(root: Path) -> dict[str, Path]:
    return {
        f"{PLUGIN_NAME}.py": root / "plugin.py",
        f"{PLUGIN_NAME}.param": root / "plugin.param",
        "command.py": root / "command.py",
        "lib/spot_iam_plugin": root / "lib" / "spot_iam_plugin",
        MONITOR_SCRIPT: root / "monitor_script.py",  # laid out apart: see _install_monitor_script
    }


def _sources() -> dict[str, Path]:
    """Where each part of the installed folder comes from: the installed package first, the checkout second. (pip
    installs a wheel's package data as plain files beside the package's modules.)"""
    bundled = _PACKAGE / _BUNDLED
    for root in (bundled, _SOURCE_ROOT):
        files = _plugin_files(root)
        if all(path.exists() for path in files.values()):
            parts = dict(files)
            parts[f"lib/{PLUGIN_NAME}"] = _PACKAGE
            return parts
    raise SetupError(
        f"install cannot find the plugin's files (plugin.py, plugin.param, lib/spot_iam_plugin) in the installed "
        f"package ({bundled}) nor in a source checkout ({_SOURCE_ROOT}): reinstall deadline-spot-iam-setup"
    )


def _copy_package(source: Path, target: Path) -> None:
    """The package's .py files and its subpackages (the identity handlers), nothing else."""
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.py")):
        if path.name not in _NOT_INSTALLED:
            _copy_file(path, target / path.name)
    for folder in sorted(source.iterdir()):
        if folder.is_dir() and folder.name != _BUNDLED and (folder / "__init__.py").is_file():
            _copy_package(folder, target / folder.name)


def _copy_file(source: Path, target: Path) -> None:
    """A new file with the source's bytes, and nothing else of it: neither its mode nor, on Windows, its ACL (a new
    file inherits the ACL of its folder)."""
    target.write_bytes(source.read_bytes())


def _lay_out(sources: dict[str, Path], folder: Path) -> None:
    for name, source in sources.items():
        if name == MONITOR_SCRIPT:
            continue
        if source.is_dir():
            _copy_package(source, folder / name)
        else:
            _copy_file(source, folder / name)


# -- permissions ---------------------------------------------------------------------------------------------------


class _Permissions(NamedTuple):
    """What every folder and file of the installed tree gets on POSIX; -1: the owner or group it was created with."""

    folder_mode: int
    file_mode: int
    uid: int
    gid: int


def ownership_to_set(owner: int, group: int, euid: int, groups: set[int]) -> tuple[int, int]:
    """The (uid, gid) to give the tree so that it belongs to the reference folder's ``owner`` and ``group`` as far
    as this account may: root both, another account the group when it is one of its ``groups``; -1 leaves it."""
    if euid == 0:
        return owner, group
    return -1, group if group in groups else -1


def _permissions_like(reference: Path) -> _Permissions | None:
    """The permissions of ``reference`` for the installed tree (see the module documentation); None on Windows."""
    if _on_windows():
        return None
    info = os.stat(str(reference))
    folder_mode = (stat.S_IMODE(info.st_mode) & (0o777 | stat.S_ISGID) & ~stat.S_IWOTH) | stat.S_IRWXU
    file_mode = (folder_mode & 0o666) | stat.S_IRUSR | stat.S_IWUSR
    uid, gid = ownership_to_set(info.st_uid, info.st_gid, os.geteuid(), {os.getegid(), *os.getgroups()})
    return _Permissions(folder_mode, file_mode, uid, gid)


def _give(path: str, mode: int, permissions: _Permissions) -> None:
    """Owner and group first: chown(2) may clear the set-group-ID bit, which chmod then sets."""
    if (permissions.uid, permissions.gid) != (-1, -1):
        _unless_not_kept(os.chown, path, permissions.uid, permissions.gid)
    _unless_not_kept(os.chmod, path, mode)


def _unless_not_kept(change: Callable[..., None], *arguments: object) -> None:
    try:
        change(*arguments)
    except OSError as error:
        if error.errno not in _NOT_KEPT:
            raise


def _give_tree(tree: Path, permissions: _Permissions | None) -> None:
    if permissions is None:
        return
    for folder, _, files in os.walk(str(tree)):
        _give(folder, permissions.folder_mode, permissions)
        for name in files:
            _give(os.path.join(folder, name), permissions.file_mode, permissions)


# -- one line for what cannot be done ------------------------------------------------------------------------------


def _account() -> str:
    if _on_windows():
        import getpass

        return getpass.getuser()
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _cannot(command: str, folder: Path, error: OSError, what: str = "the plugin") -> SetupError:
    """One line saying why ``command`` (install, uninstall) could not change ``folder``, and what to do."""
    account = _account()
    if getattr(error, "winerror", None) == _WINDOWS_SHARING_VIOLATION:
        why = f"a file in {folder} is in use by another program; close it and run {command} again"
    elif isinstance(error, PermissionError) or error.errno in (errno.EACCES, errno.EPERM):
        why = (
            f"{folder} is not writable by {account}; run {command} as an account that may write to that folder, or "
            f"have the repository's administrator give {account} write access to it"
        )
        if not _on_windows() and os.geteuid() == 0:
            why += " (an NFS server exporting it with root_squash treats root as an unprivileged account)"
    elif error.errno == errno.EROFS:
        why = f"{folder} is on a read-only file system; run {command} where the repository is mounted read-write"
    elif isinstance(error, FileNotFoundError):
        why = f"{folder} disappeared while {command} ran; check the repository and run {command} again"
    else:
        why = f"{folder}: {error.strerror or error}"
    return SetupError(f"cannot {command} {what}: {why}")


def _refuse_foreign(target: Path, doing: str) -> None:
    """Stop unless ``target`` is absent or a folder this tool installed: what an admin put there stays."""
    leave_it = f"not {doing} it (remove it yourself if it should go)"
    if target.is_symlink():
        raise SetupError(f"{target} is a symbolic link to {os.readlink(str(target))}: {leave_it}")
    if not os.path.lexists(str(target)):
        return
    if not target.is_dir():
        raise SetupError(f"{target} is a file, not the folder this tool installs: {leave_it}")
    if not (target / f"{PLUGIN_NAME}.py").is_file():
        raise SetupError(
            f"{target} does not hold {PLUGIN_NAME}.py: not {doing} a folder this tool did not create "
            "(move it away yourself if it should go)"
        )


def _check_removable(command: str, events: Path, tree: Path) -> None:
    """Before anything changes: this account may rename ``tree`` in ``events`` and empty every folder of it, so that
    a removal never stops half-way. (os.access asks the kernel, or the NFS server, the way the removal would.)"""
    folders = [str(events)]
    if tree.is_dir():
        folders += [folder for folder, _, _ in os.walk(str(tree))]
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _cannot(command, Path(folder), PermissionError(errno.EACCES, os.strerror(errno.EACCES)))


def _new_folder(events: Path, kind: str) -> Path:
    """A new, empty, hidden folder in ``events``, created without a mode (see the module documentation)."""
    for _ in range(_NAME_ATTEMPTS):
        path = _unused_name(events, kind)
        try:
            os.mkdir(str(path))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no unused name for a new folder", str(events))


def _unused_name(events: Path, kind: str) -> Path:
    """``.DeadlineSpotIamSetup-<kind>-<random>``: Deadline loads a folder's ``<folder name>.py`` only, so it
    never loads one of these."""
    for _ in range(_NAME_ATTEMPTS):
        path = events / f".{PLUGIN_NAME}-{kind}-{secrets.token_hex(4)}"
        if not os.path.lexists(str(path)):
            return path
    raise FileExistsError(errno.EEXIST, "no unused name for a new folder", str(events))


def _discard(folder: Path) -> None:
    shutil.rmtree(str(folder), ignore_errors=True)


# -- install, uninstall --------------------------------------------------------------------------------------------


def _make_events_folder(events: Path) -> bool:
    """Create custom/events with the permissions of custom/; True when it was created."""
    if events.is_dir():
        return False
    permissions = _permissions_like(events.parent)
    try:
        os.mkdir(str(events))
    except FileExistsError:
        return False
    except OSError as error:
        raise _cannot("install", events.parent, error) from None
    try:
        _give_tree(events, permissions)
    except OSError as error:
        _remove_if_empty(events)
        raise _cannot("install", events, error) from None
    return True


def _remove_if_empty(folder: Path) -> None:
    try:
        os.rmdir(str(folder))
    except OSError:
        pass


def install(repository: Path) -> Path:
    """Lay out the plugin, and the Monitor script; returns the plugin's folder."""
    try:
        events = _events_folder(repository)
        target = events / PLUGIN_NAME
        sources = _sources()
        _install(sources, events, target)
    except OSError as error:  # a look refused before anything changed: a folder this account may not search
        raise _cannot("install", _named(error, repository), error) from None
    _install_monitor_script(sources[MONITOR_SCRIPT], monitor_script_path(repository), target)
    return target


def _install(sources: dict[str, Path], events: Path, target: Path) -> None:
    _refuse_foreign(target, "replacing")
    created_events = _make_events_folder(events)
    _check_removable("install", events, target)
    staging = None
    try:
        permissions = _permissions_like(events)
        staging = _new_folder(events, "new")
        _lay_out(sources, staging)
        _give_tree(staging, permissions)
        _swap(events, staging, target)
    except OSError as error:
        if staging is not None:
            _discard(staging)
        if created_events:
            _remove_if_empty(events)
        raise _cannot("install", events, error) from None


def _named(error: OSError, otherwise: Path) -> Path:
    """The folder to name for a refused look at ``error.filename``: the first folder on its way that this account
    may not search, else that path itself."""
    if not isinstance(error.filename, str):
        return otherwise.expanduser()
    path = Path(error.filename)
    for folder in [*reversed(path.parents), path]:
        if os.path.isdir(str(folder)) and not os.access(str(folder), os.X_OK):
            return folder
    return path


def _swap(events: Path, staging: Path, target: Path) -> None:
    """Put ``staging`` in ``target``'s place; the previous install, if any, is moved aside and then deleted. A
    refused rename puts the previous install back and raises it."""
    retired = _unused_name(events, "old") if os.path.lexists(str(target)) else None
    try:
        if retired is not None:
            os.rename(str(target), str(retired))
        os.rename(str(staging), str(target))
    except OSError as error:
        if retired is not None and os.path.lexists(str(retired)):
            try:
                os.rename(str(retired), str(target))
            except OSError:
                _discard(staging)
                raise SetupError(
                    f"cannot install the plugin: {error.strerror or error}; the previous install is in {retired}: "
                    f"rename it back to {target}"
                ) from None
        raise
    if retired is not None:
        _delete_moved_aside(retired, "installed the plugin in", target)


def _delete_moved_aside(folder: Path, done: str, target: Path) -> None:
    try:
        shutil.rmtree(str(folder))
    except OSError as error:
        raise SetupError(
            f"{done} {target}, but could not delete what was moved aside, {folder}: {error.strerror or error}; "
            "delete that folder (Deadline does not load it)"
        ) from None


def monitor_script_path(repository: Path) -> Path:
    return repository.expanduser() / "custom" / "scripts" / "General" / MONITOR_SCRIPT


def _is_monitor_script(path: Path) -> bool:
    try:
        return MONITOR_SCRIPT_MARK in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents, each with the permissions of the folder it is created in (as
    custom/events gets those of custom/); returns the folders created, outermost first."""
    missing = [path for path in [*reversed(folder.parents), folder] if not path.is_dir()]
    for path in missing:
        permissions = _permissions_like(path.parent)
        os.mkdir(str(path))
        _give_tree(path, permissions)
    return missing


def _install_monitor_script(source: Path, target: Path, plugin: Path) -> None:
    """Write the Monitor script with the permissions of the folder it goes in (as the plugin's files get those of
    custom/events), through a hidden file renamed into place. A file of that name that is not this tool's stays."""
    if os.path.lexists(str(target)) and not (target.is_file() and _is_monitor_script(target)):
        raise SetupError(
            f"installed the plugin in {plugin}, but not the Monitor script: {target} is not this tool's; move it "
            "away yourself if it should go, and run install again"
        )
    created: list[Path] = []
    staging = target.with_name(f".{MONITOR_SCRIPT}-new-{secrets.token_hex(4)}")
    try:
        created = _make_folders(target.parent)
        permissions = _permissions_like(target.parent)
        _copy_file(source, staging)
        if permissions is not None:
            _give(str(staging), permissions.file_mode, permissions)
        os.replace(str(staging), str(target))
    except OSError as error:
        if os.path.lexists(str(staging)):
            os.remove(str(staging))
        for folder in reversed(created):
            _remove_if_empty(folder)
        cannot = _cannot("install", _named(error, target.parent), error, "the Monitor script")
        raise SetupError(f"installed the plugin in {plugin}, but {cannot}") from None


def _uninstall_monitor_script(target: Path) -> None:
    if not (target.is_file() and _is_monitor_script(target)):
        return
    try:
        os.remove(str(target))
    except OSError as error:
        raise _cannot("uninstall", target.parent, error, "the Monitor script") from None


def uninstall(repository: Path) -> Path | None:
    """Remove the plugin's folder, and the Monitor script; returns the folder, or None when it was not installed."""
    removed = _uninstall_plugin(repository)
    _uninstall_monitor_script(monitor_script_path(repository))
    return removed


def _uninstall_plugin(repository: Path) -> Path | None:
    try:
        events = _events_folder(repository)
        target = events / PLUGIN_NAME
        _refuse_foreign(target, "removing")
        if not os.path.lexists(str(target)):
            return None
        _check_removable("uninstall", events, target)
        removed = _unused_name(events, "removed")
    except OSError as error:  # a look refused before anything changed: a folder this account may not search
        raise _cannot("uninstall", _named(error, repository), error) from None
    try:
        os.rename(str(target), str(removed))  # out of Deadline's sight at once
    except OSError as error:
        raise _cannot("uninstall", events, error) from None
    _delete_moved_aside(removed, "removed", target)
    return target

"""Writing a new access key to a file only its owner can read, atomically."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, NoReturn

from .errors import InvalidSettings, SetupError
from .rotation import KeyHolder
from .values import NewAccessKey
from .waits import (
    PRIVATE_FILE_COMMAND_TIMEOUT,
    REPLACE_RETRY_ATTEMPTS,
    REPLACE_RETRY_FIRST_DELAY,
    REPLACE_RETRY_MAX_DELAY,
)


def check_secret_destination(path: Path) -> Path:
    """Refuse a destination that cannot be written, before any AWS call creates a secret for it."""
    path = path.expanduser()
    if path.is_dir():
        raise InvalidSettings(f"--secret-out {path} is a directory: name a file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidSettings(f"--secret-out {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InvalidSettings(f"--secret-out {path}: folder {parent} is not writable")
    return path


def _on_windows() -> bool:
    return os.name == "nt"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=PRIVATE_FILE_COMMAND_TIMEOUT, check=False)


def _make_private(path: str) -> None:
    """Readable and writable by the current user only.

    POSIX: mode 0600. Windows ignores that mode (it only sets the read-only flag), so there the file's ACL is
    replaced: inheritance from the folder removed, full control granted to the current user and nobody else
    (``icacls`` ships with every Windows since Vista/Server 2003 SP2)."""
    os.chmod(path, 0o600)
    if not _on_windows():
        return
    sid = _current_user_sid()
    try:
        done = _run(["icacls", path, "/inheritance:r", "/grant:r", f"*{sid}:F"])
    except (OSError, subprocess.SubprocessError) as error:
        raise OSError(f"icacls could not restrict the file to the current user ({sid}): {error}") from None
    if done.returncode != 0:
        raise OSError(
            f"icacls could not restrict the file to the current user ({sid}): {' '.join(done.stdout.split())[:200]}"
        )


def _current_user_sid() -> str:
    """The security identifier of the account running this process (``whoami /user``). A SID, not a name: a
    service running as LocalSystem has USERNAME ``COMPUTER$``, a domain account, not the one it runs as."""
    try:
        done = _run(["whoami", "/user", "/fo", "csv", "/nh"])
    except (OSError, subprocess.SubprocessError) as error:
        raise OSError(f"cannot tell the current Windows account (whoami: {error})") from None
    fields = [field.strip().strip('"') for field in done.stdout.strip().split(",")]
    sid = fields[-1] if fields else ""
    if done.returncode != 0 or not sid.startswith("S-1-"):
        raise OSError(f"cannot tell the current Windows account (whoami answered {done.stdout.strip()[:100]!r})")
    return sid


def _sharing_violation(error: OSError) -> bool:
    """Windows refuses to replace a file another process holds open (ERROR_SHARING_VIOLATION, ACCESS_DENIED)."""
    return getattr(error, "winerror", None) in (5, 32) or (_on_windows() and isinstance(error, PermissionError))


def _replace(source: str, target: Path) -> None:
    """os.replace, retried a few times while another process (an AWS tool reading its credentials, an antivirus
    scan) holds the target open on Windows."""
    delay = REPLACE_RETRY_FIRST_DELAY
    for attempt in range(REPLACE_RETRY_ATTEMPTS):
        try:
            os.replace(source, target)
            return
        except OSError as error:
            if not _sharing_violation(error) or attempt == REPLACE_RETRY_ATTEMPTS - 1:
                raise
        time.sleep(delay)
        delay = min(delay * 2, REPLACE_RETRY_MAX_DELAY)


def _write_aside(path: Path, text: str) -> str:
    """Write ``text`` to a new private file beside ``path`` (mode 0600; on Windows an ACL for the current user
    alone, set before anything is written), flushed to disk; returns its name."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=str(path.parent))
    except OSError as error:
        raise SetupError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _make_private(temporary)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        _remove(temporary)
        raise SetupError(f"cannot write {path}: {error.strerror or error}") from None
    return temporary


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _move_into_place(temporary: str, path: Path) -> None:
    try:
        _replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise SetupError(f"cannot write {path}: {error.strerror or error}") from None


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only: a temporary file in the same folder, made
    private before anything is written to it, flushed to disk, then an atomic rename, so a reader never sees half a
    file and the content is never readable by others, not even for a moment."""
    _move_into_place(_write_aside(path, text), path)


def _key_document(key: NewAccessKey) -> str:
    document = {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}
    return json.dumps(document, indent=2) + "\n"


def write_secret_file(path: Path, key: NewAccessKey) -> None:
    """Write ``{"AccessKeyId", "SecretAccessKey"}`` as JSON with mode 0600, atomically."""
    write_private_file(path, _key_document(key))


def held_key_id(path: Path) -> str | None:
    """The AccessKeyId of a key file as apply and rotate-key write it; None for any other file."""
    try:
        key_id = json.loads(path.read_text(encoding="utf-8"))["AccessKeyId"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key_id if isinstance(key_id, str) and key_id else None


def refuse_replacing(path: Path, user: str, user_keys: Iterable[str] | None) -> NoReturn:
    """Refuse to write a new key over the existing --secret-out file ``path`` (no --force), saying what it holds: a key
    ``user`` has (``user_keys``: its access key IDs, None when unknown), which may be in use; one it no longer has
    (deleted, so nothing uses it as that user's key, or another user's key); or something else, which may be a key."""
    held = held_key_id(path)
    keys = set(user_keys) if user_keys is not None else None
    if held is None or keys is None:
        what = f"it holds access key {held}" if held else "it may hold a key still in use"
    elif held in keys:
        what = f"it holds access key {held}, a key of user {user} now, which may be in use"
    else:
        what = (
            f"it holds access key {held}, which user {user} no longer has (deleted, or another user's key): nothing "
            f"uses it as {user}'s key"
        )
    raise InvalidSettings(
        f"--secret-out {path} already exists and a new access key would be written there: {what}; move it away or "
        "add --force to replace it"
    )


class SecretFileHolder(KeyHolder):
    """The command line's hand-over of a rotated key: the --secret-out file an admin copies it from. The file
    appears only once the key is recorded as this project's (written aside by ``stage``, renamed into place by
    ``publish``), so it never holds a key a later run deletes as one nobody holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._aside: str | None = None

    def stage(self, key: NewAccessKey) -> None:
        self._aside = _write_aside(self.path, _key_document(key))

    def publish(self, key: NewAccessKey) -> None:
        aside, self._aside = self._aside, None
        if aside is not None:
            _move_into_place(aside, self.path)

    def withdraw(self, key: NewAccessKey) -> None:
        """The key is being deleted: no file may keep it. The file written aside goes; so does the file in place when
        it names this key (a run interrupted as the rename returned, Ctrl-C or a time limit, has it there all the
        same). A key ID is never reused, so a file naming another key (an earlier run's) is left as it is."""
        aside, self._aside = self._aside, None
        if aside is not None:
            _remove(aside)
        if held_key_id(self.path) == key.access_key_id:
            _remove(str(self.path))


class NoKeyHolder(KeyHolder):
    """A run that starts no rotation (``rotate-key --finish``, ``--abandon``): it hands no key over."""

    def stage(self, key: NewAccessKey) -> None:
        raise SetupError("this run hands no new key over")

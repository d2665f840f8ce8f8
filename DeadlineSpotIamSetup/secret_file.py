"""Writing a new access key to a file only its owner can read, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import InvalidSettings, SetupError
from .values import NewAccessKey


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


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable by its owner only: a temporary file in the same folder (created
    0600), flushed to disk, then an atomic rename, so a reader never sees half a file and the content is never
    readable by others, not even for a moment."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=str(path.parent))
    except OSError as error:
        raise SetupError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise SetupError(f"cannot write {path}: {error.strerror}") from None


def write_secret_file(path: Path, key: NewAccessKey) -> None:
    """Write ``{"AccessKeyId", "SecretAccessKey"}`` as JSON with mode 0600, atomically."""
    document = {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}
    write_private_file(path, json.dumps(document, indent=2) + "\n")

"""Writing a new access key to a file only its owner can read, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import InvalidSettings, SetupError
from .gateway import NewAccessKey


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


def write_secret_file(path: Path, key: NewAccessKey) -> None:
    """Write ``{"AccessKeyId", "SecretAccessKey"}`` with mode 0600: a temporary file in the same folder,
    then an atomic rename, so a reader never sees half a file and the secret is never world-readable."""
    document = {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}
    fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=str(path.parent))  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise SetupError(f"cannot write the access key to {path}: {error.strerror}") from None

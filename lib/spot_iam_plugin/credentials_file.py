"""One named profile in the AWS shared credentials file, written the way the AWS tools read it.

The file is found as botocore finds it (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, on Windows
%USERPROFILE%\\.aws\\credentials). Only the named profile's section is replaced: every other line, comment and
profile stays byte for byte. The new file replaces the old atomically and is readable by its owner only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.secret_file import write_private_file

_PROFILE_NAME = re.compile(r"[A-Za-z0-9_.@+=-]{1,64}")
_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")


def credentials_file_path() -> Path:
    return Path(os.path.expanduser(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")))


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME.fullmatch(name) or name == "default":
        raise InvalidSettings(
            f"credentials profile name {name!r} is not usable: 1-64 letters, digits and _.@+=- (and not 'default')"
        )
    return name


def _without_section(lines: list[str], profile: str) -> list[str]:
    kept: list[str] = []
    skipping = False
    for line in lines:
        header = _HEADER.match(line)
        if header:
            skipping = header.group(1) == profile
        if not skipping:
            kept.append(line)
    return kept


def read_profile_key_id(path: Path, profile: str) -> str | None:
    """The aws_access_key_id of ``profile`` in the file, if any (never reads out the secret)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    inside = False
    for line in lines:
        header = _HEADER.match(line)
        if header:
            inside = header.group(1) == profile
            continue
        if inside:
            name, sep, value = line.partition("=")
            if sep and name.strip().lower() == "aws_access_key_id":
                return value.strip()
    return None


def write_profile(path: Path, profile: str, access_key_id: str, secret_access_key: str) -> None:
    validate_profile_name(profile)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Bytes, not text mode: a file written on Windows keeps its CRLF line ends, byte for byte.
        existing = path.read_bytes().decode("utf-8").splitlines(keepends=True) if path.exists() else []
    except OSError as error:
        raise SetupError(f"cannot read the AWS credentials file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SetupError(
            f"the AWS credentials file {path} is not UTF-8 text: not rewriting it; save it as UTF-8 or choose "
            "KeyDelivery 'Spot Plugin Fields'"
        ) from None
    newline = "\r\n" if existing and existing[0].endswith("\r\n") else "\n"
    kept = _without_section(existing, profile)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += newline
    if kept and kept[-1].strip():
        kept.append(newline)
    kept += [
        f"[{profile}]{newline}",
        f"aws_access_key_id = {access_key_id}{newline}",
        f"aws_secret_access_key = {secret_access_key}{newline}",
    ]
    write_private_file(path, "".join(kept))

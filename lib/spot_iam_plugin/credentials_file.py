"""One named profile in the AWS shared credentials file, written the way the AWS tools read it.

The file is found as botocore finds it: its ``credentials_file`` setting (AWS_SHARED_CREDENTIALS_FILE, else
~/.aws/credentials), with environment variables and ``~`` expanded as botocore expands them (on Windows
%USERPROFILE%\\.aws\\credentials). Only the key lines of the named profile change, in place: every other line,
comment and profile stays byte for byte where it was. The new file replaces the old atomically and is readable by
its owner only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import botocore.session

from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.secret_file import write_private_file

_PROFILE_NAME = re.compile(r"[A-Za-z0-9_.@+=-]{1,64}")
_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")


def credentials_file_path() -> Path:
    """Where botocore reads shared credentials: its own setting, expanded as botocore.configloader does it."""
    configured = botocore.session.Session().get_config_variable("credentials_file")
    return Path(os.path.expanduser(os.path.expandvars(str(configured))))


def validate_profile_name(name: str) -> str:
    if not _PROFILE_NAME.fullmatch(name) or name == "default":
        raise InvalidSettings(
            f"credentials profile name {name!r} is not usable: 1-64 letters, digits and _.@+=- (and not 'default')"
        )
    return name


_KEYS = ("aws_access_key_id", "aws_secret_access_key")
_STALE = ("aws_session_token", "aws_security_token")  # a token of an earlier key would spoil the new one


def _key_of(line: str) -> str | None:
    """The setting a line names; botocore's parser takes ``key = value`` and ``key: value`` alike."""
    stripped = line.strip()
    if not stripped or stripped[0] in "#;":
        return None
    match = re.match(r"([^=:]+?)\s*[=:]", stripped)
    return match.group(1).strip().lower() if match else None


def _with_profile(lines: list[str], profile: str, values: dict[str, str], newline: str) -> list[str]:
    """``lines`` with the profile's key lines set to ``values``, in place; the profile appended when absent."""
    headers = ((i, _HEADER.match(line)) for i, line in enumerate(lines))
    start = next((i for i, header in headers if header and header.group(1) == profile), None)
    if start is None:
        kept = list(lines)
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += newline
        if kept and kept[-1].strip():
            kept.append(newline)
        return kept + [f"[{profile}]{newline}"] + [f"{key} = {value}{newline}" for key, value in values.items()]
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    body: list[str] = []
    written: set[str] = set()
    for line in lines[start + 1 : end]:
        key = _key_of(line)
        if key in values:
            if key not in written:
                body.append(f"{key} = {values[key]}{newline}")
                written.add(key)
        elif key not in _STALE:
            body.append(line)
    missing = [f"{key} = {value}{newline}" for key, value in values.items() if key not in written]
    header = lines[start] if lines[start].endswith("\n") else lines[start] + newline
    return lines[:start] + [header] + missing + body + lines[end:]


def _profile_values(path: Path, profile: str) -> dict[str, str]:
    """The key settings of ``profile`` in the file (``aws_access_key_id``, ``aws_secret_access_key``) that it has."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    inside = False
    values: dict[str, str] = {}
    for line in lines:
        header = _HEADER.match(line)
        if header:
            inside = header.group(1) == profile
            continue
        key = _key_of(line) if inside else None
        if key in _KEYS and key not in values:
            values[key] = re.split(r"[=:]", line, maxsplit=1)[1].strip()
    return values


def read_profile_key_id(path: Path, profile: str) -> str | None:
    """The aws_access_key_id of ``profile`` in the file, if any (never reads out the secret)."""
    return _profile_values(path, profile).get("aws_access_key_id") or None


def read_profile_pair(path: Path, profile: str) -> tuple[str, str] | None:
    """The access key ID and secret of ``profile`` in the file, when it has both (to check with STS that AWS accepts
    exactly what the Spot Event Plugin will sign with)."""
    values = _profile_values(path, profile)
    key_id, secret = values.get("aws_access_key_id"), values.get("aws_secret_access_key")
    return (key_id, secret) if key_id and secret else None


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
    kept = _with_profile(existing, profile, dict(zip(_KEYS, (access_key_id, secret_access_key))), newline)
    write_private_file(path, "".join(kept))

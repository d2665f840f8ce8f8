"""What newer Pythons have built in, for the oldest Python the event plugin runs on (3.7: Deadline 10.1.12 to 10.2
embed Python 3.7, see README.md, "Supported Deadline versions")."""

from __future__ import annotations


def remove_prefix(text: str, prefix: str) -> str:
    """``text`` without ``prefix`` when it starts with it (``str.removeprefix``, Python 3.9)."""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def remove_suffix(text: str, suffix: str) -> str:
    """``text`` without ``suffix`` when it ends with it (``str.removesuffix``, Python 3.9)."""
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text

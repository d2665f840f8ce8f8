"""Exceptions the engine raises. Every message is one line that says what to do, and never holds a secret."""

from __future__ import annotations


class SetupError(Exception):
    """A failure the user can act on; ``str(error)`` is a complete one-line message."""


class InvalidSettings(SetupError):
    """Settings refused before any AWS call (bad names, ARNs, tags)."""


class AwsAccessError(SetupError):
    """An AWS call failed: access denied, unreachable endpoint, throttled past the deadline, ..."""

"""Log lines for Deadline's event plugin log, with every known secret masked as a last line of defence."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

INFO, WARNING = "info", "warning"


class PluginLog:
    """Sends lines to the listener's LogInfo / LogWarning; a line holding a known secret is masked."""

    def __init__(self, info: Callable[[str], None], warning: Callable[[str], None], prefix: str = "") -> None:
        self._sinks = {INFO: info, WARNING: warning}
        self._prefix = prefix
        self._secrets: set[str] = set()
        self._recorders: list[list[str]] = []

    def add_secret(self, secret: str | None) -> None:
        if secret and len(secret) >= 8:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        for secret in tuple(self._secrets):  # may grow from the worker thread
            text = text.replace(secret, "****")
        return text

    def emit(self, level: str, text: str) -> None:
        for line in self.scrub(str(text)).splitlines() or [""]:
            self._sinks[level](f"{self._prefix}{line}")
            if level == WARNING:
                for recorder in self._recorders:
                    recorder.append(line)

    @contextlib.contextmanager
    def warnings_recorded(self) -> Iterator[list[str]]:
        """The warnings logged in the body (masked, without the prefix): what a run left for an admin."""
        recorder: list[str] = []
        self._recorders.append(recorder)
        try:
            yield recorder
        finally:
            self._recorders.remove(recorder)

    def info(self, text: str) -> None:
        self.emit(INFO, text)

    def warning(self, text: str) -> None:
        self.emit(WARNING, text)

"""Log lines for Deadline's event plugin log, with every known secret masked as a last line of defence."""

from __future__ import annotations

from collections.abc import Callable

INFO, WARNING = "info", "warning"


class PluginLog:
    """Sends lines to the listener's LogInfo / LogWarning; a line holding a known secret is masked."""

    def __init__(self, info: Callable[[str], None], warning: Callable[[str], None], prefix: str = "") -> None:
        self._sinks = {INFO: info, WARNING: warning}
        self._prefix = prefix
        self._secrets: set[str] = set()
        self.warnings: list[str] = []  # every warning logged (masked, without the prefix): what needs an admin

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
                self.warnings.append(line)

    def info(self, text: str) -> None:
        self.emit(INFO, text)

    def warning(self, text: str) -> None:
        self.emit(WARNING, text)

"""One simulated RCS/Pulse machine per OS process.

:class:`HostProcess` starts this file as a child Python process holding one :class:`PluginHost` over a
:class:`FakeDeadline` whose configuration, metadata and log live in a database file shared by every machine (and
by the test, which reads and sets them through its own FakeDeadline on the same file). Each machine has its own
environment (its own AWS credentials file, say), its own threads and its own module state, as separate RCS
machines sharing one Deadline database do: a thread one machine leaves running cannot see another's state.

The child reads one command per line on stdin (``house_cleaning``, ``restart``, ``quit``) and answers each with one
JSON line on stdout: ``{"status": ..., "error": ...}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


class HostProcess:
    """A machine running RCS/Pulse with the plugin, as a child process; use as a context manager."""

    def __init__(
        self, repository: Path, database: Path, hostname: str, plugin: str, environment: Mapping[str, str] = {}
    ) -> None:
        self.plugin = plugin
        env = {**os.environ, **environment, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), str(ROOT / "tests")])}
        self._child = subprocess.Popen(
            [sys.executable, str(Path(__file__)), str(repository), str(database), hostname],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def _ask(self, command: str) -> dict[str, Any]:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(f"{command} {self.plugin}\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the machine's process ended (exit code {self._child.wait(5)})")
        return json.loads(line)

    def house_cleaning(self) -> dict[str, Any]:
        return self._ask("house_cleaning")

    def restart(self) -> None:
        self._ask("restart")

    def __enter__(self) -> HostProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._ask("quit")
        except (OSError, RuntimeError, ValueError):
            pass
        try:
            self._child.wait(30)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait(5)


def _serve(repository: str, database: str, hostname: str) -> int:
    from deadline_standin import FakeDeadline, PluginHost

    fake = FakeDeadline(repository, database=database, echo=False)
    with PluginHost(fake, hostname=hostname) as host:
        for line in sys.stdin:
            command, _, plugin = line.strip().partition(" ")
            answer: dict[str, Any] = {}
            if command == "house_cleaning":
                result = host.house_cleaning(plugin, raise_errors=False)
                answer = {"error": repr(result.error) if result.error else None}
            elif command == "restart":
                host.restart()
            elif command == "quit":
                print(json.dumps(answer), flush=True)
                return 0
            print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_serve(*sys.argv[1:4]))

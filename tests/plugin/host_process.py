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
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


class Account(NamedTuple):
    """Another OS account to run a machine's process as: its Python, user, primary and supplementary groups, and a
    folder it can read holding host_process.py and deadline_standin.py."""

    python: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    code: Path


class HostProcess:
    """A machine running RCS/Pulse with the plugin, as a child process; use as a context manager.

    By default the child is this interpreter running this file, as this account. ``account`` runs it as another
    one instead (as RCS/Pulse run under a service account): its interpreter, its user and groups, and the folder
    holding a copy of this file and deadline_standin.py that the account can read."""

    def __init__(
        self,
        repository: Path,
        database: Path,
        hostname: str,
        plugin: str,
        environment: Mapping[str, str] = {},
        *,
        account: Account | None = None,
    ) -> None:
        self.plugin = plugin
        if account is None:
            python, code, search_path, switch = sys.executable, HERE, [ROOT, HERE, ROOT / "tests"], {}
        else:
            python, code, search_path = account.python, account.code, [account.code]
            switch = {"user": account.uid, "group": account.gid, "extra_groups": list(account.groups), "cwd": code}
        env = {**os.environ, **environment, "PYTHONPATH": os.pathsep.join(str(folder) for folder in search_path)}
        self._child = subprocess.Popen(
            [python, str(code / Path(__file__).name), str(repository), str(database), hostname],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            **switch,
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

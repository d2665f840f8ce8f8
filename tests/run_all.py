"""Run every suite of ``make test`` side by side, each in its own processes, and say how each ended.

mypy (``make lint``'s type check, pyproject.toml's [tool.mypy]) and the three suites (README.md, "Tests";
docs/tests.md) start together:

* the main suite, ``pytest`` in this virtualenv (pyproject.toml ``testpaths``: tests/cli);
* the Python 3.10 suites (tests/run_py310.py: tests/unit, tests/wire, tests/plugin);
* the plugin's suite under Python 3.7 (tests/run_py37.py).

Each one runs its tests in pytest-xdist workers (``-n``), whole test files to a worker (``--dist loadfile``: a module's
tests keep their order and their module fixtures), and every worker starts its own moto server
(tests/support/moto_server.py): no two processes share an account. A suite's output is kept in a file and printed
whole when the suite ends, so that suites never interleave; then one line per suite, the total of tests and the wall
time. The exit status is 0 only when every suite passed: a suite that failed, collected no test, or ran past
``SUITE_TIMEOUT`` fails the run, its output shown.

Usage: python tests/run_all.py   (``make test`` runs it after ruff; DSIS_TEST_STARTED, the time ``make test`` began
in seconds since the epoch, makes the wall time include ruff.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5  # pytest's exit code
#: A suite still running after this many seconds is stopped and fails the run (a whole run takes a few minutes; the
#: CI's limit is 90).
SUITE_TIMEOUT = 30 * 60
#: Where the suites' Python 3.8+ processes keep the bytecode they compile (PYTHONPYCACHEPREFIX), outside the source
#: tree: each of the many processes would otherwise compile the sources and rewrite the test modules again when the
#: environment says not to write bytecode (PYTHONDONTWRITEBYTECODE), about 6 s of CPU each.
BYTECODE_CACHE = ROOT / ".pytest_cache" / "bytecode"
#: pytest-xdist workers per suite, for 2 cores. The Python 3.10 suites are the longest: four workers keep both cores
#: busy while some wait out a timeout or a held reply, and after the other suites end (with two, a run took 10 min 49 s;
#: with four, 7 min 27 s). Each worker collects its whole suite and starts its own moto server.
WORKERS = {"main": 1, "python3.10": 4, "python3.7": 1}
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


@dataclass
class Suite:
    name: str
    command: list[str]
    environment: dict[str, str]
    output: IO[bytes] = field(default_factory=lambda: tempfile.TemporaryFile())
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    status: int | None = None
    #: CPU seconds (user + system) of the suite's process and every process it waited for: its workers, their servers.
    cpu: float = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, workers and servers included
        )

    def poll(self) -> bool:
        """True once the suite has ended (or has been stopped for running too long)."""
        assert self.process is not None
        if self.status is not None:
            return True
        status = self._reap()
        if status is None and time.monotonic() - self.started > SUITE_TIMEOUT:
            self.stop()
            self.output.write(f"\nerror: {self.name} still running after {SUITE_TIMEOUT} s: stopped\n".encode())
            status = 124
        if status is None:
            return False
        self.status, self.seconds = status, time.monotonic() - self.started
        return True

    def _reap(self) -> int | None:
        """The suite's exit status once it has ended, keeping its CPU time (os.wait4: Popen keeps no rusage)."""
        assert self.process is not None
        if self.process.returncode is not None:
            return self.process.returncode
        try:
            pid, wait_status, usage = os.wait4(self.process.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped (by stop())
            return self.process.poll()
        if pid == 0:
            return None
        self.cpu = usage.ru_utime + usage.ru_stime
        self.process.returncode = os.waitstatus_to_exitcode(wait_status)
        return self.process.returncode

    def stop(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait()

    def text(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def last_line(self) -> str:
        """What a suite that is not pytest (mypy) said last, for its line of the summary."""
        lines = self.text().strip().splitlines()
        return lines[-1][:60] if lines else "no output"

    def counts(self) -> dict[str, int]:
        """The counts of pytest's closing line (``12 passed, 1 skipped in 3.0s``)."""
        lines = [line for line in self.text().splitlines() if re.search(r"\d+ (passed|failed|errors?)\b", line)]
        if not lines:
            return {}
        found: dict[str, int] = {}
        for number, word in _COUNT.findall(lines[-1]):
            word = "errors" if word == "error" else word
            found[word] = found.get(word, 0) + int(number)
        return found


def suites() -> list[Suite]:
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    # Python 3.7 has no PYTHONPYCACHEPREFIX: its bytecode goes to the __pycache__ folders beside the sources (ignored
    # by git, as .pytest_cache is), else each of its processes compiles the project and the tests again (the suite
    # took 165 s of CPU that way, 124 s with its bytecode kept).
    python37 = dict(os.environ)
    python37.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    xdist = ["--dist", "loadfile", "-n"]
    # tests/conftest.py orders the modules, the ones that mostly wait first; pytest-xdist keeps that order where more
    # than one worker shares the suite (the Python 3.7 environment's pytest-xdist, for Python 3.7, has no such option).
    keep_order = ["--no-loadscope-reorder"]
    return [
        # mypy beside the suites, not before them: with no cache yet (a fresh clone) it takes 15 to 20 s of one core.
        Suite("mypy", [python, "-m", "mypy"], environment),
        Suite("main", [python, "-m", "pytest", *xdist, str(WORKERS["main"])], environment),
        Suite(
            "python3.10", [python, "tests/run_py310.py", *keep_order, *xdist, str(WORKERS["python3.10"])], environment
        ),
        Suite("python3.7", [python, "tests/run_py37.py", *xdist, str(WORKERS["python3.7"])], python37),
    ]


def minutes(seconds: float) -> str:
    tenths = round(seconds * 10)  # rounded before it is split, so that 359.97 s shows as 6 min 00.0 s
    return f"{tenths // 600} min {tenths % 600 / 10:04.1f} s"


def main() -> int:
    began = float(os.environ.get("DSIS_TEST_STARTED") or time.time())
    running = suites()
    print("Suites, side by side: " + ", ".join(suite.name for suite in running), flush=True)
    try:
        for suite in running:
            suite.start()
        pending = list(running)
        while pending:
            time.sleep(0.5)
            for suite in [suite for suite in pending if suite.poll()]:
                pending.remove(suite)
                print(f"\n===== {suite.name}: {' '.join(suite.command)} =====", flush=True)
                sys.stdout.write(suite.text())
                print(f"===== {suite.name} ended with status {suite.status} in {minutes(suite.seconds)} =====")
                sys.stdout.flush()
    except KeyboardInterrupt:
        for suite in running:
            suite.stop()
        return 130

    print("\nSuites:")
    failed = 0
    totals: dict[str, int] = {}
    for suite in running:
        counts = suite.counts()
        for word, number in counts.items():
            totals[word] = totals.get(word, 0) + number
        verdict = "passed" if suite.status == 0 else "FAILED"
        if suite.status == NO_TESTS_COLLECTED:
            verdict = "FAILED: collected no test"
        if suite.status != 0:
            failed += 1
        summary = ", ".join(f"{number} {word}" for word, number in counts.items()) or suite.last_line()
        print(f"  {suite.name:<11} {verdict:<8} {summary:<40} {minutes(suite.seconds)}, {suite.cpu:5.1f} s of CPU")
    cpu = sum(suite.cpu for suite in running)
    wall = minutes(time.time() - began)
    print(f"make test: {wall} wall time ({os.cpu_count()} cores), the suites {cpu:.1f} s of CPU")
    if failed:
        print(f"error: {failed} of {len(running)} suites failed (their output is above)", file=sys.stderr)
    not_passed = totals.get("failed", 0) + totals.get("errors", 0)
    skipped = f", {totals['skipped']} skipped" if totals.get("skipped") else ""
    print(f"Total: {totals.get('passed', 0)} passed, {not_passed} failed{skipped}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

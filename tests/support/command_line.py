"""The command line as the tests run it (not part of the product): in the test's own process (``run_cli``), or in a
process of its own, ``python -m DeadlineSpotIamSetup`` as an admin runs it (``run_cli_process``, and
``start_cli_process`` for a test that signals it while it runs)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.waits import Clock
from tests.support.wire import repository_root


def run_cli(*argv: str, at: datetime | None = None) -> tuple[int, str, str]:
    """``python -m DeadlineSpotIamSetup ARGV`` in this process: its exit code, stdout and stderr. ``at``: the time AWS's
    clock reads (a rotation's grace period, a key's age) instead of now."""
    out, err = io.StringIO(), io.StringIO()
    clock = Clock(aws_now=lambda: at) if at is not None else Clock()
    code = main(list(argv), out=out, err=err, clock=clock)
    return code, out.getvalue(), err.getvalue()


def _child_environment() -> dict[str, str]:
    """This environment (the suites' dummy credentials), with the package importable from the repository."""
    return dict(os.environ, PYTHONPATH=str(repository_root()))


def run_cli_process(*argv: str, timeout: float = 60) -> tuple[int, str, str, float]:
    """``python -m DeadlineSpotIamSetup ARGV`` in a process of its own: its exit code, stdout, stderr and wall time."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "DeadlineSpotIamSetup", *argv],
        capture_output=True,
        text=True,
        env=_child_environment(),
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def start_cli_process(*argv: str, cwd: Path) -> subprocess.Popen:
    """``python -m DeadlineSpotIamSetup ARGV`` started in ``cwd``, its output piped as text, for the caller to signal
    and wait for."""
    return subprocess.Popen(
        [sys.executable, "-m", "DeadlineSpotIamSetup", *argv],
        cwd=cwd,
        env=_child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

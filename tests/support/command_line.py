"""The command line run in the test's own process, as the tests call it (not part of the product)."""

from __future__ import annotations

import io
from datetime import datetime

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.waits import Clock


def run_cli(*argv: str, at: datetime | None = None) -> tuple[int, str, str]:
    """``python -m DeadlineSpotIamSetup ARGV`` in this process: its exit code, stdout and stderr. ``at``: the time AWS's
    clock reads (a rotation's grace period, a key's age) instead of now."""
    out, err = io.StringIO(), io.StringIO()
    clock = Clock(aws_now=lambda: at) if at is not None else Clock()
    code = main(list(argv), out=out, err=err, clock=clock)
    return code, out.getvalue(), err.getvalue()

"""``python -m DeadlineSpotIamSetup`` and the ``deadline-spot-iam-setup`` command: the command line, with the
demo wired in (the demo is given the command line's entry point; the command line does not know the demo).

Only the standard library is imported before ``main`` runs, so that a Ctrl-C while the command line loads ends the
process quietly too (interruption.ending_quietly)."""

from __future__ import annotations

import functools
import gc
import ntpath
import os
import sys
from collections.abc import Sequence
from typing import Any

from .commands import COMMAND_LINE
from .interruption import ending_quietly, stopped_at_once


def program_name(argv0: str) -> str:
    """How the program was invoked, from ``sys.argv[0]``: the console script's name (``deadline-spot-iam-setup``,
    without Windows' ``.exe`` or an old launcher's ``-script.py``), or ``python -m DeadlineSpotIamSetup``."""
    name = ntpath.basename(argv0)  # splits at "/" and "\\" alike
    for suffix in (".exe", "-script.pyw", "-script.py"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if not name or name.startswith("__main__.") or name in ("-c", "-m"):
        return COMMAND_LINE
    return name


def _demo(*args: Any, **kwargs: Any) -> int:
    """The demo, imported only when it runs (no other command loads the stand-in and its wheel-building)."""
    from .demo import run_demo

    return run_demo(*args, **kwargs)


#: How often this process's collector of reference cycles runs (``gc.set_threshold``): its youngest generation every
#: 50,000 allocations not yet freed instead of Python's 700, an older one every 20 younger runs instead of 10. A
#: command is a short process that makes many objects and few cycles (importing boto3 and botocore, parsing their
#: data, the calls' answers); with Python's defaults a check spent a tenth of its CPU in about 140 collections that
#: found little. Memory that reference counting frees (nearly all of it) is freed at once either way. Only the
#: command line's process: the event plugin runs inside Deadline's, whose collector is Deadline's.
GARBAGE_THRESHOLDS = (50_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GARBAGE_THRESHOLDS)
    with ending_quietly():
        from . import cli

        code = cli.main(
            argv, demo=functools.partial(_demo, cli=cli.main), prog=program_name(sys.argv[0] if sys.argv else "")
        )
    if stopped_at_once():
        # A second Ctrl-C: calls may still be under way in other threads, which the interpreter would wait for.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())

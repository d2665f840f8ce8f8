"""``python -m DeadlineSpotIamSetup`` and the ``deadline-spot-iam-setup`` command: the command line, with the
demo wired in (the demo is given the command line's entry point; the command line does not know the demo).

Only the standard library is imported before ``main`` runs, so that a Ctrl-C while the command line loads ends the
process quietly too (interruption.ending_quietly)."""

from __future__ import annotations

import functools
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


def main(argv: Sequence[str] | None = None) -> int:
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

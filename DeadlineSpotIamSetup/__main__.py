"""``python -m DeadlineSpotIamSetup`` and the ``deadline-spot-iam-setup`` command: the command line, with the
demo wired in (the demo is given the command line's entry point; the command line does not know the demo)."""

from __future__ import annotations

import functools
import ntpath
import sys
from collections.abc import Sequence

from . import cli
from .commands import COMMAND_LINE
from .demo import run_demo


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


def main(argv: Sequence[str] | None = None) -> int:
    prog = program_name(sys.argv[0] if sys.argv else "")
    return cli.main(argv, demo=functools.partial(run_demo, cli=cli.main), prog=prog)


if __name__ == "__main__":
    sys.exit(main())

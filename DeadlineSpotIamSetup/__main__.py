"""``python -m DeadlineSpotIamSetup`` and the ``deadline-spot-iam-setup`` command: the command line, with the
demo wired in (the demo is given the command line's entry point; the command line does not know the demo)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

from . import cli
from .demo import run_demo


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, demo=functools.partial(run_demo, cli=cli.main))


if __name__ == "__main__":
    sys.exit(main())

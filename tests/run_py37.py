"""Run the event plugin's suite under Python 3.7 with the oldest supported boto3, against a local AWS stand-in.

Deadline 10.1.12 to 10.2 run event plugins under their Python 3.7 with the boto3 they ship (README.md, "Supported
Deadline versions"). This script is run with the main virtualenv's Python (which has moto), like
``tests/run_py310.py``: it starts a moto stand-in in this process, then runs pytest on ``tests/plugin`` with the
Python 3.7 virtualenv (the oldest supported boto3 and botocore, pytest only). The same folder also runs under
Python 3.10 (``tests/run_py310.py``): these suites are a subset of those, never a folder of their own.

Usage: python tests/run_py37.py [extra pytest arguments]
The Python 3.7 virtualenv is ``.venv37`` unless ``PY37_VENV`` names another one.
"""

from __future__ import annotations

import sys

from run_py310 import run_suites

SUITES = ("tests/plugin",)
# Not repeated here: the plugin runs in another account's own Python there (Debian's, docs/plugin.md "Install"), so this
# interpreter adds nothing to what the Python 3.10 run proves.
NOT_REPEATED = ("tests/plugin/test_plugin_other_account.py",)


def main(argv: list[str]) -> int:
    ignored = [f"--ignore={path}" for path in NOT_REPEATED]
    return run_suites("Python 3.7", "PY37_VENV", ".venv37", "make venv37", SUITES, [*ignored, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

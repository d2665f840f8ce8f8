"""Run the Python 3.10 test suites against a local AWS stand-in.

Deadline 10.3 and later embed Python 3.10 with boto3, and the code that runs inside Deadline must
work there. This script is run with the main virtualenv's Python (which has moto): it runs pytest on
``tests/unit``, ``tests/wire`` (the engine on the wire: retries, timeouts, races) and ``tests/plugin`` with the
Python 3.10 virtualenv (boto3 and pytest only), naming this interpreter in the ``DSIS_MOTO_PYTHON`` environment
variable: each pytest process starts its own moto server with it (tests/conftest.py, tests/support/moto_server.py).

These suites run here, not in the main interpreter's ``pytest`` (``tests/cli``, pyproject.toml ``testpaths``);
``tests/plugin`` runs again under Python 3.7 (``tests/run_py37.py``). A missing suite folder, or a run that
collects no test (pytest's exit code 5), is an error.

Usage: python tests/run_py310.py [extra pytest arguments]
The Python 3.10 virtualenv is ``.venv310`` unless ``PY310_VENV`` names another one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("tests/unit", "tests/wire", "tests/plugin")
NO_TESTS_COLLECTED = 5  # pytest's exit code


def main(argv: list[str]) -> int:
    return run_suites("Python 3.10", "PY310_VENV", ".venv310", "make venv310", SUITES, argv)


def run_suites(
    label: str, venv_variable: str, venv_default: str, make: str, suites: tuple[str, ...], argv: list[str]
) -> int:
    """pytest on ``suites`` with the virtualenv ``venv_default`` (or the one ``venv_variable`` names), against a
    moto stand-in started here. tests/run_py37.py runs the plugin's suite this way under Python 3.7."""
    venv = Path(os.environ.get(venv_variable) or ROOT / venv_default)
    if not venv.is_absolute():
        venv = ROOT / venv
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"error: {python} not found; create it with '{make}'", file=sys.stderr)
        return 2

    missing = [suite for suite in suites if not (ROOT / suite).is_dir()]
    if missing:
        print(
            f"error: {label} suite folder not found: {', '.join(missing)} (see SUITES in {sys.argv[0]})",
            file=sys.stderr,
        )
        return 2
    dirs = list(suites)

    env = dict(os.environ)
    env["DSIS_MOTO_PYTHON"] = sys.executable
    env["PYTHONPATH"] = str(ROOT)
    # Never let these suites reach a real AWS account.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    env["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE"
    env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    command = [str(python), "-m", "pytest", *dirs, *argv]
    print(f"{label} suites, each pytest process with its own moto server: {' '.join(command)}", flush=True)
    try:
        status = subprocess.call(command, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 130
    if status == NO_TESTS_COLLECTED:
        print(f"error: the {label} suites collected no test ({' '.join(command[3:])})", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

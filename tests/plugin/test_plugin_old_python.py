"""Loaded by a Python older than 3.7 (Python 2 on a Deadline 10.1/10.2 that ignores the file's first line, or any
other), the installed plugin logs one line saying what it needs and does nothing else; nothing reaches Deadline.

Each old Python runs as its own OS process with the minimal host of old_python_host.py (deadline_standin.py needs
Python 3.7). The interpreters come from pyenv, as the Makefile's do; PY27 / PY36 name others.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from DeadlineSpotIamSetup.install import PLUGIN_NAME, install

HERE = Path(__file__).resolve().parent
OLD_PYTHONS = ("2.7", "3.6")


def old_python(version: str) -> str:
    """The interpreter of Python ``version``: $PY27 / $PY36, the newest pyenv one, or python2.7 / python3.6."""
    given = os.environ.get("PY" + version.replace(".", ""))
    if given:
        return given
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
    found = found or [path for path in [shutil.which(f"python{version}")] if path]
    if not found:
        pytest.fail(f"no Python {version} found: install it with 'pyenv install {version}' or name it in $PY27/$PY36")
    return found[-1]


def tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    repository = tmp_path / "repository"
    (repository / "custom").mkdir(parents=True)
    return install(repository) / f"{PLUGIN_NAME}.py"


def test_the_installed_plugin_asks_deadline_10_1_and_10_2_for_their_python_3(plugin_file: Path):
    """Deadline 10.1/10.2 run a custom event plugin under Python 2 unless the file starts with this line (Thinkbox's
    "Python 3 Upgrade Guide"; ynput/OpenPype issue 4395, PR 4518)."""
    assert plugin_file.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")


@pytest.mark.parametrize("version", OLD_PYTHONS)
def test_under_an_older_python_the_plugin_logs_one_line_and_does_nothing(plugin_file: Path, version: str):
    before = tree(plugin_file.parent.parent.parent.parent)
    child = subprocess.run(
        [old_python(version), str(HERE / "old_python_host.py"), str(plugin_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTHON")},
    )
    assert child.returncode == 0, child.stderr
    answer = json.loads(child.stdout)
    assert answer["python"].startswith(version + ".")
    assert answer["error"] is None
    assert answer["log"] == [
        [
            "WARNING",
            f"{PLUGIN_NAME}: needs Deadline 10.1.12 or later running Python 3.7 or later; it was loaded by Python "
            f"{answer['python']}, so it does nothing (see its README)",
        ]
    ]
    assert answer["imported"] == []  # none of its code under lib/ was even imported
    assert tree(plugin_file.parent.parent.parent.parent) == before


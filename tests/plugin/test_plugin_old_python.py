"""Loaded by a Python older than 3.7 (Python 2 on a Deadline 10.1/10.2 that ignores the file's first line, or any
other), or by a Python without boto3, the installed plugin logs one line saying what it needs and does nothing
else; nothing reaches Deadline, and it never tells to reinstall it for that.

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
from deadline_standin import FakeDeadline, PluginHost

from DeadlineSpotIamSetup.install import PLUGIN_NAME, install
from DeadlineSpotIamSetup.old_botocore import OLDEST_BOTOCORE

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



@pytest.mark.parametrize("missing", ["boto3", "botocore"])
def test_in_a_python_without_boto3_the_plugin_says_what_it_needs_not_reinstall(plugin_file: Path, missing: str):
    """Deadline ships boto3 in its Python's libraries (Thinkbox's support article "How does Deadline distribute its
    Python libraries?"); an admin's edit of them can leave it out."""
    repository = plugin_file.parent.parent.parent.parent
    fake = FakeDeadline(repository, echo=False)
    fake.enable(PLUGIN_NAME)
    with PluginHost(fake, register_as=PLUGIN_NAME, hide_modules=(missing,)) as host:
        assert host.house_cleaning(PLUGIN_NAME).error is None
    [warning] = fake.warnings()
    assert warning.startswith(
        f"{PLUGIN_NAME}: needs boto3 1.20.0 (botocore 1.23.0) or later in the Python that Deadline runs it with"
    )
    assert missing in warning and "reinstall" not in warning
    assert f"(botocore {'.'.join(map(str, OLDEST_BOTOCORE))})" in warning  # the floor the engine itself checks
    assert fake.log_lines() == [warning]

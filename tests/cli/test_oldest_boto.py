"""The command line on the oldest boto3 and botocore the package declares (pyproject.toml), the ones the Makefile's
.venv37 holds (``make venv37``: boto3 1.20.0 and botocore 1.23.0 under Python 3.7, as Deadline 10.1.12 to 10.2 ship
them): the declared floor is the floor the code is tested on. Every command that calls AWS works there against moto's
server, the endpoint taken from AWS_ENDPOINT_URL, which botocore reads itself only from 1.31.0 and the engine reads
for older ones (DeadlineSpotIamSetup/old_botocore.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli before Python 3.11
    import tomli as tomllib

from DeadlineSpotIamSetup.old_botocore import OLDEST_BOTOCORE

ROOT = Path(__file__).resolve().parents[2]
PYTHON37 = ROOT / ".venv37" / "bin" / "python"


def declared_floors() -> dict[str, tuple[int, ...]]:
    """``{"boto3": (1, 20), ...}``: the ``>=`` floor of each dependency pyproject.toml declares."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    floors = {}
    for requirement in dependencies:
        name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement.replace(" ", "")).groups()
        floors[name] = tuple(int(part) for part in floor.split("."))
    return floors


def makefile_oldest() -> dict[str, tuple[int, ...]]:
    """``OLDEST_BOTO`` of the Makefile: the exact releases .venv37 installs."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    [line] = [line for line in text.splitlines() if line.startswith("OLDEST_BOTO :=")]
    pins = re.findall(r"([a-z0-9]+)==([0-9.]+)", line)
    return {name: tuple(int(part) for part in version.split(".")) for name, version in pins}


def test_the_declared_floors_are_the_releases_the_oldest_environment_holds_and_the_engine_checks():
    floors, oldest = declared_floors(), makefile_oldest()
    assert set(floors) == {"boto3", "botocore"}
    assert set(oldest) == set(floors)
    for name, floor in floors.items():
        assert oldest[name][: len(floor)] == floor, (name, floor, oldest[name])
    assert oldest["botocore"] == OLDEST_BOTOCORE


def run_oldest(*argv: str, endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PYTHON37.exists(), f"{PYTHON37} is missing: make venv37 creates it (make test does)"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PYTHON"))}
    env.update(
        PYTHONPATH=str(ROOT),
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return subprocess.run(
        [str(PYTHON37), "-m", "DeadlineSpotIamSetup", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_every_command_that_calls_aws_works_on_the_oldest_boto3(endpoint: str, tmp_path: Path):
    probe = subprocess.run(
        [str(PYTHON37), "-c", "import boto3, botocore; print(boto3.__version__, botocore.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert probe.stdout.split() == ["1.20.0", "1.23.0"]
    steps = [
        (("check",), 2),
        (("plan", "--json"), 2),
        (("apply", "--secret-out", str(tmp_path / "key.json")), 0),
        (("check", "--json"), 0),
        (("rotate-key", "--secret-out", str(tmp_path / "rotated.json")), 2),
        (("rotate-key", "--abandon"), 0),
        (("export", "--allowed-source-ips", "203.0.113.0/24"), 0),
    ]
    for argv, expected in steps:
        done = run_oldest(*argv, endpoint=endpoint, cwd=tmp_path)
        assert done.returncode == expected, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    assert json.loads((tmp_path / "key.json").read_text())["AccessKeyId"]

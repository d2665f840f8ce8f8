"""`make lint` runs mypy on the package (pyproject.toml's [tool.mypy]): a handler that calls the gateway wrongly, or a
read that names no read of the Gateway protocol, fails it, naming the line. The package's own source passing is
`make lint` itself; here a copy of it is broken on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLER = Path("DeadlineSpotIamSetup", "handlers", "access_key.py")


def inject(path: Path, anchor: str, line: str) -> int:
    """Insert ``line`` after the one holding ``anchor``, at its indentation; returns the new line's number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    [index] = [number for number, text in enumerate(lines) if anchor in text]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index + 1, f"{indent}{line}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return index + 2


def test_a_wrong_gateway_call_or_read_in_a_handler_fails_the_type_check(tmp_path: Path):
    shutil.copytree(ROOT / "DeadlineSpotIamSetup", tmp_path / "DeadlineSpotIamSetup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tests" / "support").mkdir(parents=True)  # mypy checks the tests' in-memory IAM too ([tool.mypy])
    shutil.copy(ROOT / "tests" / "support" / "fake_iam.py", tmp_path / "tests" / "support" / "fake_iam.py")
    handler = tmp_path / HANDLER
    # A read that does not exist, a method the Gateway protocol does not have, an argument of the wrong type (top to
    # bottom, so that each line keeps its number).
    no_such_read = inject(handler, "# The user's tags: which keys", 'Read("keys", "access_key_ages", ()),')
    no_such_method = inject(handler, "user = action.params[\"UserName\"]", "run.gateway.create_key(user)")
    wrong_argument = inject(handler, "before = gateway.access_keys(user) or ()", "gateway.key_usage(42)")

    cache = tmp_path / "cache"
    if (ROOT / ".mypy_cache").is_dir():
        # `make lint` (which `make test` runs first) leaves mypy's cache of the same files, at the same relative paths
        # and times (copytree keeps them): mypy then checks again only what changed, the broken handler and what
        # depends on it, instead of the standard library and the whole package (about 15 s of CPU).
        shutil.copytree(ROOT / ".mypy_cache", cache)
    answer = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert answer.returncode == 1, answer.stdout + answer.stderr
    where = HANDLER.as_posix()
    errors = [line for line in answer.stdout.splitlines() if ": error:" in line]
    assert any(line.startswith(f"{where}:{no_such_method}:") and "create_key" in line for line in errors), errors
    assert any(line.startswith(f"{where}:{wrong_argument}:") and "[arg-type]" in line for line in errors), errors
    assert any(line.startswith(f"{where}:{no_such_read}:") and "access_key_ages" in line for line in errors), errors
    assert len(errors) == 3, errors

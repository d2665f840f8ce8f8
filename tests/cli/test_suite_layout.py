"""Each test runs under the interpreter it needs: the main suite (pyproject.toml ``testpaths``, this interpreter)
and the Python 3.10 suites (``tests/run_py310.py``) share no folder and together hold every test file, so that none
runs twice there and none is left out. The Python 3.7 run (``tests/run_py37.py``: the oldest Python and boto3 the
plugin supports) repeats the plugin's suite only, a folder of the Python 3.10 run: what runs inside Deadline is
tested under both ends of the Pythons Deadline gives it (README.md, "Supported Deadline versions")."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def python310_suites() -> list[str]:
    """``SUITES`` of tests/run_py310.py, read without running that script's imports."""
    return script_suites("run_py310.py")


def python37_suites() -> list[str]:
    return script_suites("run_py37.py")


def script_suites(script: str) -> list[str]:
    return script_assignment(script, "SUITES")


def script_assignment(script: str, name: str) -> list[str]:
    """The tuple assigned to ``name`` in tests/``script``, read without running that script's imports."""
    tree = ast.parse((ROOT / "tests" / script).read_text(encoding="utf-8"))
    [value] = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == [name]
    ]
    return list(ast.literal_eval(value))


def main_suite() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["pytest"]["ini_options"]["testpaths"]


def owners(test_file: Path, suites: dict[str, list[str]]) -> list[str]:
    relative = test_file.relative_to(ROOT)
    return [
        f"{name}: {folder}"
        for name, folders in suites.items()
        for folder in folders
        if relative.is_relative_to(Path(folder))
    ]


def test_every_test_file_belongs_to_exactly_one_suite():
    suites = {"main": main_suite(), "python3.10": python310_suites()}
    test_files = sorted((ROOT / "tests").rglob("test_*.py"))
    assert len(test_files) > 10
    wrong = {str(path.relative_to(ROOT)): owners(path, suites) for path in test_files}
    assert {name: found for name, found in wrong.items() if len(found) != 1} == {}


def test_the_main_suite_is_this_folder_and_the_engine_and_plugin_run_under_python_3_10():
    assert main_suite() == ["tests/cli"]
    assert set(python310_suites()) == {"tests/unit", "tests/wire", "tests/plugin"}
    assert Path(__file__).resolve().parent == ROOT / "tests" / "cli"


def test_the_plugin_suite_runs_again_under_python_3_7_and_nothing_else_does():
    assert python37_suites() == ["tests/plugin"]
    assert set(python37_suites()) <= set(python310_suites())
    not_repeated = script_assignment("run_py37.py", "NOT_REPEATED")
    assert all((ROOT / path).is_file() and path.startswith("tests/plugin/") for path in not_repeated), not_repeated


def test_the_ownership_check_sees_a_file_outside_every_suite():
    suites = {"main": ["tests/cli"], "python3.10": ["tests/unit"]}
    assert owners(ROOT / "tests" / "test_loose.py", suites) == []
    assert owners(ROOT / "tests" / "unit" / "test_x.py", suites) == ["python3.10: tests/unit"]

"""Each test runs under the interpreter it needs: the main suite (pyproject.toml ``testpaths``, this interpreter)
and the Python 3.10 suites (``tests/run_py310.py``) share no folder and together hold every test file, so that none
runs twice there and none is left out. The Python 3.7 run (``tests/run_py37.py``: the oldest Python and boto3 the
plugin supports) repeats the plugin's suite only, a folder of the Python 3.10 run: what runs inside Deadline is
tested under both ends of the Pythons Deadline gives it (README.md, "Supported Deadline versions")."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
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


def run_all_module():
    """tests/run_all.py, imported (it imports only the standard library)."""
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "tests" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look their annotations up
    spec.loader.exec_module(module)
    return module


def test_make_test_runs_the_three_suites_side_by_side_in_workers_and_the_type_check_beside_them():
    suites = {suite.name: " ".join(suite.command) for suite in run_all_module().suites()}
    assert set(suites) == {"mypy", "main", "python3.10", "python3.7"}
    assert suites["mypy"].endswith(" -m mypy")  # pyproject.toml's [tool.mypy], as `make lint` runs it
    tests = [suites["main"], suites["python3.10"], suites["python3.7"]]
    assert " -m pytest " in suites["main"]
    assert "tests/run_py310.py" in suites["python3.10"] and "tests/run_py37.py" in suites["python3.7"]
    assert all("--dist loadfile -n " in command for command in tests), tests
    # The four Python 3.10 workers take the modules in tests/conftest.py's order (test_modules_that_wait_go_first).
    assert "--no-loadscope-reorder" in suites["python3.10"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check ." in recipe and "tests/run_all.py" in recipe
    assert "$(VENV)/bin/mypy" in makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]  # `make lint` alone too


def test_wall_times_are_shown_in_minutes_and_seconds_rounded_once():
    minutes = run_all_module().minutes
    assert minutes(0) == "0 min 00.0 s"
    assert minutes(65.04) == "1 min 05.0 s"
    assert minutes(359.97) == "6 min 00.0 s"  # not "5 min 60.0 s"


def test_a_failing_suite_fails_the_run_and_its_output_is_shown(monkeypatch, capsys):
    run_all = run_all_module()

    def suite(name: str, code: str):
        return run_all.Suite(name, [sys.executable, "-c", code], dict(os.environ))

    monkeypatch.setattr(
        run_all,
        "suites",
        lambda: [
            suite("good", "print('3 passed, 1 skipped in 0.1s')"),
            suite("bad", "import sys; print('why it broke'); print('1 failed, 2 passed in 0.1s'); sys.exit(1)"),
            suite("empty", "import sys; print('no tests ran in 0.1s'); sys.exit(5)"),
        ],
    )
    assert run_all.main() == 1
    out, err = capsys.readouterr()
    assert "why it broke" in out
    assert "FAILED: collected no test" in out
    assert out.rstrip().splitlines()[-1] == "Total: 5 passed, 1 failed, 1 skipped"
    assert "2 of 3 suites failed" in err


def test_a_passing_run_ends_with_its_wall_time_and_the_total(monkeypatch, capsys):
    run_all = run_all_module()
    monkeypatch.setattr(
        run_all, "suites", lambda: [run_all.Suite("good", [sys.executable, "-c", "print('2 passed in 0.1s')"], {})]
    )
    assert run_all.main() == 0
    lines = capsys.readouterr().out.rstrip().splitlines()
    assert lines[-2].startswith("make test: ") and "wall time" in lines[-2]
    assert lines[-1] == "Total: 2 passed, 0 failed"


def test_a_suite_s_cpu_time_counts_the_processes_it_waited_for(monkeypatch, capsys):
    """The summary's CPU figure is the suite's and its workers' (os.wait4's rusage counts reaped descendants): a
    worker that burns 0.3 s of its own CPU shows in its suite's figure, whatever the machine's load."""
    run_all = run_all_module()
    burn = "import time\nwhile time.process_time() < 0.3: pass\n"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}]); print('1 passed in 0.3s')"
    suite = run_all.Suite("burner", [sys.executable, "-c", parent], dict(os.environ))
    monkeypatch.setattr(run_all, "suites", lambda: [suite])
    assert run_all.main() == 0
    assert suite.cpu >= 0.3
    out = capsys.readouterr().out
    assert re.search(r"burner +passed +1 passed +0 min \d\d\.\d s, +\d+\.\d s of CPU", out), out
    assert re.search(r"wall time \(\d+ cores\), the suites \d+\.\d s of CPU", out), out


def test_modules_that_wait_go_first_then_the_modules_with_most_tests_each_keeping_its_order():
    from tests.conftest import pytest_collection_modifyitems

    class Item:
        def __init__(self, nodeid: str, waits: bool = False) -> None:
            self.nodeid, self.waits = nodeid, waits

        def get_closest_marker(self, name: str) -> object:
            return "waits" if name == "waits" and self.waits else None

    items = [
        Item("tests/unit/test_a.py::one"),
        Item("tests/unit/test_b.py::one"),
        Item("tests/unit/test_b.py::two"),
        Item("tests/wire/test_slow.py::first", waits=True),
        Item("tests/wire/test_slow.py::second", waits=True),
        Item("tests/wire/test_c.py::one"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == [
        "tests/wire/test_slow.py::first",
        "tests/wire/test_slow.py::second",
        "tests/unit/test_b.py::one",
        "tests/unit/test_b.py::two",
        "tests/unit/test_a.py::one",
        "tests/wire/test_c.py::one",
    ]


def test_no_test_module_imports_another():
    """A helper two test modules share lives in tests/support/ (or beside its suite, as tests/wire/odd_servers.py):
    importing a test module would collect its tests' fixtures and module-level work into another module's run."""
    importing = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(name.split(".")[-1].startswith("test_") for name in names):
                importing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert importing == [], importing

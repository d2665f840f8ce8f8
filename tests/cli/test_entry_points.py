"""``python -m DeadlineSpotIamSetup``: the demo end to end, the demo without moto, the demo standing above the
command line (no import cycle), and a package whose import changes nothing in the process."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from DeadlineSpotIamSetup import cli
from DeadlineSpotIamSetup.demo import NEEDS_MOTO

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "DeadlineSpotIamSetup"


def run_python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """This interpreter, the checkout's package first on the path, no AWS setting of the developer's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_demo_runs_every_step_and_exits_0(tmp_path: Path):
    done = run_python("-m", "DeadlineSpotIamSetup", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo finished: exit codes were as expected (2, 2, 0, 0, 0, 2, 2, 2)." in done.stdout
    assert done.stdout.count("\n=== ") == 8
    assert "Traceback" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []  # the secret file went to a temporary folder, now gone


def test_the_demo_without_moto_is_one_error_line(tmp_path: Path):
    # moto (and everything under it) cannot be imported: None in sys.modules makes `import moto...` fail.
    script = "import sys; sys.modules['moto'] = None; from DeadlineSpotIamSetup.__main__ import main; sys.exit(main())"
    done = run_python("-c", script, "demo", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "error: the demo needs moto: pip install 'deadline-spot-iam-setup[demo]'\n"
    assert NEEDS_MOTO in done.stderr


def test_the_command_line_without_a_demo_function_refuses_the_demo_in_one_line():
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["demo"], out=out, err=err) == 1
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "python -m DeadlineSpotIamSetup demo" in lines[0]


def test_the_command_line_runs_the_demo_function_it_is_given():
    given = []

    def demo(out):
        given.append(out)
        print("demo ran", file=out)
        return 0

    out = io.StringIO()
    assert cli.main(["demo"], out=out, err=io.StringIO(), demo=demo) == 0
    assert given == [out] and out.getvalue() == "demo ran\n"


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` (a module of ``package``) imports, functions included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            if node.module:
                names.add(".".join([*base, node.module]))
            else:
                names |= {".".join([*base, alias.name]) for alias in node.names}
    return names


def package_of(path: Path) -> str:
    return ".".join(["DeadlineSpotIamSetup", *path.relative_to(PACKAGE).parent.parts])


def test_the_import_scanner_resolves_relative_imports(tmp_path: Path):
    module = tmp_path / "m.py"
    module.write_text(
        "from . import cli\nfrom .standin import X\nfrom .. import demo\ndef f():\n    import json\n", encoding="utf-8"
    )
    assert imported_modules(module, "top.sub") == {"top.sub.cli", "top.sub.standin", "top.demo", "json"}


def test_the_demo_stands_above_the_command_line_without_importing_it():
    demo = imported_modules(PACKAGE / "demo.py", "DeadlineSpotIamSetup")
    assert "DeadlineSpotIamSetup.cli" not in demo
    assert "DeadlineSpotIamSetup.standin" in demo
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if {"DeadlineSpotIamSetup.demo", "DeadlineSpotIamSetup.__main__"} & imported_modules(path, package_of(path))
    )
    assert importers == ["__main__.py"]


# Run in a fresh interpreter: imports every module of the package (the __main__ module too: it must not run)
# and prints what changed in the process.
GLOBAL_STATE_PROBE = """
import importlib, json, logging, os, pkgutil, sys, warnings

def loggers():
    found = {"": logging.getLogger()}
    found.update((name, logger) for name, logger in logging.root.manager.loggerDict.items()
                 if isinstance(logger, logging.Logger))
    return {name: (logger.level, len(logger.handlers), len(logger.filters), logger.propagate, logger.disabled)
            for name, logger in found.items()}

import boto3  # the run-time dependency's own import-time setup (NullHandlers, warning filters) is not ours
environ, path, before, filters = dict(os.environ), list(sys.path), loggers(), len(warnings.filters)
import DeadlineSpotIamSetup
names = sorted(info.name for info in pkgutil.walk_packages(DeadlineSpotIamSetup.__path__, "DeadlineSpotIamSetup."))
for name in names:
    importlib.import_module(name)
after = loggers()
print(json.dumps({
    "modules": names,
    "environ": sorted(set(os.environ.items()) ^ set(environ.items())),
    "path": sys.path != path,
    "loggers changed": sorted(name for name in before if before[name] != after[name]),
    "loggers configured": sorted(name for name in after if name not in before and after[name] != (0, 0, 0, 1, 0)),
    "warnings filters": len(warnings.filters) - filters,
    "moto": sorted(name for name in sys.modules if name.split(".")[0] in ("moto", "werkzeug", "flask")),
}))
"""


def test_importing_the_package_changes_no_global_state(tmp_path: Path):
    done = run_python("-c", GLOBAL_STATE_PROBE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"DeadlineSpotIamSetup.__main__", "DeadlineSpotIamSetup.standin", "DeadlineSpotIamSetup.demo"} <= set(
        report.pop("modules")
    )
    assert report == {
        "environ": [],
        "path": False,
        "loggers changed": [],
        "loggers configured": [],
        "warnings filters": 0,
        "moto": [],
    }

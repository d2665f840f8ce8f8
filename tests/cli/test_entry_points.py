"""``python -m DeadlineSpotIamSetup``: the demo end to end, the demo without moto, the demo standing above the
command line (no import cycle), and a package whose import changes nothing in the process."""

from __future__ import annotations

import ast
import io
import json
import os
import signal
import subprocess
import sys
import threading
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


def test_demo_keep_leaves_the_stand_in_running_for_another_shell_until_ctrl_c(tmp_path: Path):
    """The lines it prints point another shell at the stand-in the walk-through left: a command run there with them
    sees the identities the demo made. Ctrl-C then ends the demo, as it said: exit 0, no traceback."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    demo = subprocess.Popen(
        [sys.executable, "-m", "DeadlineSpotIamSetup", "demo", "--keep"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(300, demo.kill)  # never hang the suite
    watchdog.start()
    try:
        assert demo.stdout is not None
        shown = []
        for line in demo.stdout:
            shown.append(line)
            if line.startswith("Press Ctrl-C to stop the stand-in."):
                break
        pasted = dict(
            line.strip()[len("export ") :].split("=", 1) for line in shown if line.strip().startswith("export ")
        )
        assert set(pasted) == {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
        other_shell = subprocess.run(
            [sys.executable, "-m", "DeadlineSpotIamSetup", "check", "--json"],
            cwd=tmp_path,
            env={**env, **pasted},
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(other_shell.stdout)
        statuses = {(i["kind"], i["status"]) for i in report["identities"]}
        assert ("spot-user", "ok") in statuses and ("worker-role", "ok") in statuses, other_shell.stdout
        demo.send_signal(signal.SIGINT)
        rest, err = demo.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, "".join(shown) + rest + err
    assert rest.splitlines()[0] == "Stopped the stand-in." and "Demo finished: exit codes were as expected" in rest
    assert "Traceback" not in "".join(shown) + rest + err


def test_make_demo_installs_what_the_demo_needs_not_the_test_toolchain():
    """make's own plan for the demo (-n: print, -B: as if nothing were made yet): its virtualenv gets the package with
    the demo extra (moto's server) and nothing else."""
    env = {name: value for name, value in os.environ.items() if name not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "demo"],
        cwd=ROOT,
        env=env,  # as run by hand, not as a sub-make of `make test`
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    installs = [line for line in plan if " -m pip install " in line and "--upgrade pip" not in line]
    assert installs == [".venv-demo/bin/python -m pip install --quiet '.[demo]'"], plan
    assert plan[-1].strip() == ".venv-demo/bin/python -m DeadlineSpotIamSetup demo"


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

    def demo(out, keep, stop):
        given.append(out)
        assert keep is False and stop is not None and not stop()
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

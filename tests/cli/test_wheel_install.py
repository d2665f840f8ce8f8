"""Installable without a source checkout: the wheel carries the event plugin's files, and
``deadline-spot-iam-setup install``, run from a virtual environment holding only the wheel (and boto3), lays
out the same plugin folder as an install from the checkout. That folder loads in the Deadline stand-in, and
its first house cleaning creates every identity and hands the key to the Spot plugin.

One wheel and one virtual environment per session (about 3 s); pip works offline (--no-index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from DeadlineSpotIamSetup.install import MONITOR_SCRIPT, PLUGIN_NAME, install
from tests.plugin.deadline_standin import FakeDeadline, PluginHost
from tests.spot_param_samples import SPOT_PARAM_WITH_KEY_FIELDS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "DeadlineSpotIamSetup"
COMMAND = "deadline-spot-iam-setup"
# What a build of the checkout never needs; the rest is copied, so the build sees what a fresh clone holds.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", ".ruff_cache"
)


def run(command: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A child with none of the developer's Python or AWS settings; its output is shown when it fails."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV"))}
    clean.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **env)
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout (the checkout gets no build/ or egg-info) with this
    environment's setuptools."""
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    run([*pip_wheel, "--wheel-dir", out, source], cwd=source)
    wheels = list(out.glob("*.whl"))
    assert [path.name.split("-")[0] for path in wheels] == ["deadline_spot_iam_setup"]
    return wheels[0]


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel, installed without its dependencies. boto3 (which the
    command line imports) comes from this test environment's site-packages, named in a .pth file: that folder
    goes on sys.path after the environment's own site-packages, and its .pth files (an editable install of
    the checkout) are not processed."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv.parent)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=venv.parent)
    site_packages = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=venv).stdout.strip()
    )
    boto3_site = Path(boto3.__file__).resolve().parent.parent
    (site_packages / "zz_test_boto3.pth").write_text(f"{boto3_site}\n", encoding="utf-8")
    return venv


def relative_files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_wheel_carries_the_plugin_files_and_every_subpackage(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundled = {name for name in names if name.startswith(f"{PACKAGE}/_plugin/")}
        assert archive.read(f"{PACKAGE}/_plugin/plugin.py") == (ROOT / "plugin.py").read_bytes()
        assert archive.read(f"{PACKAGE}/_plugin/plugin.param") == (ROOT / "plugin.param").read_bytes()
    lib = {f"{PACKAGE}/_plugin/lib/spot_iam_plugin/{path.name}" for path in (ROOT / "lib/spot_iam_plugin").glob("*.py")}
    # The plugin, its settings, the command script the log names, and the Monitor script install lays out.
    root_files = {
        f"{PACKAGE}/_plugin/{name}" for name in ("plugin.py", "plugin.param", "command.py", "monitor_script.py")
    }
    assert bundled == root_files | lib
    # Every module of the package's source, subpackages included (pyproject.toml lists them one by one).
    sources = {str(path.relative_to(ROOT)) for path in (ROOT / PACKAGE).rglob("*.py")}
    missing = sorted(sources - names)
    assert missing == [], f"not in the wheel (add the subpackage to [tool.setuptools] packages): {missing}"
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "lib/", "plugin"))]


def test_the_console_script_is_the_command_line_with_the_demo(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert f"{COMMAND} = {PACKAGE}.__main__:main" in text.splitlines()


def test_the_installed_command_runs_from_the_installed_package(venv: Path, tmp_path: Path):
    done = run([venv / "bin" / "python", "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"], cwd=tmp_path)
    assert Path(done.stdout.strip()).is_relative_to(venv)
    assert "usage:" in run([venv / "bin" / COMMAND, "--help"], cwd=tmp_path).stdout


def test_the_installed_command_names_itself_as_invoked(venv: Path, tmp_path: Path):
    assert run([venv / "bin" / COMMAND, "--version"], cwd=tmp_path).stdout.startswith(f"{COMMAND} 0.")
    refused = subprocess.run([venv / "bin" / COMMAND, "chek"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and f"did you mean 'check'? (see {COMMAND} --help)" in refused.stderr
    assert "python -m" not in refused.stderr


@pytest.fixture
def installed_from_wheel(venv: Path, tmp_path: Path) -> Path:
    """``deadline-spot-iam-setup install --repository REPO``, run from an unrelated folder."""
    repository = tmp_path / "repository"
    (repository / "custom").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run([venv / "bin" / COMMAND, "install", "--repository", repository], cwd=elsewhere)
    target = repository / "custom" / "events" / PLUGIN_NAME
    assert f"Installed the {PLUGIN_NAME} event plugin in {target}." in done.stdout
    assert list(elsewhere.iterdir()) == []
    return repository


def test_install_from_the_wheel_lays_out_what_install_from_the_checkout_does(installed_from_wheel: Path, tmp_path):
    from_checkout = tmp_path / "from-checkout"
    (from_checkout / "custom").mkdir(parents=True)
    expected = relative_files(install(from_checkout))
    files = relative_files(installed_from_wheel / "custom" / "events" / PLUGIN_NAME)
    assert sorted(files) == sorted(expected)
    assert files == expected
    # What that layout is (tests/unit/test_installed_imports.py checks the rest of it).
    assert f"lib/{PACKAGE}/handlers/__init__.py" in files and f"lib/{PACKAGE}/gateway.py" in files
    # The command line is installed (command.py runs it with Deadline's Python); the demo and its stand-in are not.
    assert f"lib/{PACKAGE}/cli.py" in files and "command.py" in files
    assert not {"standin.py", "demo.py", "__main__.py"} & {Path(f).name for f in files}
    # The Monitor script goes to custom/scripts/General, the same from the wheel as from the checkout.
    monitor = Path("custom", "scripts", "General", MONITOR_SCRIPT)
    assert (installed_from_wheel / monitor).read_bytes() == (from_checkout / monitor).read_bytes()
    assert not [name for name in files if "_plugin" in Path(name).parts]


def test_the_plugin_installed_from_the_wheel_loads_in_deadline_and_does_its_job(
    installed_from_wheel: Path, endpoint: str, iam
):
    fake = FakeDeadline(installed_from_wheel, echo=False)
    fake.write_spot_param(SPOT_PARAM_WITH_KEY_FIELDS)
    fake.enable(PLUGIN_NAME)
    fake.set_config(
        PLUGIN_NAME,
        EndpointUrl=endpoint,
        Region="us-east-1",
        CreateMissing=True,
        BootstrapAccessKeyId="AKIAIOSFODNN7BOOTSTR",
        BootstrapSecretAccessKey="bootstrap/Secret/That/Must/Never/Be/Logged0",
    )
    plugin_folder = installed_from_wheel / "custom" / "events" / PLUGIN_NAME
    with PluginHost(fake, register_as=PLUGIN_NAME) as host:
        result = host.house_cleaning(PLUGIN_NAME)
        with host.process_patches(PLUGIN_NAME):
            engine = sys.modules[PACKAGE].__file__
    assert result.error is None and result.listener is not None and result.handlers_called == 1
    assert Path(engine).is_relative_to(plugin_folder / "lib")  # the installed copy, not the checkout's
    assert "All 9 identities are in place." in "\n".join(fake.log_lines())
    assert fake.errors() == [] and fake.warnings() == []
    key_id = fake.config("Spot")["AccessID"]
    keys = iam.list_access_keys(UserName="DeadlineSpotEventPluginAdmin")["AccessKeyMetadata"]
    assert [key["AccessKeyId"] for key in keys] == [key_id]

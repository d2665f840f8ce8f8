"""The installed event plugin runs inside Deadline's Python (standard library and boto3 only): every module it
imports is one of those, Deadline's own, or shipped in its folder; and install/uninstall keep the folder clean."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest

from DeadlineSpotIamSetup import cli
from DeadlineSpotIamSetup.errors import InvalidSettings, SetupError
from DeadlineSpotIamSetup.install import PLUGIN_NAME, SUPPORTED_DEADLINE, install, uninstall

ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGES = {"DeadlineSpotIamSetup", "spot_iam_plugin"}
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore", "Deadline"} | OWN_PACKAGES


def absolute_imports(tree: ast.AST) -> list[str]:
    """Every absolute module name imported anywhere in ``tree`` (functions included), plus the constant
    names given to importlib.import_module."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
                names.append(first.value)
    return names


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )


def top_level(names: list[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def module_level_relative_imports(tree: ast.Module) -> list[tuple[int, str | None]]:
    return [(node.level, node.module) for node in tree.body if isinstance(node, ast.ImportFrom) and node.level > 0]


def is_module(folder: Path, dotted: str) -> bool:
    target = folder.joinpath(*dotted.split("."))
    return target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("repository")
    (repository / "custom").mkdir()
    return install(repository)


def python_files(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, f"no Python file in {folder}"
    return files


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# -- the scanner itself ---------------------------------------------------------------------------


def test_the_scanner_sees_imports_inside_functions_and_import_module_calls():
    source = (
        "import os.path\n"
        "from json import dumps\n"
        "from . import sibling\n"
        "def later():\n"
        "    import moto\n"
        "    from requests.adapters import HTTPAdapter\n"
        "importlib.import_module('yaml.loader')\n"
    )
    assert top_level(absolute_imports(ast.parse(source))) == {"os", "json", "moto", "requests", "yaml"}


# -- the installed folder -------------------------------------------------------------------------


def test_the_installed_layout(installed: Path):
    assert installed.name == PLUGIN_NAME
    assert (installed / f"{PLUGIN_NAME}.py").read_bytes() == (ROOT / "plugin.py").read_bytes()
    assert (installed / f"{PLUGIN_NAME}.param").read_bytes() == (ROOT / "plugin.param").read_bytes()
    assert (installed / "lib" / "spot_iam_plugin" / "runner.py").is_file()
    assert (installed / "lib" / "DeadlineSpotIamSetup" / "gateway.py").is_file()


def test_every_installed_module_imports_only_what_deadlines_python_has(installed: Path):
    foreign = {
        str(path.relative_to(installed)): sorted(top_level(absolute_imports(parse(path))) - ALLOWED)
        for path in python_files(installed)
    }
    assert {name: modules for name, modules in foreign.items() if modules} == {}


def test_imports_of_the_plugins_own_packages_name_installed_modules(installed: Path):
    lib = installed / "lib"
    missing = [
        f"{path.relative_to(installed)}: {name}"
        for path in python_files(installed)
        for name in absolute_imports(parse(path))
        if name.split(".")[0] in OWN_PACKAGES and not is_module(lib, name)
    ]
    assert missing == []


def test_module_level_relative_imports_name_installed_modules(installed: Path):
    missing = []
    for path in python_files(installed / "lib"):
        for level, module in module_level_relative_imports(parse(path)):
            base = path.parent
            for _ in range(level - 1):
                base = base.parent
            if module and not is_module(base, module):
                missing.append(f"{path.relative_to(installed)}: {'.' * level}{module}")
    assert missing == []


def test_no_stand_in_demo_cache_or_non_source_file_is_installed(installed: Path):
    names = [path.name for path in installed.rglob("*")]
    assert "standin.py" not in names
    assert "demo.py" not in names
    assert "__pycache__" not in names
    files = [path for path in installed.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} == {".py", ".param"}
    assert [path for path in files if path.suffix == ".param"] == [installed / f"{PLUGIN_NAME}.param"]


# -- install and uninstall ------------------------------------------------------------------------


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    (tmp_path / "custom").mkdir()
    return tmp_path


def test_reinstalling_removes_a_stray_file_and_leaves_no_staging_folder(repository: Path):
    target = install(repository)
    (target / "stray.py").write_text("import moto\n", encoding="utf-8")
    (target / "lib" / "spot_iam_plugin" / "old_module.py").write_text("", encoding="utf-8")
    assert install(repository) == target
    assert not (target / "stray.py").exists()
    assert not (target / "lib" / "spot_iam_plugin" / "old_module.py").exists()
    assert (target / f"{PLUGIN_NAME}.py").is_file()
    assert [path.name for path in (repository / "custom" / "events").iterdir()] == [PLUGIN_NAME]


def test_install_says_which_deadline_versions_the_installed_plugin_runs_on(repository: Path):
    """What the installed plugin itself logs when loaded by an older Python (its SUPPORTED) is what install says."""
    out = io.StringIO()
    assert cli.main(["install", "--repository", str(repository)], out=out, err=io.StringIO()) == 0
    supported = [line for line in out.getvalue().splitlines() if line.startswith("Supported: ")]
    assert supported == [
        "Supported: Deadline 10.1.12 or later running Python 3.7 or later (on Deadline 10.1 and 10.2 the plugin runs "
        "under Deadline's Python 3; loaded by an older Python it logs one line and does nothing)."
    ]
    plugin_file = parse(repository / "custom" / "events" / PLUGIN_NAME / f"{PLUGIN_NAME}.py")
    [value] = [
        node.value
        for node in plugin_file.body
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["SUPPORTED"]
    ]
    assert ast.literal_eval(value) == SUPPORTED_DEADLINE
    assert SUPPORTED_DEADLINE in supported[0]


def test_install_refuses_a_folder_without_custom(tmp_path: Path):
    with pytest.raises(InvalidSettings, match="custom"):
        install(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_install_refuses_a_missing_folder(tmp_path: Path):
    with pytest.raises(InvalidSettings):
        install(tmp_path / "nowhere")


def test_uninstall_removes_the_plugin_folder(repository: Path):
    target = install(repository)
    assert uninstall(repository) == target
    assert not target.exists()
    assert (repository / "custom" / "events").is_dir()


def test_uninstall_when_not_installed_answers_none(repository: Path):
    assert uninstall(repository) is None


def test_uninstall_refuses_a_folder_it_did_not_create(repository: Path):
    foreign = repository / "custom" / "events" / PLUGIN_NAME
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("someone else's", encoding="utf-8")
    with pytest.raises(SetupError):
        uninstall(repository)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "someone else's"

"""Installing the event plugin into a Deadline repository: <repository>/custom/events/DeadlineSpotIamSetup/.

The folder is built aside and swapped in, so a re-install leaves nothing stale and a failed one leaves the
previous install as it was. Only Python sources are copied: no caches, no tests, no demo stand-in.

The plugin's own files (``plugin.py``, ``plugin.param`` and ``lib/spot_iam_plugin`` at the root of the source
tree) come from the installed package, where the wheel carries them as ``DeadlineSpotIamSetup/_plugin/``, or
else from the source checkout this package runs from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import InvalidSettings, SetupError

PLUGIN_NAME = "DeadlineSpotIamSetup"
# The Deadline releases the plugin runs on, as plugin.py's SUPPORTED says it (README.md, "Supported Deadline versions").
SUPPORTED_DEADLINE = "Deadline 10.1.12 or later running Python 3.7 or later"
_PACKAGE = Path(__file__).resolve().parent
_SOURCE_ROOT = _PACKAGE.parent
# In the wheel, the plugin's files; see [tool.setuptools] in pyproject.toml.
_BUNDLED = "_plugin"
# The command line and the demo stand-in (which needs moto) stay out: the plugin uses only the engine.
_NOT_INSTALLED = {"standin.py", "demo.py", "cli.py", "__main__.py", "install.py"}


def _events_folder(repository: Path) -> Path:
    repository = repository.expanduser()
    if not repository.is_dir():
        raise InvalidSettings(f"repository {repository} is not a folder")
    if not (repository / "custom").is_dir():
        raise InvalidSettings(
            f"{repository} does not look like a Deadline repository (no custom/ folder): pass the repository root"
        )
    return repository / "custom" / "events"


def _plugin_files(root: Path) -> dict[str, Path]:
    return {
        f"{PLUGIN_NAME}.py": root / "plugin.py",
        f"{PLUGIN_NAME}.param": root / "plugin.param",
        "lib/spot_iam_plugin": root / "lib" / "spot_iam_plugin",
    }


def _sources() -> dict[str, Path]:
    """Where each part of the installed folder comes from: the installed package first, the checkout second."""
    bundled = _PACKAGE / _BUNDLED
    for root in (bundled, _SOURCE_ROOT):
        files = _plugin_files(root)
        if all(path.exists() for path in files.values()):
            return {**files, f"lib/{PLUGIN_NAME}": _PACKAGE}
    raise SetupError(
        f"install cannot find the plugin's files (plugin.py, plugin.param, lib/spot_iam_plugin) in the installed "
        f"package ({bundled}) nor in a source checkout ({_SOURCE_ROOT}): reinstall deadline-spot-iam-setup"
    )


def _copy_package(source: Path, target: Path) -> None:
    """The package's .py files and its subpackages (the identity handlers), nothing else."""
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.py")):
        if path.name not in _NOT_INSTALLED:
            shutil.copy2(path, target / path.name)
    for folder in sorted(source.iterdir()):
        if folder.is_dir() and folder.name != _BUNDLED and (folder / "__init__.py").is_file():
            _copy_package(folder, target / folder.name)


def install(repository: Path) -> Path:
    """Lay out the plugin; returns its folder."""
    events = _events_folder(repository)
    sources = _sources()
    events.mkdir(parents=True, exist_ok=True)
    target = events / PLUGIN_NAME
    staging = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-new-", dir=str(events)))
    try:
        for name, source in sources.items():
            if source.is_dir():
                _copy_package(source, staging / name)
            else:
                shutil.copy2(source, staging / name)
        retired = None
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-old-", dir=str(events)))
            os.replace(target, retired / PLUGIN_NAME)
        os.replace(staging, target)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise SetupError(f"cannot install into {target}: {error}") from None
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return target


def uninstall(repository: Path) -> Path | None:
    """Remove the plugin's folder; returns it, or None when it was not installed."""
    target = _events_folder(repository) / PLUGIN_NAME
    if not target.exists():
        return None
    if not (target / f"{PLUGIN_NAME}.py").is_file():
        raise SetupError(f"{target} does not hold {PLUGIN_NAME}.py: not removing a folder this tool did not create")
    try:
        shutil.rmtree(target)
    except OSError as error:
        raise SetupError(f"cannot remove {target}: {error}") from None
    return target

"""The plugin's fixtures: a farm (tests/plugin/plugin_farm.py) on an empty account, whose log is checked at teardown
for every secret the test made or used, and the plugin loaded in a host process of the Deadline stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest
from deadline_standin import PluginHost
from plugin_farm import Farm, checked

from DeadlineSpotIamSetup.install import PLUGIN_NAME
from tests.support.fault_proxy import FaultProxy


@pytest.fixture(autouse=True, scope="session")
def botocore_files_parsed_once() -> Iterator[None]:
    """Each simulated RCS process imports the engine afresh and makes its own botocore data loader, as a new process
    does, which parses botocore's data files again (endpoints.json, the IAM and STS models: about a sixth of a plugin
    test's CPU). botocore itself is shared between the simulated processes (deadline_standin: site-packages modules
    are), and here so is what it parsed from a file: each file is parsed once per test process, and again when it
    changes, and every loader gets that data, as the loaders of one real process share what they parsed
    (regions.data_loader). The engine only reads it."""
    parse = botocore.loaders.JSONFileLoader.load_file
    parsed: dict[tuple[Any, ...], Any] = {}

    def load_file(self: Any, file_path: str) -> Any:
        key = (file_path, *(_signature(file_path + ext) for ext in (".json", ".json.gz")))
        if key not in parsed:
            parsed[key] = parse(self, file_path)
        return parsed[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.loaders.JSONFileLoader, "load_file", load_file)
        yield


def _signature(path: str) -> tuple[int, int] | None:
    """A file's modification time and size, None when it does not exist."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


@pytest.fixture
def farm(tmp_path: Path, proxy: FaultProxy, endpoint: str) -> Iterator[Farm]:
    farm = Farm(tmp_path / "repository", proxy, endpoint)
    yield from checked(farm)


@pytest.fixture
def shared_farm(tmp_path: Path, proxy: FaultProxy, endpoint: str) -> Iterator[Farm]:
    """A farm whose Deadline database is a file, for machines running as separate OS processes (HostProcess)."""
    farm = Farm(tmp_path / "repository", proxy, endpoint, database=tmp_path / "deadline-db.json")
    yield from checked(farm)


@pytest.fixture
def host(farm: Farm) -> Iterator[PluginHost]:
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as running:
        yield running

"""The plugin's fixtures: a farm (tests/plugin/plugin_farm.py) on an empty account, whose log is checked at teardown
for every secret the test made or used, and the plugin loaded in a host process of the Deadline stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deadline_standin import PluginHost
from plugin_farm import Farm, checked

from DeadlineSpotIamSetup.install import PLUGIN_NAME
from tests.support.fault_proxy import FaultProxy


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

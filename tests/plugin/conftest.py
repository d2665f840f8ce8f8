"""The plugin's fixtures: a farm (tests/plugin/plugin_farm.py) on an empty account, whose log is checked at teardown
for every secret the test made or used, and the plugin loaded in a host process of the Deadline stand-in."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
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


@pytest.fixture(autouse=True, scope="session")
def dataclass_methods_compiled_once() -> Iterator[None]:
    """The engine's dataclasses (about 80, each with its __init__, __repr__, __eq__...) are made again in each
    simulated RCS process, as a new process makes them, and the standard library's dataclasses compiles the source of
    every method it generates, about 0.15 ms each: most of what importing the engine costs. That code depends on its
    source text alone (compiled with no __future__ flag, as dataclasses' own exec does), so here it is compiled once
    per test process, as the stand-in compiles a module once (deadline_standin._CompiledOnceLoader); each class and
    function is still made afresh, from it, in the process that defines the class."""
    compiled: dict[str, CodeType] = {}

    def exec_generated(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = compiled.get(source)
            if code is None:
                code = compiled[source] = compile(source, "<string>", "exec", dont_inherit=True)
            source = code
        exec(source, globals, locals)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dataclasses, "exec", exec_generated, raising=False)  # found before the builtin, by name
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

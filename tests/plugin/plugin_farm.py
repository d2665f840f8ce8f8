"""The farm the plugin's tests drive: a Deadline repository (the stand-in's) with the plugin installed, moto behind a
counting proxy, and what the tests say about it. Its fixtures (``farm``, ``shared_farm``, ``host``) are in this
folder's conftest.py; test modules import the rest from here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import deadline_standin
import pytest
from deadline_standin import FakeDeadline
from host_process import HostProcess
from spot_iam_plugin.settings import PluginSettings
from spot_param_samples import SPOT_PARAM_WITH_KEY_FIELDS

from DeadlineSpotIamSetup.desired import desired_state
from DeadlineSpotIamSetup.install import PLUGIN_NAME, install
from tests.support.fault_proxy import FaultProxy
from tests.support.wire import DUMMY_SECRET

BOOTSTRAP_KEY_ID = "AKIAIOSFODNN7BOOTSTR"
BOOTSTRAP_SECRET = "bootstrap/Secret/That/Must/Never/Be/Logged0"
USER = "DeadlineSpotEventPluginAdmin"


class Farm:
    """A Deadline repository with the plugin installed, an AWS stand-in behind a counting proxy."""

    def __init__(
        self,
        root: Path,
        proxy: FaultProxy,
        endpoint: str,
        database: Path | None = None,
        before_install: Callable[[Path], object] = lambda root: None,
    ) -> None:
        """``before_install(root)`` runs once the repository's folders exist, before the plugin is installed."""
        (root / "custom").mkdir(parents=True)
        self.root = root
        self.database = database
        self.fake = FakeDeadline(root, echo=False, database=database)
        before_install(root)
        install(root)
        self.fake.enable(PLUGIN_NAME)
        self.proxy = proxy
        self.endpoint = endpoint
        self.configure(
            EndpointUrl=proxy.endpoint_url,
            Region="us-east-1",
            CreateMissing=True,
            BootstrapAccessKeyId=BOOTSTRAP_KEY_ID,
            BootstrapSecretAccessKey=BOOTSTRAP_SECRET,
        )
        self.secrets = {BOOTSTRAP_SECRET, DUMMY_SECRET}

    def configure(self, **values) -> None:
        self.fake.set_config(PLUGIN_NAME, **values)

    def spot(self) -> dict[str, str]:
        return self.fake.config("Spot")

    def log(self) -> str:
        return "\n".join(self.fake.log_lines())

    def writes(self) -> dict[str, int]:
        return {op: n for op, n in self.proxy.counts().items() if op and not op.startswith(("Get", "List"))}

    def remember_created_secrets(self) -> None:
        secret = self.spot().get("SecretKey")
        if secret:
            self.secrets.add(secret)
        credentials = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
        if credentials.exists():
            for line in credentials.read_text().splitlines():
                if line.startswith("aws_secret_access_key"):
                    self.secrets.add(line.split("=", 1)[1].strip())


def checked(farm: Farm) -> Iterator[Farm]:
    farm.fake.write_spot_param(SPOT_PARAM_WITH_KEY_FIELDS)
    yield farm
    farm.remember_created_secrets()
    for line in farm.fake.log_lines():
        for secret in farm.secrets:
            assert secret not in line, "a secret reached the log"


def machine(farm: Farm, hostname: str, **environment: str) -> HostProcess:
    """One RCS machine as its own OS process, sharing the farm's Deadline database file."""
    assert farm.database is not None
    return HostProcess(farm.root, farm.database, hostname, PLUGIN_NAME, environment)


def all_in_place(**settings) -> str:
    """The summary of a run that found everything in place, with as many identities as the engine wants for the
    plugin's ``settings`` (PluginSettings fields)."""
    count = len(desired_state(PluginSettings(**settings).engine_settings()).identities)
    return f"All {count} identities are in place."


def intercept_setting_writes(monkeypatch: pytest.MonkeyPatch, before: Callable[[str, str], None]) -> Callable[[], None]:
    """Every write of an event plugin's setting first calls ``before(plugin, key)``, which may raise (a database
    refusing the write, a process dying there). Returns what ends the interception."""
    original = deadline_standin._RepositoryUtils.AddOrUpdateEventPluginConfigSetting

    def write(self, name, key, value):
        before(name, key)
        original(self, name, key, value)

    monkeypatch.setattr(deadline_standin._RepositoryUtils, "AddOrUpdateEventPluginConfigSetting", write)
    return lambda: monkeypatch.setattr(
        deadline_standin._RepositoryUtils, "AddOrUpdateEventPluginConfigSetting", original
    )



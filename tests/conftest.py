"""Shared fixtures: moto's server over HTTP (one process for each pytest process, an empty account for each test), a
fault-injecting proxy in front of it, and an environment that can never reach a real AWS account or the developer's
AWS files. The helpers that test modules import are in tests/support/wire.py."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.hooks
import pytest

import DeadlineSpotIamSetup.gateway as gateway_module
from tests.support import moto_server
from tests.support.fault_proxy import FaultProxy, reset_endpoint
from tests.support.wire import DUMMY_KEY_ID, DUMMY_SECRET, close_gateways

moto_server.collect_garbage_less_often()  # every pytest process of the suites, as their servers (see there)


def _one_event_alias_cache() -> None:
    """Every botocore client of a test process shares one cache of event-name aliases.

    botocore renames each event it emits through its aliases (``botocore.hooks.EventAliaser``: a pure function of the
    name and of the alias table, kept in a cache), but each session starts with an empty cache and each client drops
    its session's (``EventAliaser.__copy__`` builds a new one), so that every client of the suites worked out the same
    names again: 7% of a wire test's CPU. Here the aliasers that use botocore's own table share one cache, as one long
    client would. The answers are the same; only botocore's DEBUG line about a renamed event comes once per process."""
    aliaser = botocore.hooks.EventAliaser
    shared: dict[str, str] = {}
    made = aliaser.__init__

    def __init__(self: botocore.hooks.EventAliaser, event_emitter: object, event_aliases: object = None) -> None:
        made(self, event_emitter, event_aliases)
        if self._event_aliases == botocore.hooks.EVENT_ALIASES:
            self._alias_name_cache = shared

    aliaser.__init__ = __init__  # type: ignore[method-assign]


_one_event_alias_cache()

# The event plugin's Deadline-side library (spot_iam_plugin) is importable in tests as it is inside Deadline.
_LIB = str(Path(__file__).resolve().parent.parent / "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked ``waits`` first, then the rest, the modules with the most tests first (pytest-xdist's own
    order, which tests/run_all.py turns off with ``--no-loadscope-reorder`` to keep this one).

    The suites are bound by CPU (docs/tests.md, "Where the time goes"), but a module marked ``waits`` spends most of
    its time waiting out timeouts and held replies: started last, it kept one worker busy alone at the end of the run
    with the cores idle; started first, its waits overlap the other tests' CPU."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    per_module = Counter(module(item) for item in items)
    items.sort(key=lambda item: (item.get_closest_marker("waits") is None, -per_module[module(item)]))


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials; the developer's AWS config and credentials files are never read."""
    home = tmp_path_factory.mktemp("aws-home")
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def gateways_closed() -> Iterator[None]:
    """Every gateway a test made with make_gateway is closed when it ends: no call of one test reaches the next."""
    yield
    close_gateways()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server over HTTP, in a process of its own that serves this pytest process alone
    (tests/support/moto_server.py): run by the interpreter DSIS_MOTO_PYTHON names (the Python 3.10 and 3.7
    environments have no moto), else by this one."""
    python = os.environ.get("DSIS_MOTO_PYTHON") or sys.executable
    with moto_server.started(python, tmp_path_factory.mktemp("moto") / "server.log") as url:
        yield url


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    """An empty account for each test: every account of this process's server emptied in one request (moto's reset
    API)."""
    reset_endpoint(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def proxy(endpoint: str) -> Iterator[FaultProxy]:
    """A proxy in front of the fresh account: counts every request by Action, injects faults on demand."""
    with FaultProxy(endpoint) as running:
        yield running


_IAM_CLIENTS: dict[str, Any] = {}


@pytest.fixture
def iam(endpoint: str):
    """A plain boto3 IAM client straight to moto, to arrange and inspect state behind the engine's back: one for the
    whole process, made by its first test (a client keeps no state of the account, which each test's reset empties;
    its credentials are the dummy ones every test has; no test changes it). Making one per test was 4% of a wire
    test's CPU."""
    client = _IAM_CLIENTS.get(endpoint)
    if client is None:
        client = _IAM_CLIENTS[endpoint] = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return client


@pytest.fixture
def gateway_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records any attempt to build the AWS gateway (and stops it there): input refused before any AWS call."""
    calls: list = []

    class NoAws:
        def __init__(self, *args, **kwargs):
            calls.append((args, kwargs))
            raise RuntimeError("no AWS in unit tests")

    monkeypatch.setattr(gateway_module, "IamGateway", NoAws)
    return calls


@pytest.fixture
def aws_publishes(iam):
    """AWS publishing a new default version of one of its managed policies, as it does when it updates one ("Versioning
    IAM policies", IAM User Guide: "when AWS makes changes to an AWS managed policy, the changed policy doesn't
    overwrite the existing policy. Instead, IAM creates a new version"; the earlier versions stay readable with
    GetPolicyVersion). IAM refuses CreatePolicyVersion on an AWS managed policy to anyone but AWS; moto lets the test
    play AWS's part; the next test's account is reset to the versions AWS publishes."""

    def publish(arn: str, document: dict) -> str:
        answer = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
        return answer["PolicyVersion"]["VersionId"]

    return publish

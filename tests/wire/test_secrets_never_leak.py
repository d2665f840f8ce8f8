"""No secret, the bootstrap credential's or a created key's, ever reaches stdout, stderr, --json, botocore's DEBUG
log or an exception's text: every command through success and each failure path, table-driven."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DUMMY_SECRET, make_gateway
from odd_servers import LostReplyProxy

import DeadlineSpotIamSetup.gateway as gateway_module
from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes

DESIRED = desired_state(Settings())


@pytest.fixture
def created(monkeypatch) -> list[str]:
    """The secret of every key created in the test, whatever becomes of it."""
    secrets: list[str] = []
    original = gateway_module.IamGateway.create_access_key

    def recording(self, user_name):
        key = original(self, user_name)
        secrets.append(key.secret_access_key)
        return key

    monkeypatch.setattr(gateway_module.IamGateway, "create_access_key", recording)
    return secrets


@pytest.fixture
def debug_log(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")  # botocore logs request and response bodies at DEBUG
    return caplog


def cli(*argv: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    main(list(argv), out=out, err=err)
    return [out.getvalue(), err.getvalue()]


def engine(endpoint: str, sink: Callable = lambda key: None) -> list[str]:
    try:
        apply_changes(make_gateway(endpoint), DESIRED, key_sink=sink)
    except Exception as error:  # the exception's text and its repr are what a front end could show
        return [str(error), repr(error)]
    return []


def failing_sink(key) -> None:
    raise RuntimeError(f"could not store {key.access_key_id}:{key.secret_access_key} {key!r}")


SCENARIOS: dict[str, Callable] = {
    "check": lambda proxy, tmp: cli("check", "--endpoint-url", proxy.endpoint_url),
    "plan-json": lambda proxy, tmp: cli("plan", "--json", "--endpoint-url", proxy.endpoint_url),
    "apply": lambda proxy, tmp: cli("apply", "--secret-out", str(tmp / "k.json"), "--endpoint-url", proxy.endpoint_url),
    "apply-json": lambda proxy, tmp: cli(
        "apply", "--json", "--secret-out", str(tmp / "k.json"), "--endpoint-url", proxy.endpoint_url
    ),
    "bootstrap-policy": lambda proxy, tmp: cli("bootstrap-policy"),
    "access-denied": lambda proxy, tmp: (
        proxy.inject(403, "AccessDenied", "not authorized", action="CreateAccessKey", times=None),
        cli("apply", "--secret-out", str(tmp / "k.json"), "--endpoint-url", proxy.endpoint_url),
    )[1],
    "throttled": lambda proxy, tmp: (
        proxy.inject(400, "Throttling", action="AttachUserPolicy", times=None),
        engine(proxy.endpoint_url),
    )[1],
    "timeout": lambda proxy, tmp: (proxy.hang(times=1, action="CreateAccessKey"), engine(proxy.endpoint_url))[1],
    "failed-hand-off": lambda proxy, tmp: engine(proxy.endpoint_url, failing_sink),
    "unwritable-secret-out": lambda proxy, tmp: (
        (tmp / "gone").mkdir(),
        cli("apply", "--secret-out", str(tmp / "gone" / "k.json"), "--endpoint-url", proxy.endpoint_url)
        if (tmp / "gone").rmdir() is None
        else [],
    )[1],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_reaches_any_output(scenario, proxy, tmp_path: Path, created, debug_log) -> None:
    texts = SCENARIOS[scenario](proxy, tmp_path)
    if (tmp_path / "k.json").exists():
        created.append(json.loads((tmp_path / "k.json").read_text())["SecretAccessKey"])
    secrets = {DUMMY_SECRET, *created}
    for text in [*texts, debug_log.text]:
        for secret in secrets:
            assert secret not in text, f"a secret reached the output in {scenario}"
    if scenario in ("apply", "apply-json", "failed-hand-off", "timeout"):
        assert created, "the scenario was meant to create a key"


def test_no_secret_reaches_any_output_when_a_key_reply_is_lost(endpoint, created, debug_log) -> None:
    with LostReplyProxy(endpoint, "CreateAccessKey", hold=3.5) as lossy:
        texts = engine(lossy.endpoint_url)
    assert created  # the second, answered create
    for text in [*texts, debug_log.text]:
        for secret in {DUMMY_SECRET, *created}:
            assert secret not in text

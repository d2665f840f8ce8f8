"""What the suites share to talk to the AWS stand-in: the dummy credentials every test runs with, short timeouts and a
gateway on them, and a converged account saved and put back by the test server (not part of the product).

tests/conftest.py's fixtures use it; test modules import it as ``tests.support.wire`` (never ``from conftest``: the
plugin's folder has a conftest.py of its own, and two modules named ``conftest`` cannot both be imported by name).
Python 3.7 and later: the plugin's suite runs under Python 3.7 too.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

import boto3

from DeadlineSpotIamSetup.desired import DesiredState
from DeadlineSpotIamSetup.gateway import AwsAccess, IamGateway, connect
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import Timeouts

DUMMY_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYBOOTSTRAP"

# Short, yet with room for a worker's moto server (one request at a time) queueing a round of 19 parallel reads on 2
# cores busy with the other suites: tests that need a call to time out use their own, shorter bounds.
FAST = Timeouts(connect=2.0, read=4.0, call_budget=8.0, call_deadline=12.0, max_attempts=6)


_OPENED: list[IamGateway] = []


def make_gateway(endpoint_url: str, timeouts: Timeouts = FAST, **access: object) -> IamGateway:
    """A gateway on the test's endpoint, closed when the test ends (:func:`close_gateways`) if the test does not."""
    gateway = connect(AwsAccess(endpoint_url=endpoint_url, timeouts=timeouts, **access))  # type: ignore[arg-type]
    _OPENED.append(gateway)
    return gateway


def close_gateways() -> None:
    """Close every gateway made by :func:`make_gateway` (IamGateway.close: the reads it started ahead are answered),
    so that none of a test's calls reaches the next test's account or proxy."""
    while _OPENED:
        _OPENED.pop().close()


#: What each converged state handed over (the keys apply made), by server and name of the state: the snapshot on the
#: server holds the same keys.
_CONVERGED: dict[tuple[str, str], tuple[NewAccessKey, ...]] = {}


def converged(endpoint_url: str, desired: DesiredState) -> list[NewAccessKey]:
    """The test's fresh account (no change since its reset) brought to ``desired``, and the new access keys apply
    handed over: by a real apply (``apply_changes``, asserted ok) the first time this test process asks for ``desired``,
    kept by the test server (tests/support/moto_server.py ``Snapshots``) and put back in one request after that. For a
    test whose starting point is a converged account, not one about the apply itself: the calls of that apply reach the
    server the first time only, and never the test's proxy. Raises AssertionError when a change (a request that is
    not a read) reached the account first."""
    from DeadlineSpotIamSetup.engine import apply_changes

    name = hashlib.sha256(repr(desired).encode()).hexdigest()[:32]
    status = snapshot(endpoint_url, "restore", name)
    assert status != 409, "converged() needs the test's fresh account: a change reached it since its reset"
    if status == 200:
        return list(_CONVERGED[endpoint_url, name])
    assert status == 404, f"the test server answered {status} to restoring snapshot {name} (its log says why)"
    keys: list[NewAccessKey] = []
    with connect(AwsAccess(endpoint_url=endpoint_url, timeouts=FAST)) as gateway:  # closed: every call answered
        outcome = apply_changes(gateway, desired, key_sink=keys.append)
    assert outcome.ok, outcome.after.findings
    _CONVERGED[endpoint_url, name] = tuple(keys)
    saved = snapshot(endpoint_url, "save", name)
    assert saved == 200, f"the test server answered {saved} to saving snapshot {name} (its log says why)"
    return keys


def snapshot(endpoint_url: str, action: str, name: str) -> int:
    """The test server's answer (its HTTP status) to ``action`` ("save" or "restore") of the snapshot ``name``
    (tests/support/moto_server.py ``Snapshots``)."""
    url = f"{endpoint_url.rstrip('/')}/test-server/snapshot/{action}/{name}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def caller_arn(endpoint_url: str, key_id: str, secret: str) -> str:
    """Who STS says signs with the key ``key_id`` and its ``secret`` at ``endpoint_url`` (GetCallerIdentity): the ARN of
    the key's user, or an error when STS refuses the pair."""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    return str(sts.get_caller_identity()["Arn"])


def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]

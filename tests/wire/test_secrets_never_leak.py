"""No secret, the bootstrap credential's or a created key's, ever reaches stdout, stderr, --json, the DEBUG log or an
exception's text: every command through success and each failure path, table-driven.

Which secrets: the bootstrap credential's (the environment's ``AWS_SECRET_ACCESS_KEY``) and every
``SecretAccessKey`` in any reply of the stand-in, read off the wire by a tap between the fault layer and moto, so that
a key whose reply the client never saw, or that was deleted again, counts too. The one place a created secret may be
is the --secret-out file (or the key sink), and only the key that stayed. Where: stdout, stderr, every log record at
DEBUG (botocore's request and response logging, urllib3's) and, where the engine raises, the exception as a
traceback prints it. The failures come before any key exists and, where a secret is in the run's hands, right after
CreateAccessKey has answered. The event plugin's log is covered by the plugin's own tests.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import shutil
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from odd_servers import LostReplyProxy

from DeadlineSpotIamSetup import cli
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.errors import KeyDeliveryFailed
from DeadlineSpotIamSetup.findings import DONE
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import Timeouts
from tests.support.fault_proxy import FaultProxy
from tests.support.http_relay import QuietHandler, Running, forward, relay
from tests.support.wire import DUMMY_SECRET, make_gateway

pytestmark = pytest.mark.waits  # default timeouts and held replies: run first (tests/conftest.py)

# Short bounds, so that the throttling and timeout paths end in about four seconds (they change no secret handling),
# and still long enough for a reply on a busy machine: the suites run side by side and this test logs every request
# at DEBUG.
SHORT = Timeouts(connect=1.0, read=4.0, call_budget=4.0, call_deadline=6.0, max_attempts=2)
_SECRET_ELEMENT = re.compile(r"<SecretAccessKey>([^<]+)</SecretAccessKey>")


class SecretTap(Running):
    """Forwards every request to ``upstream`` and keeps every ``SecretAccessKey`` found in a reply; ``on_secret`` is
    called when a reply holds one, before that reply goes back (to arm the next fault)."""

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.secrets: set[str] = set()
        self.on_secret: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        owner, host, port = self, parts.hostname, parts.port

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reply_headers, payload = forward(host, port, self, body)
                found = _SECRET_ELEMENT.findall(payload.decode("utf-8", "replace"))
                if found:
                    with owner._lock:
                        owner.secrets.update(found)
                    owner.on_secret()
                relay(self, status, reply_headers, payload)

        super().__init__(Handler)


@dataclasses.dataclass
class Run:
    """One case as it runs: the fault proxy in front of the tap, and the folder --secret-out writes into."""

    proxy: FaultProxy
    tap: SecretTap
    folder: Path

    def after_key(self, fault: Callable[[Run], None]) -> None:
        """Arm ``fault`` the moment AWS has answered the first CreateAccessKey: a secret exists and must stay hidden."""
        armed = threading.Event()

        def arm() -> None:
            if not armed.is_set():
                armed.set()
                fault(self)

        self.tap.on_secret = arm


Fault = Callable[[Run], None]


def deny(action: str) -> Fault:
    return lambda run: run.proxy.inject(403, "AccessDenied", f"not authorized to perform iam:{action}", action, None)


def throttle(action: str) -> Fault:
    return lambda run: run.proxy.inject(400, "Throttling", "Rate exceeded", action, None)


def hang(action: str, times: int | None = None) -> Fault:
    return lambda run: run.proxy.hang(times=times, action=action)


def folder_gone(run: Run) -> None:
    """The --secret-out folder is gone: before the run (refused at once), or after the key was made (hand-off)."""
    shutil.rmtree(run.folder)


def both(*faults: Fault) -> Fault:
    def arm(run: Run) -> None:
        for fault in faults:
            fault(run)

    return arm


@dataclasses.dataclass(frozen=True)
class Failure:
    before: Fault | None = None  # armed before the run
    after_key: Fault | None = None  # armed when CreateAccessKey has answered
    exit_codes: frozenset[int] = frozenset({1})
    creates_key: bool = False
    calls_aws: bool = True


FAILURES = {
    "success": Failure(exit_codes=frozenset({0, 2})),  # 2: check and plan of an empty account, apply without a key
    "access-denied": Failure(deny("GetRole")),
    "throttled": Failure(throttle("GetRole")),
    "timeout": Failure(hang("GetRole")),
    "create-denied": Failure(deny("CreateAccessKey")),
    "create-unanswered-once": Failure(hang("CreateAccessKey", times=1), exit_codes=frozenset({0}), creates_key=True),
    "secret-out-folder-missing": Failure(folder_gone, calls_aws=False),  # refused before any AWS call
    # A secret is in the run's hands while its next calls fail.
    "access-denied-after-key": Failure(after_key=deny("ListAccessKeys"), creates_key=True),
    "throttled-after-key": Failure(after_key=throttle("ListAccessKeys"), creates_key=True),
    "timeout-after-key": Failure(after_key=hang("ListAccessKeys"), creates_key=True),
    "verification-denied": Failure(after_key=deny("GetCallerIdentity"), exit_codes=frozenset({0}), creates_key=True),
    "hand-off-fails": Failure(after_key=folder_gone, creates_key=True),
    "hand-off-fails-and-delete-denied": Failure(
        after_key=both(folder_gone, deny("DeleteAccessKey")), creates_key=True
    ),
    # IAM created the key but its reply was lost (LostReplyProxy instead of the fault proxy).
    "lost-create-reply": Failure(exit_codes=frozenset({0}), creates_key=True),
}
READS = ["success", "access-denied", "throttled", "timeout"]
KEYS = [name for name in FAILURES if name not in READS]

# With --json, the paths that end in a report: an error prints its one line on stderr, and nothing on stdout,
# whether --json was given or not. (A lost or unanswered create ends in the same report as a success, after
# seconds of waiting: those two run without --json only.)
REPORTED = [
    name
    for name, failure in FAILURES.items()
    if failure.exit_codes - {1} and name not in ("lost-create-reply", "create-unanswered-once")
]
SECRET_OUT = "<secret-out>"
COMMANDS = {
    "check": (["check"], READS),
    "check --json": (["check", "--json"], [name for name in READS if name in REPORTED]),
    "plan": (["plan"], READS),
    "plan --json": (["plan", "--json"], [name for name in READS if name in REPORTED]),
    # Without --secret-out no key is created; its failures before a key are those of apply --secret-out.
    "apply": (["apply"], ["success"]),
    "apply --secret-out": (["apply", "--secret-out", SECRET_OUT], READS + KEYS),
    "apply --json --secret-out": (["apply", "--json", "--secret-out", SECRET_OUT], REPORTED),
}
CASES = [(command, failure) for command, (_, failures) in COMMANDS.items() for failure in failures]


def where_leaked(secrets: set[str], places: dict[str, str]) -> dict[str, list[str]]:
    """For each place, the secrets (shortened) found in it."""
    return {
        place: [secret[:6] + "..." for secret in sorted(secrets) if secret in text]
        for place, text in places.items()
        if any(secret in text for secret in secrets)
    }


class Records(logging.Handler):
    """Every record that reaches it, kept as it came (formatted only when read: :func:`logged`)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def debug_log() -> Iterator[Records]:
    """Every logger at DEBUG (botocore logs request and response bodies there), each record kept by the test's own
    handler. The handlers already on the root logger (pytest's capture for its report) keep seeing WARNING and above
    only, as before the levels were lowered: formatting the thousands of DEBUG records of a run once more for a
    report section nobody reads was a fifth of these tests' CPU."""
    root, botocore = logging.getLogger(), logging.getLogger("botocore")
    others = [(handler, handler.level) for handler in root.handlers]
    levels = (root.level, botocore.level)
    records = Records()
    for handler, _ in others:
        handler.setLevel(max(handler.level, logging.WARNING))
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    botocore.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(records)
        root.setLevel(levels[0])
        botocore.setLevel(levels[1])
        for handler, level in others:
            handler.setLevel(level)


def logged(log: Records) -> str:
    lines = []
    for record in log.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(lines)


@pytest.fixture
def short_command_line_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    original = cli.access_from
    monkeypatch.setattr(cli, "access_from", lambda args: dataclasses.replace(original(args), timeouts=SHORT))


@pytest.mark.parametrize(("command", "failure"), CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_no_command_shows_a_secret(command, failure, endpoint, iam, tmp_path, debug_log, short_command_line_timeouts):
    case = FAILURES[failure]
    folder = tmp_path / "out"
    folder.mkdir()
    argv = [str(folder / "key.json") if arg == SECRET_OUT else arg for arg in COMMANDS[command][0]]
    out, err = io.StringIO(), io.StringIO()
    with SecretTap(endpoint) as tap:
        if failure == "lost-create-reply":
            with LostReplyProxy(tap.endpoint_url, "CreateAccessKey", hold=SHORT.read + 1.0) as lossy:
                code = cli.main([*argv, "--endpoint-url", lossy.endpoint_url], out=out, err=err)
            assert lossy.count("CreateAccessKey") == 2  # the first reply was lost, the second came
        else:
            with FaultProxy(tap.endpoint_url) as proxy:
                run = Run(proxy, tap, folder)
                if case.before:
                    case.before(run)
                if case.after_key:
                    run.after_key(case.after_key)
                code = cli.main([*argv, "--endpoint-url", proxy.endpoint_url], out=out, err=err)
    assert code in case.exit_codes, err.getvalue()
    if code == 1:
        assert err.getvalue().startswith("error: ") and err.getvalue().count("\n") == 1, err.getvalue()
    elif "--json" in argv:
        json.loads(out.getvalue())
    created = set(tap.secrets)
    if case.creates_key or (failure == "success" and SECRET_OUT in COMMANDS[command][0]):
        assert created, "the case was to create a key: without one it proves nothing"
    delivered = [json.loads(path.read_text()) for path in folder.glob("*.json")] if folder.is_dir() else []
    assert {key["SecretAccessKey"] for key in delivered} <= created and len(delivered) <= 1
    if code == 0 and created:
        kept = iam.list_access_keys(UserName="DeadlineSpotEventPluginAdmin")["AccessKeyMetadata"]
        assert [key["AccessKeyId"] for key in delivered] == [key["AccessKeyId"] for key in kept]
    log = logged(debug_log)
    assert ("Response body" in log) == case.calls_aws  # botocore's DEBUG logging of the replies was captured
    places = {"stdout": out.getvalue(), "stderr": err.getvalue(), "DEBUG log": log}
    assert where_leaked(created | {DUMMY_SECRET}, places) == {}


def test_bootstrap_policy_and_its_refused_input_show_no_secret(debug_log):
    for argv, expected in ((["bootstrap-policy"], 0), (["bootstrap-policy", "--account", "12345"], 1)):
        out, err = io.StringIO(), io.StringIO()
        assert cli.main(argv, out=out, err=err) == expected
        places = {"stdout": out.getvalue(), "stderr": err.getvalue(), "DEBUG log": logged(debug_log)}
        assert where_leaked({DUMMY_SECRET}, places) == {}


class SinkFailure(Exception):
    pass


def careless_sink(key: NewAccessKey) -> None:
    """A key sink whose error quotes the secret (and the key's repr): the engine must not pass it on."""
    raise SinkFailure(f"could not store {key.access_key_id}:{key.secret_access_key} {key!r} (disk full)")


@pytest.mark.parametrize("delete_denied", [False, True], ids=["key-deleted-again", "delete-denied-too"])
def test_a_key_sink_that_fails_quoting_the_secret_does_not_leak_it(endpoint, debug_log, delete_denied):
    with SecretTap(endpoint) as tap, FaultProxy(tap.endpoint_url) as proxy:
        if delete_denied:
            proxy.inject(403, "AccessDenied", "not authorized", "DeleteAccessKey", None)
        outcome = apply_changes(
            make_gateway(proxy.endpoint_url, SHORT), desired_state(Settings()), key_sink=careless_sink
        )
    assert tap.secrets
    [unmade] = [step for step in outcome.result.outcomes if step.state != DONE]  # the key's: the rest was made
    assert unmade.action.operation == "CreateAccessKey" and outcome.result.key is None
    error = unmade.error
    if not delete_denied:
        assert isinstance(error, KeyDeliveryFailed) and "****" in str(error)
    shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    places = {"exception": f"{error}\n{error!r}\n{shown}", "DEBUG log": logged(debug_log)}
    assert where_leaked(tap.secrets | {DUMMY_SECRET}, places) == {}

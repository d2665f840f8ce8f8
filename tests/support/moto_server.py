"""moto's server in a process of its own: one for each pytest process of the suites, so that no two test processes
ever share an account (tests/conftest.py starts it; not part of the product).

Run as ``python -m tests.support.moto_server`` with an interpreter that has moto (the main virtualenv: the Python
3.10 and 3.7 environments stand for Deadline's and have boto3 and pytest only). It prints the server's URL on one
line, the port being the one the operating system gave (never a guessed one), then serves until its standard input
closes: when the pytest process that started it ends, or dies, the server goes with it.

It is :class:`DeadlineSpotIamSetup.standin.MotoStandIn` (AWS managed policies loaded, the Spot service-linked role
names as AWS spells them) with six changes to how moto runs, none to what it answers, and one request of its own:

* requests are served one at a time. moto's backends are plain dictionaries that its request threads read and change
  without a lock: a role created while another request lists the roles has failed a request with "dictionary changed
  size during iteration". Each IAM call is atomic in AWS; here each request is.
* ``POST /moto-api/reset`` (moto's reset API: every account emptied in one request, which each test does first) drops
  the backends without building them once more only to throw them away, as moto's reset does; the next request
  builds the ones it needs.
* The AWS managed policies (about 1,600) are parsed from moto's data once per process, not at every reset (their
  documents as JSON text and their dates too: what moto's ``AWSManagedPolicy.from_data`` does, for each policy), and
  given to the ``aws`` partition only: moto builds the IAM backend of every partition at each request to find the
  caller's account, and the suites call the ``aws`` partition alone.
* moto lists its own package folder at every request to find the service asked for, and the methods of the
  service's response class: each list is made once.
* Python's cycle collector runs less often (:func:`collect_garbage_less_often`, which the pytest processes use too).
* connections are kept open between requests (HTTP/1.1 keep-alive, as AWS's endpoints keep them): werkzeug's
  development server, which moto's runs on, closes each connection after one answer ("Connection: close"), so that
  every call of the suites paid for a new connection and a new server thread. The request's body is read whole before
  moto sees it and the answer is sent with its length, so that the next request on the connection starts where it
  should; a request with a body of unknown length (chunked, or expecting "100 Continue"), or a HEAD request, is served
  by werkzeug as before, its connection closed after it.

Its own request (:class:`Snapshots`): IAM as a real apply left it, saved under a name and put back in one request on
a freshly reset account (no request but reads since the reset), for the many tests that start from a converged
account (tests/support/wire.py ``converged``; tests/wire/test_converged_snapshots.py shows the account put back is
the one the apply made).

:func:`started` is the other end, in the pytest process: it starts the server and stops it. That side runs under
every interpreter of the suites, Python 3.7 included; the server side imports moto only when it runs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import os
import subprocess
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: How long the server may take to start: importing moto takes 1-2 s on an idle machine; a loaded one is slower.
START_TIMEOUT = 120.0

#: The partition whose IAM backend carries the AWS managed policies (the suites call no other).
SUITES_PARTITION = "aws"


def collect_garbage_less_often() -> None:
    """What the suites' processes do, the servers and the pytest processes (tests/conftest.py): collect the garbage
    there is so far, keep what is left out of every later collection (``gc.freeze``: imported modules, moto's
    prepared managed policies), and collect less often, as the command line's process does (its
    ``GARBAGE_THRESHOLDS``: gen 0 every 50,000 allocations instead of 700; Python's defaults made the collector 9% of
    the CPU of a test process and of a server, mostly full collections over their large heaps)."""
    from DeadlineSpotIamSetup.__main__ import GARBAGE_THRESHOLDS

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GARBAGE_THRESHOLDS)


def speed_up_moto() -> None:
    """Patch moto in this process as the module's docstring says: once the server is started (moto is imported by
    then, with the AWS managed policies on), before its URL is given out."""
    import moto.backends as backends
    import moto.core.responses as responses
    import moto.iam.models as iam_models
    from moto.core.base_backend import AccountSpecificBackend
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler
    from moto.settings import load_iam_aws_managed_policies

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)

    @functools.lru_cache(maxsize=1)
    def managed_policies() -> list[dict[str, Any]]:
        """What AWSManagedPolicy.from_data makes of each policy's data, worked out once: its document as JSON text and
        its dates parsed (three quarters of the time the backend takes to build)."""
        return [
            {
                "name": name,
                "default_version_id": data.get("DefaultVersionId"),
                "path": data.get("Path"),
                "document": json.dumps(data.get("Document")),
                "create_date": datetime.fromisoformat(data["CreateDate"]),
                "update_date": datetime.fromisoformat(data["UpdateDate"]),
            }
            for name, data in json.loads(aws_managed_policies_data).items()
        ]

    def init_aws_policies(backend: Any) -> list[Any]:
        if not load_iam_aws_managed_policies() or backend.region_name != SUITES_PARTITION:
            return []
        account, region = backend.account_id, backend.region_name
        made = iam_models.random_policy_id
        ids = iter(policy_ids())
        iam_models.random_policy_id = lambda: next(ids)  # one request at a time (below): no other thread makes one
        try:
            return [
                iam_models.AWSManagedPolicy(account_id=account, region=region, **policy)
                for policy in managed_policies()
            ]
        finally:
            iam_models.random_policy_id = made

    @functools.lru_cache(maxsize=1)
    def policy_ids() -> list[str]:
        """An ID for each AWS managed policy, made once (as moto makes one): the same policy keeps its ID from one
        reset to the next, as an AWS managed policy has the same ID in every account, and the 1,600 random IDs that
        took half the time a reset takes are not drawn again."""
        return [iam_models.random_policy_id() for _ in managed_policies()]

    iam_models.IAMBackend._init_aws_policies = init_aws_policies

    # The method names of a response class are the same at every request (moto lists them with inspect at each one).
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)

    # BackendDict.reset() resets every account's backends (each one built anew) and then drops them all.
    AccountSpecificBackend.reset = lambda self: None

    one_at_a_time = threading.Lock()
    dispatch: Callable[..., Any] = DomainDispatcherApplication.__call__
    snapshots = Snapshots()

    def serve_one(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with one_at_a_time:
            path = environ.get("PATH_INFO") or ""
            if path.startswith(SNAPSHOT_PATH):
                return snapshots.serve(path[len(SNAPSHOT_PATH) :], start_response)
            if path == RESET_PATH:
                snapshots.fresh = True
            elif snapshots.fresh and not _only_reads(environ):  # its body parsed only until the first change
                snapshots.fresh = False
            return list(dispatch(self, environ, start_response))

    DomainDispatcherApplication.__call__ = serve_one
    MotoRequestHandler.run_wsgi = _keep_alive(MotoRequestHandler.run_wsgi)
    # An answer is written in two sends (its headers, then its body): on a connection kept open, Nagle's algorithm
    # would hold the body until the client acknowledges the headers, which it delays (40 ms on Linux). socketserver's
    # own switch sets TCP_NODELAY on each connection.
    MotoRequestHandler.disable_nagle_algorithm = True


RESET_PATH = "/moto-api/reset"
#: The test server's own requests (not moto's, not AWS's): ``POST /test-server/snapshot/save/NAME`` and
#: ``POST /test-server/snapshot/restore/NAME`` (:class:`Snapshots`).
SNAPSHOT_PATH = "/test-server/snapshot/"


class Snapshots:
    """IAM as it stands, kept under a name and put back in one request: the state a real apply made on a fresh
    account, for the tests whose starting point it is (tests/support/wire.py ``converged``).

    ``save/NAME`` keeps every account's IAM backends as they are (pickled: moto's own objects, the access keys and their
    secrets included); ``restore/NAME`` empties every account as moto's reset does and puts the saved IAM backends
    back, only on an account no request that changes it has reached since its reset (409 otherwise: a restore never
    replaces what a test arranged; a late read of a run that did not wait for it changes nothing), 404 when nothing was
    saved under that name. Nothing else about the server changes: moto answers every later request from its own
    objects, as it would have after the apply itself."""

    def __init__(self) -> None:
        self.saved: dict[str, bytes] = {}
        self.fresh = False  # no request that may change the account since the last reset

    def serve(self, command: str, start_response: Callable[..., Any]) -> list[bytes]:
        action, _, name = command.partition("/")
        if action == "save" and name:
            self.saved[name] = self._save()
            return _answer(start_response, "200 OK", "saved")
        if action == "restore" and name:
            if not self.fresh:
                return _answer(start_response, "409 Conflict", "a change reached this account since its reset")
            if name not in self.saved:
                return _answer(start_response, "404 Not Found", f"no snapshot {name}")
            self._restore(self.saved[name])
            self.fresh = False
            return _answer(start_response, "200 OK", "restored")
        return _answer(start_response, "400 Bad Request", f"unknown request {command!r}")

    @staticmethod
    def _save() -> bytes:
        import pickle

        from moto.iam.models import iam_backends

        accounts = {account: dict(backends.items()) for account, backends in iam_backends.items()}
        return pickle.dumps(accounts, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def _restore(saved: bytes) -> None:
        import pickle

        from moto.iam.models import iam_backends
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        for account, backends in pickle.loads(saved).items():
            held = iam_backends[account]  # moto makes the account's (empty) holder, as at any request
            for partition, backend in backends.items():
                held[partition] = backend


#: The actions that only read (IAM's and EC2's Get, List and Describe calls, STS's GetCallerIdentity): a call that
#: arrives late, from a run whose caller did not wait for every read it started, changes nothing a restore replaces.
_READS = ("Get", "List", "Describe")


def _only_reads(environ: dict[str, Any]) -> bool:
    """Whether the request is a query-protocol call (``Action=...`` in its form body, as botocore sends IAM's, STS's
    and EC2's) of an action that only reads. Any other request (a body not read whole yet, no action) may change
    something."""
    body = environ.get("wsgi.input")
    if not isinstance(body, io.BytesIO):
        return False
    action = urllib.parse.parse_qs(body.getvalue().decode("utf-8", "replace")).get("Action", [""])[0]
    return action.startswith(_READS)


def _answer(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


#: Headers of an answer that describe its connection or its framing: the server sets its own.
_FRAMING = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


def _keep_alive(werkzeug_run_wsgi: Callable[[Any], None]) -> Callable[[Any], None]:
    """werkzeug's ``WSGIRequestHandler.run_wsgi`` serving a request and keeping its connection open (see the module's
    documentation). The handler's protocol is HTTP/1.1 (werkzeug sets it for a threaded server, as moto's is)."""
    from werkzeug.exceptions import InternalServerError

    def run_wsgi(handler: Any) -> None:
        length = handler.headers.get("Content-Length")
        unusual = handler.headers.get("Transfer-Encoding") or handler.headers.get("Expect") or handler.command == "HEAD"
        if unusual or not (length or "0").isdigit():
            werkzeug_run_wsgi(handler)  # closes the connection after the answer
            return
        body = handler.rfile.read(int(length or 0))
        environ = handler.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            status, headers, payload = _serve(handler.server.app, environ)
        except Exception:  # as werkzeug does: the error logged, a 500 answered, the connection closed
            handler.log_error("Error on request:\n%s", traceback.format_exc())
            status, headers, payload = _serve(InternalServerError(), environ)
            handler.close_connection = True
        number, _, reason = status.partition(" ")
        code = int(number)
        handler.send_response(code, reason)
        for name, value in headers:
            if name.lower() not in _FRAMING:
                handler.send_header(name, value)
        bodiless = code < 200 or code in (204, 304)  # an answer that has no body, nor its length
        if not bodiless:
            handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if not bodiless:
            handler.wfile.write(payload)

    return run_wsgi


def _serve(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The status, headers and body a WSGI application answers to ``environ``."""
    answer: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        answer[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer[0], answer[1], b"".join(chunks)


@contextlib.contextmanager
def started(python: str, log: Path) -> Iterator[str]:
    """Start the server with the interpreter ``python`` (which has moto), its errors going to the file ``log``; give
    its URL, and stop it on leaving. Raises RuntimeError, with what the log holds, when it does not start in time."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["PYTHONPATH"] = str(ROOT)
    with open(log, "wb") as errors:
        process = subprocess.Popen(
            [python, "-m", "tests.support.moto_server"],
            cwd=str(ROOT),
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    try:
        url = _first_line(process, START_TIMEOUT)
        if not url.startswith("http://"):
            raise RuntimeError(
                f"moto's server ({python} -m tests.support.moto_server) did not start within {START_TIMEOUT:.0f} s: "
                f"{log.read_text(errors='replace').strip()[-2000:] or 'it wrote nothing'}"
            )
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the server's signal to stop
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """The first line ``process`` writes to its standard output, or "" when it writes none within ``timeout``."""
    lines: list[bytes] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0].decode(errors="replace").strip() if lines else ""


def main() -> int:
    from DeadlineSpotIamSetup.standin import MotoStandIn

    with MotoStandIn() as aws:
        speed_up_moto()
        collect_garbage_less_often()
        print(aws.endpoint_url, flush=True)
        sys.stdin.read()  # until the process that started this one closes the pipe, or dies
    return 0


if __name__ == "__main__":
    sys.exit(main())

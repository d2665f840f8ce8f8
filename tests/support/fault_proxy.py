"""A fault-injecting HTTP proxy and helpers for the tests and the benchmarks (not part of the product).

* :class:`FaultProxy` -- a small forwarding HTTP proxy placed in front of an endpoint (moto's server). It
  records which AWS Query actions were called, can add per-request latency (to mimic a distant endpoint),
  answer requests with injected AWS errors (for example ``Throttling``), hold requests without ever answering
  them (an unresponsive endpoint) or line racing requests up (:meth:`FaultProxy.gather`). It keeps its
  connections to the endpoint open from one request to the next where the endpoint does (the suites' moto server).
* :func:`reset_endpoint` resets a moto server, in this process or another one; :func:`refused_endpoint`
  gives a URL on which nothing listens.

Standard library only, Python 3.10 and later: the Python 3.10 suites (boto3 and pytest only) import it.
"""

from __future__ import annotations

import collections
import http.client
import logging
import socket
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from xml.sax.saxutils import escape

__all__ = [
    "FaultProxy",
    "ProxyRequest",
    "refused_endpoint",
    "reset_endpoint",
]

_LOOPBACK = "127.0.0.1"


def reset_endpoint(endpoint_url: str, timeout: float = 30.0) -> None:
    """Reset all state of the moto server at ``endpoint_url``.

    Works for a server running in this process or in another one.
    """
    url = endpoint_url.rstrip("/") + "/moto-api/reset"
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def refused_endpoint() -> str:
    """Return an ``http://127.0.0.1:PORT`` URL on which nothing listens.

    The port is taken from the operating system and released immediately, so a
    connection attempt is refused (unless another program grabs the port meanwhile).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        port = sock.getsockname()[1]
    return f"http://{_LOOPBACK}:{port}"


# --------------------------------------------------------------------------- proxy

# Headers that describe one connection and must not be relayed as they are.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)

_FORWARDED = "forwarded"
_INJECTED = "injected"
_HUNG = "hung"


class ProxyRequest(NamedTuple):
    """One request seen by a :class:`FaultProxy`.

    ``outcome`` is ``"forwarded"``, ``"injected"`` (answered with an injected error)
    or ``"hung"`` (never answered).
    """

    action: str | None
    method: str
    path: str
    outcome: str


class _Rule:
    """An armed fault: ``kind`` is _INJECTED or _HUNG; ``remaining`` None means unlimited."""

    __slots__ = ("kind", "action", "remaining", "status", "code", "message")

    def __init__(
        self,
        kind: str,
        action: str | None,
        remaining: int | None,
        status: int = 0,
        code: str = "",
        message: str = "",
    ) -> None:
        self.kind = kind
        self.action = action
        self.remaining = remaining
        self.status = status
        self.code = code
        self.message = message

    def matches(self, action: str | None) -> bool:
        return self.action is None or self.action == action


def _extract_action(path: str, headers, body: bytes) -> str | None:
    """The AWS API action of a request, or None.

    AWS Query requests carry ``Action=...`` in a form-encoded body (POST) or in the
    query string (GET); JSON-protocol requests name it in ``X-Amz-Target``.
    """
    content_type = (headers.get("Content-Type") or "").lower()
    if body and ("x-www-form-urlencoded" in content_type or not content_type):
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            form = {}
        if form.get("Action"):
            return form["Action"][0]
    query = urllib.parse.urlsplit(path).query
    if query:
        values = urllib.parse.parse_qs(query).get("Action")
        if values:
            return values[0]
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    return None


def _error_body(status: int, code: str, message: str, request_id: str) -> bytes:
    error_type = "Receiver" if status >= 500 else "Sender"
    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>{error_type}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    ).encode()


class _ProxyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__((_LOOPBACK, 0), _ProxyHandler)

    def handle_error(self, request, client_address) -> None:
        # Connections dropped by clients (timeouts) or by stop() are expected.
        if not self.proxy._stopping.is_set():
            logging.getLogger(__name__).debug("fault proxy: error on %s", client_address, exc_info=True)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FaultProxy"
    # Replies go out as two writes (headers, body); with Nagle's algorithm the body would wait for the
    # client's delayed ACK (~40 ms) on every request after the first of a kept-alive connection.
    disable_nagle_algorithm = True
    server: _ProxyHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the terminating empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        action = _extract_action(self.path, self.headers, body)
        rule, times = proxy._admit(action, self.command, self.path)
        self._times = times
        try:
            self._answer(proxy, rule, action, body)
        finally:
            proxy._answered(times)  # a request never answered: its connection lost or dropped

    def _answer(self, proxy: FaultProxy, rule: _Rule | None, action: str | None, body: bytes) -> None:
        if rule is not None and rule.kind == _HUNG:
            # Never answer; the connection is dropped when the proxy stops.
            proxy._stopping.wait()
            self.close_connection = True
            return

        barrier = proxy._barrier_for(action)
        if barrier is not None:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # timed out or released by stop(): carry on

        latency = proxy.latency
        if latency > 0 and proxy._stopping.wait(latency):
            self.close_connection = True
            return

        if rule is not None:
            request_id = str(uuid.uuid4())
            payload = _error_body(rule.status, rule.code, rule.message, request_id)
            self._reply(
                rule.status,
                None,
                [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)],
                payload,
            )
            return

        try:
            status, reason, headers, payload = proxy._forward(self.command, self.path, self.headers, body)
        except OSError as exc:
            message = f"fault proxy could not reach {proxy.upstream_url}: {exc}"
            payload = _error_body(502, "BadGateway", message, str(uuid.uuid4()))
            self._reply(502, None, [("Content-Type", "text/xml")], payload)
            return
        self._reply(status, reason, headers, payload)

    def _reply(self, status: int, reason: str | None, headers, payload: bytes) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        # Answered from now: the client can have the answer, act on it and send its next request before this thread
        # runs again, so its time is taken before the first byte goes out, never after the last.
        self.server.proxy._answered(self._times)
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class FaultProxy:
    """A forwarding HTTP proxy on 127.0.0.1 that can misbehave on request.

    Every request is forwarded to ``upstream_url`` (method, path, headers and body)
    and the answer relayed back, unless a fault was armed with :meth:`inject` or
    :meth:`hang`. ``latency`` seconds are waited before answering each request; every
    request waits in its own thread, so concurrent requests overlap as they would
    against a distant endpoint. ``latency`` may be changed while the proxy runs.

    Each request is recorded with its AWS API action (``Action=GetRole&...``), see
    :meth:`actions`, :meth:`counts` and :meth:`requests`.
    """

    def __init__(self, upstream_url: str, latency: float = 0.0, upstream_timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream_url must be an http:// URL, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self.latency = float(latency)
        self.upstream_timeout = upstream_timeout
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self._upstream_prefix = parts.path.rstrip("/")
        self._lock = threading.Lock()
        self._records: list[ProxyRequest] = []
        self._times: list[list[float]] = []  # per record: [arrived, answered] (monotonic; answered inf until then)
        self._rules: list[_Rule] = []
        self._barriers: dict[str, threading.Barrier] = {}
        self._connections: set[socket.socket] = set()
        self._idle_upstream: list[http.client.HTTPConnection] = []  # connections to the upstream kept open
        self._stopping = threading.Event()
        self._server: _ProxyHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start listening (in a daemon thread) and return ``self``."""
        if self._server is not None:
            raise RuntimeError("FaultProxy is already started")
        self._stopping.clear()
        self._server = _ProxyHTTPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FaultProxy",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FaultProxy is not started")
        return self._server.server_address[1]

    @property
    def endpoint_url(self) -> str:
        """The ``http://127.0.0.1:PORT`` URL to pass to boto3 as ``endpoint_url``."""
        return f"http://{_LOOPBACK}:{self.port}"

    def stop(self) -> None:
        """Stop the proxy; requests being held by :meth:`hang` are dropped unanswered.

        Returns promptly, whatever the state of the requests in progress.
        """
        self._stopping.set()
        with self._lock:
            for barrier in self._barriers.values():
                barrier.abort()
            self._barriers.clear()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            idle, self._idle_upstream = self._idle_upstream, []
        for upstream in idle:
            upstream.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------

    def inject(
        self,
        status: int = 400,
        code: str = "Throttling",
        message: str = "Rate exceeded",
        action: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` requests (for ``action`` only, if given) with an error.

        The proxy itself answers with an AWS Query error document (``text/xml``)
        carrying ``code`` and ``message`` and HTTP ``status``; the request is not
        forwarded. ``times=None`` keeps injecting until :meth:`clear_faults`.
        Faults armed by successive calls are used in the order they were armed.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None)")
        with self._lock:
            self._rules.append(_Rule(_INJECTED, action, times, status, code, message))

    def hang(self, times: int | None = None, action: str | None = None) -> None:
        """Never answer the next ``times`` requests (for ``action`` only, if given).

        ``times=None`` holds every request until :meth:`unhang` or :meth:`stop`.
        Held requests are read completely and stay unanswered until :meth:`stop`.
        Hanging takes precedence over injected errors.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None)")
        with self._lock:
            self._rules.append(_Rule(_HUNG, action, times))

    def gather(self, action: str, parties: int, timeout: float = 30.0) -> None:
        """Hold requests for ``action`` until ``parties`` of them have arrived, then forward them all at once
        (after ``timeout`` seconds, the held ones go on regardless). Lines up racing clients at one point."""
        if parties < 2:
            raise ValueError("parties must be at least 2")
        with self._lock:
            self._barriers[action] = threading.Barrier(parties, timeout=timeout)

    def _barrier_for(self, action: str | None) -> threading.Barrier | None:
        with self._lock:
            barrier = self._barriers.get(action) if action else None
            if barrier is not None and barrier.n_waiting + 1 >= barrier.parties:
                del self._barriers[action]  # this request completes the group; later ones pass freely
            return barrier

    def unhang(self) -> None:
        """Stop holding new requests (requests already held stay held until :meth:`stop`)."""
        with self._lock:
            self._rules = [rule for rule in self._rules if rule.kind != _HUNG]

    def clear_faults(self) -> None:
        """Disarm every pending injected error and hang."""
        with self._lock:
            self._rules.clear()

    # -- records ---------------------------------------------------------------------

    def actions(self) -> list[str | None]:
        """The action of every request seen so far, in arrival order (None if unknown)."""
        with self._lock:
            return [record.action for record in self._records]

    def counts(self) -> collections.Counter:
        """A ``Counter`` of the actions seen so far."""
        with self._lock:
            return collections.Counter(record.action for record in self._records)

    def requests(self) -> list[ProxyRequest]:
        """Every request seen so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def injected(self) -> int:
        """How many requests were answered with an injected error."""
        with self._lock:
            return sum(1 for record in self._records if record.outcome == _INJECTED)

    def hung(self) -> int:
        """How many requests were held unanswered."""
        with self._lock:
            return sum(1 for record in self._records if record.outcome == _HUNG)

    def clear(self) -> None:
        """Forget the recorded requests (armed faults are kept)."""
        with self._lock:
            self._records.clear()
            self._times.clear()

    def rounds(self) -> list[tuple[int, str | None, float, float]]:
        """Every request seen so far, in arrival order, as (round, action, arrived, answered): the round of a request
        is one more than the highest round of the requests answered before it arrived (1 when none was). A client
        waiting for an answer before it asks again thus starts a new round, and requests sent together share one, so
        the last round is the number of round trips the client waited for, one after the other. With ``latency``
        well above the time a client takes to send requests it makes together, no two of those are split apart.
        Times are read on ``time.monotonic`` (the system's clock: another process on this machine reads the same); an
        unanswered request's answered is inf."""
        with self._lock:
            times = [tuple(pair) for pair in self._times]
            actions = [record.action for record in self._records]
        found: list[tuple[int, str | None, float, float]] = []
        for (arrived, answered), action in zip(times, actions):
            earlier = [number for number, _, _, done in found if done <= arrived]
            found.append((1 + max(earlier, default=0), action, arrived, answered))
        return found

    # -- internals -------------------------------------------------------------------

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _admit(self, action: str | None, method: str, path: str) -> tuple[_Rule | None, list[float]]:
        """Record a request; the fault rule it consumes, if any, and its [arrived, answered] times."""
        with self._lock:
            chosen = None
            for kind in (_HUNG, _INJECTED):
                for rule in self._rules:
                    if rule.kind == kind and rule.matches(action):
                        chosen = rule
                        break
                if chosen is not None:
                    break
            if chosen is not None and chosen.remaining is not None:
                chosen.remaining -= 1
                if chosen.remaining <= 0:
                    self._rules.remove(chosen)
            outcome = _FORWARDED if chosen is None else chosen.kind
            self._records.append(ProxyRequest(action, method, path, outcome))
            times = [time.monotonic(), float("inf")]
            self._times.append(times)
            return chosen, times

    def _answered(self, times: list[float]) -> None:
        """The request whose [arrived, answered] record is ``times`` is being answered (or has lost its connection):
        the first time only."""
        with self._lock:
            if times[1] == float("inf"):
                times[1] = time.monotonic()

    def _forward(self, method: str, path: str, headers, body: bytes):
        """Relay one request upstream on a connection kept open from an earlier one if there is one (the suites'
        moto server keeps its connections open), else on a new one; a connection is kept for the next request only
        after a whole answer that does not close it."""
        with self._lock:
            conn = self._idle_upstream.pop() if self._idle_upstream else None
        if conn is None:
            conn = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=self.upstream_timeout)
        reusable = False
        try:
            conn.putrequest(method, self._upstream_prefix + path, skip_host=True, skip_accept_encoding=True)
            # The Host header is relayed unchanged (it is part of the request signature).
            if headers.get("Host") is None:
                conn.putheader("Host", f"{self._upstream_host}:{self._upstream_port}")
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            payload = response.read()
            relayed = [(name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
            reusable = not response.will_close
            return response.status, response.reason, relayed, payload
        finally:
            if reusable and not self._stopping.is_set():
                with self._lock:
                    self._idle_upstream.append(conn)
            else:
                conn.close()

"""Small HTTP servers for the tests: a server run in a daemon thread on loopback while a ``with`` block lasts, a
handler that logs nothing, and forwarding a request to an upstream (moto's server) and relaying its reply.
Standard library only (the Python 3.7 and 3.10 suites import it)."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass


def forward(host: str, port: int, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list, bytes]:
    """Send the request ``handler`` received to ``host:port``; (status, headers, payload) of the reply."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection", "content-length")}
        conn.request("POST", handler.path, body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.getheaders(), reply.read()
    finally:
        conn.close()


def relay(handler: BaseHTTPRequestHandler, status: int, headers: list, payload: bytes) -> None:
    """Answer with a reply obtained by :func:`forward` (a client that gave up is no error)."""
    handler.send_response(status)
    for name, value in headers:
        if name.lower() not in ("connection", "content-length", "transfer-encoding"):
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    try:
        handler.wfile.write(payload)
    except OSError:
        pass


class Running:
    """Serves ``handler`` on 127.0.0.1 in a daemon thread while the ``with`` block lasts."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

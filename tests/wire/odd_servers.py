"""Endpoints that misbehave in ways a fault-injecting proxy cannot: a server that answers every request with a
fixed (wrong) reply or trickles it one byte at a time, and a proxy that lets a request reach AWS but loses its
reply. Standard library only; loopback only; every wait is bounded and ends when the server stops."""

from __future__ import annotations

import threading
import urllib.parse

from tests.support.http_relay import QuietHandler, Running, forward, relay


class ScriptedEndpoint(Running):
    """Answers every request with ``status`` and ``body``; with ``trickle`` > 0, sends the body one byte every
    ``trickle`` seconds (each read stays under any read timeout, the reply never ends in useful time)."""

    def __init__(self, status: int = 200, body: bytes = b"", content_type: str = "text/xml", trickle: float = 0.0):
        self.status, self.body, self.content_type, self.trickle = status, body, content_type, trickle
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = owner.body if not owner.trickle else owner.body or b" " * 100_000
                self.send_response(owner.status)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not owner.trickle:
                    self.wfile.write(body)
                    return
                for byte in body:
                    if owner.stopping.wait(owner.trickle):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            do_GET = do_POST

        super().__init__(Handler)


class LostReplyProxy(Running):
    """Forwards every request to ``upstream``; for the first ``times`` requests of ``action`` it forwards the
    request (so AWS acts) and then holds the reply for ``hold`` seconds before sending it, by which time the client
    has given up: the reply is lost, the effect is not. ``hold`` 0: the connection is closed at once instead, as
    when a network path breaks after the request got through (botocore: ConnectionClosedError)."""

    def __init__(self, upstream: str, action: str, hold: float = 0.0, times: int = 1) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.action, self.hold, self.remaining = action, hold, times
        self.seen: list[str] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                with owner.lock:
                    owner.seen.append(action)
                    lose = action == owner.action and owner.remaining > 0
                    if lose:
                        owner.remaining -= 1
                status, reply_headers, payload = forward(owner.host, owner.port, self, body)
                if lose and not owner.hold:
                    self.close_connection = True
                    return
                if lose and owner.stopping.wait(owner.hold):
                    return
                relay(self, status, reply_headers, payload)

        super().__init__(Handler)

    def count(self, action: str) -> int:
        with self.lock:
            return self.seen.count(action)


class AnsweringProxy(Running):
    """Forwards every request to ``upstream`` but those whose Action is in ``answers``: those get (status, body)
    instead, and are recorded with their parameters in ``asked``. Stands in for what moto cannot do (EC2's dry runs,
    STS's decoding of an authorization message)."""

    def __init__(self, upstream: str, answers: dict[str, tuple[int, bytes]]) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.answers = answers
        self.asked: list[dict[str, str]] = []
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                answer = owner.answers.get(params.get("Action", ""))
                if answer is None:
                    relay(self, *forward(owner.host, owner.port, self, body))
                    return
                owner.asked.append({**params, "Authorization": self.headers.get("Authorization", "")})
                relay(self, answer[0], [("Content-Type", "text/xml")], answer[1])

        super().__init__(Handler)


class SlowReplyProxy(Running):
    """Forwards every request to ``upstream``; a request of ``action`` (one whose body holds ``holding``, if given) is
    forwarded at once, so AWS acts, and its reply is sent ``delay`` seconds later. ``arrived`` is set once such a
    request was forwarded: a test acts there, inside the call (a signal to the client landing while it waits)."""

    def __init__(self, upstream: str, action: str, delay: float, holding: str = "") -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.action, self.delay, self.holding = action, delay, holding
        self.arrived = threading.Event()
        self.seen: list[str] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                with owner.lock:
                    owner.seen.append(action)
                slow = action == owner.action and owner.holding in urllib.parse.unquote_plus(body.decode())
                status, reply_headers, payload = forward(owner.host, owner.port, self, body)
                if slow:
                    owner.arrived.set()
                    if owner.stopping.wait(owner.delay):
                        return
                relay(self, status, reply_headers, payload)

        super().__init__(Handler)

    def count(self, action: str) -> int:
        with self.lock:
            return self.seen.count(action)

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


class HeldReplyProxy(Running):
    """Forwards every request to ``upstream``; for the first ``times`` requests of ``action`` (every one with
    ``times`` None; only those whose body holds ``holding``, if given) it forwards the request, so AWS acts, sets
    ``arrived``, and then holds the reply for ``hold`` seconds before sending it. ``hold`` 0: the connection is closed
    at once instead, as when a network path breaks after the request got through (botocore: ConnectionClosedError)."""

    def __init__(self, upstream: str, action: str, hold: float = 0.0, times: int | None = 1, holding: str = "") -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname, parts.port
        self.action, self.hold, self.remaining, self.holding = action, hold, times, holding
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
                    held = action == owner.action and owner.holding in urllib.parse.unquote_plus(body.decode())
                    held = held and (owner.remaining is None or owner.remaining > 0)
                    if held and owner.remaining is not None:
                        owner.remaining -= 1
                status, reply_headers, payload = forward(owner.host, owner.port, self, body)
                if held:
                    owner.arrived.set()
                if held and not owner.hold:
                    self.close_connection = True
                    return
                if held and owner.stopping.wait(owner.hold):
                    return
                relay(self, status, reply_headers, payload)

        super().__init__(Handler)

    def count(self, action: str) -> int:
        with self.lock:
            return self.seen.count(action)


class LostReplyProxy(HeldReplyProxy):
    """The reply of ``action`` held past the time the client waits for it (or its connection closed): the reply is
    lost, the effect is not."""


class SlowReplyProxy(HeldReplyProxy):
    """The replies of ``action`` held ``hold`` seconds, less than the client waits: a test acts inside the call, once
    ``arrived`` is set (a signal to the client landing while it waits)."""

    def __init__(self, upstream: str, action: str, hold: float, holding: str = "") -> None:
        super().__init__(upstream, action, hold, times=None, holding=holding)


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


#: EC2's error reply, as its Query API answers a refused or dry-run request (an AnsweringProxy's answer).
EC2_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error>'
    b"</Errors><RequestID>1</RequestID></Response>"
)


def ec2_error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, EC2_ERROR % (code.encode(), message.encode())

"""Endpoints that misbehave in ways a fault-injecting proxy cannot: a server that answers every request with a
fixed (wrong) reply or trickles it one byte at a time, and a proxy that lets a request reach AWS but loses its
reply. Standard library only; loopback only; every wait is bounded and ends when the server stops."""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
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


class ExactPairProxy(Running):
    """Forwards every request to moto, but judges the signature of STS and EC2 requests as AWS does, which moto's
    server does not: AWS accepts a request only when it is signed with the secret of an existing, active access key
    ("InvalidClientTokenId: The security token included in the request is invalid" for an unknown or inactive key,
    "SignatureDoesNotMatch" for another secret: AWS STS API Reference, Common Errors). The secrets are learnt from the
    CreateAccessKey replies that pass through; a key's status is asked of moto (ListAccessKeys). A request signed with
    a key this proxy never saw made is forwarded as it is (the tests' own admin credential)."""

    def __init__(self, upstream: str, user: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port, self.upstream, self.user = parts.hostname, parts.port, upstream, user
        self.secrets: dict[str, str] = {}
        self.refused: list[tuple[str, str]] = []  # (access key ID, error code)
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                refusal = owner.judge(self, body)
                if refusal is not None:
                    relay(self, 403, [("Content-Type", "text/xml")], refusal)
                    return
                status, reply_headers, payload = forward(owner.host, owner.port, self, body)
                owner.learn(payload)
                relay(self, status, reply_headers, payload)

        super().__init__(Handler)

    def learn(self, payload: bytes) -> None:
        if b"<CreateAccessKeyResult>" in payload:
            key_id = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", payload)
            secret = re.search(rb"<SecretAccessKey>([^<]+)</SecretAccessKey>", payload)
            if key_id and secret:
                self.secrets[key_id.group(1).decode()] = secret.group(1).decode()

    def judge(self, handler: BaseHTTPRequestHandler, body: bytes) -> bytes | None:
        authorization = handler.headers.get("Authorization", "")
        found = re.match(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/([^/]+)/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([^,]+), Signature=([0-9a-f]+)",
            authorization,
        )
        if found is None or found.group(4) not in ("sts", "ec2"):
            return None
        key_id, _, region, service, signed, signature = found.groups()
        secret = self.secrets.get(key_id)
        if secret is None:
            return None
        if not self._active(key_id):
            self.refused.append((key_id, "InvalidClientTokenId"))
            return _error("InvalidClientTokenId", "The security token included in the request is invalid.")
        if _signature(handler, body, signed, key_id, secret, region, service) != signature:
            self.refused.append((key_id, "SignatureDoesNotMatch"))
            return _error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        return None

    def _active(self, key_id: str) -> bool:
        import boto3

        iam = boto3.client("iam", endpoint_url=self.upstream, region_name="us-east-1")
        keys = iam.list_access_keys(UserName=self.user)["AccessKeyMetadata"]
        return any(k["AccessKeyId"] == key_id and k["Status"] == "Active" for k in keys)


def _signature(
    handler: BaseHTTPRequestHandler, body: bytes, signed: str, key_id: str, secret: str, region: str, service: str
) -> str:
    """The SigV4 signature of the request with ``secret``, over the headers the client signed (botocore's signer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    names = signed.split(";")
    headers = {name: handler.headers.get(name, "") for name in names}
    request = AWSRequest(
        method="POST", url=f"http://{headers.get('host', '')}{handler.path}", data=body, headers=headers
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


def _error(code: str, message: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}'
        f"</Code><Message>{message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ErrorResponse>"
    ).encode()

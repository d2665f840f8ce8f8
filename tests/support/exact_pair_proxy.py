"""A proxy in front of moto's server that judges STS and EC2 signatures as AWS does (moto's server does not).
Imports botocore (its SigV4 signer): the Python 3.7 and 3.10 suites have it."""

from __future__ import annotations

import re
import urllib.parse
from http.server import BaseHTTPRequestHandler

from tests.support.http_relay import QuietHandler, Running, forward, relay


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

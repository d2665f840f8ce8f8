"""The one place that talks to AWS: a typed wrapper over boto3's IAM and STS clients.

It turns boto3 answers into plain values (``None`` for "does not exist") and botocore errors into one-line
:class:`AwsAccessError` messages, once, at this boundary. Every call is bounded in time (connect/read timeouts
and :class:`BudgetedRetry`) and never logs or raises a secret.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import boto3
import botocore.exceptions
from botocore.config import Config

from . import __version__
from .errors import AwsAccessError
from .retry import BudgetedRetry
from .trust import parse_policy

T = TypeVar("T")

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}


@dataclass(frozen=True)
class Timeouts:
    """Every AWS call is bounded: at most ``call_budget`` plus one attempt's connect and read timeouts."""

    connect: float = 3.0
    read: float = 6.0
    call_budget: float = 15.0
    max_attempts: int = 10


@dataclass(frozen=True)
class AwsAccess:
    """How to reach AWS, as every AWS tool does it: the default chain unless told otherwise."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None
    external_id: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str

    @property
    def partition(self) -> str:
        return self.arn.split(":", 2)[1]


@dataclass(frozen=True)
class RoleInfo:
    arn: str
    path: str
    trust: dict[str, Any]


@dataclass(frozen=True)
class ProfileInfo:
    arn: str
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class AccessKeyInfo:
    access_key_id: str
    active: bool
    created: datetime | None


@dataclass(frozen=True)
class NewAccessKey:
    """A freshly created key. The secret is excluded from repr so it never lands in a log by accident."""

    user_name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    created: datetime | None = None


class _SecretRedactingFilter(logging.Filter):
    """botocore logs response bodies at DEBUG; CreateAccessKey's holds the secret. Drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is not ours to judge
            return True
        return "SecretAccessKey" not in text and "aws_secret_access_key" not in text


_REDACTOR = _SecretRedactingFilter()
for _name in ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "botocore.retryhandler"):
    logging.getLogger(_name).addFilter(_REDACTOR)


def _error_code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class NotFound(Exception):
    """IAM answered NoSuchEntity. Reads turn it into ``None``; writes let the caller decide."""


class AlreadyExists(Exception):
    """IAM answered EntityAlreadyExists: success for an idempotent create."""


class LimitExceeded(Exception):
    """IAM answered LimitExceeded (2 access keys per user, 1 role per instance profile, ...)."""


class IamGateway:
    """Typed IAM/STS calls for one credential. One IAM client, reused and shared by threads."""

    def __init__(self, access: AwsAccess | None = None) -> None:
        self.access = access or AwsAccess()
        self._sts: Any = None
        self._lock = threading.Lock()
        self._session = self._open_session()
        self._iam = self._client("iam")

    # -- connection -------------------------------------------------------------------------------
    def _config(self) -> Config:
        t = self.access.timeouts
        return Config(
            connect_timeout=t.connect,
            read_timeout=t.read,
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=16,
            user_agent_extra=f"DeadlineSpotIamSetup/{__version__}",
        )

    def _client(self, service: str, session: boto3.session.Session | None = None) -> Any:
        session = session or self._session
        try:
            client = session.client(
                service,
                region_name=self._region_of(session),
                endpoint_url=self.access.endpoint_url,
                config=self._config(),
            )
        except (botocore.exceptions.BotoCoreError, ValueError) as error:
            raise AwsAccessError(f"cannot set up the AWS {service} client: {error}") from None
        t = self.access.timeouts
        BudgetedRetry(t.max_attempts, t.call_budget).register(client)
        return client

    def _region_of(self, session: boto3.session.Session) -> str:
        # IAM is global; the region only selects the partition's endpoint.
        return self.access.region or session.region_name or "us-east-1"

    @property
    def region(self) -> str:
        return self._region_of(self._session)

    def _open_session(self) -> boto3.session.Session:
        a = self.access
        try:
            if a.access_key_id or a.secret_access_key:
                if not (a.access_key_id and a.secret_access_key):
                    raise AwsAccessError("an access key ID needs its secret access key, and the other way round")
                session = boto3.session.Session(
                    aws_access_key_id=a.access_key_id,
                    aws_secret_access_key=a.secret_access_key,
                    aws_session_token=a.session_token or None,
                    region_name=a.region,
                )
            else:
                session = boto3.session.Session(profile_name=a.profile or None, region_name=a.region)
        except botocore.exceptions.ProfileNotFound:
            raise AwsAccessError(
                f"AWS profile {a.profile!r} is not in the AWS config or credentials file: "
                "create it with `aws configure --profile NAME` or pick another"
            ) from None
        if a.role_arn:
            session = self._assume_role(session)
        return session

    def _assume_role(self, session: boto3.session.Session) -> boto3.session.Session:
        a = self.access
        sts = self._client("sts", session)
        params: dict[str, Any] = {"RoleArn": a.role_arn, "RoleSessionName": "DeadlineSpotIamSetup"}
        if a.external_id:
            params["ExternalId"] = a.external_id
        answer = self._call(lambda: sts.assume_role(**params), "sts:AssumeRole", f"role {a.role_arn}")
        creds = answer["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=a.region or session.region_name,
        )

    @property
    def endpoint_description(self) -> str:
        """The IAM endpoint really in use (botocore resolves AWS_ENDPOINT_URL, config files and the partition)."""
        iam = getattr(self, "_iam", None)
        if iam is not None:
            return str(iam.meta.endpoint_url)
        return self.access.endpoint_url or f"IAM in {self.region}"

    # -- error translation ------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], action: str, subject: str) -> T:
        """Run one boto3 call, translating failures into a one-line AwsAccessError (NotFound passes through)."""
        try:
            return fn()
        except botocore.exceptions.ClientError as error:
            code = _error_code(error)
            message = str(error.response.get("Error", {}).get("Message", "")).strip()
            if code == "NoSuchEntity":
                raise NotFound(subject) from None
            if code == "EntityAlreadyExists":
                raise AlreadyExists(subject) from None
            if code == "LimitExceeded":
                raise LimitExceeded(f"{action} on {subject}: {message}") from None
            if code in _DENIED:
                raise AwsAccessError(
                    f"AWS denied {action} on {subject}: grant it to the credential in use "
                    "(`python -m DeadlineSpotIamSetup bootstrap-policy` prints the policy it needs)"
                ) from None
            if code in _BAD_CREDENTIALS:
                raise AwsAccessError(
                    f"AWS rejected the credentials ({code}) calling {action}: check the access key, "
                    "profile or session token in use"
                ) from None
            if code in _THROTTLED:
                raise AwsAccessError(
                    f"AWS kept throttling {action} on {subject} for {self.access.timeouts.call_budget:.0f} s: "
                    "try again in a few minutes"
                ) from None
            detail = f": {message}" if message else ""
            raise AwsAccessError(f"{action} on {subject} failed with {code}{detail}") from None
        except botocore.exceptions.NoCredentialsError:
            raise AwsAccessError(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "pass --profile, or run on a machine with an instance role"
            ) from None
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ProxyConnectionError,
        ) as error:
            kind = "did not answer" if isinstance(error, botocore.exceptions.ReadTimeoutError) else "is unreachable"
            raise AwsAccessError(
                f"the AWS endpoint {self.endpoint_description} {kind} ({action}): check the network, proxy "
                "settings and --endpoint-url / AWS_ENDPOINT_URL"
            ) from None
        except botocore.exceptions.BotoCoreError as error:
            raise AwsAccessError(f"{action} on {subject} failed: {error}") from None

    def _read(self, fn: Callable[[], T], action: str, subject: str) -> T | None:
        try:
            return self._call(fn, action, subject)
        except NotFound:
            return None

    # -- reads --------------------------------------------------------------------------------------
    def caller_identity(self) -> CallerIdentity:
        with self._lock:
            if self._sts is None:
                self._sts = self._client("sts")
        answer = self._call(self._sts.get_caller_identity, "sts:GetCallerIdentity", "the caller")
        return CallerIdentity(account=answer["Account"], arn=answer["Arn"])

    def get_role(self, name: str) -> RoleInfo | None:
        answer = self._read(lambda: self._iam.get_role(RoleName=name), "iam:GetRole", f"role {name}")
        if answer is None:
            return None
        role = answer["Role"]
        return RoleInfo(role["Arn"], role.get("Path", "/"), parse_policy(role.get("AssumeRolePolicyDocument")))

    def _attached(self, operation: str, subject: str, **params: str) -> frozenset[str] | None:
        arns: set[str] = set()
        marker: str | None = None
        method = getattr(self._iam, _snake(operation))
        while True:
            page_params = dict(params, Marker=marker) if marker else params
            answer = self._read(lambda p=page_params: method(**p), f"iam:{operation}", subject)
            if answer is None:
                return None
            arns.update(p["PolicyArn"] for p in answer.get("AttachedPolicies", []))
            if not answer.get("IsTruncated"):
                return frozenset(arns)
            marker = answer["Marker"]

    def attached_role_policies(self, role_name: str) -> frozenset[str] | None:
        return self._attached("ListAttachedRolePolicies", f"role {role_name}", RoleName=role_name)

    def attached_user_policies(self, user_name: str) -> frozenset[str] | None:
        return self._attached("ListAttachedUserPolicies", f"user {user_name}", UserName=user_name)

    def access_keys(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        answer = self._read(
            lambda: self._iam.list_access_keys(UserName=user_name), "iam:ListAccessKeys", f"user {user_name}"
        )
        if answer is None:
            return None
        return tuple(
            AccessKeyInfo(k["AccessKeyId"], k.get("Status") == "Active", k.get("CreateDate"))
            for k in answer.get("AccessKeyMetadata", [])
        )

    def instance_profile(self, name: str) -> ProfileInfo | None:
        answer = self._read(
            lambda: self._iam.get_instance_profile(InstanceProfileName=name),
            "iam:GetInstanceProfile",
            f"instance profile {name}",
        )
        if answer is None:
            return None
        profile = answer["InstanceProfile"]
        return ProfileInfo(profile["Arn"], tuple(r["RoleName"] for r in profile.get("Roles", [])))

    # -- writes -------------------------------------------------------------------------------------
    def write(self, operation: str, params: dict[str, Any], subject: str) -> dict[str, Any]:
        """Run an IAM write named by its API operation (``CreateRole``). Raises AwsAccessError, or NotFound,
        AlreadyExists and LimitExceeded for the caller to decide on."""
        method = getattr(self._iam, _snake(operation))
        return self._call(lambda: method(**params), f"iam:{operation}", subject)

    def create_access_key(self, user_name: str) -> NewAccessKey:
        answer = self._call(
            lambda: self._iam.create_access_key(UserName=user_name),
            "iam:CreateAccessKey",
            f"user {user_name}",
        )
        key = answer["AccessKey"]
        return NewAccessKey(user_name, key["AccessKeyId"], key["SecretAccessKey"], key.get("CreateDate"))

    def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        try:
            self._call(
                lambda: self._iam.delete_access_key(UserName=user_name, AccessKeyId=access_key_id),
                "iam:DeleteAccessKey",
                f"access key {access_key_id} of user {user_name}",
            )
        except NotFound:
            pass

    def wait_until_exists(self, waiter_name: str, params: dict[str, str], subject: str, timeout: float) -> None:
        """Wait (bounded) until IAM shows a new identity, with boto3's waiters."""
        waiter = self._iam.get_waiter(waiter_name)
        attempts = max(1, int(timeout))
        try:
            waiter.wait(**params, WaiterConfig={"Delay": 1, "MaxAttempts": attempts})
        except botocore.exceptions.WaiterError:
            raise AwsAccessError(
                f"IAM did not show {subject} within {attempts} s after creating it: run apply again shortly"
            ) from None

    def verify_access_key(self, key: NewAccessKey, timeout: float = 20.0) -> CallerIdentity | None:
        """Wait until a new key is accepted (IAM takes seconds to propagate one); None if not within ``timeout``."""
        session = boto3.session.Session(
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            region_name=self.region,
        )
        sts = self._client("sts", session)
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self._call(sts.get_caller_identity, "sts:GetCallerIdentity", "the new access key")
                return CallerIdentity(account=answer["Account"], arn=answer["Arn"])
            except AwsAccessError as error:
                if "rejected the credentials" not in str(error) or time.monotonic() >= deadline:
                    return None
            time.sleep(min(1.0 + random.random(), max(0.0, deadline - time.monotonic())))


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)

"""The one place that talks to AWS: a typed wrapper over boto3's IAM and STS clients.

It turns boto3 answers into plain values (``None`` for "does not exist") and botocore errors into one-line
errors of a type that says what happened (:mod:`errors`), once, at this boundary. Every call is bounded in
time: connect/read timeouts, a retry budget (:class:`retry.BudgetedRetry`) and a hard deadline on the whole
call (:mod:`call_deadline`). A call that is not idempotent (CreateAccessKey) is never retried once it may have
reached AWS: its caller gets :class:`errors.ReplyLost` and looks at what exists. Nothing here logs or raises
a secret.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.parsers import ResponseParserError

from . import __version__, call_deadline, old_botocore
from .commands import command
from .errors import (
    AccessDenied,
    AlreadyExists,
    AwsAccessError,
    Cancelled,
    CredentialsRejected,
    EndpointUnavailable,
    InvalidSettings,
    LimitExceeded,
    NotFound,
    ReplyLost,
    stop_reason,
)
from .fleet_config import ProfileRef, TemplateRef
from .regions import check_region
from .retry import BudgetedRetry
from .trust import parse_policy
from .values import (
    AccessKeyInfo,
    CallerIdentity,
    FleetLookups,
    KeyUsage,
    NewAccessKey,
    PolicyInfo,
    PrincipalPolicies,
    ProfileInfo,
    RoleInfo,
    as_utc,
)
from .waits import CLI_TIMEOUTS, KEY_UNUSED_LIMIT, Timeouts

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
# Calls that create something each time they succeed: never repeated once they may have reached AWS.
NOT_IDEMPOTENT = frozenset({"CreateAccessKey"})
_NO_REPLY = (
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    *old_botocore.RESPONSE_STREAMING_ERRORS,
)
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ProxyConnectionError,
    botocore.exceptions.SSLError,
)


@dataclass(frozen=True)
class SettingNames:
    """How a front end names the settings behind :class:`AwsAccess`, for its messages: the profile, the region, and
    what lets a region newer than the installed botocore through."""

    profile: str = "--profile"
    region: str = "--region"
    allow_unknown_region: str = "add --allow-unknown-region"


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
    timeouts: Timeouts = CLI_TIMEOUTS
    allow_unknown_region: bool = False  # a region botocore does not know is taken as it is (newer than botocore)
    names: SettingNames = SettingNames()


class _SecretRedactingFilter(logging.Filter):
    """botocore logs response bodies at DEBUG; CreateAccessKey's holds the secret. Drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is not ours to judge
            return True
        return "SecretAccessKey" not in text and "aws_secret_access_key" not in text


_REDACTOR = _SecretRedactingFilter()
_REDACTED_LOGGERS = ("botocore.parsers", "botocore.endpoint", "botocore.hooks", "botocore.retryhandler")


def _redact_botocore_logs() -> None:
    """Installed when the first gateway is made, not at import; adding the same filter twice is a no-op."""
    for name in _REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(_REDACTOR)


def _error_code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _check_endpoint_url(url: str | None) -> None:
    if url is None:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as error:
        raise InvalidSettings(f"endpoint URL {url!r} is not valid ({error}): expected https://HOST[:PORT]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSettings(f"endpoint URL {url!r} is not valid: expected https://HOST[:PORT]")


def _config(timeouts: Timeouts) -> Config:
    return Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=16,
        user_agent_extra=f"DeadlineSpotIamSetup/{__version__}",
    )


class _Caller:
    """Runs one boto3 call within the hard deadline and translates every failure into a one-line error."""

    def __init__(self, timeouts: Timeouts, endpoint: Callable[[], str], cancelled: Callable[[], bool]) -> None:
        self.timeouts = timeouts
        self.endpoint = endpoint
        self.cancelled = cancelled

    def __call__(self, fn: Callable[[], T], operation: str, subject: str, cleanup: bool = False) -> T:
        """``cleanup``: the call undoes this run's own work (deleting its key), so it runs even once cancelled."""
        if self.cancelled() and not cleanup:
            raise Cancelled(f"stopped before {operation} on {subject}: {stop_reason(self.cancelled)}")
        idempotent = operation.split(":", 1)[-1] not in NOT_IDEMPOTENT
        with call_deadline.deadline(self.timeouts.call_deadline) as guard:
            try:
                return fn()
            except botocore.exceptions.ClientError as error:
                if not idempotent and _error_code(error) not in _THROTTLED and _status(error) >= 500:
                    raise ReplyLost(f"{operation} on {subject}") from None
                raise self._client_error(error, operation, subject) from None
            except _NO_REPLY:
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    EndpointUnavailable(
                        f"the AWS endpoint {self.endpoint()} did not answer ({operation}): check the network, proxy "
                        "settings and --endpoint-url / AWS_ENDPOINT_URL"
                    ),
                ) from None
            except _UNREACHABLE:
                raise EndpointUnavailable(
                    f"the AWS endpoint {self.endpoint()} is unreachable ({operation}): check the network, proxy "
                    "settings and --endpoint-url / AWS_ENDPOINT_URL"
                ) from None
            except botocore.exceptions.NoCredentialsError:
                raise CredentialsRejected(
                    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                    "pass --profile, or run on a machine with an instance role"
                ) from None
            except (ResponseParserError, KeyError, TypeError):
                # A 200 with an empty body, an HTML page, a body that is not this API's answer: not AWS IAM.
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    EndpointUnavailable(
                        f"the endpoint {self.endpoint()} answered {operation} with something that is not an AWS "
                        "answer: check --endpoint-url / AWS_ENDPOINT_URL and any proxy in between"
                    ),
                ) from None
            except botocore.exceptions.BotoCoreError as error:
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    AwsAccessError(f"{operation} on {subject} failed: {_one_line(str(error))}"),
                ) from None

    def _unanswered(
        self, guard: call_deadline.CallGuard, idempotent: bool, operation: str, subject: str, otherwise: Exception
    ) -> Exception:
        """The error for a call that got no usable answer. AWS may have acted on it, so a call that is not
        idempotent is a lost reply whatever else happened; otherwise the deadline's cut, if it came, is the cause."""
        if not idempotent:
            return ReplyLost(f"{operation} on {subject}")
        if guard.cut:
            return self._too_slow(operation)
        return otherwise

    def _too_slow(self, operation: str) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"the AWS endpoint {self.endpoint()} did not finish answering {operation} within "
            f"{self.timeouts.call_deadline:.0f} s: check the network, proxy settings and --endpoint-url / "
            "AWS_ENDPOINT_URL"
        )

    def _client_error(self, error: botocore.exceptions.ClientError, operation: str, subject: str) -> Exception:
        code = _error_code(error)
        message = _one_line(str(error.response.get("Error", {}).get("Message", "")))
        if code == "NoSuchEntity" or code.endswith(("NotFound", "NotFoundException")):  # IAM's, EC2's spelling
            return NotFound(subject)
        if code == "EntityAlreadyExists" or (code == "InvalidInput" and "has been taken" in message):
            # CreateServiceLinkedRole answers InvalidInput "...has been taken in this account" for an existing role.
            return AlreadyExists(subject)
        if code == "LimitExceeded":
            return LimitExceeded(f"{operation} on {subject}: {message}")
        if code in _DENIED:
            return access_denied(operation, subject, message)
        if code in _BAD_CREDENTIALS:
            return CredentialsRejected(
                f"AWS rejected the credentials ({code}) calling {operation}: check the access key, profile or "
                "session token in use"
            )
        if code in _THROTTLED:
            return AwsAccessError(
                f"AWS kept throttling {operation} on {subject} for {self.timeouts.call_budget:.0f} s: try again in "
                "a few minutes"
            )
        detail = f": {message}" if message else ""
        return AwsAccessError(f"{operation} on {subject} failed with {code or _status(error)}{detail}")


# AWS's access denied messages: "User: user is not authorized to perform: action on resource: resource because
# context", where user is the ARN that was refused and action the permission the policies did not grant (IAM User Guide,
# "Troubleshoot access denied error messages"; some services use other wordings, and then neither is known).
_DENIED_MESSAGE = re.compile(r"User: (?P<principal>arn:\S+) is not authorized to perform: (?P<permission>[\w-]+:\w+)")


def access_denied(operation: str, subject: str, message: str = "") -> AccessDenied:
    """The one-line error of a refused call, naming who was refused and the permission missing when AWS said."""
    found = _DENIED_MESSAGE.search(message)
    principal = found.group("principal") if found else None
    permission = found.group("permission") if found else operation
    who = f" to {principal}" if principal else ""
    needs = f" (it needs {permission})" if permission.lower() != operation.lower() else ""
    return AccessDenied(
        f"AWS denied {operation} on {subject}{who}{needs}: grant it to the credential in use "
        f"({command('bootstrap-policy')} prints the policy it needs)",
        permission,
        principal,
    )


def _status(error: botocore.exceptions.ClientError) -> int:
    try:
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


_LOADER_LOCK = threading.Lock()
_SHARED_LOADER: Any = None


def _new_session(**params: Any) -> boto3.session.Session:
    """A boto3 session whose botocore session shares one data loader with every other session of this process:
    botocore otherwise reads and parses its data files (endpoints, service models) again for each session, about
    0.15 s of CPU, which threads cannot overlap (one session per assumed role: the multi-account check)."""
    global _SHARED_LOADER
    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _SHARED_LOADER)
    return boto3.session.Session(botocore_session=core, **params)


def _session(access: AwsAccess) -> boto3.session.Session:
    if access.access_key_id or access.secret_access_key:
        if not (access.access_key_id and access.secret_access_key):
            raise InvalidSettings("an access key ID needs its secret access key, and the other way round")
        return _new_session(
            aws_access_key_id=access.access_key_id,
            aws_secret_access_key=access.secret_access_key,
            aws_session_token=access.session_token or None,
            region_name=access.region,
        )
    named = _named_profile(access)
    try:
        session = _new_session(profile_name=access.profile or None, region_name=access.region)
        if named is not None and named[0] not in session.available_profiles:
            # On a botocore session given to it, boto3 leaves the profile to be looked up at the first client.
            raise botocore.exceptions.ProfileNotFound(profile=named[0])
        return session
    except botocore.exceptions.ProfileNotFound:
        raise InvalidSettings(_unknown_profile(access)) from None


# Where botocore takes the profile from when none is given, in its order (botocore/configprovider.py, the session
# variable "profile": AWS_DEFAULT_PROFILE, then AWS_PROFILE).
_PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")


def _named_profile(access: AwsAccess) -> tuple[str, str] | None:
    """The profile named for this run and where: the front end's setting, else botocore's environment variable;
    None when none is named (the default profile, which need not exist: the environment may hold the keys)."""
    if access.profile:
        return access.profile, access.names.profile
    for variable in _PROFILE_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    return None


def _unknown_profile(access: AwsAccess) -> str:
    """One line: the profile not found, where it was named, the one probably meant and the ones there are."""
    name, named = _named_profile(access) or ("default", "the default")
    try:
        known = sorted(botocore.session.get_session().available_profiles)
    except botocore.exceptions.BotoCoreError:  # a config file that cannot be read
        known = []
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    meant = f" did you mean {close[0]!r}?" if close else ""
    there = f" Profiles there: {', '.join(known)}." if known else " It holds no profile."
    return (
        f"AWS profile {name!r} (from {named}) is not in the AWS config or credentials file:{meant}{there} Create it "
        f"with `aws configure --profile {name}`, or pick another"
    )


def _region_in_use(session: boto3.session.Session, access: AwsAccess) -> tuple[str, str]:
    """The region the clients will use, and where it was named (for a message about it)."""
    if access.region:
        return access.region, access.names.region
    region = session.region_name
    if not region:
        return "us-east-1", "the default region"
    if os.environ.get("AWS_DEFAULT_REGION") == region:  # botocore's variable (configprovider.py, "region")
        return region, "AWS_DEFAULT_REGION"
    return region, f"the region of AWS profile {session.profile_name!r}"


def connect(access: AwsAccess | None = None, cancelled: Callable[[], bool] = lambda: False) -> IamGateway:
    """Open a session for ``access`` (assuming its role first, if any) and return a gateway on it.

    ``cancelled`` is asked before every call: once it answers True, no call starts (Cancelled is raised).
    """
    access = access or AwsAccess()
    old_botocore.check_version()
    _check_endpoint_url(access.endpoint_url)
    _redact_botocore_logs()
    try:
        session = _session(access)
        if not access.allow_unknown_region:
            check_region(*_region_in_use(session, access), access.names.allow_unknown_region)
        if access.role_arn:
            session = _assume_role(session, access, cancelled)
        return IamGateway(session, access, cancelled)
    except botocore.exceptions.BotoCoreError as error:  # a malformed AWS config file, an unknown region, ...
        raise AwsAccessError(f"cannot set up AWS access: {_one_line(str(error))}") from None


def _region(session: boto3.session.Session, access: AwsAccess) -> str:
    # IAM is global; the region only selects the partition's endpoint.
    return access.region or session.region_name or "us-east-1"


def _endpoint_url(session: boto3.session.Session, service: str, access: AwsAccess) -> str | None:
    """The endpoint URL given, else (before botocore 1.31, which reads them itself) the one the environment names
    for ``service``: see :mod:`old_botocore`."""
    if access.endpoint_url is not None or old_botocore.reads_configured_endpoints():
        return access.endpoint_url
    scoped_config = session._session.get_scoped_config()  # the botocore session of boto3's: its profile's settings
    configured = old_botocore.configured_endpoint_url(service, scoped_config, os.environ)
    _check_endpoint_url(configured)
    return configured


def _client(session: boto3.session.Session, service: str, access: AwsAccess) -> Any:
    endpoint_url = _endpoint_url(session, service, access)
    try:
        client = session.client(
            service,
            region_name=_region(session, access),
            endpoint_url=endpoint_url,
            config=_config(access.timeouts),
        )
    except (botocore.exceptions.BotoCoreError, ValueError) as error:
        raise AwsAccessError(f"cannot set up the AWS {service} client: {_one_line(str(error))}") from None
    t = access.timeouts
    BudgetedRetry(t.max_attempts, t.call_budget, not_idempotent=NOT_IDEMPOTENT).register(client)
    call_deadline.install(client)
    return client


def _assume_role(
    session: boto3.session.Session, access: AwsAccess, cancelled: Callable[[], bool]
) -> boto3.session.Session:
    sts = _client(session, "sts", access)
    call = _Caller(access.timeouts, lambda: str(sts.meta.endpoint_url), cancelled)
    params: dict[str, Any] = {"RoleArn": access.role_arn, "RoleSessionName": "DeadlineSpotIamSetup"}
    if access.external_id:
        params["ExternalId"] = access.external_id
    creds = call(lambda: sts.assume_role(**params), "sts:AssumeRole", f"role {access.role_arn}")["Credentials"]
    return _new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=access.region or session.region_name,
    )


class IamGateway:
    """Typed IAM/STS calls for one session. One IAM client, reused and shared by threads. Made by
    :func:`connect`; constructing one makes no network call."""

    def __init__(
        self,
        session: boto3.session.Session,
        access: AwsAccess | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.access = access or AwsAccess()
        self._session = session
        self._lock = threading.Lock()
        self._sts: Any = None
        self._account: str | None = None
        self._key_clients: dict[tuple[str, str], Any] = {}
        self._ec2_client: Any = None
        self._iam = _client(session, "iam", self.access)
        self._call = _Caller(self.access.timeouts, lambda: self.endpoint_description, cancelled)
        self._clock_offset: timedelta | None = None  # AWS's clock minus this machine's, from IAM's Date headers
        self._iam.meta.events.register("after-call.iam", self._read_server_date)

    def _read_server_date(self, http_response: Any = None, **_: Any) -> None:
        """Every IAM reply carries the server's time in its HTTP Date header (RFC 9110, 6.6.1): remember how far this
        machine's clock is from AWS's."""
        offset = server_clock_offset(getattr(http_response, "headers", None) or {}, datetime.now(timezone.utc))
        if offset is not None:
            self._clock_offset = offset

    def aws_now(self) -> datetime:
        """AWS's time now: this machine's clock corrected by the offset the last IAM reply showed (to the second);
        this machine's clock before any reply, or when the endpoint sends no Date header."""
        return datetime.now(timezone.utc) + (self._clock_offset or timedelta(0))

    @property
    def region(self) -> str:
        return _region(self._session, self.access)

    @property
    def credential_source(self) -> str | None:
        """Which provider of botocore's credential chain supplied this session's credentials ("explicit", "env",
        "shared-credentials-file", "assume-role", "iam-role" for an EC2 instance role...: the providers' METHOD in
        botocore/credentials.py). The chain resolved them when the IAM client was made: no call is made here."""
        try:
            credentials = self._session.get_credentials()
        except Exception:
            return None
        return getattr(credentials, "method", None) if credentials is not None else None

    @property
    def endpoint_description(self) -> str:
        """The IAM endpoint really in use (botocore resolves AWS_ENDPOINT_URL, config files and the partition)."""
        return str(self._iam.meta.endpoint_url)

    @property
    def partition(self) -> str:
        """The partition of the region in use, as botocore's endpoint data knows it (no call)."""
        try:
            return str(self._session.get_partition_for_region(self.region))
        except Exception:  # an unknown region: its endpoint would fail anyway; ask STS
            return self.caller_identity().partition

    def _read(self, fn: Callable[[], T], operation: str, subject: str) -> T | None:
        try:
            return self._call(fn, operation, subject)
        except NotFound:
            return None

    # -- reads --------------------------------------------------------------------------------------
    def caller_identity(self) -> CallerIdentity:
        with self._lock:
            if self._sts is None:
                self._sts = _client(self._session, "sts", self.access)
        answer = self._call(self._sts.get_caller_identity, "sts:GetCallerIdentity", "the caller")
        return CallerIdentity(account=answer["Account"], arn=answer["Arn"])

    @property
    def account(self) -> str:
        """The account of the credential in use (sts:GetCallerIdentity, asked once)."""
        if self._account is None:
            account = self.caller_identity().account
            with self._lock:
                self._account = account
        return self._account

    def _policy(self, arn: str, subject: str) -> PolicyInfo | None:
        def read_policy() -> tuple[str, dict[str, str]]:
            policy = self._iam.get_policy(PolicyArn=arn)["Policy"]
            return policy["DefaultVersionId"], {t["Key"]: t["Value"] for t in policy.get("Tags", [])}

        answer = self._read(read_policy, "iam:GetPolicy", subject)
        if answer is None:
            return None
        version, tags = answer
        document = self._read(
            lambda: parse_policy(
                self._iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            ),
            "iam:GetPolicyVersion",
            f"{subject} {version}",
        )
        if document is None:  # deleted between the two reads
            return None
        return PolicyInfo(arn, version, document, tags)

    def customer_policy(self, name: str, path: str) -> PolicyInfo | None:
        """A customer managed policy of this account, with its default version's document."""
        arn = f"arn:{self.partition}:iam::{self.account}:policy{path}{name}"
        return self._policy(arn, f"policy {name}")

    def managed_policy(self, name: str, path: str) -> PolicyInfo | None:
        """An AWS managed policy, with its default version's document."""
        return self._policy(f"arn:{self.partition}:iam::aws:policy{path}{name}", f"AWS managed policy {name}")

    def policy_version(self, arn: str, version: str) -> PolicyInfo | None:
        """One version of a managed policy, default or not (None: the policy or that version does not exist)."""
        document = self._read(
            lambda: parse_policy(
                self._iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            ),
            "iam:GetPolicyVersion",
            f"policy {arn} {version}",
        )
        return None if document is None else PolicyInfo(arn, version, document)

    def policy_versions(self, arn: str) -> tuple[tuple[str, bool], ...]:
        """(version id, is default) of every version of a managed policy, oldest first."""

        def read() -> tuple[tuple[str, bool], ...]:
            versions = self._iam.list_policy_versions(PolicyArn=arn)["Versions"]
            versions = sorted(versions, key=lambda v: int(str(v["VersionId"]).lstrip("v") or 0))  # v1, v2, ... in order
            return tuple((v["VersionId"], bool(v.get("IsDefaultVersion"))) for v in versions)

        return self._call(read, "iam:ListPolicyVersions", f"policy {arn}")

    def user_tags(self, name: str) -> dict[str, str] | None:
        return self._tags("ListUserTags", f"user {name}", UserName=name)

    def role_tags(self, name: str) -> dict[str, str] | None:
        return self._tags("ListRoleTags", f"role {name}", RoleName=name)

    def _tags(self, operation: str, subject: str, **params: str) -> dict[str, str] | None:
        def read() -> dict[str, str]:
            return {t["Key"]: t["Value"] for t in self._listed(operation, "Tags", **params)}

        return self._read(read, f"iam:{operation}", subject)

    def get_role(self, name: str) -> RoleInfo | None:
        def read() -> RoleInfo:
            role = self._iam.get_role(RoleName=name)["Role"]
            return RoleInfo(role["Arn"], role.get("Path", "/"), parse_policy(role.get("AssumeRolePolicyDocument")))

        return self._read(read, "iam:GetRole", f"role {name}")

    def get_user(self, name: str) -> str | None:
        """The user's ARN, or None when it does not exist."""
        return self._read(lambda: self._iam.get_user(UserName=name)["User"]["Arn"], "iam:GetUser", f"user {name}")

    def _attached(self, operation: str, subject: str, **params: str) -> frozenset[str] | None:
        def read() -> frozenset[str]:
            return frozenset(p["PolicyArn"] for p in self._listed(operation, "AttachedPolicies", **params))

        return self._read(read, f"iam:{operation}", subject)

    def attached_role_policies(self, role_name: str) -> frozenset[str] | None:
        return self._attached("ListAttachedRolePolicies", f"role {role_name}", RoleName=role_name)

    def attached_user_policies(self, user_name: str) -> frozenset[str] | None:
        return self._attached("ListAttachedUserPolicies", f"user {user_name}", UserName=user_name)

    def access_keys(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        def read() -> tuple[AccessKeyInfo, ...]:
            answer = self._iam.list_access_keys(UserName=user_name)
            return tuple(
                AccessKeyInfo(k["AccessKeyId"], k.get("Status") == "Active", k.get("CreateDate"))
                for k in answer["AccessKeyMetadata"]
            )

        return self._read(read, "iam:ListAccessKeys", f"user {user_name}")

    def _listed(self, operation: str, field_name: str, **params: str) -> list[Any]:
        """Every item of a paged IAM list (``Marker``/``IsTruncated``)."""
        method = getattr(self._iam, _snake(operation))
        items: list[Any] = []
        marker: str | None = None
        while True:
            answer = method(**params, **({"Marker": marker} if marker else {}))
            items.extend(answer[field_name])
            if not answer.get("IsTruncated"):
                return items
            marker = answer["Marker"]

    def _inline_policies(self, noun: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        """The inline policies of a user, role or group (``noun``: User, Role, Group), labelled."""
        params = {f"{noun}Name": name}
        subject = f"{noun.lower()} {name}"
        get = getattr(self._iam, f"get_{noun.lower()}_policy")
        names = self._read(
            lambda: self._listed(f"List{noun}Policies", "PolicyNames", **params), f"iam:List{noun}Policies", subject
        )
        documents = []
        for policy_name in names or ():

            def read(policy_name: str = policy_name) -> Any:
                return parse_policy(get(**params, PolicyName=policy_name)["PolicyDocument"])

            label = f"inline policy {policy_name} of {subject}"
            document = self._read(read, f"iam:Get{noun}Policy", label)
            if document is not None:
                documents.append((label, document))
        return documents

    def _group_policies(self, user_name: str) -> tuple[set[str], list[tuple[str, dict[str, Any]]]]:
        """The managed policies' ARNs and the inline documents of every group the user is in."""
        groups = self._read(
            lambda: [g["GroupName"] for g in self._listed("ListGroupsForUser", "Groups", UserName=user_name)],
            "iam:ListGroupsForUser",
            f"user {user_name}",
        )
        arns: set[str] = set()
        documents: list[tuple[str, dict[str, Any]]] = []
        for group in groups or ():
            arns |= self._attached("ListAttachedGroupPolicies", f"group {group}", GroupName=group) or frozenset()
            documents += self._inline_policies("Group", group)
        return arns, documents

    def principal_policies(self, principal: str, name: str, expected: tuple[str, ...] = ()) -> PrincipalPolicies | None:
        """Every policy document deciding what user or role ``name`` may do (``principal``: "user" or "role"), read
        in parallel rounds; None when it does not exist. The documents of the AWS managed policies ``expected`` to
        be attached (by name) are read at once, alongside the lists, and kept only if they are attached: a check
        then waits for two round trips, not three."""
        noun = "User" if principal == "user" else "Role"
        params = {f"{noun}Name": name}
        subject = f"{principal} {name}"

        def head() -> tuple[str, str | None, str | None, tuple[tuple[str, str], ...]]:
            # GetUser / GetRole answer the entity's unique ID and its tags too (aws:userid, aws:PrincipalTag/*).
            entity = getattr(self._iam, f"get_{principal}")(**params)[noun]
            boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            tags = tuple((str(t["Key"]), str(t["Value"])) for t in entity.get("Tags") or ())
            return entity["Arn"], boundary, entity.get(f"{noun}Id"), tags

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="iam-policies") as pool:
            found = pool.submit(self._read, head, f"iam:Get{noun}", subject)
            attached = pool.submit(self._attached, f"ListAttached{noun}Policies", subject, **params)
            inline = pool.submit(self._inline_policies, noun, name)
            groups = pool.submit(self._group_policies, name) if principal == "user" else None
            early = {
                arn: pool.submit(self._labelled_policy, arn)
                for arn in (f"arn:{self.partition}:iam::aws:policy/{policy}" for policy in expected)
            }
            answer = found.result()
            arns = set(attached.result() or ())
            documents = list(inline.result())
            if groups is not None:
                group_arns, group_documents = groups.result()
                arns |= group_arns
                documents += group_documents
            if answer is None:
                return None
            arn, boundary_arn, principal_id, tags = answer
            managed = [
                (policy_arn, early.get(policy_arn) or pool.submit(self._labelled_policy, policy_arn))
                for policy_arn in sorted(arns)
            ]
            boundary = pool.submit(self._labelled_policy, boundary_arn) if boundary_arn else None
            results = [future.result() for _, future in managed]
            documents += [document for document in results if document is not None]
            boundary_document = boundary.result() if boundary is not None else None
        if boundary_document is not None:
            boundary_document = (f"permissions boundary {boundary_document[0]}", boundary_document[1])
        if boundary_arn and boundary_document is None:  # a boundary that does not exist allows nothing
            boundary_document = (f"permissions boundary {boundary_arn} (does not exist)", {})
        return PrincipalPolicies(arn, tuple(documents), boundary_document, frozenset(arns), principal_id, tags)

    def _labelled_policy(self, arn: str) -> tuple[str, dict[str, Any]] | None:
        aws_managed = ":iam::aws:policy/" in arn
        name = arn.rsplit("/", 1)[-1]
        info = self._policy(arn, f"{'AWS managed ' if aws_managed else ''}policy {name}")
        if info is None:
            return None
        return f"{'AWS managed ' if aws_managed else ''}policy {name} {info.default_version}", info.document

    def _ec2(self) -> Any:
        with self._lock:
            if self._ec2_client is None:
                self._ec2_client = _client(self._session, "ec2", self.access)
            return self._ec2_client

    def _template_profile(self, template: TemplateRef) -> ProfileRef | str | None:
        """The instance profile a launch template version names; None: it names none; a string: why it could not
        be read."""
        params: dict[str, Any] = {"Versions": [template.version]}
        if template.template_id:
            params["LaunchTemplateId"] = template.template_id
        else:
            params["LaunchTemplateName"] = template.template_name
        try:
            versions = self._call(
                lambda: self._ec2().describe_launch_template_versions(**params)["LaunchTemplateVersions"],
                "ec2:DescribeLaunchTemplateVersions",
                template.describe(),
            )
        except AccessDenied:
            return "the credential in use may not read launch templates (ec2:DescribeLaunchTemplateVersions)"
        except NotFound:
            return f"it does not exist in region {self.region}"
        except Cancelled:
            raise
        except AwsAccessError as error:
            return f"it could not be read in region {self.region} ({error})"
        if not versions:
            return f"it does not exist in region {self.region}"
        profile = versions[0].get("LaunchTemplateData", {}).get("IamInstanceProfile") or {}
        if not (profile.get("Arn") or profile.get("Name")):
            return None
        return ProfileRef(f"{template.describe()} IamInstanceProfile", profile.get("Arn"), profile.get("Name"))

    def fleet_lookups(self, profile_names: tuple[str, ...], templates: tuple[TemplateRef, ...]) -> FleetLookups:
        """What a Spot Fleet group names: its instance profiles (IAM) and its launch templates' profiles (EC2, in
        the region in use), read in parallel."""
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="fleet-read") as pool:
            found = {template: pool.submit(self._template_profile, template) for template in templates}
            template_profiles = {template: future.result() for template, future in found.items()}
            names = list(profile_names)
            for ref in template_profiles.values():
                name = ref.profile_name if isinstance(ref, ProfileRef) else None
                if name and name.lower() not in {n.lower() for n in names}:
                    names.append(name)
            profiles = {name: pool.submit(self.instance_profile, name) for name in names}
            return FleetLookups({name: future.result() for name, future in profiles.items()}, template_profiles)

    def key_usage(self, access_key_id: str) -> KeyUsage:
        """When and by which service the key was last used (never: ``last_used`` None)."""

        def read() -> KeyUsage:
            answer = self._iam.get_access_key_last_used(AccessKeyId=access_key_id)["AccessKeyLastUsed"]
            return KeyUsage(answer.get("LastUsedDate"), answer.get("ServiceName"), answer.get("Region"))

        return self._call(read, "iam:GetAccessKeyLastUsed", f"access key {access_key_id}")

    def access_keys_with_usage(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        """The user's keys; an active key old enough to be judged unused also says when it was last used (a key
        younger than KEY_UNUSED_LIMIT costs no extra call)."""
        keys = self.access_keys(user_name)
        if keys is None:
            return None
        cutoff = datetime.now(timezone.utc) - KEY_UNUSED_LIMIT
        return tuple(
            replace(key, usage=self.key_usage(key.access_key_id))
            if key.active and key.created is not None and as_utc(key.created) <= cutoff
            else key
            for key in keys
        )

    def instance_profile(self, name: str) -> ProfileInfo | None:
        def read() -> ProfileInfo:
            profile = self._iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
            roles = profile.get("Roles", [])
            return ProfileInfo(profile["Arn"], tuple(r["RoleName"] for r in roles), tuple(r["Arn"] for r in roles))

        return self._read(read, "iam:GetInstanceProfile", f"instance profile {name}")

    # -- writes -------------------------------------------------------------------------------------
    def write(self, operation: str, params: dict[str, Any], subject: str) -> dict[str, Any]:
        """Run an IAM write named by its API operation (``CreateRole``). Raises a SetupError, or NotFound,
        AlreadyExists and LimitExceeded for the caller to decide on."""
        method = getattr(self._iam, _snake(operation))
        return self._call(lambda: method(**params), f"iam:{operation}", subject)

    def create_access_key(self, user_name: str) -> NewAccessKey:
        """Raises ReplyLost when the call may have created a key whose reply never came."""

        def create() -> NewAccessKey:
            key = self._iam.create_access_key(UserName=user_name)["AccessKey"]
            return NewAccessKey(user_name, key["AccessKeyId"], key["SecretAccessKey"], key.get("CreateDate"))

        return self._call(create, "iam:CreateAccessKey", f"user {user_name}")

    def delete_access_key(self, user_name: str, access_key_id: str, cleanup: bool = False) -> None:
        """``cleanup``: deleting a key this run created and cannot hand over: done even once cancelled."""
        try:
            self._call(
                lambda: self._iam.delete_access_key(UserName=user_name, AccessKeyId=access_key_id),
                "iam:DeleteAccessKey",
                f"access key {access_key_id} of user {user_name}",
                cleanup,
            )
        except NotFound:
            pass

    def accepted_as(self, key: NewAccessKey) -> CallerIdentity | None:
        """Who AWS says ``key`` is (sts:GetCallerIdentity signed with it); None while AWS rejects it (a new key
        takes seconds to propagate)."""
        with self._lock:
            pair = (key.access_key_id, key.secret_access_key)  # the exact pair: the same ID with another secret is
            sts = self._key_clients.get(pair)  # another credential, which AWS must judge on its own
            if sts is None:
                session = _new_session(
                    aws_access_key_id=key.access_key_id,
                    aws_secret_access_key=key.secret_access_key,
                    region_name=self.region,
                )
                sts = self._key_clients[pair] = _client(session, "sts", self.access)
        try:
            answer = self._call(sts.get_caller_identity, "sts:GetCallerIdentity", "the new access key")
        except CredentialsRejected:
            return None
        return CallerIdentity(account=answer["Account"], arn=answer["Arn"])


def server_clock_offset(headers: Any, received: datetime) -> timedelta | None:
    """How far the server's clock (its HTTP Date header) is ahead of ``received``, this machine's time when the reply
    came; None without a readable Date header."""
    text = (headers.get("Date") or headers.get("date")) if hasattr(headers, "get") else None
    if not text:
        return None
    try:
        server = parsedate_to_datetime(str(text))
    except (TypeError, ValueError, IndexError):
        return None
    return as_utc(server) - received


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)

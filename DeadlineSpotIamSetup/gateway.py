"""The one place that talks to AWS: the IAM and STS calls of the Gateway protocol (:mod:`gateway_protocol`) over
boto3's clients, and :func:`connect`, which opens a session and makes one.

It turns boto3 answers into plain values (``None`` for "does not exist"); botocore's failures become one-line errors
of a type that says what happened (:mod:`aws_failures`), and every call is bounded in time (:mod:`aws_session`).
The permission chain's reader and the launch-template reader are parts of it, beside their users
(:mod:`permission_reads`, :mod:`launch_template_reads`). Nothing here logs or raises a secret.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import boto3
import botocore.exceptions

from . import old_botocore
from .aws_failures import _Caller, _one_line
from .aws_session import (
    AwsAccess,
    SettingNames,
    _assume_role,
    _check_endpoint_url,
    _client,
    _new_session,
    _redact_botocore_logs,
    _region,
    _region_in_use,
    _session,
)
from .errors import AwsAccessError, CredentialsRejected, NotFound
from .launch_template_reads import LaunchTemplateReads
from .permission_reads import PermissionChainReads
from .regions import check_region
from .trust import parse_policy
from .values import (
    AccessKeyInfo,
    CallerIdentity,
    KeyUsage,
    NewAccessKey,
    PolicyInfo,
    ProfileInfo,
    RoleInfo,
    as_utc,
)
from .waits import KEY_UNUSED_LIMIT

__all__ = ["AwsAccess", "IamGateway", "SettingNames", "connect", "server_clock_offset"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


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


class _SharedAnswers:
    """The answers of the list reads made while one observation runs, each asked once: a second reader of the same
    list (the Spot user's attached policies: its identity and the permission chain read them) waits for the first
    one's answer, or its error, instead of asking again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[Any, ...], Future[Any]] = {}

    def get(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        with self._lock:
            answer = self._answers.get(key)
            first = answer is None
            if answer is None:
                answer = self._answers[key] = Future()
        if first:
            try:
                answer.set_result(read())
            except BaseException as error:
                answer.set_exception(error)
        result: T = answer.result()  # bounded: the first reader's call has its deadline
        return result


class IamGateway(PermissionChainReads, LaunchTemplateReads):
    """Typed IAM/STS calls for one session. One IAM client, reused and shared by threads. Made by
    :func:`connect`; constructing one makes no network call. Whoever opens one closes it when its run ends
    (``with connect(...) as gateway``): :meth:`close` waits for the reads it started ahead of need."""

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
        self._shared: _SharedAnswers | None = None  # while an observation runs (sharing_reads)
        # A managed policy's version never changes once made ("To update a managed policy, you create a new policy
        # version", IAM API Reference, CreatePolicyVersion; a deleted version's identifier is not given again, IAM
        # User Guide, "Versioning IAM policies"), and a policy made again under the same name has a new PolicyId: its
        # documents by (ARN, PolicyId, version) are read once per gateway (the check after apply reads none again).
        self._versions: dict[tuple[str, str, str], Any] = {}
        self._ahead: list[Future[Any]] = []  # reads started before they were known to be needed (_read_ahead)

    def __enter__(self) -> IamGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for the reads started ahead of need that their caller did not wait for (each ends within its call's
        deadline, and none starts once ``cancelled`` answers True): a run that closes its gateway leaves no call of
        its own under way after it, in the process that ran it (RCS/Pulse's, a script's). The gateway holds nothing
        else to release, and can still be used."""
        with self._lock:
            ahead, self._ahead = self._ahead, []
        wait(ahead)

    def _read_ahead(self, reads: dict[K, Callable[[], T]]) -> dict[K, Future[T]]:
        """Start ``reads`` at once, each in a thread of its own, for a caller that waits only for those it turns out
        to need; :meth:`close` waits for the others."""
        if not reads:
            return {}
        pool = ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="iam-read-ahead")
        started = {key: pool.submit(read) for key, read in reads.items()}
        pool.shutdown(wait=False)  # no more reads: its threads end with these
        with self._lock:
            self._ahead = [future for future in self._ahead if not future.done()] + list(started.values())
        return started

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

    @contextmanager
    def sharing_reads(self) -> Iterator[None]:
        """Within it (one observation), a list several readers need is asked once and its answer shared; after it,
        every read asks IAM again (what apply changed is seen)."""
        if self._shared is not None:  # already sharing: the outer observation's answers hold
            yield
            return
        self._shared = _SharedAnswers()
        try:
            yield
        finally:
            self._shared = None

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
        def read_policy() -> tuple[str, dict[str, str], str | None]:
            policy = self._iam.get_policy(PolicyArn=arn)["Policy"]
            tags = {t["Key"]: t["Value"] for t in policy.get("Tags", [])}
            return policy["DefaultVersionId"], tags, policy.get("PolicyId")

        answer = self._read(read_policy, "iam:GetPolicy", subject)
        if answer is None:
            return None
        version, tags, policy_id = answer
        known = (arn, policy_id, version) if policy_id else None
        document = self._versions.get(known) if known else None
        if document is None:
            document = self._read(
                lambda: parse_policy(
                    self._iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
                ),
                "iam:GetPolicyVersion",
                f"{subject} {version}",
            )
            if document is None:  # deleted between the two reads
                return None
            if known:
                with self._lock:
                    self._versions[known] = document
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
        """Every item of a paged IAM list (``Marker``/``IsTruncated``); asked once per observation (sharing_reads)."""
        shared = self._shared
        if shared is not None:
            key = (operation, field_name, *sorted(params.items()))
            return list(shared.get(key, lambda: self._pages(operation, field_name, **params)))
        return self._pages(operation, field_name, **params)

    def _pages(self, operation: str, field_name: str, **params: str) -> list[Any]:
        method = getattr(self._iam, _snake(operation))
        items: list[Any] = []
        marker: str | None = None
        while True:
            answer = method(**params, **({"Marker": marker} if marker else {}))
            items.extend(answer[field_name])
            if not answer.get("IsTruncated"):
                return items
            marker = answer["Marker"]

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

"""An in-memory IAM and STS for one Spot user, behind the Gateway protocol (DeadlineSpotIamSetup/gateway_protocol.py,
which mypy holds it to: pyproject.toml's [tool.mypy] files).

The account holds that user, its access keys and its tags, and nothing else: every other read answers as IAM does
for what does not exist (None; NoSuchEntity for ListPolicyVersions), the AWS managed policies included, which it does
not model. The caller is the account's user ``caller``.

It models what AWS documents, not what the engine expects:
- at most two access keys per user (CreateAccessKey answers LimitExceeded beyond; IAM User Guide, "IAM object
  quotas": "Access keys assigned to an IAM user: 2");
- STS accepts a call only when it is signed with an existing, active key and that key's own secret (an inactive or
  deleted key: InvalidClientTokenId; another secret: SignatureDoesNotMatch);
- a key's last use is recorded at most once per 15 minutes ("When an access key is used more than once in a 15-minute
  span, only the first use is recorded": IAM User Guide, Getting credential reports), by service and region; STS's
  own calls count as uses of service "sts";
- AWS's clock (``now``) is the one clock: keys' CreateDate and last-used times are read from it, and every machine's
  gateway reads it the way the real one does, from the Date header of a reply (whole seconds), whatever that
  machine's own clock says.

Every call goes through ``intercept`` (a fault plan: a kill before or after the call, a lost reply, a racing run in
between), and every deactivation and deletion is logged with who made the key, for the invariants.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from DeadlineSpotIamSetup.errors import EndpointUnavailable, LimitExceeded, NotFound, ReplyLost
from DeadlineSpotIamSetup.fleet_config import TemplateRef
from DeadlineSpotIamSetup.gateway import server_clock_offset
from DeadlineSpotIamSetup.values import (
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
from DeadlineSpotIamSetup.waits import KEY_UNUSED_LIMIT

if TYPE_CHECKING:
    from DeadlineSpotIamSetup.gateway_protocol import Gateway

T = TypeVar("T")
USAGE_SPAN = timedelta(minutes=15)
CALL_TIME = timedelta(milliseconds=200)  # AWS's clock moves this much during each call


class Killed(BaseException):
    """The process died here: nothing after it runs, not even clean-up (a BaseException, as a kill is no error)."""


@dataclass
class FakeKey:
    access_key_id: str
    secret: str
    created: datetime
    made_by: str  # "project" or "admin": who really made it (the invariants' ground truth)
    active: bool = True
    last_used: datetime | None = None
    service: str | None = None
    region: str | None = None


@dataclass
class Change:
    """A deactivation or deletion of a key, as it happened."""

    operation: str
    access_key_id: str
    made_by: str
    at: datetime


@dataclass
class FakeIam:
    user: str
    now: datetime
    account: str = "123456789012"
    caller: str = "admin"  # the user whose credential the engine runs with
    region: str = "us-east-1"
    keys: dict[str, FakeKey] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    every_key: list[FakeKey] = field(default_factory=list)  # every key ever made, deleted ones included
    local_skew: timedelta = timedelta(0)  # how far the calling machine's clock is off AWS's
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    # Called with (operation, perform) for every gateway call; returns what perform returns (or raises).
    intercept: Callable[[str, Callable[[], Any]], Any] = lambda operation, perform: perform()

    # -- the world outside the gateway ----------------------------------------------------------------
    def new_key(self, made_by: str) -> FakeKey:
        if len(self.keys) >= 2:
            raise LimitExceeded(f"CreateAccessKey on user {self.user}: Cannot exceed quota for AccessKeysPerUser: 2")
        key_id = "AKIA" + "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
        secret = "".join(self.rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
        key = FakeKey(key_id, secret, self.now.replace(microsecond=0), made_by)
        self.keys[key_id] = key
        self.every_key.append(key)
        return key

    def accepts(self, access_key_id: str, secret: str) -> bool:
        key = self.keys.get(access_key_id)
        return key is not None and key.active and key.secret == secret

    def use(self, access_key_id: str, secret: str, service: str = "ec2", region: str = "us-west-2") -> bool:
        """A call signed with this pair; True when AWS accepted it. IAM records the use at most once per span."""
        key = self.keys.get(access_key_id)
        if key is None or not key.active or key.secret != secret:
            return False
        if key.last_used is None or self.now - key.last_used >= USAGE_SPAN:
            key.last_used, key.service, key.region = self.now.replace(microsecond=0), service, region
        return True

    def delete_by_hand(self, access_key_id: str) -> None:
        self.keys.pop(access_key_id, None)

    # -- the gateway's methods ------------------------------------------------------------------------
    def _call(self, operation: str, perform: Callable[[], T]) -> T:
        self.now += CALL_TIME
        answer: T = self.intercept(operation, perform)
        return answer

    def aws_now(self) -> datetime:
        """As the real gateway reads it (gateway.server_clock_offset): the calling machine's clock, off by
        ``local_skew``, corrected by the Date header of the last reply, which has whole seconds."""
        local = self.now + self.local_skew
        header = {"Date": format_datetime(self.now.replace(microsecond=0), usegmt=True)}
        offset = server_clock_offset(header, local)
        assert offset is not None
        return local + offset

    def _arn(self, user: str) -> str:
        return f"arn:aws:iam::{self.account}:user/{user}"

    def _of_user(self, operation: str, name: str, perform: Callable[[], T]) -> T | None:
        """A read of the user named ``name``: None when that is not the user this account holds (IAM: NoSuchEntity,
        which the gateway answers as None)."""
        if name != self.user:
            self._absent(operation)
            return None
        return self._call(operation, perform)

    @contextmanager
    def sharing_reads(self) -> Iterator[None]:
        """Each read is asked of the account as it is: no read here is made twice within an observation."""
        yield

    def access_keys(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        def keys() -> tuple[AccessKeyInfo, ...]:
            return tuple(AccessKeyInfo(k.access_key_id, k.active, k.created) for k in self.keys.values())

        return self._of_user("ListAccessKeys", user_name, keys)

    def access_keys_with_usage(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        """As the gateway reads them: an active key older than KEY_UNUSED_LIMIT says when it was last used."""
        keys = self.access_keys(user_name)
        if keys is None:
            return None
        cutoff = self.aws_now() - KEY_UNUSED_LIMIT
        return tuple(
            replace(key, usage=self.key_usage(key.access_key_id))
            if key.active and key.created is not None and as_utc(key.created) <= cutoff
            else key
            for key in keys
        )

    def user_tags(self, name: str) -> dict[str, str] | None:
        return self._of_user("ListUserTags", name, lambda: dict(self.tags))

    def get_user(self, name: str) -> str | None:
        return self._of_user("GetUser", name, lambda: self._arn(name))

    def attached_user_policies(self, user_name: str) -> frozenset[str] | None:
        return self._of_user("ListAttachedUserPolicies", user_name, frozenset)

    def principal_policies(self, principal: str, name: str, expected: tuple[str, ...] = ()) -> PrincipalPolicies | None:
        """The user, with no policy at all; no role exists."""
        if principal != "user":
            self._absent("GetRole")
            return None
        return self._of_user(
            "GetUser", name, lambda: PrincipalPolicies(self._arn(name), (), tags=tuple(sorted(self.tags.items())))
        )

    def get_role(self, name: str) -> RoleInfo | None:
        self._absent("GetRole")
        return None

    def role_tags(self, name: str) -> dict[str, str] | None:
        self._absent("ListRoleTags")
        return None

    def attached_role_policies(self, role_name: str) -> frozenset[str] | None:
        self._absent("ListAttachedRolePolicies")
        return None

    def instance_profile(self, name: str) -> ProfileInfo | None:
        self._absent("GetInstanceProfile")
        return None

    def customer_policy(self, name: str, path: str) -> PolicyInfo | None:
        self._absent("GetPolicy")
        return None

    def managed_policy(self, name: str, path: str) -> PolicyInfo | None:
        self._absent("GetPolicy")
        return None

    def policy_version(self, arn: str, version: str) -> PolicyInfo | None:
        self._absent("GetPolicyVersion")
        return None

    def policy_versions(self, arn: str) -> tuple[tuple[str, bool], ...]:
        def perform() -> tuple[tuple[str, bool], ...]:
            raise NotFound(f"policy {arn}")

        return self._call("ListPolicyVersions", perform)

    def fleet_lookups(self, profile_names: tuple[str, ...], templates: tuple[TemplateRef, ...]) -> FleetLookups:
        """No instance profile exists, and no launch template either (EC2's answer, as the gateway words it)."""
        profiles = {name: self.instance_profile(name) for name in profile_names}
        missing = f"it does not exist in region {self.region}"
        return FleetLookups(profiles, {template: missing for template in templates})

    def _absent(self, operation: str) -> None:
        """A read of something the account does not hold."""
        self._call(operation, lambda: None)

    def caller_identity(self) -> CallerIdentity:
        return self._call("GetCallerIdentity", lambda: CallerIdentity(self.account, self._arn(self.caller)))

    def key_usage(self, access_key_id: str) -> KeyUsage:
        def read() -> KeyUsage:
            key = self.keys.get(access_key_id)
            if key is None:
                raise NotFound(f"access key {access_key_id}")
            return KeyUsage(key.last_used, key.service or "N/A", key.region or "N/A")

        return self._call("GetAccessKeyLastUsed", read)

    def write(self, operation: str, params: dict[str, Any], subject: str) -> dict[str, Any]:
        def perform() -> dict[str, Any]:
            if operation == "TagUser":
                if len({**self.tags, **{t["Key"]: t["Value"] for t in params["Tags"]}}) > 50:
                    raise LimitExceeded("TagUser: a user has at most 50 tags")
                self.tags.update({t["Key"]: t["Value"] for t in params["Tags"]})
            elif operation == "UntagUser":
                for name in params["TagKeys"]:
                    self.tags.pop(name, None)
            elif operation == "UpdateAccessKey":
                key = self.keys.get(params["AccessKeyId"])
                if key is None:
                    raise NotFound(subject)
                if key.active and params["Status"] == "Inactive":
                    self.changes.append(Change("deactivate", key.access_key_id, key.made_by, self.now))
                key.active = params["Status"] == "Active"
            else:
                raise AssertionError(f"the rotation made an unexpected write: {operation}")
            return {}

        return self._call(operation, perform)

    def create_access_key(self, user_name: str) -> NewAccessKey:
        def perform() -> NewAccessKey:
            key = self.new_key("project")
            return NewAccessKey(user_name, key.access_key_id, key.secret, key.created)

        return self._call("CreateAccessKey", perform)

    def delete_access_key(self, user_name: str, access_key_id: str, cleanup: bool = False) -> None:
        def perform() -> None:
            key = self.keys.pop(access_key_id, None)
            if key is not None:
                self.changes.append(Change("delete", access_key_id, key.made_by, self.now))

        self._call("DeleteAccessKey", perform)

    def accepted_as(self, key: NewAccessKey) -> CallerIdentity | None:
        def perform() -> CallerIdentity | None:
            if not self.use(key.access_key_id, key.secret_access_key, "sts", "us-east-1"):
                return None
            return CallerIdentity(self.account, f"arn:aws:iam::{self.account}:user/{self.user}")

        return self._call("GetCallerIdentity", perform)


def lost_reply(operation: str) -> Exception:
    """What the gateway raises when AWS acted but the reply never came: ReplyLost for CreateAccessKey (never
    retried), the endpoint's silence for an idempotent call once its retries ran out."""
    if operation == "CreateAccessKey":
        return ReplyLost(f"iam:{operation}")
    return EndpointUnavailable(f"the AWS endpoint did not answer ({operation})")


if TYPE_CHECKING:

    def _implements_the_gateway(fake: FakeIam) -> Gateway:
        return fake  # mypy: FakeIam has every method of the Gateway protocol, with its signature

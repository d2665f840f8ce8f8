"""Plain values the engine passes around: what IAM answered, and a new access key. No AWS here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


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
    role_arns: tuple[str, ...] = ()  # the roles' ARNs, their paths included (empty: not read)


def as_utc(moment: datetime) -> datetime:
    """``moment`` with a time zone: a naive time (as some endpoints answer) is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class KeyUsage:
    """When and where an access key was last used (IAM's GetAccessKeyLastUsed); ``last_used`` None: never."""

    last_used: datetime | None
    service: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AccessKeyInfo:
    access_key_id: str
    active: bool
    created: datetime | None
    usage: KeyUsage | None = None  # None: not looked up


@dataclass(frozen=True)
class NewAccessKey:
    """A freshly created key. The secret is excluded from repr so it never lands in a log by accident."""

    user_name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    created: datetime | None = None


@dataclass(frozen=True)
class PolicyInfo:
    """A managed policy and the document of its default version."""

    arn: str
    default_version: str
    document: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PrincipalPolicies:
    """Every policy document that decides what a user or role may do: its managed policies (default versions), its
    inline policies, for a user its groups' policies, and its permissions boundary (``boundary`` None: none).
    Each document comes with a label naming where it is (``AWS managed policy X v3``), and the principal's unique
    ID and tags (what aws:userid and aws:PrincipalTag/* hold in its requests)."""

    arn: str
    policies: tuple[tuple[str, dict[str, Any]], ...]
    boundary: tuple[str, dict[str, Any]] | None = None
    attached: frozenset[str] = frozenset()  # the managed policies' ARNs, the user's groups' included
    principal_id: str | None = None  # the user's UserId or the role's RoleId
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FleetLookups:
    """What IAM and EC2 hold for what a Spot Fleet group names: each instance profile by name (None: it does not
    exist), and each launch template's instance profile (a ProfileRef, None when it names none, or why it could
    not be read)."""

    profiles: dict[str, Any]
    templates: dict[Any, Any]


@dataclass(frozen=True)
class Observed:
    """What IAM holds for one identity. ``exists`` False means IAM answered NoSuchEntity."""

    exists: bool
    attached: frozenset[str] = frozenset()
    role: RoleInfo | None = None
    profile: ProfileInfo | None = None
    keys: tuple[AccessKeyInfo, ...] = ()
    tags: dict[str, str] | None = None  # the identity's tags, where its handler reads them
    policy: PolicyInfo | None = None  # a customer managed policy (a policy copy)
    source: PolicyInfo | None = None  # the AWS managed policy a copy is made from
    origin: PolicyInfo | None = None  # that policy at the version the copy's record names, when not the default one
    grants: PrincipalPolicies | None = None  # the Spot credentials' policy documents
    found: FleetLookups | None = None  # what a Spot Fleet group names


@dataclass(frozen=True)
class Observation:
    """What IAM holds for every desired identity, keyed by the identity."""

    observed: dict[Any, Observed]

    def __getitem__(self, identity: Any) -> Observed:
        return self.observed[identity]

    def _arns(self) -> list[str]:
        """Every ARN IAM returned for the desired identities."""
        arns: list[str] = []
        for seen in self.observed.values():
            for info in (seen.role, seen.profile, seen.policy, seen.grants):
                if info is not None:
                    arns.append(info.arn)
            arns.extend(sorted(seen.attached))
        return arns

    @property
    def account(self) -> str | None:
        """The account, when an ARN of the account's own IAM entities tells it (not ``iam::aws:`` ones)."""
        for arn in self._arns():
            account = arn.split(":")[4] if arn.count(":") >= 5 else ""
            if account.isascii() and account.isdigit():
                return account
        return None

    @property
    def partition(self) -> str | None:
        """The partition, when any ARN IAM returned tells it."""
        for arn in self._arns():
            if arn.startswith("arn:"):
                return arn.split(":", 2)[1]
        return None

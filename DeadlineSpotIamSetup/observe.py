"""Read-only inspection: what IAM holds for each desired identity.

Every identity is read by name (cost independent of the account's size; nothing is listed account-wide),
and all reads run in one parallel round on one shared client.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .desired import (
    AccessKey,
    CredentialsRole,
    DesiredState,
    Identity,
    InstanceProfile,
    ServiceLinkedRole,
    ServiceRole,
    SpotUser,
)
from .gateway import AccessKeyInfo, IamGateway, ProfileInfo, RoleInfo


@dataclass(frozen=True)
class Observed:
    """What IAM holds for one identity. ``exists`` False means IAM answered NoSuchEntity."""

    exists: bool
    attached: frozenset[str] = frozenset()
    role: RoleInfo | None = None
    profile: ProfileInfo | None = None
    keys: tuple[AccessKeyInfo, ...] = ()


@dataclass(frozen=True)
class Observation:
    observed: dict[Identity, Observed]

    def __getitem__(self, identity: Identity) -> Observed:
        return self.observed[identity]

    @property
    def partition(self) -> str | None:
        """The partition, when any ARN IAM returned tells it (saves an sts:GetCallerIdentity)."""
        for seen in self.observed.values():
            for arn in [
                seen.role.arn if seen.role else None,
                seen.profile.arn if seen.profile else None,
                *sorted(seen.attached),
            ]:
                if arn and arn.startswith("arn:"):
                    return arn.split(":", 2)[1]
        return None


# (field of Observed, read) pairs per identity; a None answer means "does not exist".
Read = tuple[str, Callable[[], Any]]


def _reads(gateway: IamGateway, identity: Identity) -> list[Read]:
    if isinstance(identity, SpotUser):
        return [("attached", lambda: gateway.attached_user_policies(identity.name))]
    if isinstance(identity, AccessKey):
        return [("keys", lambda: gateway.access_keys(identity.user_name))]
    if isinstance(identity, CredentialsRole):
        return [("attached", lambda: gateway.attached_role_policies(identity.name))]
    if isinstance(identity, ServiceRole):
        return [
            ("role", lambda: gateway.get_role(identity.name)),
            ("attached", lambda: gateway.attached_role_policies(identity.name)),
        ]
    if isinstance(identity, InstanceProfile):
        return [("profile", lambda: gateway.instance_profile(identity.name))]
    if isinstance(identity, ServiceLinkedRole):
        return [("role", lambda: gateway.get_role(identity.name))]
    raise TypeError(f"unknown identity {identity!r}")


def observe(gateway: IamGateway, desired: DesiredState) -> Observation:
    """Read every identity in one parallel round. Raises the first error (in identity order), if any."""
    jobs = [(identity, field_name, read) for identity in desired for field_name, read in _reads(gateway, identity)]
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="iam-read") as pool:
        futures = [(identity, field_name, pool.submit(read)) for identity, field_name, read in jobs]
        answers: dict[Identity, dict[str, Any]] = {identity: {} for identity in desired}
        for identity, field_name, future in futures:
            answers[identity][field_name] = future.result()
    observed = {}
    for identity, fields in answers.items():
        # A role needs GetRole to exist (its trust); other kinds exist when their one read answered.
        primary = "role" if "role" in fields else next(iter(fields))
        if fields[primary] is None:
            observed[identity] = Observed(False)
        else:
            observed[identity] = Observed(True, **{k: v for k, v in fields.items() if v is not None})
    return Observation(observed)

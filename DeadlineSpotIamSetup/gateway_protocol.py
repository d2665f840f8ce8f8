"""What the engine asks of the one module that talks to AWS: the :class:`Gateway` protocol.

apply, observe, the key rotation and the handlers are given a gateway and know it by this protocol only;
:class:`gateway.IamGateway` implements it over boto3, and the tests' in-memory IAM (tests/support/fake_iam.py) without
AWS. A type checker (mypy, in ``make lint``) holds both to it, and holds every call the engine makes to its methods.

Each method answers plain values (:mod:`values`), None for "does not exist", and raises the one-line errors of
:mod:`errors`. At run time this module defines a plain class (``typing.Protocol`` is Python 3.8+, and the event
plugin's path runs on Python 3.7), so that tests can still look at the protocol's methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from datetime import datetime
    from typing import Literal, Protocol

    from .fleet_config import TemplateRef
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
    )

    # The gateway's reads a handler may name in a findings.Read (observe calls them by name, in parallel rounds).
    ReadName = Literal[
        "get_user",
        "get_role",
        "user_tags",
        "role_tags",
        "attached_user_policies",
        "attached_role_policies",
        "access_keys_with_usage",
        "instance_profile",
        "customer_policy",
        "managed_policy",
        "policy_version",
        "principal_policies",
        "fleet_lookups",
    ]
else:  # a plain class at run time: the protocol is the type checker's
    Protocol = object


class Gateway(Protocol):
    """The IAM and STS calls of the engine, each bounded in time and translated into :mod:`errors`."""

    # -- reads (None: it does not exist) ------------------------------------------------------------
    def get_user(self, name: str) -> str | None:
        """The user's ARN."""

    def get_role(self, name: str) -> RoleInfo | None:
        """The role's ARN, path and trust policy."""

    def user_tags(self, name: str) -> dict[str, str] | None:
        """The user's tags."""

    def role_tags(self, name: str) -> dict[str, str] | None:
        """The role's tags."""

    def attached_user_policies(self, user_name: str) -> frozenset[str] | None:
        """The ARNs of the managed policies attached to the user."""

    def attached_role_policies(self, role_name: str) -> frozenset[str] | None:
        """The ARNs of the managed policies attached to the role."""

    def access_keys(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        """The user's access keys."""

    def access_keys_with_usage(self, user_name: str) -> tuple[AccessKeyInfo, ...] | None:
        """The user's access keys; an active one old enough to be judged unused says when it was last used."""

    def key_usage(self, access_key_id: str) -> KeyUsage:
        """When, and by which service, the key was last used."""

    def instance_profile(self, name: str) -> ProfileInfo | None:
        """The instance profile's ARN and roles."""

    def customer_policy(self, name: str, path: str) -> PolicyInfo | None:
        """A customer managed policy of this account, with its default version's document."""

    def managed_policy(self, name: str, path: str) -> PolicyInfo | None:
        """An AWS managed policy, with its default version's document."""

    def policy_version(self, arn: str, version: str) -> PolicyInfo | None:
        """One version of a managed policy, default or not."""

    def policy_versions(self, arn: str) -> tuple[tuple[str, bool], ...]:
        """(version ID, is default) of every version of a managed policy, oldest first."""

    def principal_policies(self, principal: str, name: str, expected: tuple[str, ...] = ()) -> PrincipalPolicies | None:
        """Every policy document deciding what user or role ``name`` may do (``principal``: "user" or "role")."""

    def fleet_lookups(self, profile_names: tuple[str, ...], templates: tuple[TemplateRef, ...]) -> FleetLookups:
        """What Spot Fleet groups name: instance profiles, and the profiles their launch templates name."""

    def sharing_reads(self) -> AbstractContextManager[None]:
        """Within it (one observation), a list several reads need (the Spot user's attached policies: its identity
        and the permission chain) is asked once and its answer shared; after it, every read asks again."""

    def caller_identity(self) -> CallerIdentity:
        """Who the credential in use is (sts:GetCallerIdentity)."""

    def aws_now(self) -> datetime:
        """AWS's time now, as its replies tell it."""

    # -- writes -------------------------------------------------------------------------------------
    def write(self, operation: str, params: dict[str, Any], subject: str) -> dict[str, Any]:
        """The IAM write named by its API operation (``CreateRole``) with its boto3 parameters."""

    def create_access_key(self, user_name: str) -> NewAccessKey:
        """A new access key, with its secret; ReplyLost when the call may have made a key whose reply never came."""

    def delete_access_key(self, user_name: str, access_key_id: str, cleanup: bool = False) -> None:
        """Delete the key (gone already: done); ``cleanup``: undoing this run's own work, done even once cancelled."""

    def accepted_as(self, key: NewAccessKey) -> CallerIdentity | None:
        """Who AWS says ``key`` is (sts:GetCallerIdentity signed with it); None while AWS rejects it."""

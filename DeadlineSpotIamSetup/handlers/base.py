"""What every identity handler is: the reads a kind needs, how it is planned, what apply does for its
actions, and which permissions those calls need.

The observer, the planner, the executor and the bootstrap-policy renderer know no kind: they iterate over
:data:`handlers.HANDLERS`. Adding a kind is one module here plus its registration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..desired import CreationOptions, Identity, ManagedPolicy
from ..errors import AlreadyExists, AwsAccessError, LimitExceeded
from ..findings import Action, Draft, PlanContext, Read, Stage
from ..kinds import Kind
from ..values import NewAccessKey, Observed


class ApplyRun(Protocol):
    """What a handler may use while apply runs one of its actions (implemented by apply's executor)."""

    gateway: Any
    result: Any

    def write(self, action: Action) -> dict[str, Any]:
        """The action's IAM write, retrying NoSuchEntity while IAM catches up with earlier stages."""

    def wait_until_shown(self, action: Action) -> None:
        """Bounded wait until the action's ``shows_up`` read answers."""

    def cancelled(self) -> bool:
        """True once the caller asked the run to stop: start nothing new."""

    def deliver(self, key: NewAccessKey) -> str:
        """Hand a new key to the key sink (deleting it again if that fails); returns the line to report."""


@dataclass
class Permissions:
    """Collects the bootstrap policy's statements, resources scoped to one partition and account."""

    partition: str
    account: str
    options: CreationOptions
    statements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def iam(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}"

    def anywhere(self, resource_type: str, name: str) -> list[str]:
        """``type/NAME`` at the root and under any path: check must be able to read an identity an admin put
        under another path, to report it, rather than fail with AccessDenied."""
        return [f"{self.iam}:{resource_type}/{name}", f"{self.iam}:{resource_type}/*/{name}"]

    def allow(
        self, sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
    ) -> None:
        statement: dict[str, Any] = {
            "Sid": "".join(ch for ch in sid.title() if ch.isalnum()),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": resources,
        }
        if condition:
            statement["Condition"] = condition
        self.statements.append(statement)

    def attach_condition(self, policies: tuple[ManagedPolicy, ...]) -> dict[str, Any]:
        return {"ArnEquals": {"iam:PolicyARN": [p.arn(self.partition) for p in policies]}}

    @property
    def tagging(self) -> bool:
        return bool(self.options.tags)

    def boundary_condition(self) -> dict[str, Any] | None:
        boundary = self.options.permissions_boundary
        return {"StringEquals": {"iam:PermissionsBoundary": boundary}} if boundary else None


class Handler:
    """Base of every handler. ``kind`` names the kind it handles, ``identity_type`` the desired-state class."""

    kind: Kind
    identity_type: type

    def reads(self, identity: Any) -> tuple[Read, ...]:
        """What observe reads for this identity; the identity exists when the first read answers."""
        raise NotImplementedError

    def plan(self, identity: Any, seen: Observed, draft: Draft, context: PlanContext) -> None:
        """Add this identity's problems, actions and manual steps to ``draft``. Pure."""
        raise NotImplementedError

    def permissions(self, identity: Any, policy: Permissions) -> None:
        """Add the statements that every read and write of this identity needs."""
        raise NotImplementedError

    def execute(self, action: Action, run: ApplyRun) -> str:
        """Run one of this handler's actions; returns the line that says what was done. The default: the write,
        EntityAlreadyExists as success (a racing run made it), then a bounded wait until IAM shows it."""
        try:
            run.write(action)
        except AlreadyExists:
            line = f"{action.summary}: already there (created by another run)"
        except LimitExceeded as error:
            return self.limit_exceeded(action, run, error)
        else:
            line = action.summary
        run.wait_until_shown(action)
        return line

    def limit_exceeded(self, action: Action, run: ApplyRun, error: LimitExceeded) -> str:
        raise AwsAccessError(f"{action.summary} failed: IAM limit reached ({error})") from None


def missing_policies(policies: tuple[ManagedPolicy, ...], attached: frozenset[str]) -> list[ManagedPolicy]:
    return [p for p in policies if not any(p.matches(arn) for arn in attached)]


def creation_extras(options: CreationOptions, boundary: bool = True) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if boundary and options.permissions_boundary:
        extras["PermissionsBoundary"] = options.permissions_boundary
    if options.tags:
        extras["Tags"] = options.tag_list()
    return extras


def plan_attachments(
    draft: Draft,
    operation: str,
    name_param: str,
    identity: Identity,
    policies: tuple[ManagedPolicy, ...],
    seen: Observed,
    partition: str,
    noun: str,
) -> None:
    """Attach every policy that is not attached yet (AttachUserPolicy / AttachRolePolicy)."""
    for policy in missing_policies(policies, seen.attached):
        if draft.exists:
            draft.problems.append(f"policy {policy.name} is not attached")
        draft.act(
            operation,
            {name_param: identity.name, "PolicyArn": policy.arn(partition)},
            f"attach {policy.name} to {noun} {identity.name}",
            Stage.CONFIGURE,
        )


Sleep = Callable[[float], None]

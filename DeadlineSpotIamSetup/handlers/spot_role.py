"""An existing role used as the Spot credentials instead of a user (e.g. the RCS machine's instance role).

It is never created: only its owner knows who should assume it. Missing admin policies are attached.
"""

from __future__ import annotations

from ..desired import CredentialsRole
from ..findings import Draft, PlanContext, Read
from ..kinds import Kind
from ..values import Observed
from .base import Handler, Permissions, plan_attachments


class SpotRoleHandler(Handler):
    kind = Kind.SPOT_ROLE
    identity_type = CredentialsRole

    def reads(self, identity: CredentialsRole) -> tuple[Read, ...]:
        return (Read("attached", "attached_role_policies", (identity.name,)),)

    def plan(self, identity: CredentialsRole, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists:
            draft.needs_admin(
                "role does not exist",
                "create it with a trust policy for the machine running RCS/Pulse, or choose an existing role",
            )
            return
        plan_attachments(
            draft, "AttachRolePolicy", "RoleName", identity, identity.policies, seen, context.partition, "role"
        )

    def permissions(self, identity: CredentialsRole, policy: Permissions) -> None:
        role = policy.anywhere("role", identity.name)
        policy.allow("spot credentials role", ["iam:GetRole", "iam:ListAttachedRolePolicies"], role)
        policy.allow(
            "spot credentials role policies", ["iam:AttachRolePolicy"], role, policy.attach_condition(identity.policies)
        )

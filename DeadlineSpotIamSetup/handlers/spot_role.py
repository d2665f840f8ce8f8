"""An existing role used as the Spot credentials instead of a user (e.g. the RCS machine's instance role).

It is never created: only its owner knows who should assume it. Missing admin policies (or, in the
IP-restricted mode, their copies) are attached.
"""

from __future__ import annotations

from ..desired import CredentialsRole
from ..findings import Draft, PlanContext, Read
from ..kinds import Kind
from ..values import Observed
from .base import ATTACHED_TAG_PREFIX, ROLE_ATTACHMENTS, Handler, Permissions, plan_attachments, plan_copies


class SpotRoleHandler(Handler):
    kind = Kind.SPOT_ROLE
    identity_type = CredentialsRole

    def reads(self, identity: CredentialsRole) -> tuple[Read, ...]:
        reads = (Read("attached", "attached_role_policies", (identity.name,)),)
        if identity.replaced:
            reads += (Read("tags", "role_tags", (identity.name,)),)
        return reads

    def plan(self, identity: CredentialsRole, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists:
            draft.needs_admin(
                "role does not exist",
                "create it with a trust policy for the machine running RCS/Pulse, or choose an existing role",
            )
            return
        plan_attachments(draft, ROLE_ATTACHMENTS, identity, identity.policies, seen, context.partition, record=True)
        plan_copies(draft, ROLE_ATTACHMENTS, identity, identity.copies, identity.replaced, seen, context)

    def permissions(self, identity: CredentialsRole, policy: Permissions) -> None:
        role = policy.anywhere("role", identity.name)
        policy.allow("spot credentials role", ["iam:GetRole", "iam:ListAttachedRolePolicies"], role)
        policy.allow(
            "spot credentials role tags", ["iam:TagRole"], role, policy.tag_keys_condition([ATTACHED_TAG_PREFIX + "*"])
        )
        policy.allow(
            "spot credentials role policies",
            ["iam:AttachRolePolicy"],
            role,
            policy.attach_condition(identity.policies + identity.replaced, identity.copies),
        )
        if identity.replaced:
            policy.allow("spot credentials role read tags", ["iam:ListRoleTags"], role)
            policy.allow(
                "spot credentials role replaced policies",
                ["iam:DetachRolePolicy"],
                role,
                policy.attach_condition(identity.replaced),
            )

"""An existing role used as the Spot credentials instead of a user (e.g. the RCS machine's instance role).

It is never created: only its owner knows who should assume it. Missing admin policies (or, in the
IP-restricted mode, their copies) are attached.
"""

from __future__ import annotations

from ..desired import CredentialsRole
from ..findings import Draft, PlanContext, Read
from ..kinds import Kind
from ..template_parts import TemplateParts, any_name_parameter
from ..values import Observed
from .base import ROLE_ATTACHMENTS, Handler, Permissions, attachment_permissions, plan_attachments, plan_copies


class SpotRoleHandler(Handler):
    kind = Kind.SPOT_ROLE
    identity_type = CredentialsRole

    def reads(self, identity: CredentialsRole) -> tuple[Read, ...]:
        reads: tuple[Read, ...] = (Read("attached", "attached_role_policies", (identity.name,)),)
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
        attachment_permissions(policy, ROLE_ATTACHMENTS, "spot credentials role", role, identity)

    # The Parameter naming the role, when the template attaches the policy copies to it.
    NAME_PARAMETER = "SpotRoleName"

    def cloudformation_names(self, identity: CredentialsRole, template: TemplateParts) -> None:
        if identity.copies:
            template.existing_role_parameter = self.NAME_PARAMETER

    def cloudformation(self, identity: CredentialsRole, template: TemplateParts) -> None:
        template.description.append("The Spot credentials role is not created: see Metadata.")
        if identity.copies:
            template.parameters[self.NAME_PARAMETER] = any_name_parameter(
                "The existing role used as the Spot credentials (not created here): the policy copies are attached "
                "to it",
                identity.name,
            )
            template.notes.append(
                f"spot-role {identity.name}: not created (an existing role; only its owner knows who may assume it); "
                "the IP-restricted policy copies are attached to it by their Roles property, so it must exist in every "
                "account the stack is deployed to"
            )
        else:
            names = ", ".join(policy.name for policy in identity.policies)
            template.notes.append(
                f"spot-role {identity.name}: not created (an existing role; only its owner knows who may assume it), "
                f"and its policies are not attached (CloudFormation cannot attach a policy to a role it does not "
                f"create): attach {names} to it, or run `apply --spot-role {identity.name}`"
            )

"""The permission chain: whether the Spot credentials' policies allow what the Spot Event Plugin does to start a
fleet (request it, pass the worker and fleet roles, read the instance profile, launch, tag and stop its instances),
for the names configured here, each EC2 call asked about on every resource IAM authorizes it on, with what the check
knows of the plugin's requests (:mod:`permission_chain`). Judged from the policy documents themselves (managed
policies' default versions, inline and group policies, the permissions boundary), so a custom role name the policies
do not cover, a hand-edited copy, a condition the plugin's calls do not meet or a Deny fails at check time, naming the
call and what refuses it; a verdict that hangs on what the check cannot know names the condition. Service control
policies are out of sight of an account's IAM: ``check --verify-ec2`` asks EC2 itself."""

from __future__ import annotations

from ..desired import SpotPermissions
from ..findings import Draft, PlanContext, Read
from ..kinds import Kind
from ..permission_chain import Judge, caller_of, chain_steps, unattached
from ..template_parts import TemplateParts
from ..values import Observed
from .base import Handler, Permissions, report_judged


class SpotPermissionsHandler(Handler):
    kind = Kind.PERMISSIONS
    identity_type = SpotPermissions

    def reads(self, identity: SpotPermissions) -> tuple[Read, ...]:
        return (Read("grants", "principal_policies", (identity.principal, identity.name, identity.aws_managed)),)

    def plan(self, identity: SpotPermissions, seen: Observed, draft: Draft, context: PlanContext) -> None:
        grants = seen.grants
        if grants is None:
            draft.problems.append(f"the Spot credentials ({identity.principal} {identity.name}) do not exist yet")
            return
        missing = unattached(identity, grants)
        if missing:  # the Spot credentials' finding reports it, and apply attaches them; judge the chain after that
            draft.problems.append(f"judged once {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} attached")
            return
        caller = caller_of(identity, grants, context.region, context.now)
        report_judged(draft, Judge(grants).steps(chain_steps(identity, caller)), identity)

    def permissions(self, identity: SpotPermissions, policy: Permissions) -> None:
        principal = policy.anywhere(identity.principal, identity.name)
        noun = "User" if identity.principal == "user" else "Role"
        actions = [f"iam:Get{noun}", f"iam:ListAttached{noun}Policies", f"iam:List{noun}Policies"]
        actions.append(f"iam:Get{noun}Policy")
        if identity.principal == "user":
            actions.append("iam:ListGroupsForUser")
        policy.allow("spot permissions", actions, principal)
        if identity.principal == "user":
            policy.allow(
                "spot permissions groups",
                ["iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies", "iam:GetGroupPolicy"],
                [f"{policy.iam}:group/*"],
            )
        # The documents of whatever managed policies are attached, and of a permissions boundary: this account's and
        # AWS's (account "aws"). Written with "*" for the account, which covers both (an IAM policy can be read only
        # in its own account, or AWS's) and which policy linters accept, unlike the literal "aws".
        policy.allow(
            "spot permissions documents",
            ["iam:GetPolicy", "iam:GetPolicyVersion"],
            [f"arn:{policy.partition}:iam::*:policy/*"],
        )

    def cloudformation(self, identity: SpotPermissions, template: TemplateParts) -> None:
        template.notes.append(
            f"spot-permissions {identity.name}: a check, nothing to create (`check` judges the permission chain)"
        )

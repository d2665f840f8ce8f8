"""The IAM user whose access key the Spot Event Plugin uses, with the two AWS managed admin policies."""

from __future__ import annotations

from ..desired import SpotUser
from ..findings import Draft, PlanContext, Read, Stage
from ..kinds import Kind
from ..values import Observed
from .base import Handler, Permissions, creation_extras, plan_attachments


class SpotUserHandler(Handler):
    kind = Kind.SPOT_USER
    identity_type = SpotUser

    def reads(self, identity: SpotUser) -> tuple[Read, ...]:
        # The attachment list answers NoSuchEntity for a missing user: one call tells both.
        return (Read("attached", "attached_user_policies", (identity.name,)),)

    def plan(self, identity: SpotUser, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists:
            draft.problems.append("user does not exist")
            draft.act(
                "CreateUser",
                {"UserName": identity.name, "Path": identity.path, **creation_extras(context.options)},
                f"create user {identity.name}",
                Stage.CREATE,
                shows_up=Read("user", "get_user", (identity.name,)),
            )
        plan_attachments(
            draft, "AttachUserPolicy", "UserName", identity, identity.policies, seen, context.partition, "user"
        )

    def permissions(self, identity: SpotUser, policy: Permissions) -> None:
        user = policy.anywhere("user", identity.name)
        actions = ["iam:GetUser", "iam:CreateUser", "iam:ListAttachedUserPolicies"]
        if policy.tagging:
            actions.append("iam:TagUser")
        policy.allow("spot user", actions, user)
        policy.allow("spot user policies", ["iam:AttachUserPolicy"], user, policy.attach_condition(identity.policies))
        boundary = policy.boundary_condition()
        if boundary:
            policy.allow("spot user boundary", ["iam:PutUserPermissionsBoundary"], user, boundary)

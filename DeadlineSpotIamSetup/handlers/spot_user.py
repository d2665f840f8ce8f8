"""The IAM user whose access key the Spot Event Plugin uses, with the two AWS managed admin policies (or, in
the IP-restricted mode, their customer managed copies)."""

from __future__ import annotations

from ..desired import SpotUser
from ..findings import Draft, PlanContext, Read, Stage, made
from ..key_records import KEY_RECORD_PREFIX, ROTATING_TAG
from ..kinds import Kind
from ..template_parts import TemplateParts, any_name_parameter, ref
from ..values import Observed
from .base import (
    USER_ATTACHMENTS,
    Handler,
    Permissions,
    attachment_permissions,
    creation_extras,
    plan_attachments,
    plan_copies,
)


class SpotUserHandler(Handler):
    kind = Kind.SPOT_USER
    identity_type = SpotUser

    def reads(self, identity: SpotUser) -> tuple[Read, ...]:
        # The attachment list answers NoSuchEntity for a missing user: one call tells both.
        reads: tuple[Read, ...] = (Read("attached", "attached_user_policies", (identity.name,)),)
        if identity.replaced:  # the IP-restricted mode: which AWS managed policies this project attached
            reads += (Read("tags", "user_tags", (identity.name,)),)
        return reads

    def plan(self, identity: SpotUser, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists:
            draft.problems.append("user does not exist")
            draft.act(
                "CreateUser",
                {"UserName": identity.name, "Path": identity.path, **creation_extras(context.options)},
                f"create user {identity.name}",
                Stage.CREATE,
                shows_up=Read("user", "get_user", (identity.name,)),
                makes=(made("user", identity.name),),
            )
        plan_attachments(draft, USER_ATTACHMENTS, identity, identity.policies, seen, context.partition, record=True)
        plan_copies(draft, USER_ATTACHMENTS, identity, identity.copies, identity.replaced, seen, context)

    def permissions(self, identity: SpotUser, policy: Permissions) -> None:
        user = policy.anywhere("user", identity.name)
        policy.allow("spot user", ["iam:GetUser", "iam:CreateUser", "iam:ListAttachedUserPolicies"], user)
        # The user also carries the records of its access keys (handlers/access_key.py, rotation.py).
        records = (KEY_RECORD_PREFIX + "*", ROTATING_TAG)
        attachment_permissions(policy, USER_ATTACHMENTS, "spot user", user, identity, records)
        boundary = policy.boundary_condition()
        if boundary:
            policy.allow("spot user boundary", ["iam:PutUserPermissionsBoundary"], user, boundary)

    def cloudformation(self, identity: SpotUser, template: TemplateParts) -> None:
        template.parameters["SpotUserName"] = any_name_parameter(
            "The IAM user whose access key the Spot Event Plugin uses", identity.name
        )
        arns = [template.managed_arn(policy) for policy in identity.policies]
        arns += [ref(template.policy_ids[policy_copy.name]) for policy_copy in identity.copies]
        template.resources["SpotUser"] = {
            "Type": "AWS::IAM::User",
            "Properties": {
                "UserName": ref("SpotUserName"),
                "Path": identity.path,
                "ManagedPolicyArns": arns,
                **template.extras(),
            },
        }
        template.outputs["SpotUserArn"] = {
            "Description": "The Spot Event Plugin's IAM user (its access key is not made here)",
            "Value": {"Fn::GetAtt": ["SpotUser", "Arn"]},
        }

"""A role assumed by an AWS service: the worker role (EC2), the Spot Fleet role, the Resource Tracker role
(Lambda). One handler per kind, all of this class."""

from __future__ import annotations

import json

from ..desired import ServiceRole
from ..findings import Draft, PlanContext, Read, Stage, made
from ..kinds import Kind
from ..trust import allows_service, denying_statements, service_trust_policy, trusted_services, with_service_trust
from ..values import Observed
from .base import ROLE_ATTACHMENTS, Handler, Permissions, creation_extras, plan_attachments


class ServiceRoleHandler(Handler):
    identity_type = ServiceRole

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    def reads(self, identity: ServiceRole) -> tuple[Read, ...]:
        return (
            Read("role", "get_role", (identity.name,)),
            Read("attached", "attached_role_policies", (identity.name,)),
        )

    def plan(self, identity: ServiceRole, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists:
            draft.problems.append("role does not exist")
            draft.act(
                "CreateRole",
                {
                    "RoleName": identity.name,
                    "AssumeRolePolicyDocument": json.dumps(service_trust_policy(identity.service)),
                    # Always at "/": the managed policies allow PassRole on role/NAME, which a role under a path
                    # (role/some/path/NAME) does not match.
                    "Path": "/",
                    "Description": identity.description,
                    **creation_extras(context.options),
                },
                f"create role {identity.name} trusted by {identity.service}",
                Stage.CREATE,
                shows_up=Read("role", "get_role", (identity.name,)),
                makes=(made("role", identity.name),),
            )
        else:
            assert seen.role is not None
            self._plan_trust(identity, seen, draft)
            if seen.role.path != "/":
                draft.needs_admin(
                    f"role is at path {seen.role.path}, so its ARN does not match the role/NAME pattern the AWS "
                    "managed policies allow iam:PassRole on",
                    "recreate it at path / (IAM cannot move a role)",
                )
        plan_attachments(draft, ROLE_ATTACHMENTS, identity, identity.policies, seen, context.partition)

    @staticmethod
    def _plan_trust(identity: ServiceRole, seen: Observed, draft: Draft) -> None:
        assert seen.role is not None
        trust, service = seen.role.trust, identity.service
        denials = denying_statements(trust, service)
        if denials:
            # IAM evaluates an explicit Deny first: no Allow apply could add would help, and the Deny is the
            # admin's, which apply never removes.
            draft.needs_admin(
                f"trust policy explicitly denies {service} sts:AssumeRole ({', '.join(denials)})",
                "remove that Deny from the role's trust policy (apply never removes an admin's statement)",
            )
            return
        if not allows_service(trust, service):
            others = ", ".join(sorted(trusted_services(trust))) or "no service"
            draft.problems.append(f"trust policy does not let {service} assume it (it trusts {others})")
            draft.act(
                "UpdateAssumeRolePolicy",
                {"RoleName": identity.name, "PolicyDocument": json.dumps(with_service_trust(trust, service))},
                f"add {service} to the trust policy of role {identity.name} (existing statements kept)",
                Stage.CREATE,
            )

    def permissions(self, identity: ServiceRole, policy: Permissions) -> None:
        role = policy.anywhere("role", identity.name)
        actions = ["iam:GetRole", "iam:CreateRole", "iam:ListAttachedRolePolicies", "iam:UpdateAssumeRolePolicy"]
        if policy.tagging:
            actions.append("iam:TagRole")
        policy.allow(str(self.kind), actions, role)
        policy.allow(
            f"{self.kind} policies", ["iam:AttachRolePolicy"], role, policy.attach_condition(identity.policies)
        )
        boundary = policy.boundary_condition()
        if boundary:
            policy.allow(f"{self.kind} boundary", ["iam:PutRolePermissionsBoundary"], role, boundary)

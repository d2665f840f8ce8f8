"""A role assumed by an AWS service: the worker role (EC2), the Spot Fleet role, the Resource Tracker role
(Lambda). One handler per kind, all of this class."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..desired import FLEET_ROLE_DEFAULT, TRACKER_ROLE_PREFIX, WORKER_ROLE_PREFIX, ServiceRole
from ..findings import Draft, PlanContext, Read, Stage, made
from ..kinds import Kind
from ..template_parts import NAME_CHARACTERS, TemplateParts, name_parameter, ref
from ..trust import allows_service, denying_statements, service_trust_policy, trusted_services, with_service_trust
from ..values import Observed
from .base import ROLE_ATTACHMENTS, Handler, Permissions, creation_extras, plan_attachments


@dataclass(frozen=True)
class RoleInTemplate:
    """How a service role's kind appears in a CloudFormation template: its logical ID and name Parameter, and what
    the Parameter enforces (as the engine refuses other names: the AWS managed admin policies allow iam:PassRole
    only on these names), as the prefixes a name must begin with, a pattern and in words."""

    logical_id: str
    parameter: str
    description: str
    prefixes: tuple[str, ...]
    pattern: str
    rule: str


IN_TEMPLATE = {
    Kind.WORKER_ROLE: RoleInTemplate(
        "WorkerRole",
        "WorkerRoleName",
        "The worker role: the role of the Spot instances (through the instance profile)",
        (WORKER_ROLE_PREFIX,),
        f"^{WORKER_ROLE_PREFIX}{NAME_CHARACTERS}*$",
        f"must begin with {WORKER_ROLE_PREFIX} (AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole "
        f"only on role/{WORKER_ROLE_PREFIX}*), then letters, digits and +=,.@_-; at most 64 characters",
    ),
    Kind.FLEET_ROLE: RoleInTemplate(
        "FleetRole",
        "FleetRoleName",
        "The Spot Fleet role: IamFleetRole of the Spot Fleet configuration",
        (FLEET_ROLE_DEFAULT, WORKER_ROLE_PREFIX),
        f"^({FLEET_ROLE_DEFAULT}|{WORKER_ROLE_PREFIX}{NAME_CHARACTERS}*)$",
        f"must be {FLEET_ROLE_DEFAULT} or begin with {WORKER_ROLE_PREFIX} (AWSThinkboxDeadlineSpotEventPluginAdmin"
        "Policy allows iam:PassRole only on those); at most 64 characters",
    ),
    Kind.TRACKER_ROLE: RoleInTemplate(
        "TrackerRole",
        "TrackerRoleName",
        "The Resource Tracker role (its Lambda functions)",
        (TRACKER_ROLE_PREFIX,),
        f"^{TRACKER_ROLE_PREFIX}{NAME_CHARACTERS}*$",
        f"must begin with {TRACKER_ROLE_PREFIX} (AWSThinkboxDeadlineResourceTrackerAdminPolicy allows iam:PassRole "
        f"only on role/{TRACKER_ROLE_PREFIX}*); at most 64 characters",
    ),
}


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

    def cloudformation_names(self, identity: ServiceRole, template: TemplateParts) -> None:
        template.role_ids[identity.name.lower()] = IN_TEMPLATE[self.kind].logical_id

    def cloudformation(self, identity: ServiceRole, template: TemplateParts) -> None:
        shape = IN_TEMPLATE[self.kind]
        if shape.parameter in template.parameters:
            raise ValueError(f"the desired state holds two {identity.kind} identities")
        template.parameters[shape.parameter] = name_parameter(
            f"{shape.description}, trusted by {identity.service}",
            identity.name,
            shape.pattern,
            shape.rule,
        )
        template.role_name_parameters[shape.parameter] = shape.prefixes
        template.resources[shape.logical_id] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": ref(shape.parameter),
                "AssumeRolePolicyDocument": service_trust_policy(identity.service),
                "ManagedPolicyArns": [template.managed_arn(policy) for policy in identity.policies],
                # Always at "/": the AWS managed policies allow iam:PassRole on role/NAME only.
                "Path": "/",
                "Description": identity.description,
                **template.extras(),
            },
        }
        template.outputs[f"{shape.logical_id}Arn"] = {
            "Description": f"The {identity.kind} ({identity.service})",
            "Value": {"Fn::GetAtt": [shape.logical_id, "Arn"]},
        }

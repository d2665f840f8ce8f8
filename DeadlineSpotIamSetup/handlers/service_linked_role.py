"""The service-linked roles of EC2 Spot and Spot Fleet; their names are chosen by AWS."""

from __future__ import annotations

from ..compat import remove_prefix
from ..desired import ServiceLinkedRole
from ..findings import Draft, PlanContext, Read, Stage
from ..kinds import Kind
from ..template_parts import TemplateParts, logical_id, ref
from ..values import Observed
from .base import Handler, Permissions

CREATE_SERVICE_LINKED_ROLES = "CreateServiceLinkedRoles"  # the template's Parameter
SERVICE_LINKED_ROLES_WANTED = "ServiceLinkedRolesWanted"  # the Condition it drives

# The note for a missing role the organisation creates. Spot Fleet requests made through the API need both roles:
# "If you use the AWS CLI or an API, you must ensure that these roles exist" (EC2 User Guide, Spot Fleet permissions).
EXPECTED_FROM_ORGANISATION = (
    "not in this account yet: expected from your organisation, which creates the Spot service-linked roles; the Spot "
    "Event Plugin's fleet requests need it"
)


class ServiceLinkedRoleHandler(Handler):
    kind = Kind.SERVICE_LINKED_ROLE
    identity_type = ServiceLinkedRole

    def reads(self, identity: ServiceLinkedRole) -> tuple[Read, ...]:
        return (Read("role", "get_role", (identity.name,)),)

    def plan(self, identity: ServiceLinkedRole, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if not draft.exists and not identity.create:
            draft.exists = True  # not this setup's to make: never a problem
            draft.note(EXPECTED_FROM_ORGANISATION)
        elif not draft.exists:
            draft.problems.append(f"service-linked role for {identity.service} does not exist")
            draft.act(
                "CreateServiceLinkedRole",
                {"AWSServiceName": identity.service},
                f"create the service-linked role for {identity.service}",
                Stage.CREATE,
            )

    def permissions(self, identity: ServiceLinkedRole, policy: Permissions) -> None:
        linked = f"{policy.iam}:role/aws-service-role/{identity.service}/{identity.name}"
        # Reading it where AWS puts it, and at role/NAME: a role that does not exist yet has no path, so IAM
        # authorizes check's GetRole of a missing service-linked role on role/NAME.
        policy.allow(
            f"service linked role {identity.service} read",
            ["iam:GetRole"],
            [f"{policy.iam}:role/{identity.name}", linked],
        )
        if not identity.create:
            return
        policy.allow(
            f"service linked role {identity.service} create",
            ["iam:CreateServiceLinkedRole"],
            [linked],
            {"StringEquals": {"iam:AWSServiceName": identity.service}},
        )

    def cloudformation(self, identity: ServiceLinkedRole, template: TemplateParts) -> None:
        if not identity.create:  # the organisation creates them (--no-service-linked-roles)
            return
        if CREATE_SERVICE_LINKED_ROLES not in template.parameters:
            template.parameters[CREATE_SERVICE_LINKED_ROLES] = {
                "Type": "String",
                "Description": "Create the EC2 Spot and Spot Fleet service-linked roles. An account can hold each "
                "only once, so the stack fails where they exist already: answer false there (an account that "
                "ever used Spot has them)",
                "Default": "true",
                "AllowedValues": ["true", "false"],
            }
            template.conditions[SERVICE_LINKED_ROLES_WANTED] = {
                "Fn::Equals": [ref(CREATE_SERVICE_LINKED_ROLES), "true"]
            }
            template.description.append(
                f"Where the Spot service-linked roles exist, set {CREATE_SERVICE_LINKED_ROLES}=false."
            )
        template.resources[f"ServiceLinkedRole{logical_id(remove_prefix(identity.name, 'AWSServiceRoleFor'))}"] = {
            "Type": "AWS::IAM::ServiceLinkedRole",
            "Condition": SERVICE_LINKED_ROLES_WANTED,
            # Kept when the stack goes: every Spot request of the account needs it, as the engine never deletes it.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"AWSServiceName": identity.service},
        }

"""The service-linked roles of EC2 Spot and Spot Fleet; their names are chosen by AWS."""

from __future__ import annotations

from ..desired import ServiceLinkedRole
from ..findings import Draft, PlanContext, Read, Stage
from ..kinds import Kind
from ..values import Observed
from .base import Handler, Permissions

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

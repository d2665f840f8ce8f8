"""The permission chain: whether the Spot credentials' policies allow what the Spot Event Plugin does to start a
fleet (request it, pass the worker and fleet roles, read the instance profile, tag and stop its instances), for the
names configured here. Judged from the policy documents themselves (managed policies' default versions, inline and
group policies, the permissions boundary), so a custom role name the policies do not cover, a hand-edited copy or a
Deny fails at check time, naming the call and what refuses it. Service control policies are out of sight of an
account's IAM: ``check --verify-ec2`` asks EC2 itself."""

from __future__ import annotations

from ..desired import SpotPermissions
from ..findings import Draft, PlanContext, Read
from ..kinds import Kind
from ..policy_eval import Decision, PolicySource, Request, evaluate, explain
from ..values import Observed
from .base import Handler, Permissions

# Any region: the AWS managed policy names instances in every region ("arn:aws:ec2:*:*:instance/*").
_REGION = "us-east-1"
_INSTANCE = "i-0123456789abcdef0"
_FLEET_REQUEST = "sfr-00000000-0000-4000-8000-000000000000"


def chain_requests(identity: SpotPermissions, partition: str, account: str) -> list[tuple[str, Request]]:
    """(what the Spot Event Plugin does, the request IAM authorizes for it), for the configured names."""
    iam = f"arn:{partition}:iam::{account}"
    instance = f"arn:{partition}:ec2:{_REGION}:{account}:instance/{_INSTANCE}"
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    requests = [
        ("request a Spot Fleet", Request("ec2:RequestSpotFleet", "*")),
        ("follow its fleets", Request("ec2:DescribeSpotFleetRequests", "*")),
        ("follow its fleets' instances", Request("ec2:DescribeSpotFleetInstances", "*")),
        ("resize a fleet", Request("ec2:ModifySpotFleetRequest", "*")),
        ("cancel a fleet", Request("ec2:CancelSpotFleetRequests", "*")),
        ("launch the workers", Request("ec2:RunInstances", "*")),
        ("tag the workers it launches", Request("ec2:CreateTags", instance, {"ec2:CreateAction": "RunInstances"})),
        (
            "stop idle workers",
            Request(
                "ec2:TerminateInstances", instance, {"ec2:ResourceTag/aws:ec2spot:fleet-request-id": _FLEET_REQUEST}
            ),
        ),
        (
            "read the worker instance profile",
            Request("iam:GetInstanceProfile", f"{iam}:instance-profile/{identity.instance_profile}"),
        ),
        ("read the worker role", Request("iam:GetRole", f"{iam}:role/{identity.worker_role}")),
        ("pass the worker role to EC2", Request("iam:PassRole", f"{iam}:role/{identity.worker_role}", to_ec2)),
        ("read the fleet role", Request("iam:GetRole", f"{iam}:role/{identity.fleet_role}")),
        ("pass the fleet role to the Spot Fleet", Request("iam:PassRole", f"{iam}:role/{identity.fleet_role}", to_ec2)),
    ]
    for service, role in (
        ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
        ("spotfleet.amazonaws.com", "AWSServiceRoleForEC2SpotFleet"),
    ):
        requests.append(
            (
                f"create {role} when it is missing",
                Request(
                    "iam:CreateServiceLinkedRole",
                    f"{iam}:role/aws-service-role/{service}/{role}",
                    {"iam:AWSServiceName": service},
                ),
            )
        )
    if identity.tracker_role:
        tracker = f"{iam}:role/{identity.tracker_role}"
        requests += [
            ("read the Resource Tracker role", Request("iam:GetRole", tracker)),
            (
                "pass the Resource Tracker role to Lambda",
                Request("iam:PassRole", tracker, {"iam:PassedToService": "lambda.amazonaws.com"}),
            ),
        ]
    return requests


def _short(resource: str) -> str:
    """``role/DeadlineSpotWorker`` for an ARN of this account; "*" and other resources as they are."""
    parts = resource.split(":", 5)
    return parts[5] if len(parts) == 6 else resource


def _remedy(decision: Decision, identity: SpotPermissions) -> str:
    if decision.denied_by:
        return "remove or narrow that Deny"
    if decision.boundary_blocks:
        return f"allow it in the permissions boundary of {identity.principal} {identity.name}"
    return (
        f"attach {' and '.join(identity.policies)} to {identity.principal} {identity.name} (apply does), or grant it "
        "in a policy of your own; a role name the AWS managed policies do not cover must begin with DeadlineSpot"
    )


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
        attached = {arn.rsplit("/", 1)[-1].lower() for arn in grants.attached}
        missing = [name for name in identity.policies if name.lower() not in attached]
        if missing:  # the Spot credentials' finding reports it, and apply attaches them; judge the chain after that
            draft.problems.append(f"judged once {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} attached")
            return
        partition, account = grants.arn.split(":")[1], grants.arn.split(":")[4]
        policies = [PolicySource(label, document) for label, document in grants.policies]
        boundary = [PolicySource(*grants.boundary)] if grants.boundary is not None else None
        for purpose, request in chain_requests(identity, partition, account):
            decision = evaluate(request, policies, boundary)
            call = f"{request.action} on {_short(request.resource)}"
            if not decision.allowed:
                draft.needs_admin(
                    f"cannot {purpose} ({call}): {explain(decision)}", _remedy(decision, identity)
                )
            elif decision.may_be_denied_by:
                draft.needs_admin(
                    f"may not {purpose} ({call}): denied by {', '.join(decision.may_be_denied_by)} when its "
                    "condition holds",
                    "make sure it does not hold for the machines running RCS/Pulse",
                )

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

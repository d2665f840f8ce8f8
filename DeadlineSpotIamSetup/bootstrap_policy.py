"""The least-privilege IAM policy the bootstrap credential needs, rendered from the desired state.

It allows exactly the calls check and apply can make for the configured names: reads by name, the creates,
the repairs (trust, attachments), tagging and boundaries only when asked for, attaching only the AWS managed
policies this tool attaches, and creating only the two Spot service-linked roles. sts:GetCallerIdentity
needs no permission.
"""

from __future__ import annotations

from typing import Any

from .desired import (
    AccessKey,
    CredentialsRole,
    DesiredState,
    InstanceProfile,
    ServiceLinkedRole,
    ServiceRole,
    SpotUser,
)


def _anywhere(arn_prefix: str, kind: str, name: str) -> list[str]:
    """``kind/NAME`` at the root and under any path: check must be able to read an identity an admin put
    under another path, to report it, rather than fail with AccessDenied."""
    return [f"{arn_prefix}:{kind}/{name}", f"{arn_prefix}:{kind}/*/{name}"]


def _sid(text: str) -> str:
    return "".join(ch for ch in text.title() if ch.isalnum())


def bootstrap_policy(desired: DesiredState, partition: str = "aws", account: str = "*") -> dict[str, Any]:
    iam = f"arn:{partition}:iam::{account}"
    options = desired.options
    tagging = bool(options.tags)
    boundary = options.permissions_boundary
    statements: list[dict[str, Any]] = []

    def allow(sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None) -> None:
        statement: dict[str, Any] = {
            "Sid": _sid(sid),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": resources,
        }
        if condition:
            statement["Condition"] = condition
        statements.append(statement)

    def attach_condition(policies) -> dict[str, Any]:
        return {"ArnEquals": {"iam:PolicyARN": [p.arn(partition) for p in policies]}}

    boundary_condition = {"StringEquals": {"iam:PermissionsBoundary": boundary}} if boundary else None

    for identity in desired:
        if isinstance(identity, SpotUser):
            user = _anywhere(iam, "user", identity.name)
            actions = ["iam:GetUser", "iam:CreateUser", "iam:ListAttachedUserPolicies"]
            if tagging:
                actions.append("iam:TagUser")
            allow("spot user", actions, user)
            allow("spot user policies", ["iam:AttachUserPolicy"], user, attach_condition(identity.policies))
            if boundary:
                allow("spot user boundary", ["iam:PutUserPermissionsBoundary"], user, boundary_condition)
        elif isinstance(identity, AccessKey):
            allow(
                "spot user access key",
                ["iam:ListAccessKeys", "iam:CreateAccessKey", "iam:DeleteAccessKey"],
                _anywhere(iam, "user", identity.user_name),
            )
        elif isinstance(identity, CredentialsRole):
            role = _anywhere(iam, "role", identity.name)
            allow("spot credentials role", ["iam:GetRole", "iam:ListAttachedRolePolicies"], role)
            allow(
                "spot credentials role policies",
                ["iam:AttachRolePolicy"],
                role,
                attach_condition(identity.policies),
            )
        elif isinstance(identity, ServiceRole):
            role = _anywhere(iam, "role", identity.name)
            actions = [
                "iam:GetRole",
                "iam:CreateRole",
                "iam:ListAttachedRolePolicies",
                "iam:UpdateAssumeRolePolicy",
            ]
            if tagging:
                actions.append("iam:TagRole")
            if identity.kind == "worker-role":
                actions.append("iam:PassRole")  # AddRoleToInstanceProfile passes the role to the profile
            allow(identity.kind, actions, role)
            allow(
                f"{identity.kind} policies",
                ["iam:AttachRolePolicy"],
                role,
                attach_condition(identity.policies),
            )
            if boundary:
                allow(f"{identity.kind} boundary", ["iam:PutRolePermissionsBoundary"], role, boundary_condition)
        elif isinstance(identity, InstanceProfile):
            actions = ["iam:GetInstanceProfile", "iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"]
            if tagging:
                actions.append("iam:TagInstanceProfile")
            allow("instance profile", actions, _anywhere(iam, "instance-profile", identity.name))
    linked = [i for i in desired if isinstance(i, ServiceLinkedRole)]
    if linked:
        allow(
            "spot service linked roles read",
            ["iam:GetRole"],
            [f"{iam}:role/aws-service-role/{i.service}/{i.name}" for i in linked],
        )
        allow(
            "spot service linked roles create",
            ["iam:CreateServiceLinkedRole"],
            [f"{iam}:role/aws-service-role/*"],
            {"StringEquals": {"iam:AWSServiceName": [i.service for i in linked]}},
        )
    return {"Version": "2012-10-17", "Statement": statements}

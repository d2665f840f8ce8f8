"""The worker role's instance profile: what a Spot Fleet launch specification names."""

from __future__ import annotations

from ..desired import InstanceProfile, same_iam_name
from ..errors import LimitExceeded
from ..findings import Action, Draft, PlanContext, Read, Stage, made
from ..kinds import Kind
from ..template_parts import TemplateParts, any_name_parameter, ref
from ..values import Observed
from .base import ApplyRun, Handler, Permissions, creation_extras


class InstanceProfileHandler(Handler):
    kind = Kind.INSTANCE_PROFILE
    identity_type = InstanceProfile

    def reads(self, identity: InstanceProfile) -> tuple[Read, ...]:
        return (Read("profile", "instance_profile", (identity.name,)),)

    def plan(self, identity: InstanceProfile, seen: Observed, draft: Draft, context: PlanContext) -> None:
        def add_role() -> None:
            draft.act(
                "AddRoleToInstanceProfile",
                {"InstanceProfileName": identity.name, "RoleName": identity.role_name},
                f"add role {identity.role_name} to instance profile {identity.name}",
                Stage.CONFIGURE,
                needs=(made("instance-profile", identity.name), made("role", identity.role_name)),
            )

        if not draft.exists:
            draft.problems.append("instance profile does not exist")
            draft.act(
                "CreateInstanceProfile",
                {
                    "InstanceProfileName": identity.name,
                    "Path": identity.path,
                    **creation_extras(context.options, False),
                },
                f"create instance profile {identity.name}",
                Stage.CREATE,
                shows_up=Read("profile", "instance_profile", (identity.name,)),
                makes=(made("instance-profile", identity.name),),
            )
            add_role()
            return
        assert seen.profile is not None
        roles = seen.profile.role_names
        if any(same_iam_name(role, identity.role_name) for role in roles):
            return
        if not roles:
            draft.problems.append(f"instance profile holds no role (expected {identity.role_name})")
            add_role()
        else:
            draft.needs_admin(
                f"instance profile holds role {', '.join(roles)}, not {identity.role_name}",
                "an instance profile holds one role: remove that role from it or choose another instance profile name",
            )

    def limit_exceeded(self, action: Action, run: ApplyRun, error: LimitExceeded) -> str:
        # An instance profile holds one role: a racing run may have added ours a moment before.
        profile = run.gateway.instance_profile(action.params["InstanceProfileName"])
        if profile is not None and any(same_iam_name(r, action.params["RoleName"]) for r in profile.role_names):
            return f"{action.summary}: already there (added by another run)"
        return super().limit_exceeded(action, run, error)

    def permissions(self, identity: InstanceProfile, policy: Permissions) -> None:
        actions = ["iam:GetInstanceProfile", "iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"]
        if policy.tagging:
            actions.append("iam:TagInstanceProfile")
        policy.allow("instance profile", actions, policy.anywhere("instance-profile", identity.name))
        # AddRoleToInstanceProfile passes the role to the profile.
        policy.allow("instance profile role", ["iam:PassRole"], policy.anywhere("role", identity.role_name))

    def cloudformation(self, identity: InstanceProfile, template: TemplateParts) -> None:
        template.parameters["InstanceProfileName"] = any_name_parameter(
            "The worker instance profile (what a Spot Fleet launch specification names)", identity.name, 128
        )
        role = template.role_ids.get(identity.role_name.lower())
        template.resources["WorkerInstanceProfile"] = {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {
                "InstanceProfileName": ref("InstanceProfileName"),
                "Path": identity.path,
                "Roles": [ref(role) if role else identity.role_name],
            },
        }
        template.untagged(f"instance-profile {identity.name}")
        template.outputs["WorkerInstanceProfileArn"] = {
            "Description": "The worker instance profile: IamInstanceProfile.Arn of the Spot Fleet configuration",
            "Value": {"Fn::GetAtt": ["WorkerInstanceProfile", "Arn"]},
        }

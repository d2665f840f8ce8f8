"""One group of the Spot Event Plugin's Spot Fleet configuration: may the Spot credentials pass its fleet role and
every role of the instance profiles it launches workers with (directly or through a launch template), and make the
calls that start it on the image, subnets and security groups it names? Judged by the permission chain, from the
Spot credentials' own policies: a role named as aws/aws-rfdk names them (by CDK, with an explicit iam:PassRole grant)
is as good as one the AWS managed policy covers. Read and reported only: the fleet configuration is the admin's, so
the remedy names the corrected ARN and nothing is edited."""

from __future__ import annotations

from ..desired import WORKER_ROLE_PREFIX, FleetGroupCheck, SpotPermissions, TrackerInUse
from ..findings import Draft, PlanContext, Read
from ..fleet_config import (
    FleetExpectations,
    RoleJudge,
    audit_group,
    referenced_profile_names,
    referenced_templates,
)
from ..kinds import Kind
from ..permission_chain import Judge, caller_of, describe_hinge, group_steps, pass_role, unattached
from ..policy_eval import ALLOWED, DENIED, explain
from ..template_parts import TemplateParts
from ..values import Observed, PrincipalPolicies
from .base import Handler, Permissions, report_judged


def _judge_roles(
    judge: Judge, credentials: SpotPermissions, grants: PrincipalPolicies, context: PlanContext
) -> RoleJudge:
    caller = caller_of(credentials, grants, context.region, context.now)

    def may_pass(role_arn: str) -> str | None:
        judged = judge.step(pass_role(caller, "pass it to EC2", role_arn))
        if judged.verdict == ALLOWED:
            return None
        why = explain(judged.decision, describe_hinge)
        if judged.verdict == DENIED:
            return f"the Spot credentials may not pass it to EC2 (iam:PassRole): {why}"
        return f"passing it to EC2 (iam:PassRole) is {why}"

    return may_pass


class FleetGroupHandler(Handler):
    kind = Kind.FLEET_GROUP
    identity_type = FleetGroupCheck

    def reads(self, identity: FleetGroupCheck) -> tuple[Read, ...]:
        groups = (identity.group,)
        reads = [Read("found", "fleet_lookups", (referenced_profile_names(groups), referenced_templates(groups)))]
        credentials = identity.credentials
        if credentials is not None:  # the same read as the permission chain's: observe makes it once
            reads.append(
                Read("grants", "principal_policies", (credentials.principal, credentials.name, credentials.aws_managed))
            )
        return tuple(reads)

    def plan(self, identity: FleetGroupCheck, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if context.account is None:
            raise ValueError("auditing a Spot Fleet group needs the account: plan_changes finds it")
        judge, may_pass, credentials, grants = None, None, identity.credentials, seen.grants
        if credentials is not None and grants is not None and not unattached(credentials, grants):
            judge = Judge(grants)
            may_pass = _judge_roles(judge, credentials, grants, context)
        expect = FleetExpectations(
            context.partition,
            context.account,
            identity.fleet_role,
            identity.instance_profile,
            WORKER_ROLE_PREFIX,
            may_pass,
        )
        found = seen.found
        profiles = found.profiles if found is not None else {}
        templates = found.templates if found is not None else {}
        for problem in audit_group(identity.group, expect, profiles, templates):
            draft.needs_admin(problem.problem, problem.remedy)
        if judge is None or credentials is None or grants is None:
            return
        caller = caller_of(credentials, grants, context.region, context.now)
        report_judged(draft, judge.steps(group_steps(identity.group, caller)), credentials)

    def permissions(self, identity: FleetGroupCheck, policy: Permissions) -> None:
        self.shared_permissions(policy)

    def cloudformation(self, identity: FleetGroupCheck, template: TemplateParts) -> None:
        template.notes.append(f"fleet-group {identity.name}: a check of the Spot Fleet configuration, never created")

    def shared_permissions(self, policy: Permissions) -> None:
        # A fleet configuration may name any instance profile: they are read to be judged. Launch templates are read
        # with ec2:DescribeLaunchTemplateVersions, which EC2 grants only on every resource ("*"): left out, so that no
        # statement here allows everything; without it a launch template's profile is reported as not checked, why
        # and how to grant it. The Spot credentials' policies are the permission chain's read (its own statements).
        policy.allow("fleet configuration profiles", ["iam:GetInstanceProfile"], [f"{policy.iam}:instance-profile/*"])


class TrackerInUseHandler(Handler):
    """Judged from the settings alone: no read."""

    kind = Kind.TRACKER_IN_USE
    identity_type = TrackerInUse

    def reads(self, identity: TrackerInUse) -> tuple[Read, ...]:
        return ()

    def plan(self, identity: TrackerInUse, seen: Observed, draft: Draft, context: PlanContext) -> None:
        draft.needs_admin(
            "the Spot Event Plugin's Use Resource Tracker is on, but this setup leaves the Resource Tracker out (no "
            f"role {identity.name}, no AWSThinkboxDeadlineResourceTrackerAdminPolicy on the Spot credentials)",
            "turn the Resource Tracker on here (the plug-in's Enable Resource Tracker, or drop --no-resource-tracker) "
            "and apply, or switch Use Resource Tracker off in the Spot Event Plugin",
        )

    def permissions(self, identity: TrackerInUse, policy: Permissions) -> None:
        pass  # nothing is read

    def cloudformation(self, identity: TrackerInUse, template: TemplateParts) -> None:
        template.notes.append(f"resource-tracker {identity.name}: a check of the Spot plugin's settings")

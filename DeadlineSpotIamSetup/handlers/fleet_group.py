"""One group of the Spot Event Plugin's Spot Fleet configuration: does its fleet role, and every instance profile
it launches workers with (directly or through a launch template), fit what this setup manages? Read and reported
only: the fleet configuration is the admin's, so the remedy names the corrected ARN and nothing is edited."""

from __future__ import annotations

from ..desired import WORKER_ROLE_PREFIX, FleetGroupCheck, TrackerInUse
from ..findings import Draft, PlanContext, Read
from ..fleet_config import FleetExpectations, audit_group, referenced_profile_names, referenced_templates
from ..kinds import Kind
from ..values import Observed
from .base import Handler, Permissions


class FleetGroupHandler(Handler):
    kind = Kind.FLEET_GROUP
    identity_type = FleetGroupCheck

    def reads(self, identity: FleetGroupCheck) -> tuple[Read, ...]:
        groups = (identity.group,)
        return (Read("found", "fleet_lookups", (referenced_profile_names(groups), referenced_templates(groups))),)

    def plan(self, identity: FleetGroupCheck, seen: Observed, draft: Draft, context: PlanContext) -> None:
        if context.account is None:
            raise ValueError("auditing a Spot Fleet group needs the account: plan_changes finds it")
        expect = FleetExpectations(
            context.partition, context.account, identity.fleet_role, identity.instance_profile, WORKER_ROLE_PREFIX
        )
        found = seen.found
        profiles = found.profiles if found is not None else {}
        templates = found.templates if found is not None else {}
        for problem in audit_group(identity.group, expect, profiles, templates):
            draft.needs_admin(problem.problem, problem.remedy)

    def permissions(self, identity: FleetGroupCheck, policy: Permissions) -> None:
        self.shared_permissions(policy)

    def shared_permissions(self, policy: Permissions) -> None:
        # A fleet configuration may name any instance profile: they are read to be judged. Launch templates are read
        # with ec2:DescribeLaunchTemplateVersions, which EC2 grants only on every resource ("*"): left out, so that no
        # statement here allows everything; without it a launch template's profile is reported as not checked, why
        # and how to grant it.
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

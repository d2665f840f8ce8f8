"""The permission chain: the calls the Spot Event Plugin makes to start and run a fleet, each asked about the way IAM
authorizes it (an EC2 call on every resource the Service Authorization Reference lists for it), with every condition
key the check can know filled in and the others declared unknown; and the verdicts, worded for an admin. Pure: the
policy documents come from the caller, nothing here talks to AWS.

What the check knows of the Spot Event Plugin's requests: it calls AWS directly (not through another service), over
HTTPS, now, as the Spot credentials (a user's access key, or a role's session), in the region it starts fleets in.
What it cannot know (the RCS/Pulse machine's address unless the IP-restricted mode names it, a VPC endpoint, tags
on existing resources, a role session's details) is declared unknown, so that a verdict hanging on it is shown as
"allowed only if ..." and never as a plain yes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .desired import SpotPermissions
from .fleet_config import FleetGroup, LaunchSpec
from .policy_eval import (
    ALLOWED,
    CONDITIONAL,
    DENIED,
    CompiledPolicies,
    Decision,
    Hinge,
    OneOf,
    PolicySource,
    Request,
    compile_policies,
    evaluate,
    explain,
    grant_ends,
    iso_time,
)
from .values import PrincipalPolicies

# A grant that holds now but ends sooner than this is reported with its end.
GRANT_WARNING = timedelta(days=30)
# The region the check itself calls AWS in when none is configured (the gateway's default).
DEFAULT_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
# aws:RequestedRegion of an IAM call: "Because this endpoint is physically located in the US East (N. Virginia)
# Region, IAM calls are always made to the us-east-1 Region." (IAM User Guide, AWS global condition context keys)
_IAM_REGION = {"aws": "us-east-1"}

# Placeholders for what a call creates (its ID is not known before; no policy can name it in advance).
NEW_IDS = {
    "instance": "i-0123456789abcdef0",
    "spot-fleet-request": "sfr-00000000-0000-4000-8000-000000000000",
    "network-interface": "eni-0123456789abcdef0",
    "volume": "vol-0123456789abcdef0",
}

# The condition keys the Service Authorization Reference ("Actions, resources, and condition keys for Amazon EC2")
# lists for each resource type of the calls asked about (RunInstances, RequestSpotFleet, CancelSpotFleetRequests,
# ModifySpotFleetRequest, CreateTags, TerminateInstances). A key listed for a resource type and not filled in is
# declared unknown for that resource; a key not listed is absent from its request, as in IAM (Condition operators,
# ...IfExists: "These additional resources do not have the ec2:InstanceType condition key, so the StringLike check
# fails").
_LAUNCH = ("ec2:IsLaunchTemplateResource", "ec2:LaunchTemplate")
_EC2_KEYS: dict[str, tuple[str, ...]] = {
    "image": ("aws:ResourceTag/*", "ec2:ResourceTag/*", "ec2:ImageID", "ec2:ImageType", "ec2:Owner", "ec2:Public")
    + ("ec2:RootDeviceType",)
    + _LAUNCH,
    "instance": (
        "aws:RequestTag/*",
        "aws:TagKeys",
        "ec2:AvailabilityZone",
        "ec2:AvailabilityZoneId",
        "ec2:CpuOptionsAmdSevSnp",
        "ec2:EbsOptimized",
        "ec2:InstanceAutoRecovery",
        "ec2:InstanceBandwidthWeighting",
        "ec2:InstanceID",
        "ec2:InstanceMarketType",
        "ec2:InstanceMetadataTags",
        "ec2:InstanceProfile",
        "ec2:InstanceType",
        "ec2:ManagedResourceOperator",
        "ec2:MetadataHttpEndpoint",
        "ec2:MetadataHttpPutResponseHopLimit",
        "ec2:MetadataHttpTokens",
        "ec2:PlacementGroup",
        "ec2:ProductCode",
        "ec2:RootDeviceType",
        "ec2:Tenancy",
    )
    + _LAUNCH,
    "key-pair": ("aws:ResourceTag/*", "ec2:ResourceTag/*", "ec2:KeyPairName", "ec2:KeyPairType") + _LAUNCH,
    "network-interface": (
        "aws:RequestTag/*",
        "aws:TagKeys",
        "ec2:AssociatePublicIpAddress",
        "ec2:AuthorizedService",
        "ec2:AvailabilityZone",
        "ec2:ManagedResourceOperator",
        "ec2:NetworkInterfaceID",
        "ec2:Subnet",
        "ec2:Vpc",
    )
    + _LAUNCH,
    "security-group": ("aws:ResourceTag/*", "ec2:ResourceTag/*", "ec2:SecurityGroupID", "ec2:Vpc") + _LAUNCH,
    "subnet": ("aws:ResourceTag/*", "ec2:ResourceTag/*", "ec2:AvailabilityZone", "ec2:AvailabilityZoneId")
    + ("ec2:SubnetID", "ec2:Vpc")
    + _LAUNCH,
    "volume": (
        "aws:RequestTag/*",
        "aws:TagKeys",
        "ec2:AvailabilityZone",
        "ec2:AvailabilityZoneId",
        "ec2:Encrypted",
        "ec2:ManagedResourceOperator",
        "ec2:ParentSnapshot",
        "ec2:VolumeID",
        "ec2:VolumeInitializationRate",
        "ec2:VolumeIops",
        "ec2:VolumeSize",
        "ec2:VolumeThroughput",
        "ec2:VolumeType",
    )
    + _LAUNCH,
    "spot-fleet-request": ("aws:RequestTag/*", "aws:TagKeys", "aws:ResourceTag/*", "ec2:ResourceTag/*"),
}
# The instances TerminateInstances and CreateTags act on exist: their tags (beyond the one the chain names) are theirs.
_EXISTING_INSTANCE = _EC2_KEYS["instance"] + ("aws:ResourceTag/*", "ec2:ResourceTag/*", "ec2:CreateAction")


@dataclass(frozen=True)
class Caller:
    """Who the Spot Event Plugin calls AWS as, from where and when, as far as the check can know."""

    principal: str  # "user" or "role"
    name: str
    arn: str
    principal_id: str | None
    tags: tuple[tuple[str, str], ...]
    region: str
    now: datetime
    source_ips: tuple[str, ...] | None  # the IP-restricted mode's networks; None: where it calls from is unknown

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def iam(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}"

    def ec2(self, resource_type: str, resource_id: str) -> str:
        # Images have no account in their ARN: "arn:${Partition}:ec2:${Region}::image/${ImageId}" (Service
        # Authorization Reference, Amazon EC2 resource types).
        account = "" if resource_type == "image" else self.account
        return f"arn:{self.partition}:ec2:{self.region}:{account}:{resource_type}/{resource_id}"


def caller_of(identity: SpotPermissions, grants: PrincipalPolicies, region: str | None, now: datetime) -> Caller:
    """The Spot credentials as they call AWS; ``region`` is the check's own when the Spot plugin's is not known."""
    partition = grants.arn.split(":")[1]
    chosen = identity.region or region or DEFAULT_REGIONS.get(partition, "us-east-1")
    return Caller(
        identity.principal, identity.name, grants.arn, grants.principal_id, grants.tags, chosen, now,
        identity.source_ips,
    )  # fmt: skip


def _global_context(caller: Caller) -> tuple[dict[str, Any], list[str]]:
    """The global condition keys of every request the Spot Event Plugin makes (IAM User Guide, AWS global condition
    context keys), and those it cannot know."""
    known: dict[str, Any] = {
        # aws:PrincipalArn "For IAM roles, the request context returns the ARN of the role"
        "aws:PrincipalArn": caller.arn,
        "aws:PrincipalAccount": caller.account,
        # aws:CurrentTime and aws:EpochTime: "This key is always included in the request context."
        "aws:CurrentTime": iso_time(caller.now),
        "aws:EpochTime": str(int(caller.now.timestamp())),
        # aws:SecureTransport "check whether the request was sent using SSL": boto3 calls the HTTPS endpoints.
        "aws:SecureTransport": "true",
        # aws:ViaAWSService "also returns false when the principal makes the call directly."
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
    }
    # Where a VPC endpoint, the client application, the organization come in, the check cannot see.
    unknown = [
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:VpcSourceIp",
        "aws:UserAgent",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
    ]
    for key, value in caller.tags:
        known[f"aws:PrincipalTag/{key}"] = value
    if caller.principal == "user":
        # aws:username "is always included in the request context for IAM users"; aws:userid "For IAM users, the
        # request context value is the user ID." aws:MultiFactorAuthPresent: "The key is not present in AWS CLI, AWS
        # API, or AWS SDK requests that are made using long-term credentials." (nor are aws:MultiFactorAuthAge and
        # aws:TokenIssueTime): absent.
        known["aws:username"] = caller.name
        known["aws:PrincipalType"] = "User"
        if caller.principal_id:
            known["aws:userid"] = caller.principal_id
        else:
            unknown.append("aws:userid")
    else:
        # A role's session: "role-id:caller-specified-role-name" as aws:userid, its MFA and issue time, its session
        # tags and the EC2 instance it runs on are the session's, which the check does not see.
        known["aws:PrincipalType"] = "AssumedRole"
        unknown += [
            "aws:userid",
            "aws:MultiFactorAuthPresent",
            "aws:MultiFactorAuthAge",
            "aws:TokenIssueTime",
            "aws:SourceIdentity",
            "aws:PrincipalTag/*",
            "aws:Ec2InstanceSourceVpc",
            "aws:Ec2InstanceSourcePrivateIPv4",
        ]
    if caller.source_ips is not None:
        # The IP-restricted mode names the networks the RCS/Pulse machines call from: one of them, not known which.
        known["aws:SourceIp"] = OneOf(caller.source_ips)
    else:
        unknown.append("aws:SourceIp")
    return known, unknown


def _request(
    caller: Caller, action: str, resource: str, keys: dict[str, Any] | None = None, unknown: Sequence[str] = ()
) -> Request:
    known, undecided = _global_context(caller)
    known.update(keys or {})
    return Request(action, resource, known, tuple(undecided) + tuple(unknown))


def iam_request(caller: Caller, action: str, resource: str, keys: dict[str, Any] | None = None) -> Request:
    """An IAM call on one of this account's IAM resources."""
    context: dict[str, Any] = {"aws:ResourceAccount": caller.account, **(keys or {})}
    unknown = ["aws:ResourceTag/*", "iam:ResourceTag/*", "iam:AssociatedResourceArn"]
    region = _IAM_REGION.get(caller.partition)
    if region:
        context["aws:RequestedRegion"] = region
    else:
        unknown.append("aws:RequestedRegion")
    return _request(caller, action, resource, context, unknown)


def ec2_request(
    caller: Caller, action: str, resource_type: str | None, resource_id: str = "", keys: dict[str, Any] | None = None
) -> Request:
    """An EC2 call in the Spot plugin's region, on one resource (``resource_type`` None: an action without resource
    types, asked about on "*"). Every key the Service Authorization Reference lists for that resource type and not
    given in ``keys`` is declared unknown."""
    context: dict[str, Any] = {"aws:RequestedRegion": caller.region, "ec2:Region": caller.region}
    if resource_type not in (None, "image"):
        context["aws:ResourceAccount"] = caller.account
    context.update(keys or {})
    listed = _EXISTING_INSTANCE if action != "ec2:RunInstances" and resource_type == "instance" else ()
    listed = listed or _EC2_KEYS.get(resource_type or "", ())
    given = {key.lower() for key in context}
    unknown = [key for key in listed if key.lower() not in given]
    if resource_type == "image":
        unknown.append("aws:ResourceAccount")  # an AMI may be another account's
    resource = "*" if resource_type is None else caller.ec2(resource_type, resource_id)
    return _request(caller, action, resource, context, unknown)


# -- the calls -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call the Spot Event Plugin makes, for one purpose; allowed only if every request of it is (IAM authorizes
    an EC2 call on each resource it touches)."""

    purpose: str
    requests: tuple[Request, ...]

    @property
    def call(self) -> str:
        """E.g. "ec2:RunInstances on instance/*, image/ami-1, subnet/subnet-1"."""
        shown = []
        for request in self.requests:
            resource = _short(request.resource)
            if any(resource.startswith(f"{kind}/{new}") for kind, new in NEW_IDS.items()):
                resource = resource.split("/", 1)[0] + "/*"
            if resource not in shown:
                shown.append(resource)
        return f"{self.requests[0].action} on {', '.join(shown)}"


def _short(resource: str) -> str:
    """``role/DeadlineSpotWorker`` for an ARN; "*" as it is."""
    parts = resource.split(":", 5)
    return parts[5] if len(parts) == 6 else resource


def pass_role(caller: Caller, purpose: str, role_arn: str, service: str = "ec2.amazonaws.com") -> Step:
    """Passing a role to a service: "iam:PassedToService" names it (the AWS managed policy and aws/aws-rfdk's
    SpotEventPluginPolicy both grant iam:PassRole on the fleet and instance roles for ec2.amazonaws.com)."""
    return Step(purpose, (iam_request(caller, "iam:PassRole", role_arn, {"iam:PassedToService": service}),))


def launch_requests(caller: Caller, spec: LaunchSpec | None = None) -> tuple[Request, ...]:
    """RunInstances on each resource it needs: "RunInstances requires an AMI and creates an instance. Users can specify
    a key pair and security group in the request. Launching into a VPC requires a subnet, and creates a network
    interface. Launching from an Amazon EBS-backed AMI creates a volume. Therefore, the user must have permissions to
    use these Amazon EC2 resources." (Amazon EC2 User Guide, Launch instances (RunInstances)). What the call creates
    is always asked about; the image, subnets, security groups and key pair when a launch specification names them.
    """
    instance_keys: dict[str, Any] = {}
    if spec is not None and spec.instance_type:
        instance_keys["ec2:InstanceType"] = spec.instance_type
    found = [ec2_request(caller, "ec2:RunInstances", "instance", NEW_IDS["instance"], instance_keys)]
    found += [ec2_request(caller, "ec2:RunInstances", kind, NEW_IDS[kind]) for kind in ("network-interface", "volume")]
    found += existing_resources(caller, "ec2:RunInstances", spec)
    return tuple(found)


def existing_resources(caller: Caller, action: str, spec: LaunchSpec | None) -> list[Request]:
    """The requests for the existing resources a launch specification names: image, subnets, security groups and key
    pair, each with the keys its ID tells (ec2:ImageID, ec2:SubnetID, ec2:SecurityGroupID, ec2:KeyPairName)."""
    if spec is None:
        return []
    named = [("image", spec.image_id, "ec2:ImageID")] if spec.image_id else []
    named += [("subnet", subnet, "ec2:SubnetID") for subnet in spec.subnet_ids]
    named += [("security-group", group, "ec2:SecurityGroupID") for group in spec.security_group_ids]
    named += [("key-pair", spec.key_name, "ec2:KeyPairName")] if spec.key_name else []
    return [ec2_request(caller, action, kind, value, {key: value}) for kind, value, key in named]


def chain_steps(identity: SpotPermissions, caller: Caller) -> list[Step]:
    """What the Spot Event Plugin does with any fleet, for the configured names (the calls' resources as IAM
    authorizes them; a fleet group's own image, subnets and roles are asked about by the fleet audit)."""
    iam = caller.iam
    instance_id = NEW_IDS["instance"]

    def on_fleet(action: str) -> Request:
        return ec2_request(caller, action, "spot-fleet-request", NEW_IDS["spot-fleet-request"])

    steps = [
        Step("request a Spot Fleet", (on_fleet("ec2:RequestSpotFleet"),)),
        Step("follow its fleets", (ec2_request(caller, "ec2:DescribeSpotFleetRequests", None),)),
        Step("follow its fleets' instances", (ec2_request(caller, "ec2:DescribeSpotFleetInstances", None),)),
        Step("resize a fleet", (on_fleet("ec2:ModifySpotFleetRequest"),)),
        Step("cancel a fleet", (on_fleet("ec2:CancelSpotFleetRequests"),)),
        Step("launch the workers", launch_requests(caller)),
        Step(
            "tag the workers it launches",
            (ec2_request(caller, "ec2:CreateTags", "instance", instance_id, {"ec2:CreateAction": "RunInstances"}),),
        ),
        Step(
            "stop idle workers",
            (
                ec2_request(
                    caller,
                    "ec2:TerminateInstances",
                    "instance",
                    instance_id,
                    {
                        f"{prefix}:ResourceTag/aws:ec2spot:fleet-request-id": NEW_IDS["spot-fleet-request"]
                        for prefix in ("ec2", "aws")
                    },
                ),
            ),
        ),
        Step(
            "read the worker instance profile",
            (iam_request(caller, "iam:GetInstanceProfile", f"{iam}:instance-profile/{identity.instance_profile}"),),
        ),
        Step("read the worker role", (iam_request(caller, "iam:GetRole", f"{iam}:role/{identity.worker_role}"),)),
        pass_role(caller, "pass the worker role to EC2", f"{iam}:role/{identity.worker_role}"),
        Step("read the fleet role", (iam_request(caller, "iam:GetRole", f"{iam}:role/{identity.fleet_role}"),)),
        pass_role(caller, "pass the fleet role to the Spot Fleet", f"{iam}:role/{identity.fleet_role}"),
    ]
    # The Spot credentials create the Spot services' service-linked roles when they are missing: the admin policy's
    # iam permissions are "used to enable Spot-related services to create Service-Linked Roles that they need to
    # operate" (Deadline User Manual, "AWSThinkboxDeadlineSpotEventPluginAdminPolicy"). Where the organisation creates
    # them (--no-service-linked-roles), an SCP often refuses that to everyone else: the chain does not ask for it, and
    # the roles' own findings say whether they are there.
    service_linked_roles = (
        (
            ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
            ("spotfleet.amazonaws.com", "AWSServiceRoleForEC2SpotFleet"),
        )
        if identity.service_linked_roles
        else ()
    )
    for service, role in service_linked_roles:
        resource = f"{iam}:role/aws-service-role/{service}/{role}"
        request = iam_request(caller, "iam:CreateServiceLinkedRole", resource, {"iam:AWSServiceName": service})
        steps.append(Step(f"create {role} when it is missing", (request,)))
    if identity.tracker_role:
        tracker = f"{iam}:role/{identity.tracker_role}"
        steps.append(Step("read the Resource Tracker role", (iam_request(caller, "iam:GetRole", tracker),)))
        steps.append(pass_role(caller, "pass the Resource Tracker role to Lambda", tracker, "lambda.amazonaws.com"))
    return steps


def group_steps(group: FleetGroup, caller: Caller) -> list[Step]:
    """The calls that start this group's fleet, on the resources its launch specifications name."""
    steps = []
    for spec in group.launch_specs:
        fleet = [ec2_request(caller, "ec2:RequestSpotFleet", "spot-fleet-request", NEW_IDS["spot-fleet-request"])]
        fleet += existing_resources(caller, "ec2:RequestSpotFleet", spec)
        steps.append(Step(f"request group {group.name}'s Spot Fleet ({spec.where})", tuple(fleet)))
        steps.append(Step(f"launch group {group.name}'s workers ({spec.where})", launch_requests(caller, spec)))
    return steps


# -- verdicts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """A step's verdict: the decision that settles it (the first refused request, else the first conditional, else
    the first), and when an outright grant ends within GRANT_WARNING."""

    step: Step
    verdict: str
    decision: Decision
    ends: datetime | None = None

    def problem(self) -> str | None:
        """The line for a step that is not plainly allowed (None when it is)."""
        if self.verdict == DENIED:
            return f"cannot {self.step.purpose} ({self.step.call}): {explain(self.decision, describe_hinge)}"
        if self.verdict == CONDITIONAL:
            return f"{self.step.purpose} ({self.step.call}): {explain(self.decision, describe_hinge)}"
        return None

    def note(self) -> str | None:
        """The warning for a grant that holds now but ends soon (None otherwise)."""
        if self.ends is None:
            return None
        by = ", ".join(self.decision.allowed_by) or "its policies"
        return f"{self.step.purpose} ({self.step.call}) is allowed only until {iso_time(self.ends)} ({by})"


class Judge:
    """The Spot credentials' policy documents, compiled once, judging any number of steps."""

    def __init__(self, grants: PrincipalPolicies) -> None:
        sources = [PolicySource(label, document) for label, document in grants.policies]
        self.policies: CompiledPolicies = compile_policies(sources)
        self.boundary = compile_policies([PolicySource(*grants.boundary)]) if grants.boundary is not None else None

    def step(self, step: Step) -> Judged:
        decisions = [evaluate(request, self.policies, self.boundary) for request in step.requests]
        for verdict in (DENIED, CONDITIONAL):
            settling = next((d for d in decisions if d.verdict == verdict), None)
            if settling is not None:
                return Judged(step, verdict, settling)
        ends = [grant_ends(r, self.policies, self.boundary, GRANT_WARNING) for r in step.requests]
        found = [end for end in ends if end is not None]
        return Judged(step, ALLOWED, decisions[0], min(found) if found else None)

    def steps(self, steps: Sequence[Step]) -> list[Judged]:
        return [self.step(step) for step in steps]


def remedy(judged: Judged, identity: SpotPermissions) -> str:
    """What an admin does about a step the chain does not plainly allow."""
    decision = judged.decision
    if judged.verdict != DENIED:
        allows = decision.allowed_if + decision.boundary_allowed_if
        if any(dependent in allows for dependent in decision.hanging_on):
            return "make sure it holds on every machine running RCS/Pulse, or grant the call without that condition"
        return "make sure that condition does not hold on the machines running RCS/Pulse, or narrow that Deny"
    if decision.denied_by:
        return "remove or narrow that Deny"
    if decision.boundary_blocks and (decision.allowed_by or decision.allowed_if):
        return f"allow it in the permissions boundary of {identity.principal} {identity.name}"
    if decision.unmet:
        return (
            "change that statement's condition to hold for the Spot Event Plugin's calls, or grant the call in a "
            "policy of your own"
        )
    return (
        f"attach {' and '.join(identity.policies)} to {identity.principal} {identity.name} (apply does), or grant it "
        "in a policy of your own; a role name the AWS managed policies do not cover must begin with DeadlineSpot"
    )


def unattached(identity: SpotPermissions, grants: PrincipalPolicies) -> list[str]:
    """The policies the setup attaches to the Spot credentials that are not attached yet (apply attaches them; the
    chain is judged after that)."""
    attached = {arn.rsplit("/", 1)[-1].lower() for arn in grants.attached}
    return [name for name in identity.policies if name.lower() not in attached]


def describe_hinge(hinge: Hinge) -> str:
    """A condition the verdict hangs on, in the words of the Spot Event Plugin's setup."""
    key, operator = hinge.key.lower(), hinge.operator.lower().replace("ifexists", "")
    values = ", ".join(hinge.values)
    if key == "aws:sourceip":
        if operator == "ipaddress":
            return f"the RCS/Pulse machine calls from {values}"
        if operator == "notipaddress":
            return f"the RCS/Pulse machine calls from outside {values}"
        if operator == "null":
            via = "through" if values.lower() == "true" else "not through"
            return f"the RCS/Pulse machine calls AWS {via} a VPC endpoint (aws:SourceIp Null {values})"
    if key in ("aws:sourcevpc", "aws:sourcevpce") and operator.startswith("string"):
        negated = "not" in operator
        what = "VPC" if key == "aws:sourcevpc" else "VPC endpoint"
        return f"the RCS/Pulse machine calls {'not ' if negated else ''}through {what} {values}"
    if key == "aws:multifactorauthpresent" and operator == "bool":
        return f"the Spot credentials' session was {'not ' if values.lower() == 'false' else ''}authenticated with MFA"
    if key == "aws:currenttime" and operator.startswith("date"):
        return f"the time is {hinge.operator} {values}"
    return hinge.describe()

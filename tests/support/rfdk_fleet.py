"""A Spot fleet the way AWS's RFDK deploys it, in an account on the wire: the roles its SpotEventPluginFleet
creates, CDK-named (packages/aws-rfdk/lib/deadline/lib/spot-event-plugin-fleet.ts: SpotFleetRole with
service-role/AmazonEC2SpotFleetTaggingRole, SpotFleetInstanceRole in an InstanceProfile), and the policy its
ConfigureSpotEventPlugin puts on the Spot credentials: iam:PassRole on exactly those role ARNs, StringLike
iam:PassedToService ec2.amazonaws.com (configure-spot-event-plugin.ts, SpotEventPluginPolicy)."""

from __future__ import annotations

import json
from typing import Any

FLEET_ROLE = "FarmStack-SpotFleetRole1A2B3C4D-EXAMPLE1"
INSTANCE_ROLE = "FarmStack-SpotFleetInstanceRole1A2B3C-EXAMPLE2"
PROFILE = "FarmStack-InstanceProfile5E6F7A8B-EXAMPLE3"
GRANT = "SpotEventPluginPolicy"


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def make_rfdk_fleet(iam: Any, user: str | None) -> dict[str, Any]:
    """Create the roles and the instance profile; with ``user``, put the PassRole grant on that user (inline
    policy SpotEventPluginPolicy). Returns the fleet group's Spot Fleet Request Configuration."""
    fleet = iam.create_role(RoleName=FLEET_ROLE, AssumeRolePolicyDocument=_trust("spotfleet.amazonaws.com"))["Role"]
    worker = iam.create_role(RoleName=INSTANCE_ROLE, AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))["Role"]
    profile = iam.create_instance_profile(InstanceProfileName=PROFILE)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName=INSTANCE_ROLE)
    if user is not None:
        statement = {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [fleet["Arn"], worker["Arn"]],
            "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com"}},
        }
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        iam.put_user_policy(UserName=user, PolicyName=GRANT, PolicyDocument=document)
    spec = {
        "IamInstanceProfile": {"Arn": profile["Arn"]},
        "ImageId": "ami-0123456789abcdef0",
        "InstanceType": "c5.large",
    }
    return {"IamFleetRole": fleet["Arn"], "LaunchSpecifications": [spec]}

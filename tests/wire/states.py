"""Arranging account states behind the engine's back (plain boto3 against moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

ADMIN = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginAdminPolicy"
TRACKER_ADMIN = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAdminPolicy"
WORKER = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginWorkerPolicy"
FLEET = "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole"
TRACKER_ACCESS = "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAccessPolicy"
USER, WORKER_ROLE, FLEET_ROLE = (
    "DeadlineSpotEventPluginAdmin",
    "DeadlineSpotWorker",
    "aws-ec2-spot-fleet-tagging-role",
)
TRACKER_ROLE = "DeadlineResourceTrackerAccessRole"


def trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def delete_user(iam: Any) -> None:
    for policy in (ADMIN, TRACKER_ADMIN):
        iam.detach_user_policy(UserName=USER, PolicyArn=policy)
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=USER)


def delete_keys(iam: Any) -> None:
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])


def deactivate_keys(iam: Any) -> None:
    for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        iam.update_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"], Status="Inactive")


def delete_role(name: str, policy: str) -> Callable[[Any], None]:
    def run(iam: Any) -> None:
        if name == WORKER_ROLE:
            iam.remove_role_from_instance_profile(InstanceProfileName=WORKER_ROLE, RoleName=WORKER_ROLE)
        iam.detach_role_policy(RoleName=name, PolicyArn=policy)
        iam.delete_role(RoleName=name)

    return run


def retrust(name: str, service: str) -> Callable[[Any], None]:
    return lambda iam: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust(service))


def detach_role(name: str, policy: str) -> Callable[[Any], None]:
    return lambda iam: iam.detach_role_policy(RoleName=name, PolicyArn=policy)


def delete_profile(iam: Any) -> None:
    iam.remove_role_from_instance_profile(InstanceProfileName=WORKER_ROLE, RoleName=WORKER_ROLE)
    iam.delete_instance_profile(InstanceProfileName=WORKER_ROLE)


def empty_profile(iam: Any) -> None:
    iam.remove_role_from_instance_profile(InstanceProfileName=WORKER_ROLE, RoleName=WORKER_ROLE)


def delete_linked(name: str) -> Callable[[Any], None]:
    return lambda iam: iam.delete_role(RoleName=name)


# (identity kind, identity name, how to break it, status it then has, write operations apply repairs it with)
BREAKAGES = [
    # TagUser records which AWS managed policies this project attached (see the IP-restricted mode).
    ("spot-user", USER, delete_user, "missing", {"CreateUser", "AttachUserPolicy", "TagUser", "CreateAccessKey"}),
    (
        "spot-user",
        USER,
        lambda iam: iam.detach_user_policy(UserName=USER, PolicyArn=TRACKER_ADMIN),
        "drift",
        {"AttachUserPolicy", "TagUser"},
    ),
    ("access-key", USER, delete_keys, "missing", {"CreateAccessKey", "TagUser"}),
    ("access-key", USER, deactivate_keys, "drift", {"CreateAccessKey", "TagUser"}),
    (
        "worker-role",
        WORKER_ROLE,
        delete_role(WORKER_ROLE, WORKER),
        "missing",
        {"CreateRole", "AttachRolePolicy", "AddRoleToInstanceProfile"},
    ),
    (
        "worker-role",
        WORKER_ROLE,
        retrust(WORKER_ROLE, "lambda.amazonaws.com"),
        "drift",
        {"UpdateAssumeRolePolicy"},
    ),
    ("worker-role", WORKER_ROLE, detach_role(WORKER_ROLE, WORKER), "drift", {"AttachRolePolicy"}),
    (
        "instance-profile",
        WORKER_ROLE,
        delete_profile,
        "missing",
        {"CreateInstanceProfile", "AddRoleToInstanceProfile"},
    ),
    ("instance-profile", WORKER_ROLE, empty_profile, "drift", {"AddRoleToInstanceProfile"}),
    ("fleet-role", FLEET_ROLE, delete_role(FLEET_ROLE, FLEET), "missing", {"CreateRole", "AttachRolePolicy"}),
    ("fleet-role", FLEET_ROLE, retrust(FLEET_ROLE, "ec2.amazonaws.com"), "drift", {"UpdateAssumeRolePolicy"}),
    (
        "tracker-role",
        TRACKER_ROLE,
        delete_role(TRACKER_ROLE, TRACKER_ACCESS),
        "missing",
        {"CreateRole", "AttachRolePolicy"},
    ),
    ("tracker-role", TRACKER_ROLE, detach_role(TRACKER_ROLE, TRACKER_ACCESS), "drift", {"AttachRolePolicy"}),
    (
        "service-linked-role",
        "AWSServiceRoleForEC2Spot",
        delete_linked("AWSServiceRoleForEC2Spot"),
        "missing",
        {"CreateServiceLinkedRole"},
    ),
    (
        "service-linked-role",
        "AWSServiceRoleForEC2SpotFleet",
        delete_linked("AWSServiceRoleForEC2SpotFleet"),
        "missing",
        {"CreateServiceLinkedRole"},
    ),
]

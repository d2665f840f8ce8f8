"""The floor of a cold apply (everything created on an empty account, the key's secret written to a file): start the
interpreter, import boto3, make one IAM client, and make the calls apply makes, in the 9 rounds it needs:

  1  the check's 17 reads (each policy's version read behind its GetPolicy, not waited for)
  2  create the user, the 3 roles, the instance profile, the 2 service-linked roles
  3  see them: GetUser, GetRole x3, GetInstanceProfile
  4  attach the 5 policies, add the role to the instance profile
  5  list the keys (the race protocol's first look), tag the policies attached
  6  create the key
  7  list the keys again (the race check), STS signed with the new key
  8  record the key (a tag on the user)
  9  the check's 17 reads again (the versions are known)

Usage: python benchmarks/floor_cold_apply.py ENDPOINT_URL SECRET_FILE"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from floor_calls import (
    ADMIN_POLICY,
    AWS_POLICY,
    FLEET_ROLE,
    READS,
    SPOT_USER,
    TRACKER_ADMIN_POLICY,
    TRACKER_ROLE,
    WORKER_ROLE,
    call,
    check_reads,
    in_parallel,
)


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


endpoint, secret_file = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, config=Config(max_pool_connections=24))
answers = in_parallel(iam, list(READS))
behind = ThreadPoolExecutor(max_workers=2)  # the policies' versions are read behind round 2, as apply reads them
for (method, params), answer in zip(READS, answers):
    if method == "get_policy" and "Policy" in answer:
        version = answer["Policy"]["DefaultVersionId"]
        behind.submit(call, iam, "get_policy_version", {"PolicyArn": params["PolicyArn"], "VersionId": version})
behind.shutdown(wait=False)
in_parallel(
    iam,
    [
        ("create_user", {"UserName": SPOT_USER, "Path": "/"}),
        ("create_role", {"RoleName": WORKER_ROLE, "AssumeRolePolicyDocument": trust("ec2.amazonaws.com"), "Path": "/"}),
        ("create_instance_profile", {"InstanceProfileName": WORKER_ROLE, "Path": "/"}),
        ("create_role", {"RoleName": FLEET_ROLE, "AssumeRolePolicyDocument": trust("spotfleet.amazonaws.com")}),
        ("create_role", {"RoleName": TRACKER_ROLE, "AssumeRolePolicyDocument": trust("lambda.amazonaws.com")}),
        ("create_service_linked_role", {"AWSServiceName": "spot.amazonaws.com"}),
        ("create_service_linked_role", {"AWSServiceName": "spotfleet.amazonaws.com"}),
    ],
)
in_parallel(
    iam,
    [
        ("get_user", {"UserName": SPOT_USER}),
        ("get_role", {"RoleName": WORKER_ROLE}),
        ("get_instance_profile", {"InstanceProfileName": WORKER_ROLE}),
        ("get_role", {"RoleName": FLEET_ROLE}),
        ("get_role", {"RoleName": TRACKER_ROLE}),
    ],
)
in_parallel(
    iam,
    [
        ("attach_user_policy", {"UserName": SPOT_USER, "PolicyArn": ADMIN_POLICY}),
        ("attach_user_policy", {"UserName": SPOT_USER, "PolicyArn": TRACKER_ADMIN_POLICY}),
        (
            "attach_role_policy",
            {"RoleName": WORKER_ROLE, "PolicyArn": AWS_POLICY + "AWSThinkboxDeadlineSpotEventPluginWorkerPolicy"},
        ),
        ("add_role_to_instance_profile", {"InstanceProfileName": WORKER_ROLE, "RoleName": WORKER_ROLE}),
        (
            "attach_role_policy",
            {"RoleName": FLEET_ROLE, "PolicyArn": AWS_POLICY + "service-role/AmazonEC2SpotFleetTaggingRole"},
        ),
        (
            "attach_role_policy",
            {"RoleName": TRACKER_ROLE, "PolicyArn": AWS_POLICY + "AWSThinkboxDeadlineResourceTrackerAccessPolicy"},
        ),
    ],
)
attached = [{"Key": "floor:attached:" + name, "Value": "true"} for name in ("admin", "tracker-admin")]
in_parallel(
    iam,
    [("list_access_keys", {"UserName": SPOT_USER}), ("tag_user", {"UserName": SPOT_USER, "Tags": attached})],
)
key = iam.create_access_key(UserName=SPOT_USER)["AccessKey"]
sts = boto3.client(
    "sts",
    endpoint_url=endpoint,
    aws_access_key_id=key["AccessKeyId"],
    aws_secret_access_key=key["SecretAccessKey"],
)
with ThreadPoolExecutor(max_workers=2) as pool:
    listed = pool.submit(iam.list_access_keys, UserName=SPOT_USER)
    accepted = pool.submit(sts.get_caller_identity)
    listed.result(), accepted.result()
iam.tag_user(UserName=SPOT_USER, Tags=[{"Key": "floor:key:" + key["AccessKeyId"], "Value": "delivered"}])
descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(descriptor, "w") as file:
    json.dump({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}, file)
check_reads(iam, versions=False)

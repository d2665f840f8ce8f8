"""The calls the floors replay (benchmarks/floor_check.py, floor_cold_apply.py, plugin_check.py): plain boto3, each
call as the tool makes it, in the rounds the tool makes them. Standard library and boto3 only: importing it costs
nothing a floor would not pay."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

SPOT_USER = "DeadlineSpotEventPluginAdmin"
WORKER_ROLE = "DeadlineSpotWorker"
FLEET_ROLE = "aws-ec2-spot-fleet-tagging-role"
TRACKER_ROLE = "DeadlineResourceTrackerAccessRole"
AWS_POLICY = "arn:aws:iam::aws:policy/"
ADMIN_POLICY = AWS_POLICY + "AWSThinkboxDeadlineSpotEventPluginAdminPolicy"
TRACKER_ADMIN_POLICY = AWS_POLICY + "AWSThinkboxDeadlineResourceTrackerAdminPolicy"

# The distinct reads of a check of the default identities, by name: (boto3 method, parameters). 12 for the identities,
# 5 more for the permission chain (the Spot user, its inline and group policies, its two attached policies' GetPolicy;
# the list of its attached policies is the identity's); then each attached policy's default version (second round).
READS: tuple[tuple[str, dict[str, str]], ...] = (
    ("list_attached_user_policies", {"UserName": SPOT_USER}),
    ("list_access_keys", {"UserName": SPOT_USER}),
    ("list_user_tags", {"UserName": SPOT_USER}),
    ("get_role", {"RoleName": WORKER_ROLE}),
    ("list_attached_role_policies", {"RoleName": WORKER_ROLE}),
    ("get_role", {"RoleName": FLEET_ROLE}),
    ("list_attached_role_policies", {"RoleName": FLEET_ROLE}),
    ("get_role", {"RoleName": TRACKER_ROLE}),
    ("list_attached_role_policies", {"RoleName": TRACKER_ROLE}),
    ("get_instance_profile", {"InstanceProfileName": WORKER_ROLE}),
    ("get_role", {"RoleName": "AWSServiceRoleForEC2Spot"}),
    ("get_role", {"RoleName": "AWSServiceRoleForEC2SpotFleet"}),
    ("get_user", {"UserName": SPOT_USER}),
    ("list_user_policies", {"UserName": SPOT_USER}),
    ("list_groups_for_user", {"UserName": SPOT_USER}),
    ("get_policy", {"PolicyArn": ADMIN_POLICY}),
    ("get_policy", {"PolicyArn": TRACKER_ADMIN_POLICY}),
)


def call(client: Any, method: str, params: dict[str, Any]) -> Any:
    """One call; an error answer (NoSuchEntity on an empty account) is an answer like any other."""
    try:
        return getattr(client, method)(**params)
    except client.exceptions.ClientError as error:
        return error.response


def in_parallel(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """One round: every call at once, each on its own thread; their answers, in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda c: call(client, *c), calls))


def check_reads(client: Any, versions: bool = True) -> None:
    """A check's reads: the 17 in one round; then (``versions``) the default version of each policy GetPolicy
    answered, in a second round."""
    answers = in_parallel(client, list(READS))
    if versions:
        second = [
            (
                "get_policy_version",
                {"PolicyArn": params["PolicyArn"], "VersionId": answer["Policy"]["DefaultVersionId"]},
            )
            for (method, params), answer in zip(READS, answers)
            if method == "get_policy" and "Policy" in answer
        ]
        if second:
            in_parallel(client, second)

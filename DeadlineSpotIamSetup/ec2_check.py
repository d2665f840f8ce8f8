"""The chain proven against EC2 itself: a ``DryRun`` RequestSpotFleet made with the Spot credentials, naming the fleet
role and the worker instance profile set up here. EC2 answers DryRunOperation when the request would have been
accepted (every permission, service control policies included), UnauthorizedOperation with an encoded reason when
not; the reason is decoded with sts:DecodeAuthorizationMessage where the Spot credentials may call it.

Nothing is launched: a dry run only checks. Bounded like every other call (the gateway's caller and timeouts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from .aws_failures import _BAD_CREDENTIALS, _Caller, _error_code, _one_line
from .aws_session import AwsAccess, _client, _session
from .errors import AccessDenied, AwsAccessError

_PASSED = "DryRunOperation"
_REFUSED = "UnauthorizedOperation"
_ENCODED = "Encoded authorization failure message:"


@dataclass(frozen=True)
class DryRunRequest:
    fleet_role_arn: str
    instance_profile_arn: str
    subnet: str
    image: str
    instance_type: str = "t3.micro"

    def config(self) -> dict[str, Any]:
        return {
            "IamFleetRole": self.fleet_role_arn,
            "TargetCapacity": 1,
            "AllocationStrategy": "capacityOptimized",
            "LaunchSpecifications": [
                {
                    "ImageId": self.image,
                    "InstanceType": self.instance_type,
                    "SubnetId": self.subnet,
                    "IamInstanceProfile": {"Arn": self.instance_profile_arn},
                }
            ],
        }


@dataclass(frozen=True)
class DryRunVerdict:
    passed: bool
    line: str  # one line: what EC2 said, and what to do
    encoded: str | None = None  # the undecoded reason, when it could not be decoded here


def _summary(decoded: dict[str, Any]) -> str:
    context = decoded.get("context") or {}
    what = f"{context.get('action', 'a call')} on {context.get('resource', 'a resource')}"
    if decoded.get("explicitDeny"):
        return f"{what} is explicitly denied (a Deny in a policy, a permissions boundary or a service control policy)"
    return f"{what} is not allowed (no policy of the Spot credentials allows it, or a service control policy blocks it)"


def dry_run_spot_fleet(access: AwsAccess, request: DryRunRequest) -> DryRunVerdict:
    """Ask EC2, as the Spot credentials in ``access``, whether the Spot Fleet request would be accepted."""
    session = _session(access)
    ec2 = _client(session, "ec2", access)
    call = _Caller(access.timeouts, lambda: str(ec2.meta.endpoint_url), lambda: False)

    def attempt() -> tuple[str, str]:
        try:
            ec2.request_spot_fleet(DryRun=True, SpotFleetRequestConfig=request.config())
        except botocore.exceptions.ClientError as error:
            code = _error_code(error)
            if code in (_PASSED, _REFUSED) or (code.startswith("Invalid") and code not in _BAD_CREDENTIALS):
                return code, str(error.response.get("Error", {}).get("Message", ""))
            raise
        return "", ""  # answered without DryRunOperation: not EC2's dry-run behaviour

    code, message = call(attempt, "ec2:RequestSpotFleet", "a dry-run Spot Fleet request")
    if code == _PASSED:
        return DryRunVerdict(
            True,
            f"EC2 accepts a Spot Fleet request with fleet role {request.fleet_role_arn} and instance profile "
            f"{request.instance_profile_arn} (dry run, as the Spot credentials)",
        )
    if code.startswith("Invalid"):
        return DryRunVerdict(
            False,
            f"EC2 refused the dry run's own input ({code}: {_one_line(message)}): check --subnet, --image and "
            "--instance-type, and the region",
        )
    if code != _REFUSED:
        return DryRunVerdict(False, "the endpoint did not answer the dry run the way EC2 does: check --endpoint-url")
    encoded = message.split(_ENCODED, 1)[1].strip() if _ENCODED in message else None
    if encoded is None:
        return DryRunVerdict(False, f"EC2 refuses the Spot credentials a Spot Fleet request: {_one_line(message)}")
    sts = _client(session, "sts", access)
    try:
        answer = call(
            lambda: sts.decode_authorization_message(EncodedMessage=encoded),
            "sts:DecodeAuthorizationMessage",
            "the dry run's refusal",
        )
        decoded = json.loads(answer["DecodedMessage"])
    except AccessDenied:
        return DryRunVerdict(
            False,
            "EC2 refuses the Spot credentials a Spot Fleet request, and they may not decode why "
            "(sts:DecodeAuthorizationMessage): decode it as an admin with `aws sts decode-authorization-message "
            "--encoded-message MESSAGE` (the message is in --json's ec2_dry_run.encoded)",
            encoded,
        )
    except (AwsAccessError, ValueError, TypeError, KeyError) as error:
        why = f"EC2 refuses the Spot credentials a Spot Fleet request (its reason could not be decoded: {error})"
        return DryRunVerdict(False, why, encoded)
    return DryRunVerdict(False, f"EC2 refuses the Spot credentials a Spot Fleet request: {_summary(decoded)}")

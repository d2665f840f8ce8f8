"""check --verify-ec2: a dry-run RequestSpotFleet made with the Spot credentials themselves. moto's EC2 does not honour
DryRun (it would launch the fleet), so EC2's and STS's answers come from a proxy that answers those two actions as
AWS documents them and forwards everything else to moto: the request really goes over the wire, signed with the
Spot user's key."""

from __future__ import annotations

import json
from pathlib import Path

from odd_servers import AnsweringProxy, ec2_error

from tests.support.command_line import run_cli

ENCODED = "aB3xYzEncodedAuthorizationFailure"


def decoded(document: dict) -> tuple[int, bytes]:
    text = json.dumps(document).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = (
        '<DecodeAuthorizationMessageResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<DecodeAuthorizationMessageResult><DecodedMessage>{text}</DecodedMessage></DecodeAuthorizationMessageResult>"
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DecodeAuthorizationMessageResponse>"
    )
    return 200, body.encode()


STS_DENIED = (
    403,
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>AccessDenied</Code><Message>not authorized to perform sts:DecodeAuthorizationMessage</Message></Error>"
    b"<RequestId>1</RequestId></ErrorResponse>",
)
REFUSED = ec2_error(
    403,
    "UnauthorizedOperation",
    f"You are not authorized to perform this operation. Encoded authorization failure message: {ENCODED}",
)


def setup(endpoint: str, folder: Path) -> Path:
    key_file = folder / "spot-key.json"
    assert run_cli("apply", "--secret-out", str(key_file), "--endpoint-url", endpoint)[0] == 0
    return key_file


def verify(proxy: AnsweringProxy, key_file: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        "check",
        "--verify-ec2",
        "--subnet",
        "subnet-0abc",
        "--image",
        "ami-0123456789abcdef0",
        "--spot-key-file",
        str(key_file),
        "--endpoint-url",
        proxy.endpoint_url,
        *extra,
    )


def test_a_dry_run_ec2_would_accept_passes_and_is_signed_with_the_spot_key(endpoint, tmp_path: Path) -> None:
    key_file = setup(endpoint, tmp_path)
    with AnsweringProxy(
        endpoint, {"RequestSpotFleet": ec2_error(412, "DryRunOperation", "Request would have succeeded")}
    ) as proxy:
        code, out, err = verify(proxy, key_file)
    assert code == 0, out + err
    assert "EC2 dry run: passed: EC2 accepts a Spot Fleet request" in out
    (asked,) = proxy.asked
    assert asked["DryRun"] == "true"
    assert (
        asked["SpotFleetRequestConfig.IamFleetRole"] == "arn:aws:iam::123456789012:role/aws-ec2-spot-fleet-tagging-role"
    )
    profile = asked["SpotFleetRequestConfig.LaunchSpecifications.1.IamInstanceProfile.Arn"]
    assert profile == "arn:aws:iam::123456789012:instance-profile/DeadlineSpotWorker"
    spot_key = json.loads(key_file.read_text())
    assert f"Credential={spot_key['AccessKeyId']}/" in asked["Authorization"]  # as the Spot user, not the admin
    assert spot_key["SecretAccessKey"] not in out + err


def test_a_refusal_is_decoded_into_the_call_and_resource(endpoint, tmp_path: Path) -> None:
    key_file = setup(endpoint, tmp_path)
    reason = {
        "allowed": False,
        "explicitDeny": True,
        "context": {"action": "iam:PassRole", "resource": "arn:aws:iam::123456789012:role/DeadlineSpotWorker"},
    }
    answers = {"RequestSpotFleet": REFUSED, "DecodeAuthorizationMessage": decoded(reason)}
    with AnsweringProxy(endpoint, answers) as proxy:
        code, out, _ = verify(proxy, key_file, "--json")
    report = json.loads(out)
    assert code == 2 and report["ok"] is False and report["ec2_dry_run"]["passed"] is False
    line = report["ec2_dry_run"]["line"]
    assert "iam:PassRole on arn:aws:iam::123456789012:role/DeadlineSpotWorker is explicitly denied" in line
    assert proxy.asked[1]["EncodedMessage"] == ENCODED


def test_a_refusal_the_spot_credentials_may_not_decode_says_how_to_decode_it(endpoint, tmp_path: Path) -> None:
    key_file = setup(endpoint, tmp_path)
    with AnsweringProxy(endpoint, {"RequestSpotFleet": REFUSED, "DecodeAuthorizationMessage": STS_DENIED}) as proxy:
        code, out, _ = verify(proxy, key_file)
    assert code == 2
    assert "may not decode why" in out and "aws sts decode-authorization-message" in out


def test_bad_dry_run_input_is_named_not_blamed_on_permissions(endpoint, tmp_path: Path) -> None:
    key_file = setup(endpoint, tmp_path)
    answers = {
        "RequestSpotFleet": ec2_error(400, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-0abc' does not exist")
    }
    with AnsweringProxy(endpoint, answers) as proxy:
        code, out, _ = verify(proxy, key_file)
    assert code == 2 and "InvalidSubnetID.NotFound" in out and "check --subnet, --image" in out


def test_verify_ec2_refuses_incomplete_options_before_any_call(tmp_path: Path) -> None:
    code, _, err = run_cli("check", "--verify-ec2", "--subnet", "subnet-1", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 1 and "--subnet and --image" in err and err.count("\n") == 1
    code, _, err = run_cli(
        "check", "--verify-ec2", "--subnet", "s", "--image", "i", "--endpoint-url", "http://127.0.0.1:9"
    )
    assert code == 1 and "--spot-key-file FILE or --spot-profile NAME" in err
    broken = tmp_path / "key.json"
    broken.write_text("{}")
    code, _, err = run_cli(
        "check",
        "--verify-ec2",
        "--subnet",
        "s",
        "--image",
        "i",
        "--spot-key-file",
        str(broken),
        "--endpoint-url",
        "http://127.0.0.1:9",
    )
    assert code == 1 and "is not a key file" in err

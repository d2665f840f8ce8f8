"""The parts of the gateway that need no AWS: secret-safe values, call counting, names, log redaction."""

from __future__ import annotations

import logging

import pytest

from DeadlineSpotIamSetup.aws_session import _SecretRedactingFilter
from DeadlineSpotIamSetup.gateway import AwsAccess, _snake, connect
from DeadlineSpotIamSetup.values import NewAccessKey

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def test_new_access_key_repr_never_shows_the_secret():
    key = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIAIOSFODNN7NEWKEY1", SECRET)
    for text in (repr(key), str(key), f"{key}", f"{key!r}"):
        assert SECRET not in text
        assert "AKIAIOSFODNN7NEWKEY1" in text
    assert key.secret_access_key == SECRET


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("AddRoleToInstanceProfile", "add_role_to_instance_profile"),
        ("CreateRole", "create_role"),
        ("UpdateAssumeRolePolicy", "update_assume_role_policy"),
        ("CreateServiceLinkedRole", "create_service_linked_role"),
        ("ListAttachedUserPolicies", "list_attached_user_policies"),
    ],
)
def test_snake_turns_an_operation_into_its_boto3_method_name(operation, method):
    assert _snake(operation) == method


def _record(message: str, *args, name: str = "botocore.parsers") -> logging.LogRecord:
    return logging.LogRecord(name, logging.DEBUG, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    "message",
    [
        f"Response body:\n<AccessKey><SecretAccessKey>{SECRET}</SecretAccessKey></AccessKey>",
        f"credentials: aws_secret_access_key={SECRET}",
    ],
)
def test_redacting_filter_drops_records_holding_a_secret(message):
    assert _SecretRedactingFilter().filter(_record(message)) is False


def test_redacting_filter_drops_a_secret_passed_as_a_format_argument():
    assert (
        _SecretRedactingFilter().filter(_record("Response body: %s", b"<SecretAccessKey>x</SecretAccessKey>")) is False
    )


def test_redacting_filter_keeps_other_records():
    assert _SecretRedactingFilter().filter(_record("Response headers: %s", {"x-amzn-RequestId": "abc"})) is True


def test_botocore_parser_debug_record_with_a_secret_never_reaches_a_handler(caplog):
    connect(AwsAccess(region="us-east-1"))  # the filter comes with the first gateway (no call is made)
    logger = logging.getLogger("botocore.parsers")
    with caplog.at_level(logging.DEBUG, logger="botocore.parsers"):
        logger.debug(
            "Response body:\n%s",
            b"<CreateAccessKeyResult><AccessKey><SecretAccessKey>"
            + SECRET.encode()
            + b"</SecretAccessKey></AccessKey></CreateAccessKeyResult>",
        )
        logger.debug("Response headers: %s", {"x-amzn-RequestId": "abc"})
    messages = [record.getMessage() for record in caplog.records if record.name == "botocore.parsers"]
    assert messages == ["Response headers: {'x-amzn-RequestId': 'abc'}"]
    assert SECRET not in caplog.text


def test_importing_the_engine_installs_no_logging_filter():
    """Nothing in the package changes global state at import: a fresh interpreter shows no filter on
    botocore's loggers until a gateway is made."""
    import subprocess
    import sys

    code = (
        "import logging, DeadlineSpotIamSetup.cli, DeadlineSpotIamSetup.gateway as g;"
        "from DeadlineSpotIamSetup.aws_session import _REDACTED_LOGGERS as names;"
        "print(sum(len(logging.getLogger(n).filters) for n in names));"
        "g.connect(g.AwsAccess(region='us-east-1'));"
        "print(sum(len(logging.getLogger(n).filters) for n in names))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert output == ["0", "4"]


class _InstanceRoleFetcher:
    """What botocore's InstanceMetadataProvider asks EC2's instance metadata service for, answered locally."""

    def __init__(self) -> None:
        self.calls = 0

    def retrieve_iam_role_credentials(self) -> dict[str, str]:
        self.calls += 1
        return {
            "role_name": "RenderQueueRole",
            "access_key": "ASIAEXAMPLEINSTANCE1",
            "secret_key": "instance/role/secret/never/shown/anywhere00",
            "token": "token",
            "expiry_time": "2999-01-01T00:00:00Z",
        }


def test_credentials_from_an_ec2_instance_role_are_named_as_such_without_another_call():
    """botocore's credential chain records which provider supplied the credentials: InstanceMetadataProvider's METHOD
    is "iam-role" (botocore/credentials.py). The plugin says from it that the role mode is available."""
    import boto3
    import botocore.credentials
    import botocore.session

    from DeadlineSpotIamSetup.gateway import IamGateway

    fetcher = _InstanceRoleFetcher()
    core = botocore.session.get_session()
    provider = botocore.credentials.InstanceMetadataProvider(iam_role_fetcher=fetcher)
    core.register_component("credential_provider", botocore.credentials.CredentialResolver([provider]))
    gateway = IamGateway(boto3.session.Session(botocore_session=core, region_name="us-east-1"))
    asked = fetcher.calls
    assert gateway.credential_source == "iam-role"
    assert fetcher.calls == asked == 1  # resolved once, when the IAM client was made


def test_explicit_credentials_are_not_an_instance_role():
    gateway = connect(AwsAccess(access_key_id="AKIAEXAMPLEEXAMPLE12", secret_access_key="x" * 40, region="us-east-1"))
    assert gateway.credential_source == "explicit"

"""What the engine fills in for botocore releases older than those it is written for (old_botocore.py): the
endpoint URL botocore reads from the environment from 1.31.0 (botocore's configprovider.ConfiguredEndpointProvider:
the service's variable, then AWS_ENDPOINT_URL, then the AWS config file, unless told to ignore them all), and the
oldest botocore supported. The plugin's suite runs the same code on the oldest botocore (tests/run_py37.py)."""

from __future__ import annotations

import pytest

from DeadlineSpotIamSetup import aws_session, old_botocore
from DeadlineSpotIamSetup.errors import AwsAccessError, InvalidSettings
from DeadlineSpotIamSetup.gateway import AwsAccess

URL = "https://iam.example.test"


def test_the_service_variable_comes_before_aws_endpoint_url():
    environ = {"AWS_ENDPOINT_URL": "https://all.example.test", "AWS_ENDPOINT_URL_IAM": URL}
    assert old_botocore.configured_endpoint_url("iam", {}, environ) == URL
    assert old_botocore.configured_endpoint_url("sts", {}, environ) == "https://all.example.test"


def test_no_variable_and_no_configured_endpoint_means_the_default_endpoint():
    assert old_botocore.configured_endpoint_url("iam", {"region": "us-east-1"}, {}) is None
    assert old_botocore.configured_endpoint_url("iam", {}, {"AWS_ENDPOINT_URL": ""}) is None


@pytest.mark.parametrize(
    "environ,scoped_config",
    [
        ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, {"endpoint_url": URL}),
        ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"}, {}),
        ({}, {"ignore_configured_endpoint_urls": "true", "services": "local"}),
    ],
)
def test_told_to_ignore_configured_endpoints_it_names_none(environ, scoped_config):
    environ = {**environ, "AWS_ENDPOINT_URL": URL}
    assert old_botocore.configured_endpoint_url("iam", scoped_config, environ) is None


@pytest.mark.parametrize("scoped_config", [{"endpoint_url": URL}, {"services": "local-stack"}])
def test_an_endpoint_only_in_the_aws_config_file_is_refused_in_one_line_not_ignored(scoped_config):
    with pytest.raises(InvalidSettings) as refused:
        old_botocore.configured_endpoint_url("iam", scoped_config, {})
    message = str(refused.value)
    assert "\n" not in message
    assert "AWS config file" in message and "--endpoint-url" in message and "EndpointUrl" in message


def test_an_environment_variable_wins_over_the_config_file_as_in_botocore():
    assert old_botocore.configured_endpoint_url("iam", {"endpoint_url": "https://x"}, {"AWS_ENDPOINT_URL": URL}) == URL


@pytest.mark.parametrize("found", ["1.22.9", "1.9.253", "0.103.0"])
def test_a_botocore_older_than_the_oldest_supported_is_refused_in_one_line(found):
    with pytest.raises(AwsAccessError) as refused:
        old_botocore.check_version(found)
    assert f"botocore {found} is older than 1.23.0 (boto3 1.20.0)" in str(refused.value)
    assert "pythonsync3" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("found", ["1.23.0", "1.23.54", "1.31.0", "1.44.8", "2.0.0rc1"])
def test_the_oldest_supported_botocore_and_newer_ones_are_accepted(found):
    old_botocore.check_version(found)


def test_the_streaming_error_is_listed_only_where_botocore_has_it():
    assert all(issubclass(error, Exception) for error in old_botocore.RESPONSE_STREAMING_ERRORS)
    assert len(old_botocore.RESPONSE_STREAMING_ERRORS) <= 1


def test_the_gateway_leaves_the_endpoint_to_a_botocore_that_reads_it_itself(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", URL)
    session = aws_session._session(AwsAccess())
    monkeypatch.setattr(old_botocore, "reads_configured_endpoints", lambda: True)
    assert aws_session._endpoint_url(session, "iam", AwsAccess()) is None
    monkeypatch.setattr(old_botocore, "reads_configured_endpoints", lambda: False)
    assert aws_session._endpoint_url(session, "iam", AwsAccess()) == URL
    assert aws_session._endpoint_url(session, "iam", AwsAccess(endpoint_url="https://given.test")) == "https://given.test"


def test_a_malformed_aws_endpoint_url_is_refused_like_a_malformed_setting(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "ftp://nowhere")
    monkeypatch.setattr(old_botocore, "reads_configured_endpoints", lambda: False)
    with pytest.raises(InvalidSettings, match="not valid"):
        aws_session._endpoint_url(aws_session._session(AwsAccess()), "iam", AwsAccess())

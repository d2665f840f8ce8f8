"""Failures on the wire: throttling, 5xx, ConcurrentModification, AccessDenied, refused and unresponsive
endpoints. Every one ends in success or in one clear line, in bounded time, never a traceback."""

from __future__ import annotations

import boto3
import pytest

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.errors import AwsAccessError
from DeadlineSpotIamSetup.findings import DONE, NOT_ATTEMPTED, REFUSED
from DeadlineSpotIamSetup.waits import Timeouts
from tests.support.command_line import run_cli_process
from tests.support.fault_proxy import refused_endpoint
from tests.support.wire import DUMMY_SECRET, make_gateway

pytestmark = pytest.mark.waits  # default timeouts and held replies: run first (tests/conftest.py)

DESIRED = desired_state(Settings())


@pytest.mark.parametrize(
    "status,code",
    [(400, "Throttling"), (500, "InternalFailure"), (503, "ServiceUnavailable")],
)
def test_check_rides_out_throttling_and_server_errors(proxy, status, code) -> None:
    proxy.inject(status=status, code=code, times=4)
    plan = plan_changes(make_gateway(proxy.endpoint_url), DESIRED)
    assert proxy.injected() == 4
    assert [f.status for f in plan.findings] == ["missing"] * len(DESIRED.identities)


def test_apply_rides_out_throttled_writes(proxy) -> None:
    proxy.inject(status=400, code="Throttling", action="CreateRole", times=2)
    proxy.inject(status=500, code="InternalFailure", action="AttachRolePolicy", times=2)
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=lambda key: None)
    assert outcome.ok
    assert proxy.injected() == 4


def test_concurrent_modification_is_retried(proxy) -> None:
    proxy.inject(status=409, code="ConcurrentModification", action="AttachUserPolicy", times=2)
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=lambda key: None)
    assert outcome.ok and proxy.injected() == 2


def test_endless_throttling_fails_with_one_line_within_the_budget(proxy) -> None:
    proxy.inject(status=400, code="Throttling", times=None)
    budget = Timeouts(connect=1, read=2, call_budget=3, call_deadline=8, max_attempts=10)
    with pytest.raises(AwsAccessError, match=r"kept throttling iam:\w+ on .* try again in a few minutes"):
        plan_changes(make_gateway(proxy.endpoint_url, budget), DESIRED)
    # Retried (more than one attempt per read), yet bounded by the budget, not by max_attempts alone: the first round
    # has 17 reads (11 for the identities, 6 that start the permission chain), each at most max_attempts.
    assert len(DESIRED.identities) < proxy.injected() < 10 * 17


def test_a_refused_write_is_named_and_every_write_not_needing_it_still_runs(proxy) -> None:
    proxy.inject(status=403, code="AccessDenied", message="not authorized", action="CreateRole", times=None)
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=lambda key: None)
    result = outcome.result
    refused = {step.action.summary: step for step in result.of_state(REFUSED)}
    assert set(refused) == {step.action.summary for step in result.outcomes if step.action.operation == "CreateRole"}
    message = refused["create role DeadlineSpotWorker trusted by ec2.amazonaws.com"].detail
    assert "AWS denied iam:CreateRole on worker-role DeadlineSpotWorker" in message
    assert "bootstrap-policy" in message and "\n" not in message
    # AWS's message named nobody: the refused principal is the caller, as sts:GetCallerIdentity answers (moto's
    # default caller is arn:aws:sts::123456789012:user/moto; AWS answers arn:aws:iam::ACCOUNT:user/NAME for a user)
    caller = boto3.client("sts", endpoint_url=proxy.endpoint_url, region_name="us-east-1").get_caller_identity()
    assert {step.principal for step in refused.values()} == {caller["Arn"]}
    assert {step.permission for step in refused.values()} == {"iam:CreateRole"}
    # What needs a role that was not made is not attempted, and says which; everything else was done.
    blocked = result.of_state(NOT_ATTEMPTED)
    assert blocked and {step.blocked_by.operation for step in blocked if step.blocked_by} == {"CreateRole"}
    assert all(step.blocked_by is not None for step in blocked)
    assert {step.action.operation for step in blocked} == {"AttachRolePolicy", "AddRoleToInstanceProfile"}
    done = {step.action.operation for step in result.of_state(DONE)}
    assert {"CreateUser", "AttachUserPolicy", "CreateInstanceProfile", "CreateAccessKey"} <= done
    assert not outcome.ok


def test_rejected_credentials_are_one_clear_line(proxy) -> None:
    proxy.inject(status=403, code="InvalidClientTokenId", message="The security token is invalid", times=None)
    code, out, err, _ = run_cli_process("check", "--endpoint-url", proxy.endpoint_url)
    assert code == 1 and out == ""
    assert err.startswith("error: AWS rejected the credentials (InvalidClientTokenId)")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert DUMMY_SECRET not in err


def test_refused_endpoint_fails_fast_with_one_line() -> None:
    code, out, err, elapsed = run_cli_process("check", "--endpoint-url", refused_endpoint())
    assert code == 1
    assert "is unreachable" in err and "--endpoint-url" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert elapsed < 30  # the contract: a clear error within 30 s


def test_a_refused_connection_is_tried_once_more_then_reported() -> None:
    """Nothing listens there: one quick second try (a server restarting), not the whole retry budget."""
    budget = Timeouts(connect=1, read=2, call_budget=15, call_deadline=20, max_attempts=10)
    gateway = make_gateway(refused_endpoint(), budget)
    attempts = []
    gateway._iam.meta.events.register("before-send.iam", lambda **kwargs: attempts.append(kwargs["request"].url))
    with pytest.raises(AwsAccessError, match="is unreachable"):
        gateway.get_user("DeadlineSpotEventPluginAdmin")
    assert len(attempts) == 2


def test_unresponsive_endpoint_fails_within_30_seconds_with_default_timeouts(proxy) -> None:
    proxy.hang()
    code, out, err, elapsed = run_cli_process("check", "--endpoint-url", proxy.endpoint_url)
    assert code == 1
    assert "did not answer" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert elapsed < 30  # the contract: a clear error within 30 s, never a hang


def test_no_credentials_at_all_is_one_clear_line(monkeypatch, endpoint) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err, _ = run_cli_process("check", "--endpoint-url", endpoint)
    assert code == 1
    assert err.startswith("error: no AWS credentials found")


def test_unknown_profile_is_one_clear_line(endpoint) -> None:
    code, out, err, _ = run_cli_process("check", "--profile", "render-farm", "--endpoint-url", endpoint)
    assert code == 1
    assert "AWS profile 'render-farm' (from --profile) is not in the AWS config or credentials file" in err

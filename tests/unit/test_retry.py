"""BudgetedRetry: botocore's standard retry decisions within a per-call time budget (fake clock)."""

from __future__ import annotations

from types import SimpleNamespace

import botocore.exceptions
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.hooks import HierarchicalEmitter

from DeadlineSpotIamSetup.retry import BudgetedRetry

OPERATION = botocore.session.get_session().get_service_model("iam").operation_model("GetRole")


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def error_response(code: str, status: int):
    http = AWSResponse("https://iam.amazonaws.com/", status, {}, None)
    parsed = {
        "Error": {"Code": code, "Message": code, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return http, parsed


def needs_retry_kwargs(context: dict, attempts: int = 1, response=None, caught_exception=None) -> dict:
    """The keyword arguments botocore's endpoint passes to a ``needs-retry`` handler."""
    return {
        "response": response,
        "endpoint": None,
        "operation": OPERATION,
        "attempts": attempts,
        "caught_exception": caught_exception,
        "request_dict": {"context": context},
    }


def start_call(retry: BudgetedRetry) -> dict:
    """Register on a client-like object and fire its ``before-call`` event; returns the request context."""
    events = HierarchicalEmitter()
    retry.register(SimpleNamespace(meta=SimpleNamespace(events=events)))
    context: dict = {}
    events.emit("before-call.iam.GetRole", model=OPERATION, params={}, request_signer=None, context=context)
    return context


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def retry(clock: FakeClock) -> BudgetedRetry:
    return BudgetedRetry(max_attempts=5, call_budget=15.0, clock=clock)


def test_throttling_is_retried_after_a_delay_within_the_budget(retry):
    context = start_call(retry)
    delay = retry.needs_retry(**needs_retry_kwargs(context, response=error_response("Throttling", 400)))
    assert delay is not None
    assert 0 <= delay < 15.0


def test_access_denied_is_not_retried(retry):
    context = start_call(retry)
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response("AccessDenied", 403))) is None


def test_no_such_entity_is_not_retried(retry):
    context = start_call(retry)
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response("NoSuchEntity", 404))) is None


@pytest.mark.parametrize("code", ["ConcurrentModification", "ConcurrentModificationException"])
def test_concurrent_modification_is_retried(retry, code):
    context = start_call(retry)
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response(code, 409))) is not None


def test_server_error_is_retried(retry):
    context = start_call(retry)
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response("ServiceFailure", 500))) is not None


def test_connection_error_is_retried(retry):
    context = start_call(retry)
    error = botocore.exceptions.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")
    assert retry.needs_retry(**needs_retry_kwargs(context, caught_exception=error)) is not None


def test_successful_answer_is_not_retried(retry):
    context = start_call(retry)
    http = AWSResponse("https://iam.amazonaws.com/", 200, {}, None)
    assert retry.needs_retry(**needs_retry_kwargs(context, response=(http, {"Role": {}}))) is None


def test_no_retry_once_the_budget_is_spent(clock, retry):
    context = start_call(retry)
    clock.now += 15.0
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response("Throttling", 400))) is None
    clock.now += 100.0
    error = botocore.exceptions.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")
    assert retry.needs_retry(**needs_retry_kwargs(context, caught_exception=error)) is None


def test_retry_within_the_budget_is_still_allowed_just_before_it_ends(clock):
    retry = BudgetedRetry(max_attempts=5, call_budget=1000.0, clock=clock)
    context = start_call(retry)
    clock.now += 900.0  # 100 s left: more than any first backoff
    assert retry.needs_retry(**needs_retry_kwargs(context, response=error_response("Throttling", 400))) is not None


def test_every_call_gets_a_fresh_budget(clock, retry):
    spent = start_call(retry)
    clock.now += 60.0
    fresh = start_call(retry)
    throttled = error_response("Throttling", 400)
    assert retry.needs_retry(**needs_retry_kwargs(spent, response=throttled)) is None
    assert retry.needs_retry(**needs_retry_kwargs(fresh, response=throttled)) is not None


@pytest.mark.parametrize("code", ["Throttling", "ConcurrentModification"])
def test_no_retry_after_max_attempts(retry, code):
    context = start_call(retry)
    assert retry.needs_retry(**needs_retry_kwargs(context, attempts=4, response=error_response(code, 400))) is not None
    assert retry.needs_retry(**needs_retry_kwargs(context, attempts=5, response=error_response(code, 400))) is None


def test_connection_error_not_retried_after_max_attempts(retry):
    context = start_call(retry)
    error = botocore.exceptions.ConnectTimeoutError(endpoint_url="https://iam.amazonaws.com/")
    assert retry.needs_retry(**needs_retry_kwargs(context, attempts=5, caught_exception=error)) is None

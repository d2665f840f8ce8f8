"""botocore's failures as the engine's one-line errors (aws_failures.py), driven from the error answers boto3 raises
(``ClientError`` with the ``Error`` and ``ResponseMetadata`` of the reply) and from botocore's own exceptions, without
a server. The codes are AWS's: IAM API Reference, "Common Errors" (AccessDenied, InvalidClientTokenId, Throttling,
InternalFailure) and each action's Errors (NoSuchEntity, EntityAlreadyExists, LimitExceeded); CreateServiceLinkedRole
answers InvalidInput "...has been taken in this account" for a role that exists. tests/wire/test_faults.py sends such
answers to the whole gateway over HTTP."""

from __future__ import annotations

import botocore.exceptions
import pytest

from DeadlineSpotIamSetup.aws_failures import _Caller
from DeadlineSpotIamSetup.errors import (
    AccessDenied,
    AlreadyExists,
    AwsAccessError,
    Cancelled,
    CredentialsRejected,
    EndpointUnavailable,
    LimitExceeded,
    NotFound,
    ReplyLost,
)
from DeadlineSpotIamSetup.waits import CLI_TIMEOUTS

ENDPOINT = "https://iam.amazonaws.com"


def caller(cancelled: bool = False) -> _Caller:
    return _Caller(CLI_TIMEOUTS, lambda: ENDPOINT, lambda: cancelled)


def answer(code: str, message: str = "", status: int = 400) -> botocore.exceptions.ClientError:
    reply = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return botocore.exceptions.ClientError(reply, "Operation")


def failure(error: BaseException, operation: str = "iam:GetUser", subject: str = "user alice") -> Exception:
    def call() -> None:
        raise error

    with pytest.raises(Exception) as caught:
        caller()(call, operation, subject)
    message = str(caught.value)
    assert message and "\n" not in message
    return caught.value


@pytest.mark.parametrize(
    "code, message, kind",
    [
        ("NoSuchEntity", "The user with name alice cannot be found.", NotFound),
        ("EntityAlreadyExists", "User with name alice already exists.", AlreadyExists),
        ("InvalidInput", "Service role name AWSServiceRoleForEC2Spot has been taken in this account", AlreadyExists),
        ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", LimitExceeded),
        ("InvalidClientTokenId", "The security token included in the request is invalid.", CredentialsRejected),
        ("SignatureDoesNotMatch", "The request signature we calculated does not match", CredentialsRejected),
    ],
)
def test_an_error_code_becomes_the_error_that_says_what_happened(code, message, kind):
    assert type(failure(answer(code, message))) is kind


def test_a_refusal_names_who_was_refused_and_the_permission_missing():
    refused = failure(
        answer(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:PassRole on resource: "
            "arn:aws:iam::123456789012:role/DeadlineSpotWorker",
            403,
        ),
        "iam:AddRoleToInstanceProfile",
        "instance profile DeadlineSpotWorker",
    )
    assert isinstance(refused, AccessDenied)
    assert refused.principal == "arn:aws:iam::123456789012:user/alice" and refused.permission == "iam:PassRole"
    assert "(it needs iam:PassRole)" in str(refused) and "bootstrap-policy" in str(refused)


def test_a_refusal_in_another_wording_names_the_call_made():
    refused = failure(answer("AccessDenied", "Access denied", 403), "iam:GetUser")
    assert isinstance(refused, AccessDenied) and refused.permission == "iam:GetUser" and refused.principal is None


def test_throttling_past_the_retry_budget_says_to_try_again_later():
    throttled = failure(answer("Throttling", "Rate exceeded"))
    assert type(throttled) is AwsAccessError and "kept throttling iam:GetUser" in str(throttled)


def test_an_unknown_code_is_named_with_its_message():
    unknown = failure(answer("ConcurrentModification", "Try again\nlater", 409))
    assert str(unknown) == "iam:GetUser on user alice failed with ConcurrentModification: Try again later"


def test_a_server_error_on_create_access_key_is_a_lost_reply_and_on_a_read_a_failure():
    """A 5xx may come after IAM made the key: its secret is then in a reply nobody read."""
    assert isinstance(failure(answer("InternalFailure", "", 500), "iam:CreateAccessKey"), ReplyLost)
    assert type(failure(answer("InternalFailure", "", 500))) is AwsAccessError


def test_no_reply_on_create_access_key_is_a_lost_reply_and_on_a_read_a_silent_endpoint():
    timeout = botocore.exceptions.ReadTimeoutError(endpoint_url=ENDPOINT)
    assert isinstance(failure(timeout, "iam:CreateAccessKey"), ReplyLost)
    silent = failure(timeout)
    assert isinstance(silent, EndpointUnavailable) and f"{ENDPOINT} did not answer (iam:GetUser)" in str(silent)


def test_an_endpoint_out_of_reach_and_missing_credentials_say_what_to_check():
    unreachable = failure(botocore.exceptions.EndpointConnectionError(endpoint_url=ENDPOINT))
    assert isinstance(unreachable, EndpointUnavailable) and "is unreachable" in str(unreachable)
    missing = failure(botocore.exceptions.NoCredentialsError())
    assert isinstance(missing, CredentialsRejected) and "no AWS credentials found" in str(missing)


def test_once_cancelled_no_call_starts_but_the_clean_up_of_the_runs_own_work():
    calls: list[str] = []
    with pytest.raises(Cancelled):
        caller(cancelled=True)(lambda: calls.append("GetUser"), "iam:GetUser", "user alice")
    caller(cancelled=True)(lambda: calls.append("DeleteAccessKey"), "iam:DeleteAccessKey", "a key", cleanup=True)
    assert calls == ["DeleteAccessKey"]

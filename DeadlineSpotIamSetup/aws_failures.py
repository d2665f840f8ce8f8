"""botocore's failures, translated: every way a boto3 call can fail becomes one line of an error type that says
what happened (:mod:`errors`), once, at the boundary with AWS. A call that is not idempotent (CreateAccessKey) is never
retried once it may have reached AWS: its caller gets :class:`errors.ReplyLost`. Pure: no session, no client, no call
of its own (:class:`_Caller` runs the call it is given within the hard deadline of :mod:`call_deadline`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import botocore.exceptions
from botocore.parsers import ResponseParserError

from . import call_deadline, old_botocore
from .commands import command
from .errors import (
    AccessDenied,
    AlreadyExists,
    AwsAccessError,
    Cancelled,
    CredentialsRejected,
    EndpointUnavailable,
    LimitExceeded,
    NotFound,
    ReplyLost,
    stop_reason,
)
from .waits import Timeouts

T = TypeVar("T")

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
# Calls that create something each time they succeed: never repeated once they may have reached AWS.
NOT_IDEMPOTENT = frozenset({"CreateAccessKey"})
_NO_REPLY = (
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    *old_botocore.RESPONSE_STREAMING_ERRORS,
)
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ProxyConnectionError,
    botocore.exceptions.SSLError,
)

def _error_code(error: botocore.exceptions.ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class _Caller:
    """Runs one boto3 call within the hard deadline and translates every failure into a one-line error."""

    def __init__(self, timeouts: Timeouts, endpoint: Callable[[], str], cancelled: Callable[[], bool]) -> None:
        self.timeouts = timeouts
        self.endpoint = endpoint
        self.cancelled = cancelled

    def __call__(self, fn: Callable[[], T], operation: str, subject: str, cleanup: bool = False) -> T:
        """``cleanup``: the call undoes this run's own work (deleting its key), so it runs even once cancelled."""
        if self.cancelled() and not cleanup:
            raise Cancelled(f"stopped before {operation} on {subject}: {stop_reason(self.cancelled)}")
        idempotent = operation.split(":", 1)[-1] not in NOT_IDEMPOTENT
        with call_deadline.deadline(self.timeouts.call_deadline) as guard:
            try:
                return fn()
            except botocore.exceptions.ClientError as error:
                if not idempotent and _error_code(error) not in _THROTTLED and _status(error) >= 500:
                    raise ReplyLost(f"{operation} on {subject}") from None
                raise self._client_error(error, operation, subject) from None
            except _NO_REPLY:
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    EndpointUnavailable(
                        f"the AWS endpoint {self.endpoint()} did not answer ({operation}): check the network, proxy "
                        "settings and --endpoint-url / AWS_ENDPOINT_URL"
                    ),
                ) from None
            except _UNREACHABLE:
                raise EndpointUnavailable(
                    f"the AWS endpoint {self.endpoint()} is unreachable ({operation}): check the network, proxy "
                    "settings and --endpoint-url / AWS_ENDPOINT_URL"
                ) from None
            except botocore.exceptions.NoCredentialsError:
                raise CredentialsRejected(
                    "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                    "pass --profile, or run on a machine with an instance role"
                ) from None
            except (ResponseParserError, KeyError, TypeError):
                # A 200 with an empty body, an HTML page, a body that is not this API's answer: not AWS IAM.
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    EndpointUnavailable(
                        f"the endpoint {self.endpoint()} answered {operation} with something that is not an AWS "
                        "answer: check --endpoint-url / AWS_ENDPOINT_URL and any proxy in between"
                    ),
                ) from None
            except botocore.exceptions.BotoCoreError as error:
                raise self._unanswered(
                    guard,
                    idempotent,
                    operation,
                    subject,
                    AwsAccessError(f"{operation} on {subject} failed: {_one_line(str(error))}"),
                ) from None

    def _unanswered(
        self, guard: call_deadline.CallGuard, idempotent: bool, operation: str, subject: str, otherwise: Exception
    ) -> Exception:
        """The error for a call that got no usable answer. AWS may have acted on it, so a call that is not
        idempotent is a lost reply whatever else happened; otherwise the deadline's cut, if it came, is the cause."""
        if not idempotent:
            return ReplyLost(f"{operation} on {subject}")
        if guard.cut:
            return self._too_slow(operation)
        return otherwise

    def _too_slow(self, operation: str) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"the AWS endpoint {self.endpoint()} did not finish answering {operation} within "
            f"{self.timeouts.call_deadline:.0f} s: check the network, proxy settings and --endpoint-url / "
            "AWS_ENDPOINT_URL"
        )

    def _client_error(self, error: botocore.exceptions.ClientError, operation: str, subject: str) -> Exception:
        code = _error_code(error)
        message = _one_line(str(error.response.get("Error", {}).get("Message", "")))
        if code == "NoSuchEntity" or code.endswith(("NotFound", "NotFoundException")):  # IAM's, EC2's spelling
            return NotFound(subject)
        if code == "EntityAlreadyExists" or (code == "InvalidInput" and "has been taken" in message):
            # CreateServiceLinkedRole answers InvalidInput "...has been taken in this account" for an existing role.
            return AlreadyExists(subject)
        if code == "LimitExceeded":
            return LimitExceeded(f"{operation} on {subject}: {message}")
        if code in _DENIED:
            return access_denied(operation, subject, message)
        if code in _BAD_CREDENTIALS:
            return CredentialsRejected(
                f"AWS rejected the credentials ({code}) calling {operation}: check the access key, profile or "
                "session token in use"
            )
        if code in _THROTTLED:
            return AwsAccessError(
                f"AWS kept throttling {operation} on {subject} for {self.timeouts.call_budget:.0f} s: try again in "
                "a few minutes"
            )
        detail = f": {message}" if message else ""
        return AwsAccessError(f"{operation} on {subject} failed with {code or _status(error)}{detail}")


# AWS's access denied messages: "User: user is not authorized to perform: action on resource: resource because
# context", where user is the ARN that was refused and action the permission the policies did not grant (IAM User Guide,
# "Troubleshoot access denied error messages"; some services use other wordings, and then neither is known).
_DENIED_MESSAGE = re.compile(r"User: (?P<principal>arn:\S+) is not authorized to perform: (?P<permission>[\w-]+:\w+)")


def access_denied(operation: str, subject: str, message: str = "") -> AccessDenied:
    """The one-line error of a refused call, naming who was refused and the permission missing when AWS said."""
    found = _DENIED_MESSAGE.search(message)
    principal = found.group("principal") if found else None
    permission = found.group("permission") if found else operation
    who = f" to {principal}" if principal else ""
    needs = f" (it needs {permission})" if permission.lower() != operation.lower() else ""
    return AccessDenied(
        f"AWS denied {operation} on {subject}{who}{needs}: grant it to the credential in use "
        f"({command('bootstrap-policy')} prints the policy it needs)",
        permission,
        principal,
    )


def _status(error: botocore.exceptions.ClientError) -> int:
    try:
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


"""Bounded retries for botocore clients.

botocore's *standard* retry mode decides what to retry (throttling, 5xx, connection errors) and how long to
back off. On its own it can spend minutes on a dead endpoint (10 attempts, up to 20 s between them). This
handler keeps its decisions, adds IAM's ConcurrentModification, and gives every API call a time budget:
no retry starts once the budget is spent, so one call takes at most its budget plus one attempt's
connect and read timeouts. When the budget is spent the last error surfaces unchanged.

A refused connection gets one quick second try, then surfaces: nothing listens on that port, and waiting does not
change that (``waits.REFUSED_CONNECTION_RETRY_DELAY``).

A call that is not idempotent (CreateAccessKey creates another key each time it succeeds) is retried only
when AWS surely did not act on it: the connection was never made, or AWS answered that it throttled the call.
After a timeout, a dropped connection or a 5xx, AWS may have acted; the error surfaces for the caller to look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions
from botocore.retries import standard

from .waits import REFUSED_CONNECTION_RETRY_DELAY

_DEADLINE_KEY = "deadline_spot_iam_setup_deadline"
_EXTRA_RETRYABLE_CODES = frozenset({"ConcurrentModification", "ConcurrentModificationException"})
_NOT_SENT = (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
_REFUSED_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


class BudgetedRetry:
    """A ``needs-retry`` handler: standard retry conditions and backoff, within a per-call time budget."""

    def __init__(
        self,
        max_attempts: int,
        call_budget: float,
        clock: Callable[[], float] = time.monotonic,
        not_idempotent: frozenset[str] = frozenset()
    ) -> None:
        self._not_idempotent = not_idempotent
        self._adapter = standard.RetryEventAdapter()
        self._conditions = standard.StandardRetryConditions(max_attempts=max_attempts)
        self._max_attempts = max_attempts
        self._backoff = standard.ExponentialBackoff()
        self._budget = call_budget
        self._clock = clock

    def register(self, client: Any) -> None:
        """Install on ``client``; the client must be built with ``total_max_attempts=1`` so botocore's
        own handler never retries."""
        client.meta.events.register("before-call", self._start_call)
        client.meta.events.register("needs-retry", self.needs_retry)

    def _start_call(self, context: dict[str, Any], **_: Any) -> None:
        context[_DEADLINE_KEY] = self._clock() + self._budget

    def _retryable(self, retry_context: standard.RetryContext) -> bool:
        operation = getattr(retry_context.operation_model, "name", None)
        if operation in self._not_idempotent and not self._surely_not_acted_on(retry_context):
            return False
        if self._conditions.is_retryable(retry_context):
            return True
        code = (retry_context.parsed_response or {}).get("Error", {}).get("Code")
        return code in _EXTRA_RETRYABLE_CODES and retry_context.attempt_number < self._max_attempts

    @staticmethod
    def _surely_not_acted_on(retry_context: standard.RetryContext) -> bool:
        if isinstance(retry_context.caught_exception, _NOT_SENT):
            return True
        code = (retry_context.parsed_response or {}).get("Error", {}).get("Code")
        return code in _REFUSED_CODES

    def needs_retry(self, **kwargs: Any) -> float | None:
        """Seconds to wait before the next attempt, or None to stop and surface the last answer."""
        retry_context = self._adapter.create_retry_context(**kwargs)
        if not self._retryable(retry_context):
            return None
        deadline = retry_context.request_context.get(_DEADLINE_KEY)
        delay: float = self._backoff.delay_amount(retry_context)
        if _refused(retry_context.caught_exception):
            if retry_context.attempt_number > 1:
                return None
            delay = REFUSED_CONNECTION_RETRY_DELAY
        if deadline is not None and self._clock() + delay >= deadline:
            return None
        return delay


def _refused(error: BaseException | None) -> bool:
    """Whether the connection was refused: botocore's EndpointConnectionError wraps urllib3's NewConnectionError, which
    carries the socket's ConnectionRefusedError as its cause (urllib3 2) or context (urllib3 1.26)."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, ConnectionRefusedError):
            return True
        wrapped = error.kwargs.get("error") if isinstance(error, botocore.exceptions.BotoCoreError) else None
        error = wrapped or error.__cause__ or error.__context__
        seen += 1
    return False

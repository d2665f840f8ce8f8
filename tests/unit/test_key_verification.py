"""apply asks STS whether it accepts a new key from the moment the key is made, beside the key protocol's next calls
(apply.KeyVerification): what STS answered is told once the key is delivered, a key deleted again is no longer asked
about, and nothing STS answers turns into a failure."""

from __future__ import annotations

import threading

from DeadlineSpotIamSetup.apply import KeyVerification
from DeadlineSpotIamSetup.errors import EndpointUnavailable
from DeadlineSpotIamSetup.findings import ApplyResult
from DeadlineSpotIamSetup.values import CallerIdentity, NewAccessKey

KEY = NewAccessKey("DeadlineSpotEventPluginAdmin", "AKIANEWKEY0000000001", "secret", None)
ARN = "arn:aws:iam::123456789012:user/DeadlineSpotEventPluginAdmin"


class Sts:
    """sts:GetCallerIdentity signed with the new key: rejected (None) ``rejections`` times, then accepted; or an
    error."""

    def __init__(self, rejections: int = 0, error: Exception | None = None) -> None:
        self.rejections = rejections
        self.error = error
        self.asked = 0
        self.lock = threading.Lock()

    def accepted_as(self, key: NewAccessKey) -> CallerIdentity | None:
        with self.lock:
            self.asked += 1
            if self.error is not None:
                raise self.error
            if self.asked <= self.rejections:
                return None
        return CallerIdentity(account="123456789012", arn=ARN)


def test_the_answer_is_told_once_the_key_is_delivered() -> None:
    result = ApplyResult()
    verification = KeyVerification(Sts(), KEY, timeout=20.0, result=result)
    verification.finish()
    assert result.key_verified_as == ARN and result.notes == []


def test_a_key_sts_does_not_accept_in_time_is_a_note_not_a_failure() -> None:
    result = ApplyResult()
    verification = KeyVerification(Sts(rejections=10**6), KEY, timeout=0.01, result=result)
    verification.finish()
    assert result.key_verified_as is None
    assert result.notes == [
        f"access key {KEY.access_key_id} was not yet accepted by AWS after 0 s; new keys can take a minute to work"
    ]


def test_an_error_asking_sts_is_a_note() -> None:
    result = ApplyResult()
    KeyVerification(Sts(error=EndpointUnavailable("the AWS endpoint did not answer")), KEY, 20.0, result).finish()
    assert result.notes == [f"access key {KEY.access_key_id} could not be verified: the AWS endpoint did not answer"]


def test_a_key_deleted_again_is_no_longer_asked_about() -> None:
    """The key lost the race (or the run stopped): abandon ends the polling at once, whatever time it had left."""
    sts = Sts(rejections=10**6)
    result = ApplyResult()
    verification = KeyVerification(sts, KEY, timeout=3600.0, result=result)
    verification.abandon()
    assert verification._thread is not None
    verification._thread.join(60)  # a liveness bound: without abandon it would poll for an hour
    assert not verification._thread.is_alive()
    asked = sts.asked
    assert asked <= 1 and result.notes == [] and result.key_verified_as is None


def test_no_verification_wait_asks_nothing() -> None:
    sts = Sts()
    result = ApplyResult()
    KeyVerification(sts, KEY, timeout=0.0, result=result).finish()
    assert sts.asked == 0 and result.notes == [] and result.key_verified_as is None

"""The access key's life as check judges it (age limit, a key nothing uses) and the records a rotation keeps.
Pure: planning from observed values, no AWS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from DeadlineSpotIamSetup.desired import AccessKey, DesiredState, Settings, desired_state
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.key_records import DELIVERED, ENTERED, KEY_RECORD_PREFIX, RETIRED, key_records
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.values import AccessKeyInfo, KeyUsage, Observation, Observed

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
USER = "DeadlineSpotEventPluginAdmin"


def plan_for(*keys: AccessKeyInfo, max_age_days: int = 90):
    identity = AccessKey(USER, max_age_days)
    desired = DesiredState((identity,))
    return make_plan(desired, Observation({identity: Observed(True, keys=keys)}), "aws", now=NOW)


def key(days_old: float, active: bool = True, usage: KeyUsage | None = None) -> AccessKeyInfo:
    return AccessKeyInfo("AKIAOLDKEY0000000001", active, NOW - timedelta(days=days_old), usage)


def test_a_key_within_its_age_limit_is_ok():
    assert plan_for(key(89.9)).ok


def test_a_key_past_its_age_limit_is_drift_naming_its_age_and_the_rotation():
    plan = plan_for(key(120))
    (finding,) = plan.findings
    assert finding.status is Status.DRIFT
    assert finding.problems == ("access key AKIAOLDKEY0000000001 is 120 days old (limit 90)",)
    (step,) = plan.manual
    assert step.kind is Kind.ACCESS_KEY and "rotate-key --secret-out FILE" in step.remedy
    assert not plan.actions  # apply never rotates on its own


def test_no_age_limit_means_any_age_is_fine():
    assert plan_for(key(2000), max_age_days=0).ok


def test_a_month_old_key_never_used_is_suspicious():
    plan = plan_for(key(31, usage=KeyUsage(None)))
    assert "has never been used in the 31 days since it was made" in plan.findings[0].problems[0]
    assert "Security Credentials" in plan.manual[0].remedy


def test_a_used_key_or_a_young_unused_key_is_not_suspicious():
    used = KeyUsage(NOW - timedelta(hours=1), "ec2")
    assert plan_for(key(31, usage=used)).ok
    assert plan_for(key(29, usage=KeyUsage(None))).ok
    assert plan_for(key(31)).ok  # usage not looked up: nothing is claimed


def test_key_records_are_read_from_the_users_tags_and_odd_ones_are_no_record():
    tags = {
        KEY_RECORD_PREFIX + "AKIAONE": "delivered 2026-11-01T10:00:00Z",
        KEY_RECORD_PREFIX + "AKIATWO": "retired 2026-11-02T10:00:00Z",
        KEY_RECORD_PREFIX + "AKIATHREE": "entered 2026-11-03T10:00:00Z",
        KEY_RECORD_PREFIX + "AKIABAD": "delivered yesterday",
        KEY_RECORD_PREFIX + "AKIAODD": "stolen 2026-11-02T10:00:00Z",
        "team": "render",
    }
    records = key_records(tags)
    assert set(records) == {"AKIAONE", "AKIATWO", "AKIATHREE"}
    assert records["AKIAONE"].state == DELIVERED and records["AKIATWO"].state == RETIRED
    assert records["AKIATHREE"].state == ENTERED
    assert records["AKIAONE"].at == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("days", [-1, 3651])
def test_an_age_limit_out_of_range_is_refused(days):
    with pytest.raises(InvalidSettings, match="access key age limit"):
        desired_state(Settings(key_max_age_days=days))


def test_the_age_limit_reaches_the_desired_access_key():
    (identity,) = desired_state(Settings(key_max_age_days=30)).of_kind(Kind.ACCESS_KEY)
    assert identity.max_age_days == 30

"""A check's status and whether the Spot plugin's key is known to work, from what the check found (RunFacts): the
decision the event plugin logs, records for Monitor and gates ForgetBootstrapCredential on. Pure: no Deadline, no
AWS, no thread."""

from __future__ import annotations

import itertools

import pytest
from spot_iam_plugin.status import RunFacts, RunStatus, key_confirmed, run_status

OK, PENDING, FAILED = RunStatus.OK, RunStatus.PENDING, RunStatus.FAILED

# (what the check found, its status, whether the key is confirmed)
TABLE = {
    "all in place, the Spot plugin uses a key of the user": (RunFacts(plan_ok=True, key_in_use=True), OK, True),
    "all in place, no key checked (KeyDelivery None)": (RunFacts(plan_ok=True), OK, False),
    "an identity needs attention": (RunFacts(plan_ok=False, key_in_use=True), PENDING, True),
    "the Spot plugin holds no active key of the user": (RunFacts(plan_ok=True, key_in_use=False), PENDING, False),
    "a new key delivered, AWS accepts it": (
        RunFacts(plan_ok=True, key_delivered=True, key_accepted=True),
        OK,
        True,
    ),
    "a new key delivered, AWS has not accepted it yet": (RunFacts(plan_ok=True, key_delivered=True), OK, False),
    "another run created the key at the same moment": (
        RunFacts(plan_ok=True, key_left_to_another_run=True),
        OK,
        False,
    ),
    "the rotation failed": (RunFacts(plan_ok=True, key_in_use=True, rotation_failed=True), FAILED, True),
    "the rotation failed, an identity needs attention": (RunFacts(plan_ok=False, rotation_failed=True), FAILED, False),
    "the rotation waits (the new key's first use)": (
        RunFacts(plan_ok=True, key_delivered=True, key_accepted=True, rotation_unfinished=True),
        PENDING,
        True,
    ),
    "the rotation waits, its key not accepted yet": (
        RunFacts(plan_ok=True, key_delivered=True, rotation_unfinished=True),
        PENDING,
        False,
    ),
    "apply left changes unmade (refused by AWS)": (
        RunFacts(plan_ok=False, key_in_use=True, changes_unmade=True),
        FAILED,
        True,
    ),
    "role mode, all in place": (RunFacts(plan_ok=True, role_mode=True), OK, True),
    "role mode, an identity needs attention": (RunFacts(plan_ok=False, role_mode=True), PENDING, True),
}


@pytest.mark.parametrize("case", TABLE)
def test_the_status_and_the_key_confirmation_follow_from_the_facts(case):
    facts, status, confirmed = TABLE[case]
    assert run_status(facts) is status
    assert key_confirmed(facts) is confirmed


def every_fact_combination():
    flags = (
        "plan_ok",
        "role_mode",
        "key_delivered",
        "key_accepted",
        "key_left_to_another_run",
        "rotation_failed",
        "changes_unmade",
    )
    for values in itertools.product((False, True), repeat=len(flags)):
        for in_use in (None, False, True):
            for unfinished in (False, True):
                yield RunFacts(**dict(zip(flags, values)), key_in_use=in_use, rotation_unfinished=unfinished)


def test_a_failed_rotation_or_an_unmade_change_and_only_they_fail_the_check():
    for facts in every_fact_combination():
        assert (run_status(facts) is FAILED) == (facts.rotation_failed or facts.changes_unmade), facts


def test_ok_needs_every_identity_in_place_no_key_refused_and_no_rotation_waiting():
    for facts in every_fact_combination():
        if facts.rotation_failed or facts.changes_unmade:
            continue
        expected = facts.plan_ok and facts.key_in_use is not False and not facts.rotation_unfinished
        assert (run_status(facts) is OK) == expected, facts


def test_the_key_is_confirmed_only_by_a_role_aws_accepting_the_delivered_key_or_the_spot_plugin_using_it():
    for facts in every_fact_combination():
        expected = facts.role_mode or facts.key_accepted or facts.key_in_use is True
        assert key_confirmed(facts) is expected, facts

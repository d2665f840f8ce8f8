"""apply with partial rights: every change that does not need a refused or failed one is still made, each one only once
what it needs is made, and the result says of each change whether it was done, refused (to whom, lacking what),
failed, or not attempted (needing which). Only an unreachable endpoint, rejected credentials or the caller's cancel
flag stop the run, whose error then carries what was done so far.

The plan is the real one for an empty account; the handlers are replaced by a scripted one (no AWS here): the wire
and the enforcing moto server prove the same on real calls (tests/wire/test_faults.py,
tests/cli/test_bootstrap_policy_enforced.py)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from DeadlineSpotIamSetup import apply as apply_module
from DeadlineSpotIamSetup.apply import ApplyOptions, ApplyResult, apply_plan
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.errors import AccessDenied, AwsAccessError, Cancelled, EndpointUnavailable, SetupError
from DeadlineSpotIamSetup.findings import DONE, FAILED, NOT_ATTEMPTED, REFUSED, Action
from DeadlineSpotIamSetup.plan import make_plan
from DeadlineSpotIamSetup.values import Observation, Observed

DESIRED = desired_state(Settings())
PLAN = make_plan(DESIRED, Observation({identity: Observed(False) for identity in DESIRED}), "aws")
ACTIONS = PLAN.actions
CALLER = "arn:aws:iam::123456789012:user/Bootstrap"


def prerequisites(action: Action) -> list[Action]:
    """The actions of the plan that make what ``action`` needs."""
    return [other for other in ACTIONS if other is not action and set(other.makes) & set(action.needs)]


class Scripted:
    """Every handler at once: records what it ran, refuses or fails the actions it is told to."""

    def __init__(self, refused=(), failed=(), stopping=None) -> None:
        self.refused, self.failed, self.stopping = set(refused), set(failed), stopping
        self.ran: list[Action] = []

    def execute(self, action: Action, run) -> str:
        self.ran.append(action)
        if action == self.stopping:
            raise EndpointUnavailable("the AWS endpoint did not answer")
        permission = f"iam:{action.operation}"
        if action in self.refused:
            raise AccessDenied(f"AWS denied {permission} on {action.subject}", permission, CALLER)
        if action in self.failed:
            raise AwsAccessError(f"{permission} on {action.subject} failed with 500")
        return action.summary


def run(script: Scripted, cancelled=lambda: False) -> ApplyResult:
    with mock.patch.object(apply_module, "handler_for", lambda identity: script):
        return apply_plan(None, PLAN, key_sink=lambda key: None, options=ApplyOptions(cancelled=cancelled))


def test_the_plan_says_what_each_change_needs():
    needs = {action.summary: [other.summary for other in prerequisites(action)] for action in ACTIONS}
    user = "create user DeadlineSpotEventPluginAdmin"
    worker = "create role DeadlineSpotWorker trusted by ec2.amazonaws.com"
    assert needs["create an access key for user DeadlineSpotEventPluginAdmin"] == [user]
    assert needs["add role DeadlineSpotWorker to instance profile DeadlineSpotWorker"] == [
        worker,
        "create instance profile DeadlineSpotWorker",
    ]
    assert needs["attach AWSThinkboxDeadlineSpotEventPluginWorkerPolicy to role DeadlineSpotWorker"] == [worker]
    tag = needs["tag user DeadlineSpotEventPluginAdmin with the policies this project attached"]
    assert tag[0] == user and len(tag) == 3  # the record is made only once what it records was attached
    assert needs["create the service-linked role for spot.amazonaws.com"] == []


@settings(max_examples=200, deadline=None)
@given(
    refused=st.sets(st.sampled_from(ACTIONS)),
    failed=st.sets(st.sampled_from(ACTIONS)),
)
def test_every_change_not_needing_an_unmade_one_is_made_after_what_it_needs(refused, failed):
    script = Scripted(refused, failed - refused)
    result = run(script)
    assert [outcome.action for outcome in result.outcomes] == list(ACTIONS)  # one each, in the plan's order
    state = {outcome.action: outcome for outcome in result.outcomes}
    for action in ACTIONS:
        outcome = state[action]
        unmade = [need for need in prerequisites(action) if state[need].state != DONE]
        if unmade:
            assert outcome.state == NOT_ATTEMPTED and action not in script.ran
            assert outcome.blocked_by in unmade and outcome.blocked_by.summary in outcome.detail
            continue
        assert action in script.ran  # attempted once everything it needs was made...
        assert all(script.ran.index(need) < script.ran.index(action) for need in prerequisites(action))  # ...not before
        if action in refused:
            assert (outcome.state, outcome.principal, outcome.permission) == (
                REFUSED,
                CALLER,
                f"iam:{action.operation}",
            )
        elif action in failed:
            assert outcome.state == FAILED and "failed with 500" in outcome.detail
        else:
            assert outcome.state == DONE and outcome.detail == action.summary
    assert result.complete == (not refused and not failed)
    # What was done is told once each, every change after what it needs (the changes of one parallel batch in the
    # plan's order, not in the order their threads happened to call: test_what_was_done_is_told_in_the_plans_order...).
    made = [action for action in ACTIONS if state[action].state == DONE]
    assert sorted(result.done) == sorted(action.summary for action in made)
    told = {summary: place for place, summary in enumerate(result.done)}
    assert all(told[need.summary] < told[action.summary] for action in made for need in prerequisites(action))


def test_what_was_done_is_told_in_the_plans_order_whichever_change_of_a_batch_finishes_first():
    """The first stage's changes run in parallel threads; the plan's first one here finishes only once the second
    one has run, yet the result (and the progress lines an admin reads) tells them in the plan's order."""
    first, second = ACTIONS[0], ACTIONS[1]
    assert not prerequisites(first) and not prerequisites(second) and first.stage == second.stage
    second_ran = threading.Event()

    class SecondFirst(Scripted):
        def execute(self, action: Action, run) -> str:
            if action == first:
                assert second_ran.wait(timeout=10), "the second change never ran beside the first"
            summary = super().execute(action, run)
            if action == second:
                second_ran.set()
            return summary

    script = SecondFirst()
    told: list[str] = []
    with mock.patch.object(apply_module, "handler_for", lambda identity: script):
        result = apply_plan(None, PLAN, key_sink=lambda key: None, progress=told.append)
    assert script.ran.index(second) < script.ran.index(first)
    assert result.done == told == [action.summary for action in ACTIONS]


def test_a_refused_user_leaves_only_what_needs_the_user_undone():
    [create_user] = [action for action in ACTIONS if action.operation == "CreateUser"]
    result = run(Scripted(refused={create_user}))
    not_done = {outcome.action.operation for outcome in result.outcomes if outcome.state != DONE}
    assert not_done == {"CreateUser", "AttachUserPolicy", "TagUser", "CreateAccessKey"}
    assert {outcome.action.operation for outcome in result.of_state(NOT_ATTEMPTED)} == not_done - {"CreateUser"}


def test_an_unreachable_endpoint_stops_the_run_with_what_was_done():
    [worker_role] = [action for action in ACTIONS if action.summary.startswith("create role DeadlineSpotWorker")]
    script = Scripted(stopping=worker_role)
    with pytest.raises(EndpointUnavailable) as caught:
        run(script)
    result = caught.value.partial_result
    assert result is not None and len(result.outcomes) == len(ACTIONS)
    by_action = {outcome.action: outcome for outcome in result.outcomes}
    assert by_action[worker_role].state == FAILED
    later = [action for action in ACTIONS if action.stage > worker_role.stage]
    assert later and all(by_action[action].state == NOT_ATTEMPTED for action in later)
    assert all(action not in script.ran for action in later)


def test_the_cancel_flag_stops_the_run_before_the_next_change_with_what_was_done():
    script = Scripted()
    with pytest.raises(Cancelled) as caught:
        run(script, cancelled=lambda: len(script.ran) >= 3)
    result = caught.value.partial_result
    assert isinstance(caught.value, SetupError) and result is not None
    assert {outcome.action for outcome in result.of_state(DONE)} == set(script.ran)
    assert len(result.of_state(NOT_ATTEMPTED)) == len(ACTIONS) - len(script.ran) > 0

"""The event plugin's bounded run: lines relayed in order, a time limit that tells the job to stop, and a job left
at the limit that neither runs beside a new one nor goes unreported."""

from __future__ import annotations

import threading
import time

import pytest
from spot_iam_plugin import worker
from spot_iam_plugin.logbridge import INFO, WARNING, PluginLog
from spot_iam_plugin.status import RunReport, RunStatus
from spot_iam_plugin.worker import left_behind_busy, run_bounded

from DeadlineSpotIamSetup.errors import AwsAccessError

OK = RunReport(RunStatus.OK, key_confirmed=True)


@pytest.fixture(autouse=True)
def nothing_left_behind(monkeypatch):
    monkeypatch.setattr(worker, "_LEFT_BEHIND", None)


def make_log() -> tuple[PluginLog, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    return PluginLog(lambda t: seen.append((INFO, t)), lambda t: seen.append((WARNING, t))), seen


def test_lines_are_relayed_in_order_and_the_report_returned() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        emit(INFO, "one")
        emit(WARNING, "two")
        return OK

    assert run_bounded(job, log, limit=5) == OK
    assert seen == [(INFO, "one"), (WARNING, "two")]


def test_a_setup_error_becomes_one_warning_and_failed() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        raise AwsAccessError("the AWS endpoint https://iam.amazonaws.com did not answer")

    assert run_bounded(job, log, limit=5).status is RunStatus.FAILED
    assert seen == [(WARNING, "Check failed: the AWS endpoint https://iam.amazonaws.com did not answer")]


def test_a_bug_never_escapes() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        raise KeyError("Role")

    assert run_bounded(job, log, limit=5).status is RunStatus.FAILED
    assert seen[0][0] == WARNING and "KeyError" in seen[0][1]


def test_past_the_limit_the_job_is_told_to_stop_and_left_behind() -> None:
    log, seen = make_log()
    stopped = threading.Event()

    def job(emit, cancelled):
        while not cancelled():
            time.sleep(0.01)
        stopped.set()
        return OK

    assert run_bounded(job, log, limit=0.2).status is RunStatus.FAILED
    assert stopped.wait(5), "the job was never told to stop"
    assert seen[-1][0] == WARNING and "did not finish within" in seen[-1][1] and "15 minutes" in seen[-1][1]


def test_a_job_left_at_the_limit_blocks_a_new_run_until_it_ends_then_its_lines_are_logged() -> None:
    log, seen = make_log()
    release = threading.Event()

    def slow(emit, cancelled):
        release.wait(10)
        emit(WARNING, "Check failed: stopped before create user X: the time limit was reached")
        return RunReport(RunStatus.FAILED)

    run_bounded(slow, log, limit=0.1)
    seen.clear()
    assert left_behind_busy(log) is True  # the next house cleaning starts nothing beside it
    assert "still running" in seen[-1][1]
    release.set()
    deadline = time.monotonic() + 5
    while worker._LEFT_BEHIND is not None and worker._LEFT_BEHIND.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    seen.clear()
    assert left_behind_busy(log) is False
    assert seen[0] == (WARNING, "Check failed: stopped before create user X: the time limit was reached")
    assert "left at the time limit finished since: failed" in seen[-1][1]
    seen.clear()
    assert left_behind_busy(log) is False and seen == []  # reported once

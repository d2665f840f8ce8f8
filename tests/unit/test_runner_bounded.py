"""The event plugin's bounded run: lines relayed in order, a time limit that tells the job to stop."""

from __future__ import annotations

import threading
import time

from spot_iam_plugin.logbridge import INFO, WARNING, PluginLog
from spot_iam_plugin.runner import FAILED, OK, _run_bounded

from DeadlineSpotIamSetup.errors import AwsAccessError


def make_log() -> tuple[PluginLog, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    return PluginLog(lambda t: seen.append((INFO, t)), lambda t: seen.append((WARNING, t))), seen


def test_lines_are_relayed_in_order_and_the_status_returned() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        emit(INFO, "one")
        emit(WARNING, "two")
        return OK

    assert _run_bounded(job, log, limit=5) == OK
    assert seen == [(INFO, "one"), (WARNING, "two")]


def test_a_setup_error_becomes_one_warning_and_failed() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        raise AwsAccessError("the AWS endpoint https://iam.amazonaws.com did not answer")

    assert _run_bounded(job, log, limit=5) == FAILED
    assert seen == [(WARNING, "Check failed: the AWS endpoint https://iam.amazonaws.com did not answer")]


def test_a_bug_never_escapes() -> None:
    log, seen = make_log()

    def job(emit, cancelled):
        raise KeyError("Role")

    assert _run_bounded(job, log, limit=5) == FAILED
    assert seen[0][0] == WARNING and "KeyError" in seen[0][1]


def test_past_the_limit_the_job_is_told_to_stop_and_left_behind() -> None:
    log, seen = make_log()
    stopped = threading.Event()

    def job(emit, cancelled):
        while not cancelled():
            time.sleep(0.01)
        stopped.set()
        return OK

    assert _run_bounded(job, log, limit=0.2) == FAILED
    assert stopped.wait(5), "the job was never told to stop"
    assert seen[-1][0] == WARNING and "did not finish within" in seen[-1][1]

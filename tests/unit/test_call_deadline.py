"""The watchdog behind every call's hard deadline (DeadlineSpotIamSetup/call_deadline.py): one thread for the process
cuts each call's sockets once its deadline passes, whatever order the calls came in. Real sockets (a connected pair),
real time: each deadline here is a fraction of a second and each wait for a cut is bounded."""

from __future__ import annotations

import socket
import time

from DeadlineSpotIamSetup.call_deadline import CallGuard, _Watchdog

BOUND = 10.0  # far beyond any deadline below: reaching it means the cut never came


def cut_within(guard: CallGuard, seconds: float) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if guard.cut:
            return True
        time.sleep(0.01)
    return guard.cut


def test_a_later_call_with_an_earlier_deadline_is_cut_at_its_own_deadline():
    watchdog = _Watchdog()
    slow, quick = CallGuard(time.monotonic() + 600), CallGuard(time.monotonic() + 0.2)
    mine, peer = socket.socketpair()
    with mine, peer:
        quick.add(mine)
        watchdog.watch(slow)
        time.sleep(0.2)  # the watchdog's thread has started and waits for a deadline ten minutes away
        watchdog.watch(quick)
        assert cut_within(quick, BOUND)
        assert not slow.cut
        assert mine.recv(1) == b""  # shut down: a blocked read ends at once
    slow.finish()


def test_calls_that_finished_in_time_are_never_cut_and_the_next_one_still_is():
    watchdog = _Watchdog()
    finished = [CallGuard(time.monotonic() + 0.3) for _ in range(50)]
    for guard in finished:
        watchdog.watch(guard)
        guard.finish()
    late = CallGuard(time.monotonic() + 0.5)  # after the finished ones' deadlines, never the earliest
    watchdog.watch(late)
    assert cut_within(late, BOUND)
    assert not any(guard.cut for guard in finished)


def test_a_call_after_the_watchdog_went_idle_is_still_cut():
    watchdog = _Watchdog()
    first = CallGuard(time.monotonic() + 0.1)
    watchdog.watch(first)
    assert cut_within(first, BOUND)
    second = CallGuard(time.monotonic() + 0.1)
    watchdog.watch(second)
    assert cut_within(second, BOUND)

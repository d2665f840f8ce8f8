"""Ctrl-C and SIGTERM as the command line takes them (interruption.py): the first asks the run to stop between two
calls, the second stops it at once; 128 + the signal's number is the exit code. The real signals to a real run are
in tests/wire/test_interruptions.py."""

from __future__ import annotations

import os
import signal

import pytest

from DeadlineSpotIamSetup.errors import stop_reason
from DeadlineSpotIamSetup.interruption import listening


def test_the_first_signal_asks_the_run_to_stop_and_the_second_stops_it_at_once():
    with listening() as stop:
        assert not stop() and stop.exit_code == 130
        os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread, between two bytecodes
        assert stop() and (stop.signal_number, stop.exit_code, stop.name) == (signal.SIGTERM, 143, "SIGTERM")
        assert stop_reason(stop) == "SIGTERM was received"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        assert stop.at_once


def test_ctrl_c_is_named_for_what_the_admin_pressed():
    with listening() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert (stop.exit_code, stop.name, stop_reason(stop)) == (130, "Ctrl-C", "Ctrl-C was pressed")


def test_the_handlers_in_place_before_come_back_and_a_run_inside_a_run_shares_its_flag():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with listening() as outer:
        with listening() as inner:  # the demo runs the command line inside the command line
            assert inner is outer
        assert signal.getsignal(signal.SIGINT) not in before
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_flag_that_names_no_signal_is_the_event_plugins_time_limit():
    assert stop_reason(lambda: True) == "the time limit was reached"

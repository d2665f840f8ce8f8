"""The README and the plugin's settings state the plugin's time bounds as waits.py defines them: one source."""

from __future__ import annotations

import re
from pathlib import Path

from DeadlineSpotIamSetup.waits import PLUGIN_RETRY_AFTER_FAILURE, PLUGIN_RUN_LIMIT, PLUGIN_TIMEOUTS

ROOT = Path(__file__).resolve().parents[2]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


def test_the_readme_states_the_plugins_run_limit_and_retry_interval_as_defined():
    minutes = int(PLUGIN_RETRY_AFTER_FAILURE.total_seconds() // 60)
    assert f"A whole run is bounded to {PLUGIN_RUN_LIMIT:.0f} s" in README
    assert f"the next attempt comes {minutes} minutes later" in README


def test_the_readme_states_the_plugins_call_bounds_as_defined():
    t = PLUGIN_TIMEOUTS
    assert (
        f"{t.connect:.0f} s connect / {t.read:.0f} s read timeout within an {t.call_budget:.0f} s retry budget "
        f"and a hard {t.call_deadline:.0f} s deadline"
    ) in README


def test_no_other_retry_interval_is_quoted_for_the_plugin():
    quoted = set(re.findall(r"next attempt comes (?:in )?(\d+) minutes", README))
    assert quoted == {str(int(PLUGIN_RETRY_AFTER_FAILURE.total_seconds() // 60))}


def test_the_readme_states_the_access_keys_life_as_defined():
    from DeadlineSpotIamSetup.waits import (
        KEY_HOLDER_REPORT_WINDOW,
        KEY_IDLE_BEFORE_RETIRING,
        KEY_MAX_AGE_DAYS,
        KEY_RETIRE_GRACE,
        KEY_UNUSED_LIMIT,
    )

    assert f"`--key-max-age-days DAYS` ({KEY_MAX_AGE_DAYS}; 0 = no limit)" in README
    assert f"A key at least {KEY_UNUSED_LIMIT.days} days old that has never been used" in README
    flat = " ".join(README.split())  # the phrases, wherever the lines break
    assert f"once it is {KEY_RETIRE_GRACE.days} days old and unused since it was deactivated" in flat
    hours = int(KEY_IDLE_BEFORE_RETIRING.total_seconds() // 3600)
    assert f"has gone unused for {hours} hours since its last recorded use" in flat
    assert f"every RCS/Pulse machine that ran a check in the last {KEY_HOLDER_REPORT_WINDOW.days} days" in flat

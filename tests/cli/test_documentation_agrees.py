"""The documentation and the plugin's settings state the plugin's time bounds as waits.py defines them: one source.

Each figure is read from the page that holds its text (README.md or a page of docs/), so a figure that drifts from
waits.py, or a sentence that leaves its page, fails here."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from DeadlineSpotIamSetup.waits import PLUGIN_RETRY_AFTER_FAILURE, PLUGIN_RUN_LIMIT, PLUGIN_TIMEOUTS

ROOT = Path(__file__).resolve().parents[2]


def page(name: str) -> str:
    """A page of the documentation (a path from the repository root), its lines joined with single spaces."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def every_page() -> str:
    return " ".join(page(str(path.relative_to(ROOT))) for path in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))])


PLUGIN = page("docs/plugin.md")


def test_the_plugin_page_states_the_plugins_run_limit_and_retry_interval_as_defined():
    minutes = int(PLUGIN_RETRY_AFTER_FAILURE.total_seconds() // 60)
    assert f"A whole run is bounded to {PLUGIN_RUN_LIMIT:.0f} s" in PLUGIN
    assert f"the next attempt comes {minutes} minutes later" in PLUGIN


def test_the_plugin_page_states_the_plugins_call_bounds_as_defined():
    t = PLUGIN_TIMEOUTS
    assert (
        f"{t.connect:.0f} s connect / {t.read:.0f} s read timeout within an {t.call_budget:.0f} s retry budget "
        f"and a hard {t.call_deadline:.0f} s deadline"
    ) in PLUGIN


def test_no_other_retry_interval_is_quoted_for_the_plugin_on_any_page():
    quoted = set(re.findall(r"next attempt comes (?:in )?(\d+) minutes", every_page()))
    assert quoted == {str(int(PLUGIN_RETRY_AFTER_FAILURE.total_seconds() // 60))}


def test_the_command_line_page_states_the_call_bounds_and_the_refused_connection_retry_as_defined():
    from DeadlineSpotIamSetup.waits import CLI_TIMEOUTS, REFUSED_CONNECTION_RETRY_DELAY

    text = page("docs/command-line.md")
    assert f"within a {CLI_TIMEOUTS.call_budget:.0f} s budget per call" in text
    assert f"is tried once more after {REFUSED_CONNECTION_RETRY_DELAY:g} s, then reported" in text


def test_the_documentation_states_the_access_keys_life_as_defined():
    from DeadlineSpotIamSetup.waits import (
        KEY_HOLDER_REPORT_WINDOW,
        KEY_IDLE_BEFORE_RETIRING,
        KEY_MAX_AGE_DAYS,
        KEY_RETIRE_GRACE,
        KEY_UNUSED_LIMIT,
    )

    assert f"`--key-max-age-days DAYS` ({KEY_MAX_AGE_DAYS}; 0 = no limit)" in page("docs/command-line.md")
    assert f"A key at least {KEY_UNUSED_LIMIT.days} days old that has never been used" in page(
        "docs/will-my-fleets-start.md"
    )
    rotation = page("docs/rotation.md")
    assert f"once it is {KEY_RETIRE_GRACE.days} days old and unused since it was deactivated" in rotation
    hours = int(KEY_IDLE_BEFORE_RETIRING.total_seconds() // 3600)
    assert f"has gone unused for {hours} hours since its last recorded use" in rotation
    assert f"every RCS/Pulse machine that ran a check in the last {KEY_HOLDER_REPORT_WINDOW.days} days" in rotation


def test_the_readme_states_the_plugins_defaults_as_plugin_param_sets_them():
    param = configparser.ConfigParser(interpolation=None)
    param.optionxform = str  # type: ignore[assignment,method-assign]  # setting keys are case-sensitive
    param.read_string((ROOT / "plugin.param").read_text(encoding="utf-8"))
    readme = page("README.md")
    assert f"every *Check Interval* ({param['CheckIntervalHours']['Default']} hours by default)" in readme
    assert f"*Rotate Key After Days* ({param['RotateKeyAfterDays']['Default']} by default)" in readme


def test_the_module_map_names_every_module_of_the_engine_and_of_the_plugins_library():
    """docs/design.md's module map (README.md, "Design"): a module added to the package or to lib/spot_iam_plugin
    without a word there fails here. The layers it shows are checked by tests/unit/test_import_layers.py."""
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    modules = [
        *sorted((ROOT / "DeadlineSpotIamSetup").glob("*.py")),
        *sorted((ROOT / "lib" / "spot_iam_plugin").glob("*.py")),
    ]
    named = {path.name for path in modules if f"`{path.name}`" in design}
    unnamed = [str(path.relative_to(ROOT)) for path in modules if path.name != "__init__.py" and path.name not in named]
    assert modules and not unnamed, f"not in docs/design.md's module map: {unnamed}"
    assert "`handlers/*.py`" in design  # one handler per kind (the handlers are listed in handlers/__init__.py)

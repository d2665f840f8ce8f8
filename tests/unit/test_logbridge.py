"""Log lines for Deadline's event plugin log: prefixed, one call per line, every known secret masked."""

from __future__ import annotations

import pytest
from spot_iam_plugin.logbridge import INFO, WARNING, PluginLog

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOGSECRET1"
OTHER_SECRET = "AnotherSecretValueOfFortyCharacters12345"


class Sinks:
    def __init__(self) -> None:
        self.info: list[str] = []
        self.warning: list[str] = []

    def log(self, prefix: str = "") -> PluginLog:
        return PluginLog(self.info.append, self.warning.append, prefix=prefix)


@pytest.fixture
def sinks() -> Sinks:
    return Sinks()


def test_info_and_warning_go_to_their_own_sinks(sinks: Sinks):
    log = sinks.log()
    log.info("all good")
    log.warning("something to do")
    assert sinks.info == ["all good"]
    assert sinks.warning == ["something to do"]


def test_emit_by_level_name(sinks: Sinks):
    log = sinks.log()
    log.emit(INFO, "a")
    log.emit(WARNING, "b")
    assert (sinks.info, sinks.warning) == (["a"], ["b"])


def test_the_prefix_starts_every_line(sinks: Sinks):
    sinks.log(prefix="DeadlineSpotIamSetup: ").info("checked")
    assert sinks.info == ["DeadlineSpotIamSetup: checked"]


def test_multi_line_text_becomes_one_call_per_line_each_prefixed(sinks: Sinks):
    sinks.log(prefix="P: ").warning("first\nsecond\r\nthird")
    assert sinks.warning == ["P: first", "P: second", "P: third"]


def test_empty_text_still_logs_one_line(sinks: Sinks):
    sinks.log(prefix="P: ").info("")
    assert sinks.info == ["P: "]


def test_a_known_secret_is_masked_in_every_line(sinks: Sinks):
    log = sinks.log(prefix="P: ")
    log.add_secret(SECRET)
    log.info(f"key {SECRET}\nagain {SECRET} and {SECRET}")
    log.warning(f"failed with {SECRET}")
    assert sinks.info == ["P: key ****", "P: again **** and ****"]
    assert sinks.warning == ["P: failed with ****"]


def test_every_added_secret_is_masked(sinks: Sinks):
    log = sinks.log()
    log.add_secret(SECRET)
    log.add_secret(OTHER_SECRET)
    log.info(f"{OTHER_SECRET} / {SECRET}")
    assert sinks.info == ["**** / ****"]


def test_a_secret_added_later_masks_later_lines(sinks: Sinks):
    log = sinks.log()
    log.info("before")
    log.add_secret(SECRET)
    log.info(f"after {SECRET}")
    assert sinks.info == ["before", "after ****"]


def test_non_string_text_is_logged_as_text_and_scrubbed(sinks: Sinks):
    log = sinks.log()
    log.add_secret(SECRET)
    log.info(ValueError(f"bad {SECRET}"))  # type: ignore[arg-type]
    assert sinks.info == ["bad ****"]


@pytest.mark.parametrize("secret", [None, "", "short", "1234567"])
def test_empty_and_short_secrets_are_ignored(sinks: Sinks, secret: str | None):
    log = sinks.log()
    log.add_secret(secret)
    log.info("a short word: short 1234567 stays")
    assert sinks.info == ["a short word: short 1234567 stays"]


def test_an_eight_character_secret_is_masked(sinks: Sinks):
    log = sinks.log()
    log.add_secret("8charsOK")
    log.info("x8charsOKx")
    assert sinks.info == ["x****x"]


def test_scrub_masks_without_logging(sinks: Sinks):
    log = sinks.log()
    log.add_secret(SECRET)
    assert log.scrub(f"<{SECRET}>") == "<****>"
    assert sinks.info == sinks.warning == []


def test_warnings_are_kept_masked_and_without_the_prefix_for_monitor():
    log = PluginLog(lambda line: None, lambda line: None, prefix="Plugin: ")
    log.add_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    log.info("fine")
    log.warning("Admin to do: the key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nsecond line")
    assert log.warnings == ["Admin to do: the key ****", "second line"]

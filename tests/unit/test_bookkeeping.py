"""When a house cleaning runs a check: first after RCS/Pulse starts, then every CheckIntervalHours, and 15
minutes after a failure; the bookkeeping lives in the event plugin's metadata, one set of entries per host."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from spot_iam_plugin import bookkeeping
from spot_iam_plugin.bookkeeping import HOSTS_KEY, RETRY_AFTER_FAILURE, Metadata, RunBook, process_identity

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ME = "4242/987654"
HOST = "rcs-01"


class DeadlineMetadata:
    """The listener's metadata as Deadline behaves: adding an existing key changes nothing, deleting a
    missing key is no error, and a missing key reads as ``missing`` (None or "")."""

    def __init__(self, missing: object = None) -> None:
        self.entries: dict[str, str] = {}
        self.missing = missing

    def get(self, key: str) -> object:
        return self.entries.get(key, self.missing)

    def add(self, key: str, value: str) -> None:
        self.entries.setdefault(key, value)

    def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    def as_metadata(self) -> Metadata:
        return Metadata(self.get, self.add, self.delete)


@pytest.fixture(params=[None, ""], ids=["missing-is-None", "missing-is-empty"])
def store(request: pytest.FixtureRequest) -> DeadlineMetadata:
    return DeadlineMetadata(missing=request.param)


@pytest.fixture
def book(store: DeadlineMetadata) -> RunBook:
    return RunBook(store.as_metadata(), host=HOST)


# -- Metadata -------------------------------------------------------------------------------------


def test_metadata_write_replaces_an_existing_value(store: DeadlineMetadata):
    metadata = store.as_metadata()
    metadata.write("Key", "first")
    metadata.write("Key", "second")
    assert metadata.read("Key") == "second"


def test_the_deadline_model_ignores_add_on_an_existing_key(store: DeadlineMetadata):
    store.add("Key", "first")
    store.add("Key", "second")
    assert store.get("Key") == "first"


def test_metadata_read_of_a_missing_key_is_empty(store: DeadlineMetadata):
    assert store.as_metadata().read("Nothing") == ""


# -- due ------------------------------------------------------------------------------------------


def test_the_first_house_cleaning_is_due(book: RunBook):
    reason = book.due(T0, 24, identity=ME)
    assert reason is not None
    assert reason.startswith("first house cleaning")


def test_after_a_recorded_check_the_same_process_is_not_due(book: RunBook):
    book.record(T0, "ok", identity=ME)
    assert book.due(T0, 24, identity=ME) is None
    assert book.due(T0 + timedelta(hours=23, minutes=59), 24, identity=ME) is None


def test_a_new_process_is_due_again_right_away(book: RunBook):
    book.record(T0, "ok", identity=ME)
    reason = book.due(T0 + timedelta(seconds=1), 24, identity="5151/111")
    assert reason is not None
    assert reason.startswith("first house cleaning")


def test_a_check_is_due_once_the_interval_has_elapsed(book: RunBook):
    book.record(T0, "ok", identity=ME)
    reason = book.due(T0 + timedelta(hours=24), 24, identity=ME)
    assert reason is not None
    assert "CheckIntervalHours" in reason


def test_a_pending_result_waits_for_the_interval_like_an_ok_one(book: RunBook):
    book.record(T0, "pending", identity=ME)
    assert book.due(T0 + timedelta(hours=1), 24, identity=ME) is None
    assert book.due(T0 + timedelta(hours=24), 24, identity=ME) is not None


def test_interval_zero_is_never_due_by_time(book: RunBook):
    book.record(T0, "ok", identity=ME)
    assert book.due(T0 + timedelta(days=1000), 0, identity=ME) is None


def test_after_a_failure_the_check_is_due_again_only_after_15_minutes(book: RunBook):
    assert RETRY_AFTER_FAILURE == timedelta(minutes=15)
    book.record(T0, "failed", identity=ME)
    assert book.due(T0 + timedelta(minutes=14, seconds=59), 24, identity=ME) is None
    reason = book.due(T0 + timedelta(minutes=15), 24, identity=ME)
    assert reason is not None
    assert "failed" in reason


def test_after_a_failure_the_retry_comes_even_with_interval_zero(book: RunBook):
    book.record(T0, "failed", identity=ME)
    assert book.due(T0 + timedelta(minutes=5), 0, identity=ME) is None
    assert book.due(T0 + timedelta(minutes=16), 0, identity=ME) is not None


def test_a_success_after_a_failure_clears_the_retry(book: RunBook):
    book.record(T0, "failed", identity=ME)
    book.record(T0 + timedelta(minutes=15), "ok", identity=ME)
    assert book.due(T0 + timedelta(hours=2), 24, identity=ME) is None


def test_a_known_process_without_a_recorded_time_is_due(store: DeadlineMetadata, book: RunBook):
    store.as_metadata().write(f"ProcessIdentity.{HOST}", ME)
    assert book.due(T0, 24, identity=ME) == "no check recorded yet"


def test_a_garbled_recorded_time_makes_the_check_due(store: DeadlineMetadata, book: RunBook):
    book.record(T0, "ok", identity=ME)
    store.as_metadata().write(f"LastCheckUtc.{HOST}", "yesterday-ish")
    assert book.due(T0, 24, identity=ME) is not None


def test_the_time_is_recorded_in_utc_whatever_the_callers_zone(store: DeadlineMetadata, book: RunBook):
    paris = timezone(timedelta(hours=2))
    book.record(T0.astimezone(paris), "ok", identity=ME)
    assert store.as_metadata().read(f"LastCheckUtc.{HOST}") == "2024-05-01T12:00:00+00:00"
    assert book.due(T0 + timedelta(hours=23), 24, identity=ME) is None


def test_record_rewrites_every_entry_on_each_check(store: DeadlineMetadata, book: RunBook):
    book.record(T0, "failed", identity=ME)
    book.record(T0 + timedelta(minutes=20), "ok", identity="5151/111")
    metadata = store.as_metadata()
    assert metadata.read(f"ProcessIdentity.{HOST}") == "5151/111"
    assert metadata.read(f"LastResult.{HOST}") == "ok"
    assert metadata.read(f"LastCheckUtc.{HOST}") == "2024-05-01T12:20:00+00:00"


# -- per host -------------------------------------------------------------------------------------


def test_entries_are_kept_per_host(store: DeadlineMetadata):
    first = RunBook(store.as_metadata(), host="rcs-01")
    second = RunBook(store.as_metadata(), host="rcs-02")
    first.record(T0, "ok", identity=ME)
    assert first.due(T0, 24, identity=ME) is None
    assert second.due(T0, 24, identity=ME) is not None
    second.record(T0 + timedelta(minutes=1), "failed", identity=ME)
    assert first.due(T0 + timedelta(hours=1), 24, identity=ME) is None
    assert all(key.endswith((".rcs-01", ".rcs-02")) for key in store.entries if key != HOSTS_KEY)
    assert first.hosts() == ["rcs-01", "rcs-02"]  # the one shared entry: which machines keep entries


def test_the_host_defaults_to_this_machines_name(store: DeadlineMetadata, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(bookkeeping.socket, "gethostname", lambda: "render-head")
    assert RunBook(store.as_metadata()).host == "render-head"
    monkeypatch.setattr(bookkeeping.socket, "gethostname", lambda: "")
    assert RunBook(store.as_metadata()).host == "unknown-host"


# -- process identity -----------------------------------------------------------------------------


def test_process_identity_holds_this_processes_pid():
    identity = process_identity()
    assert identity.split("/")[0] == str(os.getpid())


def test_process_identity_is_stable_within_a_process():
    assert process_identity() == process_identity()


def test_without_an_identity_argument_the_current_process_is_used(book: RunBook):
    book.record(T0, "ok")
    assert book.due(T0, 24) is None
    assert book.due(T0, 24, identity="1/1") is not None

"""What each machine records for the Monitor script and how Check now is honoured (lib/spot_iam_plugin/farm_view.py,
bookkeeping.py): plain values over the plugin's metadata, as a dictionary."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from spot_iam_plugin.bookkeeping import (
    Metadata,
    RunBook,
    check_now_reason,
    record_request_honoured,
    record_result,
    waiting_hosts,
)
from spot_iam_plugin.farm_view import (
    CheckNowRequest,
    IdentityResult,
    MachineResult,
    farm_text,
    new_check_now_request,
    read_results,
)

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


def book(store: dict[str, str], host: str) -> RunBook:
    return RunBook(Metadata(store.get, store.__setitem__, lambda key: store.pop(key, None)), host=host)


def result(host: str, status: str = "ok") -> MachineResult:
    return MachineResult(
        host,
        (NOW - timedelta(minutes=5)).isoformat(timespec="seconds"),
        status,
        (IdentityResult("worker-role", "DeadlineSpotWorker", "drift", ("policy X is not attached",)),),
        ("Admin to do: worker-role DeadlineSpotWorker: attach it",),
    )


def test_a_machine_result_survives_its_metadata_entry():
    assert MachineResult.from_json(result("rcs-a").to_json()) == result("rcs-a")


def test_an_entry_of_another_form_is_not_a_result():
    for text in ("", "{}", "[1, 2]", '{"host": "a"}', "not json"):
        assert MachineResult.from_json(text) is None


def test_every_listed_machine_is_shown_with_its_identities_and_to_do():
    store: dict[str, str] = {}
    for host in ("rcs-b", "rcs-a"):
        machine = book(store, host)
        machine.record(NOW, "ok", identity="1")
        record_result(machine, result(host))
    shown = farm_text(read_results(store.get, book(store, "x").hosts()), None, [], NOW)
    assert shown.index("rcs-a: ok, checked 2026-05-04 11:55 UTC (5 min ago)") < shown.index("rcs-b: ok")
    assert "  drift    worker-role  DeadlineSpotWorker  policy X is not attached" in shown
    assert "  - Admin to do: worker-role DeadlineSpotWorker: attach it" in shown


def test_a_check_now_is_due_once_on_each_machine():
    store: dict[str, str] = {}
    request = new_check_now_request("alice", NOW).text()
    a, b = book(store, "rcs-a"), book(store, "rcs-b")
    assert check_now_reason(a, "") is None
    assert check_now_reason(a, request) == "Check now asked in Monitor by alice"
    record_request_honoured(a, request)
    assert check_now_reason(a, request) is None
    assert check_now_reason(b, request) is not None
    assert waiting_hosts(store.get, ["rcs-a", "rcs-b"], CheckNowRequest.parse(request)) == ["rcs-b"]
    again = new_check_now_request("alice", NOW).text()  # the same moment, a new request
    assert check_now_reason(a, again) is not None

"""When to run: the first house cleaning after RCS/Pulse starts, then every CheckIntervalHours.

Deadline keeps an event plugin's metadata between triggers (in its database, shared by every machine), so
each entry is keyed by host name. A new process is recognised by its identity (pid and start time): house
cleanings that are not due make no AWS call at all.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from DeadlineSpotIamSetup.values import as_utc
from DeadlineSpotIamSetup.waits import PLUGIN_RETRY_AFTER_FAILURE as RETRY_AFTER_FAILURE

from .farm_view import CheckNowRequest, MachineResult, honoured_key, result_key
from .status import RunStatus


def _process_start_marker() -> str:
    """Something that differs between two processes that happen to get the same pid."""
    try:
        if sys.platform.startswith("linux"):
            stat = Path(f"/proc/{os.getpid()}/stat").read_text()
            return stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks since boot
        if sys.platform == "win32":
            import ctypes
            from ctypes import wintypes

            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            times = [wintypes.FILETIME() for _ in range(4)]
            if kernel32.GetProcessTimes(kernel32.GetCurrentProcess(), *[ctypes.byref(t) for t in times]):
                return str((times[0].dwHighDateTime << 32) | times[0].dwLowDateTime)
    except (OSError, IndexError, AttributeError, ValueError):
        pass
    return ""


def process_identity() -> str:
    marker = _process_start_marker()
    return f"{os.getpid()}" + (f"/{marker}" if marker else "")


@dataclass(frozen=True)
class Metadata:
    """The listener's metadata calls, as plain functions (``get`` may answer None or "" for a missing key)."""

    get: Callable[[str], object]
    add: Callable[[str, str], None]
    delete: Callable[[str], None]

    def read(self, key: str) -> str:
        value = self.get(key)
        return "" if value is None else str(value)

    def write(self, key: str, value: str) -> None:
        # AddMetaDataEntry does nothing when the key exists: delete first (a no-op when it does not).
        self.delete(key)
        self.add(key, value)


class RunBook:
    def __init__(self, metadata: Metadata, host: str | None = None) -> None:
        self.metadata = metadata
        self.host = host or socket.gethostname() or "unknown-host"

    def _key(self, name: str) -> str:
        return f"{name}.{self.host}"

    def due(self, now: datetime, interval_hours: int, identity: str | None = None) -> str | None:
        """Why a run is due now, or None when this house cleaning must make no AWS call."""
        identity = identity or process_identity()
        if self.metadata.read(self._key("ProcessIdentity")) != identity:
            return "first house cleaning since RCS/Pulse started on this machine"
        last = _parse(self.metadata.read(self._key("LastCheckUtc")))
        if last is None:
            return "no check recorded yet"
        if self.metadata.read(self._key("LastResult")) == RunStatus.FAILED and now - last >= RETRY_AFTER_FAILURE:
            return f"the last check failed {_ago(now - last)} ago"
        if interval_hours > 0 and now - last >= timedelta(hours=interval_hours):
            return f"{interval_hours} h (CheckIntervalHours) since the last check"
        return None

    def record(self, now: datetime, result: str | RunStatus, identity: str | None = None) -> None:
        self.metadata.write(self._key("ProcessIdentity"), identity or process_identity())
        self.metadata.write(self._key("LastCheckUtc"), now.astimezone(timezone.utc).isoformat(timespec="seconds"))
        self.metadata.write(self._key("LastResult"), str(result))
        self._join()

    # -- every machine's entries ----------------------------------------------------------------------
    # Deadline's listener API reads metadata by key only (GetMetaDataEntry), so the machines that run this plugin
    # are listed in one entry, each adding itself when it is missing (a machine whose addition a racing write lost
    # adds itself again at its next house cleaning).
    def hosts(self) -> list[str]:
        return [host for host in self.metadata.read(HOSTS_KEY).split() if host]

    def _join(self) -> None:
        hosts = self.hosts()
        if self.host not in hosts:
            self.metadata.write(HOSTS_KEY, " ".join([*hosts, self.host]))

    def last_check(self, host: str) -> datetime | None:
        return _parse(self.metadata.read(f"LastCheckUtc.{host}"))

    def record_profile_key(self, access_key_id: str) -> None:
        """Named-profile delivery: this machine's credentials file holds ``access_key_id`` (the delivered pair)."""
        if self.metadata.read(self._key("ProfileKey")) != access_key_id:
            self.metadata.write(self._key("ProfileKey"), access_key_id)
        self._join()

    def profile_holders(self, now: datetime, window: timedelta) -> dict[str, str]:
        """The key each machine's named profile holds, for the machines that checked within ``window``; "" for one
        that reported none."""
        holders = {}
        for host in self.hosts():
            last = self.last_check(host)
            if last is not None and now - last <= window:
                holders[host] = self.metadata.read(f"ProfileKey.{host}")
        return holders


HOSTS_KEY = "Hosts"


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(moment)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


# -- results shown in Monitor, and its Check now (farm_view.py) ---------------------------------------------------


def record_result(book: RunBook, result: MachineResult) -> None:
    """This machine's last result, for the Monitor script."""
    book.metadata.write(result_key(book.host), result.to_json())


def check_now_reason(book: RunBook, request_text: str) -> str | None:
    """Why to check now although no check is due: a Check now asked in Monitor that this machine has not honoured."""
    request = CheckNowRequest.parse(request_text)
    if request is None or book.metadata.read(honoured_key(book.host)) == request.request_id:
        return None
    return "Check now asked in Monitor" + (f" by {request.requester}" if request.requester else "")


def record_request_honoured(book: RunBook, request_text: str) -> None:
    """A check ran: the Check now asked before it (if any) is honoured on this machine."""
    request = CheckNowRequest.parse(request_text)
    if request is not None:
        book.metadata.write(honoured_key(book.host), request.request_id)


def waiting_hosts(read: Callable[[str], object], hosts: list[str], request: CheckNowRequest | None) -> list[str]:
    """The machines that have not checked since ``request``."""
    if request is None:
        return []
    return [host for host in hosts if str(read(honoured_key(host)) or "") != request.request_id]

"""Every RCS/Pulse machine's last result, and the admin's "Check now", as Deadline keeps them and Monitor shows them.

Where they are kept, and why there:

* A machine's last result is one entry of this event plugin's metadata, ``LastReport.<host>`` (JSON): the metadata
  is kept in Deadline's database, shared by every machine, between triggers (Scripting Reference,
  DeadlineEventListener.AddMetaDataEntry: "This entry will persist between event triggers"), and a Monitor script
  can read it with ``RepositoryUtils.GetEventPluginConfigMetaDataDictionary(name)`` (Deadline's own Spot Event
  Plugin reads its metadata so: events/Spot/Spot.py of Deadline 10, a public copy in kozakl/deadline-repository).
  Since the listener reads metadata by key only, the machines are listed in the ``Hosts`` entry (bookkeeping.py).
  Nothing secret goes in: identities' statuses, problems and remedies, and the log's warnings, with every known
  secret masked as in the log.
* "Check now" is one setting of this plugin, ``CheckNowRequest`` (a request id, when, and who asked), written from
  Monitor with ``RepositoryUtils.AddOrUpdateEventPluginConfigSetting(name, key, value)`` (Scripting Reference,
  RepositoryUtils: "Saves or updates an Event Plugin configuration value"); the plugin reads its settings at every
  house cleaning. Each machine records the last request it honoured (``CheckNowHonoured.<host>``): a machine whose
  last check came before a request checks at its next house cleaning. An id, not a time, tells a new request,
  since the workstation's clock and the RCS machines' need not agree.

This module uses the standard library only: the Monitor script imports it on a workstation, where no AWS access is
needed or used.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

RESULT_KEY = "LastReport"
HONOURED_KEY = "CheckNowHonoured"
CHECK_NOW_SETTING = "CheckNowRequest"
_FORMAT = 1


@dataclass(frozen=True)
class IdentityResult:
    kind: str
    name: str
    status: str  # ok, missing, drift (DeadlineSpotIamSetup.kinds.Status)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class MachineResult:
    """One machine's last check: when (UTC, ISO 8601), how it ended, each identity, and what needs an admin."""

    host: str
    when: str
    status: str  # ok, pending, failed (status.RunStatus)
    identities: tuple[IdentityResult, ...] = ()
    todo: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "host": self.host,
                "when": self.when,
                "status": self.status,
                "identities": [[i.kind, i.name, i.status, list(i.problems)] for i in self.identities],
                "todo": list(self.todo),
            },
            sort_keys=True,
        )

    @staticmethod
    def from_json(text: str) -> MachineResult | None:
        """The result a machine recorded; None for anything else (an entry of another format, a half-written one)."""
        try:
            data = json.loads(text)
            return MachineResult(
                str(data["host"]),
                str(data["when"]),
                str(data["status"]),
                tuple(
                    IdentityResult(str(kind), str(name), str(status), tuple(str(p) for p in problems))
                    for kind, name, status, problems in data["identities"]
                ),
                tuple(str(line) for line in data["todo"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def result_key(host: str) -> str:
    return f"{RESULT_KEY}.{host}"


def honoured_key(host: str) -> str:
    return f"{HONOURED_KEY}.{host}"


# -- Check now -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckNowRequest:
    request_id: str
    when: str
    requester: str

    def text(self) -> str:
        return f"{self.request_id} {self.when} {self.requester}".strip()

    @staticmethod
    def parse(text: object) -> CheckNowRequest | None:
        parts = str(text or "").split(None, 2)
        if len(parts) < 2:
            return None
        return CheckNowRequest(parts[0], parts[1], parts[2] if len(parts) > 2 else "")


def new_check_now_request(requester: str, now: datetime | None = None) -> CheckNowRequest:
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return CheckNowRequest(secrets.token_hex(6), moment.isoformat(timespec="seconds"), requester)


# -- what Monitor shows --------------------------------------------------------------------------------------------


def read_results(read: Callable[[str], Any], hosts: Iterable[str]) -> list[MachineResult]:
    """Each listed machine's last result, through ``read(key)`` (None or "" for a missing entry)."""
    results = []
    for host in hosts:
        text = read(result_key(host))
        result = MachineResult.from_json(str(text)) if text else None
        if result is not None:
            results.append(result)
    return results


def _when(text: str, now: datetime) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 0:
        ago = "just now"
    elif minutes < 120:
        ago = f"{minutes} min ago"
    elif minutes < 48 * 60:
        ago = f"{minutes // 60} h ago"
    else:
        ago = f"{minutes // (24 * 60)} days ago"
    return f"{moment.strftime('%Y-%m-%d %H:%M')} UTC ({ago})"


def machine_lines(result: MachineResult, now: datetime) -> list[str]:
    lines = [f"{result.host}: {result.status}, checked {_when(result.when, now)}"]
    width = max([len(i.kind) for i in result.identities] or [0])
    for identity in result.identities:
        problems = "; ".join(identity.problems)
        lines.append(f"  {identity.status:<8} {identity.kind:<{width}}  {identity.name}  {problems}".rstrip())
    if result.todo:
        lines.append("  To do:")
        lines += [f"  - {line}" for line in result.todo]
    return lines


def farm_text(
    results: list[MachineResult], request: CheckNowRequest | None, waiting: Iterable[str], now: datetime
) -> str:
    """The whole report Monitor shows: every machine's last result, and the Check now asked (``waiting``: the
    machines that have not checked since)."""
    if not results:
        lines = [
            "No RCS/Pulse machine has recorded a check yet. Set State to Global Enabled in Monitor > Tools > "
            "Configure Events > DeadlineSpotIamSetup; the first house cleaning after RCS/Pulse starts checks."
        ]
    else:
        lines = []
        for result in sorted(results, key=lambda r: r.host.lower()):
            lines += machine_lines(result, now) + [""]
    if request is not None:
        who = f" by {request.requester}" if request.requester else ""
        pending = sorted(waiting, key=str.lower)
        after = (
            f"waiting for the next house cleaning of {', '.join(pending)} (within a few minutes)"
            if pending
            else "every machine has checked since"
        )
        lines.append(f"Check now asked{who} at {_when(request.when, now)}: {after}.")
    return "\n".join(lines).rstrip() + "\n"

"""How a run ended, as the runner reports it and the bookkeeping records it: the facts a check gathers, and the
status and key confirmation that follow from them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .farm_view import IdentityResult


class RunStatus(str, Enum):
    OK = "ok"  # every identity in place and the Spot plugin has a key of the Spot user
    PENDING = "pending"  # something needs an admin (or CreateMissing is off)
    FAILED = "failed"  # AWS refused or did not answer, settings were invalid, or the time limit came

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RunReport:
    """A run's status, and whether the Spot plugin's key is known to work: delivered and accepted by AWS in this
    run, or already configured in the Spot plugin (only then may the bootstrap credential be forgotten)."""

    status: RunStatus
    key_confirmed: bool = False
    identities: tuple[IdentityResult, ...] = ()  # each identity's state as the run left it (for Monitor)


@dataclass(frozen=True)
class RunFacts:
    """What one check found that its status follows from (runner.EngineJob gathers them)."""

    plan_ok: bool  # every identity in place, as the check left them
    role_mode: bool = False  # the Spot plugin uses a role: there is no key to deliver
    key_delivered: bool = False  # this check handed a new key (created or rotated) to the Spot plugin
    key_accepted: bool = False  # ... and STS accepted it
    key_left_to_another_run: bool = False  # another run created the key at the same moment and delivers it
    # Whether the Spot plugin holds an active key of the Spot user; None: not checked (nothing to deliver to, a key
    # delivered or left to another run in this check, or the key itself needs attention).
    key_in_use: bool | None = None
    rotation_failed: bool = False  # a rotation step failed (AWS refused or did not answer)
    changes_unmade: bool = False  # CreateMissing on: apply left changes unmade (refused, failed, not attempted)
    rotation_unfinished: bool = False  # a rotation ran and waits for something (the new key's first use, an admin)


def run_status(facts: RunFacts) -> RunStatus:
    """FAILED when the rotation failed or apply left changes unmade; OK when every identity is in place, the Spot
    plugin's key is not known to be missing and no rotation waits; PENDING otherwise."""
    if facts.rotation_failed or facts.changes_unmade:
        return RunStatus.FAILED
    if facts.plan_ok and facts.key_in_use is not False and not facts.rotation_unfinished:
        return RunStatus.OK
    return RunStatus.PENDING


def key_confirmed(facts: RunFacts) -> bool:
    """Whether the Spot plugin's credentials are known to work: a role (no key), a key delivered in this check that
    AWS accepts, or a key of the Spot user the Spot plugin already uses."""
    return facts.role_mode or facts.key_accepted or facts.key_in_use is True

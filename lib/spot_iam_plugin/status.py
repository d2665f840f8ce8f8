"""How a run ended, as the runner reports it and the bookkeeping records it."""

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

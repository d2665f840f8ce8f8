"""The names the engine, its renderers and both front ends share: identity kinds and finding statuses."""

from __future__ import annotations

from enum import Enum


class Kind(str, Enum):
    """Every identity kind the engine knows; each has exactly one handler (``handlers.HANDLERS``)."""

    SPOT_USER = "spot-user"
    ACCESS_KEY = "access-key"
    SPOT_ROLE = "spot-role"
    WORKER_ROLE = "worker-role"
    INSTANCE_PROFILE = "instance-profile"
    FLEET_ROLE = "fleet-role"
    TRACKER_ROLE = "tracker-role"
    SERVICE_LINKED_ROLE = "service-linked-role"
    POLICY_COPY = "policy-copy"
    PERMISSIONS = "spot-permissions"  # what the Spot credentials' policies allow, as the Spot Event Plugin needs
    FLEET_GROUP = "fleet-group"  # one group of the Spot Event Plugin's Spot Fleet configuration
    TRACKER_IN_USE = "resource-tracker"  # the Spot Event Plugin uses the Resource Tracker this setup leaves out

    def __str__(self) -> str:
        return self.value


class Status(str, Enum):
    """What check found for one identity."""

    OK = "ok"
    MISSING = "missing"
    DRIFT = "drift"

    def __str__(self) -> str:
        return self.value

"""One handler per identity kind: everything the engine knows about that kind lives in its module."""

from __future__ import annotations

from typing import Any

from ..kinds import Kind
from .access_key import AccessKeyHandler
from .base import Handler
from .fleet_group import FleetGroupHandler, TrackerInUseHandler
from .instance_profile import InstanceProfileHandler
from .policy_copy import PolicyCopyHandler
from .service_linked_role import ServiceLinkedRoleHandler
from .service_role import ServiceRoleHandler
from .spot_permissions import SpotPermissionsHandler
from .spot_role import SpotRoleHandler
from .spot_user import SpotUserHandler

HANDLERS: dict[Kind, Handler] = {
    handler.kind: handler
    for handler in (
        PolicyCopyHandler(),
        SpotUserHandler(),
        AccessKeyHandler(),
        SpotRoleHandler(),
        ServiceRoleHandler(Kind.WORKER_ROLE),
        InstanceProfileHandler(),
        ServiceRoleHandler(Kind.FLEET_ROLE),
        ServiceRoleHandler(Kind.TRACKER_ROLE),
        ServiceLinkedRoleHandler(),
        SpotPermissionsHandler(),
        FleetGroupHandler(),
        TrackerInUseHandler(),
    )
}


def handler_for(identity: Any) -> Handler:
    """The handler of ``identity``'s kind. An identity no handler knows is an error, never skipped."""
    handler = HANDLERS.get(getattr(identity, "kind", None))  # type: ignore[arg-type]
    if handler is None or not isinstance(identity, handler.identity_type):
        raise TypeError(f"no handler for identity {identity!r}")
    return handler


__all__ = ["HANDLERS", "Handler", "handler_for"]

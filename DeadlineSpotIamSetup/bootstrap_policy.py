"""The least-privilege IAM policy the bootstrap credential needs, rendered from the desired state.

Each kind's handler adds the statements its reads and writes need: reads by name, the creates, the repairs
(trust, attachments), tagging and boundaries only when asked for, attaching only the AWS managed policies this
tool attaches, creating only the two Spot service-linked roles. sts:GetCallerIdentity needs no permission.
"""

from __future__ import annotations

from typing import Any

from .desired import DesiredState
from .handlers import HANDLERS, handler_for
from .handlers.base import Permissions


def bootstrap_policy(desired: DesiredState, partition: str = "aws", account: str = "*") -> dict[str, Any]:
    policy = Permissions(partition, account, desired.options)
    for identity in desired:
        handler_for(identity).permissions(identity, policy)
    kinds = {identity.kind for identity in desired}
    for handler in HANDLERS.values():
        if handler.kind not in kinds:  # a handler of the desired state's kinds added them already
            handler.shared_permissions(policy)
    return {"Version": "2012-10-17", "Statement": policy.statements}

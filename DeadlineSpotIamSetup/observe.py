"""Read-only inspection: what IAM holds for each desired identity.

Every identity is read by name (cost independent of the account's size; nothing is listed account-wide),
and all reads run in one parallel round on one shared client; a second round, when a handler asks for one, reads
what depends on the first round's answers (an IP-restricted copy's AWS policy at the version the copy records, once
AWS has published a newer one). What to read comes from each kind's handler.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .desired import DesiredState, Identity
from .findings import Read
from .handlers import handler_for
from .values import Observation, Observed

if TYPE_CHECKING:
    from .gateway_protocol import Gateway


def observe(gateway: Gateway, desired: DesiredState) -> Observation:
    """Read every identity in one parallel round, then, in a second round, the reads that depend on the first one's
    answers (none, mostly). A read several identities need (the Spot credentials' policies, judged by the permission
    chain and by each fleet group) is made once, and so is a list several reads ask for (the Spot user's attached
    policies: its identity and its permission chain). Raises the first error (in identity order), if any."""
    reads = {identity: handler_for(identity).reads(identity) for identity in desired}
    with gateway.sharing_reads():
        answers = _read_round(gateway, reads)
        later = {identity: handler_for(identity).later_reads(identity, answers[identity]) for identity in desired}
        for identity, fields in _read_round(gateway, later).items():
            answers[identity].update(fields)
    observed = {}
    for identity, fields in answers.items():
        if not reads[identity]:  # judged from the settings alone
            observed[identity] = Observed(True)
            continue
        primary = reads[identity][0].field  # the identity exists when this answered
        known = {name: value for name, value in fields.items() if value is not None}
        observed[identity] = Observed(fields[primary] is not None, **known)
    return Observation(observed)


def _read_round(gateway: Gateway, reads: dict[Identity, tuple[Read, ...]]) -> dict[Identity, dict[str, Any]]:
    """Every read at once, on the shared client, each distinct call once; the answers by identity and field."""
    jobs = [(identity, read) for identity, identity_reads in reads.items() for read in identity_reads]
    answers: dict[Identity, dict[str, Any]] = {identity: {} for identity in reads}
    unique = list(dict.fromkeys((read.method, read.args) for _, read in jobs))
    if not unique:
        return answers
    with ThreadPoolExecutor(max_workers=len(unique), thread_name_prefix="iam-read") as pool:
        futures = {call: pool.submit(getattr(gateway, call[0]), *call[1]) for call in unique}
    for identity, read in jobs:
        answers[identity][read.field] = futures[(read.method, read.args)].result()
    return answers

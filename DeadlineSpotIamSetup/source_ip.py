"""IP-restricted copies of the AWS managed Spot policies: the allowed-address list and the restricted document.

The AWS page for the Spot Event Plugin advises adding ``"Condition": {"IpAddress": {"aws:SourceIp": [...]}}``
to every statement of the Spot credentials' policies, so that only calls from the RCS/Pulse machines are
allowed. Pure functions, no AWS.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from .errors import InvalidSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# IAM's limit for a customer managed policy document, counted without white space.
MAX_POLICY_CHARACTERS = 6144
_SOURCE_IP = "aws:sourceip"


# How a front end lets a list that matches every address through: named in the refusal.
ANY_ADDRESS_OPTIONS = "--allow-any-address (the event plugin's Allow Any Address)"
_EVERY_ADDRESS = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def parse_source_ips(
    entries: Iterable[str], label: str = "allowed source IPs", allow_any: bool = False
) -> tuple[str, ...]:
    """CIDRs (IPv4 or IPv6; a bare address means that one address), each checked, in the order given.

    A CIDR with host bits set (``10.0.0.1/8``) is refused, not normalised: it usually means a typo in the prefix
    length or in the address, and widening it silently would allow more than was meant.

    aws:SourceIp is "the requester's IP address" ("AWS global condition context keys", IAM User Guide), compared
    with CIDR blocks by the IP address condition operators. So:

    - an IPv6 zone index (``fe80::1%eth0``) is refused: it names the sender's interface and travels in no request,
      so ``fe80::1%eth0/128`` would match nothing. It is found in the text, before ``ipaddress`` sees it: Python
      3.9+ parses zone indexes, 3.7 refuses them as garbage, and the refusal must read the same on both;
    - a list whose networks cover every IPv4 or every IPv6 address (``0.0.0.0/0``, ``::/0``) restricts nothing and
      is refused unless ``allow_any`` says it is meant.
    """
    texts = [entry.strip() for entry in entries if entry.strip()]
    if not texts:
        raise InvalidSettings(f"{label} is empty: give at least one address or CIDR (e.g. 203.0.113.10/32)")
    problems: list[str] = []
    networks: list[Network] = []
    for text in texts:
        if "%" in text:
            zone = text.partition("%")[2].partition("/")[0]
            problems.append(
                f"{text!r} has an IPv6 zone index (%{zone}), which names this machine's interface and is in no "
                "request (aws:SourceIp is the address a request comes from): write the address without it"
            )
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as error:
            if "has host bits set" in str(error):
                wider = ipaddress.ip_network(text, strict=False)
                problems.append(
                    f"{text!r} has host bits set: write {wider} for the whole network, or "
                    f"{text.split('/')[0]}/{32 if wider.version == 4 else 128} for that one address"
                )
            else:
                problems.append(f"{text!r} is not an IPv4 or IPv6 address or CIDR")
            continue
        if network in networks:
            problems.append(f"{network} is given twice")
        networks.append(network)
    if not allow_any:
        problems += _every_address_problems(networks)
    if problems:
        raise InvalidSettings(f"{label}: " + "; ".join(problems))
    return tuple(str(network) for network in networks)


def _every_address_problems(networks: list[Network]) -> list[str]:
    """A problem for each address family the networks cover whole: such a list allows calls from anywhere."""
    problems = []
    for version, everything in _EVERY_ADDRESS.items():
        family = [network for network in networks if network.version == version]
        if not family or list(ipaddress.collapse_addresses(family)) != [everything]:
            continue
        whole = [network for network in family if network.prefixlen == 0]
        named = whole or family
        if len(named) == 1:
            covers = f"{named[0]} matches every IPv{version} address, so it restricts nothing"
        else:
            listed = f"{', '.join(map(str, named[:-1]))} and {named[-1]}"
            covers = f"{listed} match every IPv{version} address together, so they restrict nothing"
        problems.append(
            f"{covers}: give the RCS/Pulse machines' addresses (refused unless {ANY_ADDRESS_OPTIONS} says it is meant)"
        )
    return problems


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _intersection(existing: list[str], allowed: tuple[str, ...]) -> list[str]:
    """The addresses in both lists: for each overlapping pair, the smaller network (CIDR blocks either nest or
    are disjoint)."""
    kept: list[str] = []
    for first in existing:
        try:
            a = ipaddress.ip_network(first, strict=False)
        except ValueError:
            continue  # an address IAM would not match either
        for second in allowed:
            b = ipaddress.ip_network(second)
            if a.version != b.version or not a.overlaps(b):
                continue
            smaller = str(a if a.prefixlen >= b.prefixlen else b)
            if smaller not in kept:
                kept.append(smaller)
    return kept


def restrict_statement(statement: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any] | None:
    """The statement allowed only from ``allowed``; None when nothing of it is left.

    - An Allow statement gets ``IpAddress: aws:SourceIp: allowed``, added to the conditions it has (IAM ANDs
      condition operators, so nothing the statement already required is lost).
    - An Allow statement that already has ``IpAddress: aws:SourceIp`` keeps only the addresses in both lists
      (adding ours to the same key would OR them and widen it); with none in both, the statement is dropped.
    - A Deny statement stays as it is: a condition would narrow where the Deny applies, that is, allow more.
    """
    if statement.get("Effect") != "Allow":
        return copy.deepcopy(statement)
    restricted = copy.deepcopy(statement)
    conditions = restricted.setdefault("Condition", {})
    operator = next((key for key in conditions if key.lower() == "ipaddress"), None)
    if operator is None:
        conditions["IpAddress"] = {"aws:SourceIp": list(allowed)}
        return restricted
    block = conditions[operator]
    key = next((k for k in block if k.lower() == _SOURCE_IP), None)
    if key is None:
        block["aws:SourceIp"] = list(allowed)
        return restricted
    kept = _intersection([str(v) for v in _as_list(block[key])], allowed)
    if not kept:
        return None
    block[key] = kept
    return restricted


def restrict_document(document: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    statements = [restrict_statement(s, allowed) for s in _as_list(document.get("Statement")) if isinstance(s, dict)]
    return {"Version": document.get("Version", "2012-10-17"), "Statement": [s for s in statements if s is not None]}


def policy_characters(document: dict[str, Any]) -> int:
    """The size IAM counts against its limit: the JSON without white space."""
    return len(json.dumps(document, separators=(",", ":")))


def allowed_ips_of(document: dict[str, Any]) -> frozenset[str]:
    """Every aws:SourceIp value an IpAddress condition of the document names (to say what a copy allows now)."""
    found: set[str] = set()
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            if operator.lower() == "ipaddress" and isinstance(block, dict):
                for key, value in block.items():
                    if key.lower() == _SOURCE_IP:
                        found.update(str(v) for v in _as_list(value))
    return frozenset(found)


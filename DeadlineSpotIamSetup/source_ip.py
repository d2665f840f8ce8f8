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
from dataclasses import dataclass
from typing import Any, Union

from .errors import InvalidSettings

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

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
        # One IP version only (filtered above), which the typeshed stub cannot tell from a list of either.
        if not family or list(ipaddress.collapse_addresses(family)) != [everything]:  # type: ignore[type-var]
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


def addresses_in(document: dict[str, Any]) -> list[tuple[str, ...]]:
    """Each distinct aws:SourceIp list (as a set: IAM ORs its values) of the document's IpAddress conditions, in the
    order found, that is a valid list of allowed source IPs: the address lists a copy may have been made with."""
    found: list[tuple[str, ...]] = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or not isinstance(statement.get("Condition"), dict):
            continue
        for operator, block in statement["Condition"].items():
            if operator.lower() != "ipaddress" or not isinstance(block, dict):
                continue
            for key, value in block.items():
                if key.lower() != _SOURCE_IP:
                    continue
                try:
                    listed = parse_source_ips([str(v) for v in _as_list(value)], allow_any=True)
                except InvalidSettings:
                    continue
                if set(listed) not in [set(known) for known in found]:
                    found.append(listed)
    return found


# -- a copy against what this project writes ------------------------------------------------------------------------
# IAM reads a policy document, not its text, so documents are compared in a normal form that keeps what IAM reads:
# - "Action": "x" is ["x"], and a list is a set to IAM: its order and repeated elements mean nothing;
# - "The prefix and the action name are case insensitive" ("IAM JSON policy elements: Action", IAM User Guide);
# - "Context key names are not case-sensitive" ("IAM JSON policy elements: Condition"); values keep their case;
# - "If you do not include a Version element, the value defaults to 2008-10-17" ("IAM JSON policy elements: Version");
# - statements are a set too: their order and repetition decide nothing (explicit Deny wins wherever it stands).
# Everything else (Sid, Effect, condition operators, resources) is compared as written.
DEFAULT_POLICY_LANGUAGE = "2008-10-17"
_SHOWN_ACTIONS = 3


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _value_set(value: Any, lower: bool = False) -> list[str]:
    return sorted({_text(v).lower() if lower else _text(v) for v in _as_list(value)})


def normal_statement(statement: Any) -> str:
    """The statement as IAM reads it, as one comparable string."""
    if not isinstance(statement, dict):
        return json.dumps(statement, sort_keys=True)
    normal: dict[str, Any] = {}
    for element, value in statement.items():
        if element in ("Action", "NotAction"):
            normal[element] = _value_set(value, lower=True)
        elif element in ("Resource", "NotResource"):
            normal[element] = _value_set(value)
        elif element in ("Principal", "NotPrincipal") and isinstance(value, dict):
            normal[element] = {kind: _value_set(names) for kind, names in value.items()}
        elif element == "Condition" and isinstance(value, dict):
            normal[element] = {
                operator: (
                    {key.lower(): _value_set(values) for key, values in block.items()}
                    if isinstance(block, dict)
                    else block
                )
                for operator, block in value.items()
            }
        else:
            normal[element] = value
    return json.dumps(normal, sort_keys=True)


def describe_statement(statement: Any) -> str:
    """``statement 'Sid' (Deny iam:DeleteUser)``: what an admin recognises a statement by."""
    if not isinstance(statement, dict):
        return f"statement {json.dumps(statement)[:60]}"
    name = f"statement {statement['Sid']!r}" if statement.get("Sid") else "statement"
    element = "NotAction" if "NotAction" in statement and "Action" not in statement else "Action"
    actions = [_text(a) for a in _as_list(statement.get(element))]
    more = len(actions) - _SHOWN_ACTIONS
    shown = ", ".join(actions[:_SHOWN_ACTIONS]) + (f" +{more} more" if more > 0 else "")
    prefix = "NotAction " if element == "NotAction" else ""
    return f"{name} ({statement.get('Effect', '?')} {prefix}{shown})"


@dataclass(frozen=True)
class CopyDifference:
    """How a copy's document differs from what this project writes (``expected``), as IAM reads both.

    ``added``: statements the copy has beyond the expected ones (an admin's); ``extra_elements``: top-level elements
    beside Version and Statement the expected document lacks (an ``Id``); ``changed``: what became of the expected
    document's own parts, each said in words (a statement lacking, changed, another Version)."""

    added: tuple[dict[str, Any], ...] = ()
    extra_elements: tuple[tuple[str, Any], ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        return not (self.added or self.extra_elements or self.changed)

    def additions(self) -> str:
        """``adds statement 'X' (Deny iam:DeleteUser); adds the element Id``."""
        parts = [f"adds {describe_statement(s)}" for s in self.added]
        parts += [f"adds the element {name}" for name, _ in self.extra_elements]
        return "; ".join(parts)

    def description(self) -> str:
        return "; ".join([*self.changed, *([self.additions()] if self.added or self.extra_elements else [])])


def _language(document: dict[str, Any]) -> str:
    return str(document.get("Version", DEFAULT_POLICY_LANGUAGE))


def compare_copy(copy_document: dict[str, Any], expected: dict[str, Any]) -> CopyDifference:
    """What the copy adds to ``expected`` and what of ``expected`` it lacks or changed, statement by statement."""
    wanted = _distinct(_as_list(expected.get("Statement")))
    theirs = _distinct(_as_list(copy_document.get("Statement")))
    lacking = [statement for form, statement in wanted.items() if form not in theirs]
    unmatched = [statement for form, statement in theirs.items() if form not in wanted]
    changed = []
    if _language(copy_document) != _language(expected):
        changed.append(f"its Version is {_language(copy_document)}, where this project writes {_language(expected)}")
    for statement in lacking:
        counterpart = _counterpart(statement, unmatched)
        if counterpart is None:
            changed.append(f"lacks {describe_statement(statement)}")
            continue
        unmatched.remove(counterpart)
        differing = sorted(e for e in set(statement) | set(counterpart) if not _same_element(statement, counterpart, e))
        how = "; ".join(_element_change(element, statement, counterpart) for element in differing)
        changed.append(f"changes {describe_statement(statement)}: its {how}")
    extra = tuple((k, v) for k, v in copy_document.items() if k not in ("Version", "Statement") and k not in expected)
    return CopyDifference(tuple(s for s in unmatched if isinstance(s, dict)), extra, tuple(changed))


def _distinct(statements: list[Any]) -> dict[str, Any]:
    """The statements by normal form, in their order, each once: a repeated statement means nothing more to IAM."""
    distinct: dict[str, Any] = {}
    for statement in statements:
        distinct.setdefault(normal_statement(statement), statement)
    return distinct


def _counterpart(statement: Any, candidates: list[Any]) -> dict[str, Any] | None:
    """The statement of ``candidates`` that is ``statement`` edited: the one with its Sid; for a statement without Sid,
    one without Sid of the same Effect sharing an action with it, the one most like it."""
    if not isinstance(statement, dict):
        return None
    sid = statement.get("Sid")
    best, best_alike = None, -1
    for candidate in candidates:
        if not isinstance(candidate, dict) or candidate.get("Sid") != sid:
            continue
        if sid:
            return candidate
        if candidate.get("Effect") != statement.get("Effect"):
            continue
        if not any(
            set(_value_set(statement.get(key), lower=True)) & set(_value_set(candidate.get(key), lower=True))
            for key in ("Action", "NotAction")
        ):
            continue
        alike = sum(1 for element in statement if _same_element(statement, candidate, element))
        if alike > best_alike:
            best, best_alike = candidate, alike
    return best


def _element_change(element: str, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """``Action differs (+ec2:DescribeInstances)``: for a list element, what the copy added (+) and dropped (-)."""
    if element not in ("Action", "NotAction", "Resource", "NotResource"):
        return f"{element} differs"
    lower = element.endswith("Action")
    spelled = {(_text(v).lower() if lower else _text(v)): _text(v) for v in _as_list(theirs.get(element))}
    spelled.update((_text(v).lower() if lower else _text(v), _text(v)) for v in _as_list(ours.get(element)))
    mine, copied = set(_value_set(ours.get(element), lower)), set(_value_set(theirs.get(element), lower))
    changes = [f"+{spelled[v]}" for v in sorted(copied - mine)] + [f"-{spelled[v]}" for v in sorted(mine - copied)]
    return f"{element} differs ({', '.join(changes)})"


def _same_element(first: dict[str, Any], second: dict[str, Any], element: str) -> bool:
    return normal_statement({element: first.get(element)}) == normal_statement({element: second.get(element)})


def merge_problems(expected: dict[str, Any], difference: CopyDifference) -> list[str]:
    """Why the admin's additions cannot be carried into a new version of the copy safely (none: they can): a Sid the
    new version's own statements use ("In IAM, the Sid value must be unique within a JSON policy", IAM JSON policy
    elements: Sid), or a document over IAM's size limit."""
    problems = []
    sids = {str(s.get("Sid")) for s in _as_list(expected.get("Statement")) if isinstance(s, dict) and s.get("Sid")}
    for statement in difference.added:
        if statement.get("Sid") and str(statement["Sid"]) in sids:
            problems.append(
                f"its added {describe_statement(statement)} has the Sid of a statement of the new version (IAM wants "
                "each Sid once in a policy)"
            )
    merged = merged_copy(expected, difference)
    if policy_characters(merged) > MAX_POLICY_CHARACTERS:
        problems.append(
            f"with what was added by hand it would be {policy_characters(merged)} characters, over IAM's limit of "
            f"{MAX_POLICY_CHARACTERS}"
        )
    return problems


def merged_copy(expected: dict[str, Any], difference: CopyDifference) -> dict[str, Any]:
    """``expected`` with the admin's additions: their statements (but those ``expected`` already holds) and elements."""
    statements = list(_as_list(expected.get("Statement")))
    forms = {normal_statement(s) for s in statements}
    for statement in difference.added:
        if normal_statement(statement) not in forms:  # a repeated statement means nothing more to IAM
            forms.add(normal_statement(statement))
            statements.append(copy.deepcopy(statement))
    merged = {"Version": expected.get("Version", DEFAULT_POLICY_LANGUAGE), "Statement": statements}
    merged.update((name, copy.deepcopy(value)) for name, value in difference.extra_elements)
    return merged

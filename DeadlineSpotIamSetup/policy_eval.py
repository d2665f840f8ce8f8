"""IAM identity-based policies evaluated for one request, the way IAM does (no resource policies, no SCPs). A
condition on a key the context does not know is unknown: an Allow that needs one still allows and names the key; a
Deny that needs one may deny. Pure functions, no AWS."""

from __future__ import annotations

import ipaddress
import operator
import re
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .compat import remove_suffix
from .trust import parse_policy


class _Context(typing.Mapping[str, "str | tuple[str, ...]"]):
    """A request's condition keys, frozen (a list value becomes a tuple) so that a Request stays hashable."""

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = {str(k): tuple(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for k, v in items.items()}

    def __getitem__(self, key: str) -> str | tuple[str, ...]:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


@dataclass(frozen=True)
class Request:
    """One call to authorize: an action on a resource ARN (or "*"), with the condition keys known for it."""

    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", _Context(self.context or {}))

    def describe(self) -> str:
        """E.g. "iam:PassRole on arn:aws:iam::123456789012:role/R (iam:PassedToService=ec2.amazonaws.com)"."""
        text = f"{self.action} on {self.resource}"
        if not self.context:
            return text
        shown = (f"{k}={v}" if isinstance(v, str) else f"{k}=[{', '.join(v)}]" for k, v in self.context.items())
        return f"{text} ({', '.join(shown)})"


@dataclass(frozen=True)
class PolicySource:
    """A policy document and how to name it in a decision (e.g. "inline policy X of user Y")."""

    label: str
    document: dict = field(hash=False)


@dataclass(frozen=True)
class Decision:
    """The outcome for one request; statements are named "<label> statement <Sid>" or "... statement #<n>"."""

    allowed: bool
    allowed_by: tuple[str, ...]
    denied_by: tuple[str, ...]
    may_be_denied_by: tuple[str, ...]
    unknown_keys: tuple[str, ...]
    boundary_blocks: bool


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=512)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters, ``?`` any one character; nothing else is special."""
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """A pattern that is an ARN matches segment by segment (a wildcard never spans into the next segment); "*"
    matches anything; any other pattern is matched as a whole."""
    if not pattern.startswith("arn:"):
        return _wildcard(pattern, value)
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) == 6 and all(map(_wildcard, patterns, values))


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def test(value: str, wanted: str) -> bool:
        try:
            return compare(float(value), float(wanted))
        except ValueError:
            return False

    return test


def _in_network(value: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in ipaddress.ip_network(wanted.strip(), strict=False)
    except ValueError:
        return False


# (context value, policy value) → whether they match; a negated operator holds when no policy value matches.
_TESTS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": operator.eq,
    "stringequalsignorecase": lambda value, wanted: value.lower() == wanted.lower(),
    "stringlike": lambda value, wanted: _wildcard(wanted, value),
    "arnequals": lambda value, wanted: _arn_like(wanted, value),
    "arnlike": lambda value, wanted: _arn_like(wanted, value),
    "bool": lambda value, wanted: value.lower() == wanted.lower(),
    "numericequals": _numeric(operator.eq),
    "numericlessthan": _numeric(operator.lt),
    "numericlessthanequals": _numeric(operator.le),
    "numericgreaterthan": _numeric(operator.gt),
    "numericgreaterthanequals": _numeric(operator.ge),
    "ipaddress": _in_network,
}
_NEGATED = {  # StringNotEquals → StringEquals, NotIpAddress → IpAddress, ...
    name: name.replace("not", "", 1)
    for name in ("stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike")
    + ("numericnotequals", "notipaddress")
}


def _holds(condition: str, wanted: Any, values: tuple[str, ...] | None) -> bool | None:
    """One key under one operator; None when it depends on a key missing from the context, or on an operator this
    module does not know. ``values`` is None when the key is missing."""
    name, quantifier = condition.lower(), ""
    for prefix in ("foranyvalue:", "forallvalues:"):
        if name.startswith(prefix):
            quantifier, name = prefix, name[len(prefix) :]
    if_exists = name.endswith("ifexists")
    name = remove_suffix(name, "ifexists")
    wanted_texts = [str(w).lower() if isinstance(w, bool) else str(w) for w in _as_list(wanted)]  # JSON true: "true"
    if name == "null":
        return any((values is None) == (w.lower() == "true") for w in wanted_texts)
    test = _TESTS.get(_NEGATED.get(name, name))
    if test is None:
        return None
    if values is None:
        return True if if_exists or quantifier == "forallvalues:" else None
    negated = name in _NEGATED

    def one(value: str) -> bool:
        return any(test(value, w) for w in wanted_texts) != negated

    return all(map(one, values)) if quantifier == "forallvalues:" else any(map(one, values))


def _conditions(block: Any, context: Mapping[str, tuple[str, ...]]) -> tuple[bool, set[str]]:
    """(False, ...) when a condition fails (or the block is malformed); else (True, the unknown keys it needs)."""
    if block is None:
        return True, set()
    if not isinstance(block, dict) or not all(isinstance(keys, dict) for keys in block.values()):
        return False, set()
    unknown: set[str] = set()
    for condition, keys in block.items():
        for key, wanted in keys.items():
            result = _holds(str(condition), wanted, context.get(str(key).lower()))
            if result is False:
                return False, set()
            if result is None:
                unknown.add(str(key))
    return True, unknown


def _covers(statement: dict[str, Any], name: str, matches: Callable[[str], bool]) -> bool:
    """Whether the statement's ``name`` element (or everything outside its Not``name``) covers the value."""
    if name in statement:
        return any(matches(str(p)) for p in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(matches(str(p)) for p in _as_list(statement[f"Not{name}"]))
    return False


def _statements(document: Any) -> list[Any]:
    try:
        parsed = parse_policy(document)
    except (ValueError, TypeError):
        return []
    return _as_list(parsed.get("Statement")) if isinstance(parsed, dict) else []


@dataclass
class _Tally:
    allows: list[str] = field(default_factory=list)
    unconditional: bool = False  # some Allow matches without depending on an unknown key
    unknown: set[str] = field(default_factory=set)
    denies: list[str] = field(default_factory=list)
    may_deny: list[str] = field(default_factory=list)

    def allowed(self) -> bool:
        return bool(self.allows) and not self.denies


def _tally(request: Request, sources: Sequence[PolicySource], context: Mapping[str, tuple[str, ...]]) -> _Tally:
    tally = _Tally()
    for source in sources:
        for number, statement in enumerate(_statements(source.document), 1):
            if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
                continue
            if not _covers(statement, "Action", lambda p: _wildcard(p, request.action, ignore_case=True)):
                continue
            if not _covers(statement, "Resource", lambda p: _arn_like(p, request.resource)):
                continue
            holds, unknown = _conditions(statement.get("Condition"), context)
            if not holds:
                continue
            sid = statement.get("Sid")
            name = f"{source.label} statement {sid}" if sid else f"{source.label} statement #{number}"
            if statement["Effect"] == "Deny":
                (tally.may_deny if unknown else tally.denies).append(name)
            else:
                tally.allows.append(name)
                tally.unknown |= unknown
                tally.unconditional = tally.unconditional or not unknown
    return tally


def evaluate(
    request: Request, policies: Sequence[PolicySource], boundary: Sequence[PolicySource] | None = None
) -> Decision:
    """Whether IAM allows the request under these identity policies and, when given, this permissions boundary
    (None: no boundary; an empty sequence: a boundary that allows nothing)."""
    context = {key.lower(): (v,) if isinstance(v, str) else tuple(v) for key, v in request.context.items()}
    granted = _tally(request, policies, context)
    limit = _tally(request, boundary, context) if boundary is not None else None
    tallies = [granted] if limit is None else [granted, limit]
    denied = tuple(name for tally in tallies for name in tally.denies)
    boundary_blocks = limit is not None and not limit.allowed()
    unknown = {key for tally in tallies if not tally.unconditional for key in tally.unknown}
    return Decision(
        allowed=granted.allowed() and not denied and not boundary_blocks,
        allowed_by=tuple(granted.allows),
        denied_by=denied,
        may_be_denied_by=tuple(name for tally in tallies for name in tally.may_deny),
        unknown_keys=tuple(sorted(unknown)),
        boundary_blocks=boundary_blocks,
    )


def explain(decision: Decision, request: Request) -> str:
    """One line on why ``request`` is not allowed; empty when it is."""
    if decision.allowed:
        return ""
    if decision.denied_by:
        return f"explicitly denied by {', '.join(decision.denied_by)}"
    if not decision.allowed_by:
        return "not allowed by any attached policy"
    return "allowed by the policies but not by the permissions boundary"

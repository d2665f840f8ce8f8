"""IAM identity-based policies, and a permissions boundary, evaluated for one request the way the IAM User Guide
documents it, sentence by sentence (the sentences are quoted beside the code that follows them). Resource policies,
session policies and service control policies are out of sight here.

A request carries the condition keys its caller knows, and declares the keys it cannot know. A key in neither is
absent, as in IAM. A verdict that hangs on a declared-unknown key is neither allowed nor denied but CONDITIONAL,
and names what it hangs on (the statement, the key, the condition), so that it is never shown as a plain yes.

Pure and standard library only: this module runs inside Deadline (Python 3.7 and later).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import math
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Union

from .trust import parse_policy

ALLOWED, DENIED, CONDITIONAL = "allowed", "denied", "conditional"
VARIABLES_VERSION = "2012-10-17"
CURRENT_TIME, EPOCH_TIME = "aws:CurrentTime", "aws:EpochTime"


# -- the request ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OneOf:
    """A single-valued key whose value is one of these, not known which (the RCS/Pulse machine calls from one of the
    allowed networks): a condition holds when it holds for every alternative, fails when it fails for every one, and
    otherwise hangs on the key. For aws:SourceIp an alternative may be a whole network."""

    values: tuple[str, ...]


def _frozen_value(value: Any) -> str | tuple[str, ...] | OneOf:
    if isinstance(value, OneOf):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return str(value)


class _Context(typing.Mapping[str, Any]):  # noqa: UP006 -- a base class, made at run time (Python 3.7)
    """A request's condition keys, frozen (a list becomes a tuple) so that a Request stays hashable."""

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = {str(k): _frozen_value(v) for k, v in items.items()}

    def __getitem__(self, key: str) -> Any:
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
    """One call to authorize: an action on a resource ARN (or "*" for an action without resource types).

    ``context``: the condition keys known for it (a list is a multivalued key; :class:`OneOf` a single value not
    known exactly). ``unknown``: the keys the caller cannot know, as patterns (``aws:ResourceTag/*``); a key in
    ``context`` is known even if a pattern covers it. Every other key is absent from the request.
    """

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", _Context(self.context or {}))
        object.__setattr__(self, "unknown", tuple(self.unknown))

    def describe(self) -> str:
        """E.g. "iam:PassRole on arn:aws:iam::123456789012:role/R (iam:PassedToService=ec2.amazonaws.com)"."""
        text = f"{self.action} on {self.resource}"
        if not self.context:
            return text
        shown = []
        for key, value in self.context.items():
            if isinstance(value, str):
                shown.append(f"{key}={value}")
            elif isinstance(value, OneOf):
                shown.append("{}=one of [{}]".format(key, ", ".join(value.values)))
            else:
                shown.append("{}=[{}]".format(key, ", ".join(value)))
        return "{} ({})".format(text, ", ".join(shown))

    def with_context(self, changes: Mapping[str, Any]) -> Request:
        """The same request with these keys set (replacing any of the same name, whatever its case)."""
        lowered = {key.lower() for key in changes}
        context = {key: value for key, value in self.context.items() if key.lower() not in lowered}
        context.update(changes)
        return Request(self.action, self.resource, context, self.unknown)


@dataclass(frozen=True)
class PolicySource:
    """A policy document and how to name it in a decision (e.g. "inline policy X of user Y")."""

    label: str
    document: Any = field(hash=False)


# -- decisions -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hinge:
    """A condition that cannot be decided because it needs a key the caller declared unknown."""

    key: str
    operator: str
    values: tuple[str, ...]

    def describe(self) -> str:
        return "{} {} {}".format(self.key, self.operator, ", ".join(self.values) or "(nothing)")


@dataclass(frozen=True)
class Dependent:
    """A statement that applies only if its hinges hold."""

    statement: str
    hinges: tuple[Hinge, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(sorted({hinge.key for hinge in self.hinges}))


@dataclass(frozen=True)
class Decision:
    """The outcome for one request; statements are named "<label> statement <Sid>" or "... statement #<n>".

    ``allowed_by``/``denied_by``: statements that apply outright. ``allowed_if``, ``boundary_allowed_if`` and
    ``denied_if``: statements that apply only if conditions on declared-unknown keys hold. ``boundary_blocks``: the
    permissions boundary allows the request in no case; ``boundary_allows``: there is no boundary, or it allows the
    request outright.
    """

    verdict: str
    allowed_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()
    allowed_if: tuple[Dependent, ...] = ()
    boundary_allowed_if: tuple[Dependent, ...] = ()
    denied_if: tuple[Dependent, ...] = ()
    boundary_blocks: bool = False
    boundary_allows: bool = True
    unmet: tuple[Dependent, ...] = ()  # Allow statements covering the call whose conditions fail
    boundary_unmet: tuple[Dependent, ...] = ()

    @property
    def allowed(self) -> bool:
        """Allowed outright: no declared-unknown key can change it."""
        return self.verdict == ALLOWED

    @property
    def may_be_denied_by(self) -> tuple[str, ...]:
        return tuple(dependent.statement for dependent in self.denied_if)

    @property
    def hanging_on(self) -> tuple[Dependent, ...]:
        """The statements a CONDITIONAL verdict hangs on (none for an outright verdict)."""
        if self.verdict != CONDITIONAL:
            return ()
        found = () if self.allowed_by else self.allowed_if
        if not self.boundary_allows:
            found += self.boundary_allowed_if
        return found + self.denied_if

    @property
    def unknown_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for dependent in self.hanging_on for key in dependent.keys}))


_TRUE, _MAYBE, _FALSE = "true", "maybe", "false"


def _decide(
    allows: list[str],
    allows_if: list[Dependent],
    denies: list[str],
    denies_if: list[Dependent],
    boundary: tuple[list[str], list[Dependent]] | None,
) -> Decision:
    # "By default, all requests are implicitly denied" ... "An explicit allow in an identity-based or resource-based
    # policy overrides this default." ... "If a permissions boundary, Organizations SCP, or session policy is present,
    # it might override the allow with an implicit deny." ... "An explicit deny in any policy overrides any allows."
    # (IAM User Guide, Policy evaluation logic)
    granted = _TRUE if allows else (_MAYBE if allows_if else _FALSE)
    limited = _TRUE
    if boundary is not None:
        limited = _TRUE if boundary[0] else (_MAYBE if boundary[1] else _FALSE)
    refused = _TRUE if denies else (_MAYBE if denies_if else _FALSE)
    if _TRUE == refused or _FALSE in (granted, limited):
        verdict = DENIED
    elif granted == limited == _TRUE and refused == _FALSE:
        verdict = ALLOWED
    else:
        verdict = CONDITIONAL
    return Decision(
        verdict,
        tuple(allows),
        tuple(denies),
        tuple(allows_if),
        tuple(boundary[1]) if boundary is not None else (),
        tuple(denies_if),
        boundary_blocks=limited == _FALSE,
        boundary_allows=limited == _TRUE,
    )


def describe_hinges(dependent: Dependent, describe: Callable[[Hinge], str] = Hinge.describe) -> str:
    return "{} ({})".format(" and ".join(describe(hinge) for hinge in dependent.hinges), dependent.statement)


def explain(decision: Decision, describe: Callable[[Hinge], str] = Hinge.describe) -> str:
    """One line on why a request is not allowed outright (``describe`` words each undecided condition); empty when
    it is allowed."""
    if decision.verdict == ALLOWED:
        return ""
    if decision.verdict == DENIED:
        if decision.denied_by:
            return "explicitly denied by {}".format(", ".join(decision.denied_by))
        if not decision.allowed_by and not decision.allowed_if:
            return _unmet("not allowed by any attached policy", decision.unmet, describe)
        return _unmet("allowed by the policies but not by the permissions boundary", decision.boundary_unmet, describe)
    hanging = decision.hanging_on
    parts = []
    for start, group in (
        ("allowed only if ", [d for d in hanging if d in decision.allowed_if]),
        ("the permissions boundary allows it only if ", [d for d in hanging if d in decision.boundary_allowed_if]),
        ("denied if ", [d for d in hanging if d in decision.denied_if]),
    ):
        if group:
            parts.append(start + ", or if ".join(describe_hinges(d, describe) for d in group))
    return "; ".join(parts)


def _unmet(reason: str, unmet: Sequence[Dependent], describe: Callable[[Hinge], str]) -> str:
    """The reason, and what each Allow statement that covers the call but does not apply would need."""
    if not unmet:
        return reason
    needs = "; ".join(f"{d.statement} allows it only if {' and '.join(describe(h) for h in d.hinges)}" for d in unmet)
    return f"{reason} ({needs})"


# -- three-valued logic --------------------------------------------------------------------------------------------


class _Maybe:
    """Undecided: holds only if these hinges hold."""

    __slots__ = ("hinges",)

    def __init__(self, hinges: tuple[Hinge, ...]) -> None:
        self.hinges = hinges


Tri = Union[bool, _Maybe]  # noqa: UP007 -- evaluated at run time, which may be Python 3.7


def _fold(results: Iterable[Tri], decisive: bool) -> Tri:
    """AND (``decisive`` False) or OR (True) of three-valued results: a decisive result settles it; otherwise an
    undecided one leaves the whole undecided, hanging on every hinge met."""
    hinges: list[Hinge] = []
    for result in results:
        if result is decisive:
            return decisive
        if isinstance(result, _Maybe):
            hinges.extend(result.hinges)
    return _Maybe(tuple(dict.fromkeys(hinges))) if hinges else not decisive


def _all(results: Iterable[Tri]) -> Tri:
    return _fold(results, False)


def _any(results: Iterable[Tri]) -> Tri:
    return _fold(results, True)


def _negate(result: Tri) -> Tri:
    return result if isinstance(result, _Maybe) else not result


# -- wildcards -----------------------------------------------------------------------------------------------------

_WILD = object()  # a wildcard token: "*" or "?" as written in the policy (never one a variable produced)


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str) -> str:
    """``*`` any run of characters, ``?`` any one character, nothing else special (Action, StringLike). Kept per
    pattern: the same few hundred action patterns of the AWS managed policies come back at every evaluation."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _arn_regex(tokens: Sequence[Any]) -> str:
    """A Resource ARN pattern: "You can use wildcard characters (* and ?) within the individual segments of an ARN
    (the parts separated by colons)" ... "If the * wildcard is the last character of a resource ARN segment, it can
    expand to match beyond the colon boundaries." (IAM User Guide, IAM JSON policy elements: Resource). ``tokens``:
    text and (_WILD, "*"/"?") pairs; text from a variable is literal."""
    parts = []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            continue
        if token[1] == "?":
            parts.append("[^:]")
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        ends_segment = following is None or (isinstance(following, str) and following.startswith(":"))
        parts.append(".*" if ends_segment else "[^:]*")
    return "".join(parts)


# -- policy variables ----------------------------------------------------------------------------------------------

# "The variable is marked using a $ prefix followed by a pair of curly braces ({ })." ... "To add a default value to
# a variable, surround the default value with single quotes (' '), and separate the variable text and the default
# value with a comma and space (, )." (IAM User Guide, IAM policy elements: Variables and tags)
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*(.+?)\s*,\s*'([^']*)'\s*$")
# "${*} - use where you need an * (asterisk) character." "${?} - use where you need a ? (question mark) character."
# "${$} - use where you need a $ (dollar sign) character." (same page, Special characters)
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


class _Null:
    """A variable with no value: "the value is effectively null. There is no equal or like value." (same page)"""


_NULL = _Null()


def _parse_template(text: str, variables: bool, wildcards: bool) -> tuple[Any, ...]:
    """Text as tokens: literal text, (_WILD, c) for a wildcard as written, ("var", key, default) for a variable."""
    tokens: list[Any] = []
    position = 0
    matches = list(_VARIABLE.finditer(text)) if variables else []
    for match in matches + [None]:
        end = match.start() if match is not None else len(text)
        for c in text[position:end]:
            if wildcards and c in "*?":
                tokens.append((_WILD, c))
            elif tokens and isinstance(tokens[-1], str):
                tokens[-1] += c
            else:
                tokens.append(c)
        if match is None:
            break
        inner = match.group(1)
        if inner in _SPECIAL:
            literal: Any = _SPECIAL[inner]
            if tokens and isinstance(tokens[-1], str):
                tokens[-1] += literal
            else:
                tokens.append(literal)
        else:
            default = _DEFAULT.match(inner)
            key, fallback = (default.group(1), default.group(2)) if default else (inner.strip(), None)
            tokens.append(("var", key, fallback))
        position = match.end()
    return tuple(tokens)


def _has_variables(tokens: tuple[Any, ...]) -> bool:
    return any(isinstance(token, tuple) and token[0] == "var" for token in tokens)


def _substitute(tokens: tuple[Any, ...], context: _Lookup) -> tuple[Any, ...] | _Null | _Maybe:
    """The tokens with every variable replaced by its value (literal text), _NULL when one has no value and no
    default, or _Maybe when one names a declared-unknown key."""
    out: list[Any] = []
    for token in tokens:
        if not (isinstance(token, tuple) and token[0] == "var"):
            out.append(token)
            continue
        _, key, fallback = token
        state, value = context.single(key)
        if state == _ABSENT:
            if fallback is None:
                return _NULL
            value = fallback
        elif state == _UNKNOWN or isinstance(value, OneOf):
            # A declared-unknown key, or a value not known exactly: what the variable stands for is undecided. (And
            # "You can use any single-valued condition key as a variable. You can't use a multivalued condition key
            # as a variable." (same page): a multivalued one is undecided too.)
            return _Maybe((Hinge(key, "as a policy variable", ()),))
        out.append(value)
    return tuple(out)


def _text(tokens: tuple[Any, ...]) -> str:
    """Tokens without variables as text."""
    return "".join(token if isinstance(token, str) else token[1] for token in tokens)


# -- the context as the evaluator sees it --------------------------------------------------------------------------

_PRESENT, _ABSENT, _UNKNOWN = "present", "absent", "unknown"


class _Lookup:
    """Case-insensitive access to a request's keys: "Condition key names are not case-sensitive." (IAM User Guide,
    IAM JSON policy elements: Condition)"""

    def __init__(self, request: Request) -> None:
        self.values = {key.lower(): value for key, value in request.context.items()}
        self.unknown = [re.compile(_wildcard_regex(p.lower()), re.DOTALL) for p in request.unknown]

    def get(self, key: str) -> tuple[str, Any]:
        lowered = key.lower()
        if lowered in self.values:
            return _PRESENT, self.values[lowered]
        if any(pattern.fullmatch(lowered) for pattern in self.unknown):
            return _UNKNOWN, None
        return _ABSENT, None

    def single(self, key: str) -> tuple[str, Any]:
        state, value = self.get(key)
        if state == _PRESENT and isinstance(value, tuple):
            return (_PRESENT, value[0]) if len(value) == 1 else (_UNKNOWN, None)
        return state, value


# -- condition operators -------------------------------------------------------------------------------------------

# Each test: (request value, policy value) -> True, False or None (undecided: a network partly inside another).


def _string_equals(value: str, wanted: str) -> bool:
    return value == wanted


def _string_equals_ignore_case(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


def _string_like(value: str, wanted: Any) -> bool:
    return wanted.fullmatch(value) is not None


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# "You must specify date/time values with one of the W3C implementations of the ISO 8601 date formats or in epoch
# (UNIX) time." (IAM User Guide, Condition operators, Date condition operators)
_ISO_8601 = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?",
    re.IGNORECASE,
)


def parse_date(text: str) -> float | None:
    """An IAM date (ISO 8601 as the W3C profiles it, or epoch seconds) as epoch seconds; None if it is neither."""
    text = str(text).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and not re.fullmatch(r"\d{4}", text):
        return _number(text)
    match = _ISO_8601.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    seconds = moment.timestamp() + (float(fraction) if fraction else 0.0)
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


def _compare(
    parse: Callable[[str], float | None], compare: Callable[[float, float], bool]
) -> Callable[[str, Any], bool]:
    def test(value: str, wanted: Any) -> bool:
        left = parse(value)
        return left is not None and wanted is not None and compare(left, wanted)

    return test


def _bool(value: str, wanted: str) -> bool:
    return value.lower() == wanted.lower()


def _binary(value: str, wanted: Any) -> bool:
    # "It compares the value of the specified key byte for byte against a base-64 encoded representation of the
    # binary value in the policy." (Condition operators, Binary condition operators)
    return wanted is not None and _decoded(value) == wanted


def _decoded(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def _network(text: str) -> Any | None:
    # "If you specify an IP address without the associated routing prefix, IAM uses the default prefix value of /32."
    # (Condition operators, IP address condition operators); an IPv6 address alone is its /128.
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None


def _in_network(value: str, wanted: Any) -> bool | None:
    """Whether the address (or every address of the network) ``value`` is in ``wanted``; None when only part is."""
    inside = _network(value)
    if inside is None or wanted is None or inside.version != wanted.version:
        return False
    if inside.subnet_of(wanted):
        return True
    return None if inside.overlaps(wanted) else False


def _arn_like(value: str, wanted: Any) -> bool:
    # "Each of the six colon-delimited components of the ARN is checked separately and each can include
    # multi-character match wildcards (*) or single-character match wildcards (?)." (Condition operators, ARN)
    parts = value.split(":", 5)
    if wanted is None or len(parts) != 6:
        return False
    return all(wanted[index].fullmatch(part) is not None for index, part in enumerate(parts))


@dataclass(frozen=True)
class _Family:
    test: Callable[[str, Any], bool | None]
    prepare: Callable[[tuple[Any, ...]], Any]  # a policy value (after variables) as the test takes it
    variables: bool  # whether policy variables are substituted in its values
    wildcards: bool = False  # whether * and ? in its values are wildcards


def _like_pattern(tokens: tuple[Any, ...]) -> Any:
    return re.compile(_wildcard_regex_tokens(tokens), re.DOTALL)


def _wildcard_regex_tokens(tokens: tuple[Any, ...]) -> str:
    return "".join(
        (".*" if token[1] == "*" else ".") if isinstance(token, tuple) else re.escape(token) for token in tokens
    )


def _arn_pattern(tokens: tuple[Any, ...]) -> Any:
    # Split into the six components on the colons written in the policy; wildcards stay within their component.
    components: list[list[Any]] = [[]]
    for token in tokens:
        if isinstance(token, str):
            pieces = token.split(":")
            for number, piece in enumerate(pieces):
                if number:
                    components.append([])
                if piece:
                    components[-1].append(piece)
        else:
            components[-1].append(token)
    if len(components) < 6:
        return None
    head, tail = components[:5], components[5:]
    rest: list[Any] = []
    for number, part in enumerate(tail):
        if number:
            rest.append(":")
        rest.extend(part)
    return tuple(re.compile(_wildcard_regex_tokens(tuple(c)), re.DOTALL) for c in head + [rest])


def _identity(tokens: tuple[Any, ...]) -> str:
    return _text(tokens)


_STRING = _Family(_string_equals, _identity, True)
_FAMILIES: dict[str, _Family] = {
    # "String condition operators": StringEquals "Exact matching, case sensitive", StringLike "Case-sensitive
    # matching. The values can include multi-character match wildcards (*) and single-character match wildcards (?)
    # anywhere in the string."
    "stringequals": _STRING,
    "stringequalsignorecase": _Family(_string_equals_ignore_case, _identity, True),
    "stringlike": _Family(_string_like, _like_pattern, True, wildcards=True),
    # "Numeric condition operators let you construct Condition elements that restrict access based on comparing a
    # key to an integer or decimal value."
    "numericequals": _Family(_compare(_number, lambda a, b: a == b), lambda t: _number(_text(t)), False),
    "numericlessthan": _Family(_compare(_number, lambda a, b: a < b), lambda t: _number(_text(t)), False),
    "numericlessthanequals": _Family(_compare(_number, lambda a, b: a <= b), lambda t: _number(_text(t)), False),
    "numericgreaterthan": _Family(_compare(_number, lambda a, b: a > b), lambda t: _number(_text(t)), False),
    "numericgreaterthanequals": _Family(_compare(_number, lambda a, b: a >= b), lambda t: _number(_text(t)), False),
    # "Date condition operators let you construct Condition elements that restrict access based on comparing a key
    # to a date/time value." "Wildcards are not permitted for date condition operators."
    "dateequals": _Family(_compare(parse_date, lambda a, b: a == b), lambda t: parse_date(_text(t)), False),
    "datelessthan": _Family(_compare(parse_date, lambda a, b: a < b), lambda t: parse_date(_text(t)), False),
    "datelessthanequals": _Family(_compare(parse_date, lambda a, b: a <= b), lambda t: parse_date(_text(t)), False),
    "dategreaterthan": _Family(_compare(parse_date, lambda a, b: a > b), lambda t: parse_date(_text(t)), False),
    "dategreaterthanequals": _Family(_compare(parse_date, lambda a, b: a >= b), lambda t: parse_date(_text(t)), False),
    # "Boolean conditions let you construct Condition elements that restrict access based on comparing a key to
    # "true" or "false."" "You can use a policy variable with the Boolean condition operator."
    "bool": _Family(_bool, _identity, True),
    "binaryequals": _Family(_binary, lambda t: _decoded(_text(t)), False),
    # "IP address condition operators let you construct Condition elements that restrict access based on comparing a
    # key to an IPv4 or IPv6 address or range of IP addresses."
    "ipaddress": _Family(_in_network, lambda t: _network(_text(t)), False),
    # "Amazon Resource Name (ARN) condition operators" ... "The ArnEquals and ArnLike condition operators behave
    # identically." "You can use a policy variable with the ARN condition operator."
    "arnequals": _Family(_arn_like, _arn_pattern, True, wildcards=True),
    "arnlike": _Family(_arn_like, _arn_pattern, True, wildcards=True),
}
# The negated operators: StringNotEquals "Negated matching", NotIpAddress "All IP addresses except the specified IP
# address or range", ArnNotEquals/ArnNotLike "Negated matching for ARN", and so on.
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}


@dataclass(frozen=True)
class _Operator:
    written: str
    family: _Family | None  # None: Null, or an operator IAM does not document
    negated: bool
    if_exists: bool
    quantifier: str  # "", "forallvalues", "foranyvalue"
    null: bool


def _operator(written: str) -> _Operator:
    name = written.lower()
    quantifier = ""
    for prefix in ("forallvalues:", "foranyvalue:"):
        if name.startswith(prefix):
            quantifier, name = prefix[:-1], name[len(prefix) :]
    # "You can add IfExists to the end of any condition operator name except the Null condition"
    if_exists = name.endswith("ifexists") and name != "null"
    if if_exists:
        name = name[: -len("ifexists")]
    negated = name in _NEGATED
    family = _FAMILIES.get(_NEGATED.get(name, name))
    return _Operator(written, family, negated, if_exists, quantifier, name == "null")


class _Condition:
    """One condition key under one operator, its policy values parsed once."""

    __slots__ = ("operator", "key", "written", "templates", "prepared", "dynamic")

    def __init__(self, operator: _Operator, key: str, values: list[Any], variables: bool) -> None:
        self.operator = operator
        self.key = key
        # A JSON true/false in a policy reads as the text "true"/"false".
        self.written = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
        family = operator.family
        substitute = variables and family is not None and family.variables
        wildcards = family is not None and family.wildcards
        self.templates = [_parse_template(text, substitute, wildcards) for text in self.written]
        self.dynamic = any(_has_variables(t) for t in self.templates)
        self.prepared = None if self.dynamic or family is None else [family.prepare(t) for t in self.templates]

    def hinge(self) -> Hinge:
        return Hinge(self.key, self.operator.written, self.written)

    def time_points(self) -> list[float]:
        """The moments this condition compares aws:CurrentTime or aws:EpochTime with (for a grant's end)."""
        if self.key.lower() not in (CURRENT_TIME.lower(), EPOCH_TIME.lower()) or self.operator.family is None:
            return []
        return [p for p in (parse_date(text) for text in self.written) if p is not None]

    def evaluate(self, context: _Lookup) -> Tri:
        operator = self.operator
        state, value = context.get(self.key)
        hinge = Hinge(self.key, operator.written, self.written)
        if state == _UNKNOWN:
            return _Maybe((hinge,))
        if operator.null:
            # "Use a Null condition operator to check if a condition key is absent at the time of authorization. In
            # the policy statement, use either true (the key doesn't exist — it is null) or false (the key exists and
            # its value is not null)." (Condition operators)
            return any((state == _ABSENT) == (text.lower() == "true") for text in self.written)
        if operator.family is None:
            return _Maybe((hinge,))  # an operator IAM does not document: nothing is assumed
        if state == _ABSENT:
            return self._missing()
        if isinstance(value, OneOf):
            results = [self._holds((alternative,), context) for alternative in value.values]
            if all(r is True for r in results):
                return True
            if all(r is False for r in results):
                return False
            return _Maybe((hinge,))
        return self._holds(value if isinstance(value, tuple) else (value,), context)

    def _missing(self) -> Tri:
        operator = self.operator
        # "If the key that you specify in a policy condition is not present in the request context, the values do
        # not match and the condition is false. If the policy condition requires that the key is not matched, such as
        # StringNotLike or ArnNotLike, and the right key is not present, the condition is true. This logic applies
        # to all condition operators except ...IfExists and Null check." (Condition operators)
        if operator.if_exists:
            # "If the key is not present, evaluate the condition element as true." (...IfExists condition operators)
            return True
        if operator.quantifier == "forallvalues":
            # "It also returns true if there are no keys in the request, or if the key values resolve to a null data
            # set, such as an empty string." (Creating a condition with multiple keys or values, ForAllValues)
            return True
        if operator.quantifier == "foranyvalue":
            # "For no matching key or a null dataset, the condition returns false." (same page, ForAnyValue)
            return False
        return operator.negated

    def _wanted(self, context: _Lookup) -> list[Any]:
        """The policy values ready for the test: prepared values, _NULL or _Maybe for variables."""
        if self.prepared is not None:
            return self.prepared
        family = self.operator.family
        assert family is not None, "evaluate() answers an undocumented operator's condition itself"
        wanted: list[Any] = []
        for template in self.templates:
            tokens = _substitute(template, context)
            wanted.append(tokens if isinstance(tokens, (_Null, _Maybe)) else family.prepare(tokens))
        return wanted

    def _holds(self, values: tuple[str, ...], context: _Lookup) -> Tri:
        operator = self.operator
        family = operator.family
        assert family is not None, "evaluate() answers an undocumented operator's condition itself"
        wanted = self._wanted(context)
        hinge = Hinge(self.key, operator.written, self.written)

        def matches(value: str) -> Tri:
            # "If a single condition operator includes multiple values for one key, that condition operator is
            # evaluated using a logical OR." (Creating a condition with multiple keys or values)
            results: list[Tri] = []
            for policy_value in wanted:
                if isinstance(policy_value, _Null):
                    # "When you use a variable with no value in the condition element of an IAM policy, ... condition
                    # operators like StringEquals or StringLike do not match" (Variables and tags)
                    results.append(False)
                elif isinstance(policy_value, _Maybe):
                    results.append(policy_value)
                else:
                    outcome = family.test(value, policy_value)
                    results.append(_Maybe((hinge,)) if outcome is None else bool(outcome))
            return _any(results)

        def one(value: str) -> Tri:
            # "When multiple values are listed in a policy for negated matching condition operators such as
            # StringNotEquals and DateNotEquals, the effective permissions work like a logical AND." (same page)
            result = matches(value)
            return _negate(result) if operator.negated else result

        if operator.quantifier == "forallvalues":
            # "The condition returns true if every key value in the request matches at least one value in the policy."
            return _all(one(v) for v in values)
        # ForAnyValue: "The condition returns true if any one of the key values in the request matches any one of the
        # condition values in the policy." A single-valued operator given several request values is read the same way.
        return _any(one(v) for v in values)


# -- statements and policies ---------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Actions:
    """An Action or NotAction list. "The prefix and the action name are case insensitive." (IAM JSON policy
    elements: Action). Indexed by service prefix and compiled per service on first use, so that a policy listing
    thousands of actions (ReadOnlyAccess) costs a dictionary look-up per request."""

    __slots__ = ("exact", "by_service", "anywhere", "compiled", "everything")

    def __init__(self, patterns: list[Any]) -> None:
        self.exact = set()
        self.by_service: dict[str, list[str]] = {}
        self.anywhere: list[str] = []
        self.compiled: dict[str, Any] = {}
        self.everything = False
        for pattern in patterns:
            text = str(pattern).lower()
            if text == "*":
                self.everything = True
            elif "*" not in text and "?" not in text:
                self.exact.add(text)
            else:
                service, colon, _ = text.partition(":")
                if colon and "*" not in service and "?" not in service:
                    self.by_service.setdefault(service, []).append(text)
                else:
                    self.anywhere.append(text)

    def covers(self, action: str) -> bool:
        if self.everything or action in self.exact:
            return True
        service = action.partition(":")[0]
        if service not in self.compiled:
            patterns = self.by_service.get(service, []) + self.anywhere
            regex = "|".join(f"(?:{_wildcard_regex(p)})" for p in patterns)
            self.compiled[service] = re.compile(regex, re.DOTALL) if patterns else None
        regex = self.compiled[service]
        return regex is not None and regex.fullmatch(action) is not None


class _Resources:
    """A Resource or NotResource list, each pattern parsed once; a pattern with variables is compiled per value."""

    __slots__ = ("patterns", "cache")

    def __init__(self, patterns: list[Any], variables: bool) -> None:
        self.patterns = [(str(p), self._parse(str(p), variables)) for p in patterns]
        self.cache: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def _parse(pattern: str, variables: bool) -> tuple[Any, ...]:
        # "You can use a policy variable in the Resource element, but only in the resource portion of the ARN. This
        # portion of the ARN appears after the fifth colon (:). You can't use a variable to replace parts of the ARN
        # before the fifth colon, such as the service or account." (Variables and tags, Resource element)
        parts = pattern.split(":", 5)
        if len(parts) < 6:
            return _parse_template(pattern, False, True)
        head = ":".join(parts[:5]) + ":"
        return _parse_template(head, False, True) + _parse_template(parts[5], variables, True)

    def _compiled(self, tokens: tuple[Any, ...]) -> Any:
        regex = self.cache.get(tokens)
        if regex is None:
            text = _text(tokens)
            # IAM stores no other resource: "Resource ... must be in ARN format or "*"." (IAM's MalformedPolicyDocument
            # answer, e.g. trussworks/terraform-aws-s3-anti-virus#21); a stored one of another shape matches nothing.
            valid = text == "*" or text.startswith("arn:")
            # "In the Resource element, the IAM user name is case sensitive." (IAM JSON policy elements: Resource)
            regex = re.compile(_arn_regex(tokens), re.DOTALL) if valid else False
            self.cache[tokens] = regex
        return regex

    def covers(self, resource: str, context: _Lookup) -> Tri:
        results: list[Tri] = []
        for written, tokens in self.patterns:
            if _has_variables(tokens):
                substituted = _substitute(tokens, context)
                if isinstance(substituted, _Null):
                    # "If a variable that has no value in the authorization context is used as part of the Resource or
                    # NotResource element of a policy, the resource that includes a policy variable with no value will
                    # not match any resource." (Variables and tags)
                    results.append(False)
                    continue
                if isinstance(substituted, _Maybe):
                    hinges = tuple(Hinge(h.key, "in the resource", (written,)) for h in substituted.hinges)
                    results.append(_Maybe(hinges))
                    continue
                tokens = substituted
            regex = self._compiled(tokens)
            result = regex is not False and regex.fullmatch(resource) is not None
            if result:
                return True
            results.append(False)
        return _any(results)


class _Statement:
    __slots__ = ("name", "effect", "actions", "not_action", "resources", "not_resource", "conditions")

    def __init__(self, name: str, statement: dict[str, Any], variables: bool) -> None:
        self.name = name
        self.effect = statement["Effect"]
        # "Statements must include either a Resource or a NotResource element." (IAM JSON policy elements: Resource);
        # a statement with neither (or neither Action nor NotAction) applies to nothing.
        self.not_action = "Action" not in statement and "NotAction" in statement
        self.actions: _Actions | None = _Actions(_as_list(statement.get("NotAction" if self.not_action else "Action")))
        self.not_resource = "Resource" not in statement and "NotResource" in statement
        resources = _as_list(statement.get("NotResource" if self.not_resource else "Resource"))
        self.resources: _Resources | None = _Resources(resources, variables)
        if "Action" not in statement and "NotAction" not in statement:
            self.actions = None
        if "Resource" not in statement and "NotResource" not in statement:
            self.resources = None
        block = statement.get("Condition")
        self.conditions: list[_Condition] | None = []
        if block is not None:
            if not isinstance(block, dict) or not all(isinstance(keys, dict) for keys in block.values()):
                self.conditions = None  # malformed: the statement applies to nothing
            else:
                self.conditions = [
                    _Condition(_operator(str(operator)), str(key), _as_list(wanted), variables)
                    for operator, keys in block.items()
                    for key, wanted in keys.items()
                ]

    def covers(self, action: str, resource: str, context: _Lookup) -> Tri:
        """Whether the statement's action and resource elements cover the call (conditions aside)."""
        if self.actions is None or self.resources is None or self.conditions is None:
            return False
        # NotAction: "matches everything except the specified list of actions" (IAM JSON policy elements: NotAction)
        if self.actions.covers(action) == self.not_action:
            return False
        covered = self.resources.covers(resource, context)
        # NotResource: "matches every resource except those specified" (IAM JSON policy elements: NotResource)
        return _negate(covered) if self.not_resource else covered

    def conditions_hold(self, context: _Lookup) -> tuple[Tri, tuple[Hinge, ...]]:
        """Whether the conditions hold, and those that fail. "If your policy has multiple condition operators or
        multiple keys attached to a single condition operator, the conditions are evaluated using a logical AND."
        (Creating a condition with multiple keys or values)"""
        results = [(condition, condition.evaluate(context)) for condition in self.conditions or ()]
        failing = tuple(condition.hinge() for condition, result in results if result is False)
        return _all(result for _, result in results), failing

    def time_points(self) -> list[float]:
        return [p for condition in self.conditions or () for p in condition.time_points()]


def _statements(source: PolicySource) -> list[_Statement]:
    try:
        parsed = parse_policy(source.document)
    except (ValueError, TypeError):
        return []
    if not isinstance(parsed, dict):
        return []
    # "If you don't include the Version element and set it to an appropriate version date, variables like
    # ${aws:username} are treated as literal strings in the policy." (Variables and tags)
    variables = parsed.get("Version") == VARIABLES_VERSION
    found = []
    for number, statement in enumerate(_as_list(parsed.get("Statement")), 1):
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            continue
        sid = statement.get("Sid")
        name = f"{source.label} statement {sid}" if sid else f"{source.label} statement #{number}"
        found.append(_Statement(name, statement, variables))
    return found


@dataclass
class _Tally:
    """The statements of some policies that apply to a request: outright, or only if hinges hold."""

    allows: list[str] = field(default_factory=list)
    allows_if: list[Dependent] = field(default_factory=list)
    denies: list[str] = field(default_factory=list)
    denies_if: list[Dependent] = field(default_factory=list)
    unmet: list[Dependent] = field(default_factory=list)  # Allow statements covering the call, conditions failing


class CompiledPolicies:
    """Policy documents parsed and indexed once, to be evaluated for many requests."""

    def __init__(self, sources: Sequence[PolicySource]) -> None:
        self.statements = [statement for source in sources for statement in _statements(source)]

    def tally(self, request: Request, context: _Lookup) -> _Tally:
        found = _Tally()
        action = request.action.lower()
        for statement in self.statements:
            covered = statement.covers(action, request.resource, context)
            if covered is False:
                continue
            held, failing = statement.conditions_hold(context)
            result = _all((covered, held))
            deny = statement.effect == "Deny"
            if result is False:
                if failing and not deny and covered is True:
                    found.unmet.append(Dependent(statement.name, failing))
                continue
            if result is True:
                (found.denies if deny else found.allows).append(statement.name)
            else:
                (found.denies_if if deny else found.allows_if).append(Dependent(statement.name, result.hinges))
        return found

    def time_points(self) -> list[float]:
        return [p for statement in self.statements for p in statement.time_points()]


Policies = Union[CompiledPolicies, typing.Sequence[PolicySource]]  # noqa: UP007 -- as Tri


def compile_policies(sources: Policies) -> CompiledPolicies:
    return sources if isinstance(sources, CompiledPolicies) else CompiledPolicies(sources)


def evaluate(request: Request, policies: Policies, boundary: Policies | None = None) -> Decision:
    """Whether IAM allows the request under these identity policies and, when given, this permissions boundary
    (None: no boundary; an empty sequence: a boundary that allows nothing). "When you set a permissions boundary for
    an entity, the entity can perform only the actions that are allowed by both its identity-based policies and its
    permissions boundaries." (Policy evaluation logic)"""
    context = _Lookup(request)
    granted = compile_policies(policies).tally(request, context)
    limit = None
    denies, denies_if = granted.denies, granted.denies_if
    boundary_unmet: list[Dependent] = []
    if boundary is not None:
        bounded = compile_policies(boundary).tally(request, context)
        # "An explicit deny in either of these policies overrides the allow." (Permissions boundaries)
        denies, denies_if = denies + bounded.denies, denies_if + bounded.denies_if
        limit = (bounded.allows, bounded.allows_if)
        boundary_unmet = bounded.unmet
    decision = _decide(granted.allows, granted.allows_if, denies, denies_if, limit)
    return replace(decision, unmet=tuple(granted.unmet), boundary_unmet=tuple(boundary_unmet))


def grant_ends(
    request: Request, policies: Policies, boundary: Policies | None = None, within: timedelta = timedelta(days=30)
) -> datetime | None:
    """When a request allowed now (its aws:CurrentTime) stops being allowed within ``within``, by a Date or Numeric
    condition on aws:CurrentTime or aws:EpochTime; None if it does not (or is not allowed now)."""
    now = request.context.get(CURRENT_TIME)
    start = parse_date(now) if isinstance(now, str) else None
    if start is None:
        return None
    compiled = compile_policies(policies)
    limit = compile_policies(boundary) if boundary is not None else None
    points = compiled.time_points() + (limit.time_points() if limit is not None else [])
    horizon = start + within.total_seconds()
    ahead = sorted(set(p for p in points if start < p <= horizon))
    if not ahead or not evaluate(request, compiled, limit).allowed:  # no moment to change at, or not allowed now
        return None
    for point in ahead:
        for moment in (point, point + 1):
            later = request.with_context({CURRENT_TIME: _iso(moment), EPOCH_TIME: str(int(moment))})
            if not evaluate(later, compiled, limit).allowed:
                return datetime.fromtimestamp(point, timezone.utc)
    return None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_time(moment: datetime) -> str:
    """aws:CurrentTime's form of a moment (ISO 8601, UTC, whole seconds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

"""A small, strict evaluator of IAM Allow statements, for proving a generated policy allows the calls made.

Strict on purpose: a condition operator it does not know fails the test instead of being skipped, a condition key
missing from the request fails the statement, an ARN is matched segment by segment as IAM does (a wildcard in the
account never reaches into the resource), and nothing is allowed unless a statement matches action, resource and
every condition. Deny statements are not evaluated (the generated policies have none).
"""

from __future__ import annotations

import functools
import re
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """The regular expression of an IAM wildcard pattern (``*`` any run of characters, ``?`` any one), made once
    for each pattern: the suites check thousands of calls against the same few policies."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM matches each of an ARN's six colon-separated segments on its own; the last one (the resource) may itself
    hold colons. Anything that is not an ARN is matched as a whole."""
    patterns, values = pattern.split(":", 5), arn.split(":", 5)
    if len(patterns) != 6 or len(values) != 6 or patterns[0] != "arn":
        return wildcard(pattern, arn)
    return all(wildcard(p, v) for p, v in zip(patterns, values, strict=True))


def conditions_hold(condition: dict, context: dict) -> bool:
    for operator, entries in condition.items():
        for key, values in entries.items():
            if key not in context:
                return False
            if operator == "ForAllValues:StringLike":  # every value the request carries matches a pattern
                ok = all(any(wildcard(v, item) for v in _as_list(values)) for item in _as_list(context[key]))
            elif operator in ("ArnEquals", "ArnLike"):
                ok = any(arn_matches(v, context[key]) for v in _as_list(values))
            elif operator == "StringLike":
                ok = any(wildcard(v, context[key]) for v in _as_list(values))
            elif operator == "StringEquals":
                ok = context[key] in _as_list(values)
            else:
                raise AssertionError(f"condition operator {operator} not understood by this evaluator")
            if not ok:
                return False
    return True


def allowed(policy: dict, action: str, resource: str, context: dict | None = None) -> bool:
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(wildcard(a, action, ignore_case=True) for a in _as_list(statement["Action"])):
            continue
        if not any(arn_matches(r, resource) for r in _as_list(statement["Resource"])):
            continue
        if conditions_hold(statement.get("Condition", {}), context or {}):
            return True
    return False

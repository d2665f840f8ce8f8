"""Trust policies compared as parsed documents, never as strings. Pure functions, no AWS."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

_ASSUME_ACTIONS = {"sts:assumerole", "sts:*", "*"}


def service_trust_policy(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [_service_statement(service)]}


def _service_statement(service: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}


def parse_policy(document: Any) -> Any:
    """IAM answers hold a document as a dict (boto3 decodes it) or as URL-encoded JSON; accept both. The decoded
    JSON value: a dict for any document IAM accepts, whatever else for text that is not one (callers check)."""
    if isinstance(document, dict):
        return document
    if not document:
        return {}
    text = str(document)
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(unquote(text))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _assume_actions(statement: dict[str, Any]) -> bool:
    """Whether the statement's actions cover sts:AssumeRole (Action, or everything outside NotAction)."""
    if "NotAction" in statement:
        excluded = {str(action).lower() for action in _as_list(statement.get("NotAction"))}
        return not excluded & _ASSUME_ACTIONS
    return bool({str(action).lower() for action in _as_list(statement.get("Action"))} & _ASSUME_ACTIONS)


def _spellings(service: str) -> set[str]:
    """China regions may spell a service principal ``<service>.cn``."""
    return {service, f"{service}.cn"}


def _names_service(principal: Any, service: str) -> bool:
    """Whether a Principal element covers ``service``: named, or everyone ("*" / {"AWS": "*"})."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in [str(p) for p in _as_list(principal.get("AWS"))]:
        return True
    return bool(_spellings(service) & {str(p) for p in _as_list(principal.get("Service"))})


def _statements(document: Any) -> list[dict[str, Any]]:
    return [s for s in _as_list(parse_policy(document).get("Statement")) if isinstance(s, dict)]


def trusted_services(document: Any) -> frozenset[str]:
    """The service principals an Allow statement lets assume the role."""
    services: set[str] = set()
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or not _assume_actions(statement):
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            services.update(str(service) for service in _as_list(principal.get("Service")))
    return frozenset(services)


def allows_service(document: Any, service: str) -> bool:
    """True when an Allow statement lets ``service`` assume the role."""
    return bool(_spellings(service) & trusted_services(document))


def denying_statements(document: Any, service: str) -> list[str]:
    """The statements (by Sid, or position) that explicitly deny ``service`` sts:AssumeRole. IAM evaluates an
    explicit Deny before any Allow; a Deny with a Condition is counted too, since it may apply."""
    found = []
    for number, statement in enumerate(_statements(document), 1):
        if statement.get("Effect") != "Deny" or not _assume_actions(statement):
            continue
        if "NotPrincipal" in statement:
            applies = not _names_service(statement["NotPrincipal"], service)
        else:
            applies = _names_service(statement.get("Principal"), service)
        if applies:
            found.append(str(statement.get("Sid") or f"statement {number}"))
    return found


def trusts_service(document: Any, service: str) -> bool:
    """True when ``service`` may assume the role: allowed, and not explicitly denied."""
    return allows_service(document, service) and not denying_statements(document, service)


def with_service_trust(document: Any, service: str) -> dict[str, Any]:
    """The document plus a statement trusting ``service``; what an admin put there stays untouched."""
    parsed = parse_policy(document)
    merged = dict(parsed) if parsed else {"Version": "2012-10-17"}
    merged.setdefault("Version", "2012-10-17")
    merged["Statement"] = _as_list(parsed.get("Statement")) + [_service_statement(service)]
    return merged

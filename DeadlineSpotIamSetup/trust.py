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


def parse_policy(document: Any) -> dict[str, Any]:
    """IAM answers hold a document as a dict (boto3 decodes it) or as URL-encoded JSON; accept both."""
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


def trusted_services(document: Any) -> frozenset[str]:
    """The service principals an Allow statement lets assume the role."""
    services: set[str] = set()
    for statement in _as_list(parse_policy(document).get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = {str(action).lower() for action in _as_list(statement.get("Action"))}
        if not actions & _ASSUME_ACTIONS:
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            services.update(str(service) for service in _as_list(principal.get("Service")))
    return frozenset(services)


def trusts_service(document: Any, service: str) -> bool:
    """True when ``service`` may assume the role (China regions may spell it ``<service>.cn``)."""
    trusted = trusted_services(document)
    return service in trusted or f"{service}.cn" in trusted


def with_service_trust(document: Any, service: str) -> dict[str, Any]:
    """The document plus a statement trusting ``service``; what an admin put there stays untouched."""
    parsed = parse_policy(document)
    merged = dict(parsed) if parsed else {"Version": "2012-10-17"}
    merged.setdefault("Version", "2012-10-17")
    merged["Statement"] = _as_list(parsed.get("Statement")) + [_service_statement(service)]
    return merged

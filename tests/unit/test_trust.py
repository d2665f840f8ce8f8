"""Trust policies compared as parsed documents."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from DeadlineSpotIamSetup.trust import (
    parse_policy,
    service_trust_policy,
    trusted_services,
    trusts_service,
    with_service_trust,
)


def statement(principal, action="sts:AssumeRole", effect="Allow"):
    return {"Effect": effect, "Principal": principal, "Action": action}


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_trusted_services_reads_a_string_service_principal():
    assert trusted_services(policy(statement({"Service": "ec2.amazonaws.com"}))) == {"ec2.amazonaws.com"}


def test_trusted_services_reads_a_list_of_service_principals():
    document = policy(statement({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}))
    assert trusted_services(document) == {"ec2.amazonaws.com", "lambda.amazonaws.com"}


def test_trusted_services_unites_several_statements():
    document = policy(statement({"Service": "ec2.amazonaws.com"}), statement({"Service": "spotfleet.amazonaws.com"}))
    assert trusted_services(document) == {"ec2.amazonaws.com", "spotfleet.amazonaws.com"}


def test_trusted_services_accepts_a_single_statement_that_is_not_in_a_list():
    document = {"Version": "2012-10-17", "Statement": statement({"Service": "ec2.amazonaws.com"})}
    assert trusted_services(document) == {"ec2.amazonaws.com"}


def test_trusted_services_ignores_deny_statements():
    document = policy(
        statement({"Service": "lambda.amazonaws.com"}, effect="Deny"),
        statement({"Service": "ec2.amazonaws.com"}),
    )
    assert trusted_services(document) == {"ec2.amazonaws.com"}


@pytest.mark.parametrize("action", ["sts:TagSession", ["sts:SetSourceIdentity"], "iam:PassRole"])
def test_trusted_services_ignores_statements_without_assume_role(action):
    assert trusted_services(policy(statement({"Service": "ec2.amazonaws.com"}, action=action))) == frozenset()


@pytest.mark.parametrize(
    "action", ["sts:AssumeRole", "STS:ASSUMEROLE", "sts:*", "*", ["sts:TagSession", "sts:AssumeRole"]]
)
def test_trusted_services_counts_every_spelling_that_allows_assume_role(action):
    assert trusted_services(policy(statement({"Service": "ec2.amazonaws.com"}, action=action))) == {"ec2.amazonaws.com"}


def test_trusted_services_ignores_account_and_federated_principals():
    document = policy(
        statement({"AWS": "arn:aws:iam::123456789012:root"}),
        statement({"Federated": "cognito-identity.amazonaws.com"}, action="sts:AssumeRoleWithWebIdentity"),
        statement("*"),
    )
    assert trusted_services(document) == frozenset()


def test_trusted_services_reads_a_json_string_document():
    text = json.dumps(policy(statement({"Service": "lambda.amazonaws.com"})))
    assert trusted_services(text) == {"lambda.amazonaws.com"}


def test_trusted_services_reads_a_url_encoded_json_document():
    encoded = quote(json.dumps(policy(statement({"Service": "spotfleet.amazonaws.com"}))))
    assert encoded.startswith("%7B")
    assert trusted_services(encoded) == {"spotfleet.amazonaws.com"}


@pytest.mark.parametrize("document", [None, "", {}])
def test_an_empty_document_trusts_no_service(document):
    assert trusted_services(document) == frozenset()
    assert parse_policy(document) == {}


def test_trusts_service_accepts_the_china_spelling_of_the_service():
    assert trusts_service(policy(statement({"Service": "ec2.amazonaws.com.cn"})), "ec2.amazonaws.com")


def test_trusts_service_refuses_another_service():
    assert not trusts_service(policy(statement({"Service": "lambda.amazonaws.com"})), "ec2.amazonaws.com")


def test_trusts_service_refuses_a_denied_service():
    assert not trusts_service(policy(statement({"Service": "ec2.amazonaws.com"}, effect="Deny")), "ec2.amazonaws.com")


def test_service_trust_policy_trusts_exactly_that_service():
    document = service_trust_policy("spotfleet.amazonaws.com")
    assert document["Version"] == "2012-10-17"
    assert trusted_services(document) == {"spotfleet.amazonaws.com"}


def test_with_service_trust_keeps_existing_statements_and_adds_one():
    existing = statement({"AWS": "arn:aws:iam::123456789012:root"})
    existing["Condition"] = {"StringEquals": {"sts:ExternalId": "abc"}}
    original = policy(existing, statement({"Service": "lambda.amazonaws.com"}))
    snapshot = json.loads(json.dumps(original))
    merged = with_service_trust(original, "ec2.amazonaws.com")
    assert merged["Statement"][:2] == snapshot["Statement"]
    assert len(merged["Statement"]) == 3
    assert trusted_services(merged) == {"lambda.amazonaws.com", "ec2.amazonaws.com"}
    assert original == snapshot  # the observed document is not modified in place


def test_with_service_trust_keeps_other_top_level_fields():
    original = {
        "Version": "2008-10-17",
        "Id": "custom",
        "Statement": [statement({"Service": "lambda.amazonaws.com"})],
    }
    merged = with_service_trust(original, "ec2.amazonaws.com")
    assert merged["Version"] == "2008-10-17"
    assert merged["Id"] == "custom"


def test_with_service_trust_on_an_empty_document_gives_a_valid_policy():
    merged = with_service_trust({}, "ec2.amazonaws.com")
    assert merged["Version"] == "2012-10-17"
    assert trusted_services(merged) == {"ec2.amazonaws.com"}


def test_with_service_trust_wraps_a_single_statement_into_a_list():
    original = {"Version": "2012-10-17", "Statement": statement({"Service": "lambda.amazonaws.com"})}
    merged = with_service_trust(original, "ec2.amazonaws.com")
    assert isinstance(merged["Statement"], list)
    assert trusted_services(merged) == {"lambda.amazonaws.com", "ec2.amazonaws.com"}


# -- an explicit Deny wins over any Allow ---------------------------------------------------------

EC2 = "ec2.amazonaws.com"


@pytest.mark.parametrize(
    "deny",
    [
        statement({"Service": EC2}, effect="Deny"),
        statement({"Service": [EC2, "lambda.amazonaws.com"]}, effect="Deny"),
        statement("*", effect="Deny"),
        statement({"AWS": "*"}, effect="Deny"),
        statement({"Service": EC2}, action="sts:*", effect="Deny"),
        {"Effect": "Deny", "Principal": {"Service": EC2}, "NotAction": "sts:TagSession"},
        {"Effect": "Deny", "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {**statement({"Service": EC2}, effect="Deny"), "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ],
    ids=["service", "service-list", "star", "aws-star", "sts-star", "not-action", "not-principal", "conditional"],
)
def test_an_explicit_deny_defeats_an_allow_of_the_same_service(deny):
    document = policy(statement({"Service": EC2}), deny)
    assert not trusts_service(document, EC2)


@pytest.mark.parametrize(
    "deny",
    [
        statement({"Service": "lambda.amazonaws.com"}, effect="Deny"),
        statement({"Service": EC2}, action="sts:TagSession", effect="Deny"),
        {"Effect": "Deny", "NotPrincipal": {"Service": EC2}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"Service": EC2}, "NotAction": "sts:AssumeRole"},
    ],
    ids=["other-service", "other-action", "not-principal-names-it", "not-action-names-it"],
)
def test_a_deny_that_does_not_cover_the_service_leaves_its_allow(deny):
    assert trusts_service(policy(statement({"Service": EC2}), deny), EC2)

"""The allowed-address list and the IP-restricted copy of a policy document."""

from __future__ import annotations

import ipaddress
import json

import pytest

from DeadlineSpotIamSetup import source_ip
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.source_ip import (
    allowed_ips_of,
    parse_source_ips,
    policy_characters,
    restrict_document,
    restrict_statement,
)

RCS = ("203.0.113.10/32", "2001:db8::/64")


def allow(**extra):
    return {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*", **extra}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["203.0.113.10/32"], ("203.0.113.10/32",)),
        (["203.0.113.10"], ("203.0.113.10/32",)),
        ([" 10.0.0.0/8 ", "2001:db8::/64"], ("10.0.0.0/8", "2001:db8::/64")),
        (["2001:db8::1"], ("2001:db8::1/128",)),
    ],
)
def test_addresses_and_cidrs_of_both_families_are_accepted(entries, expected):
    assert parse_source_ips(entries) == expected


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        (["10.0.0.1/8"], "host bits set: write 10.0.0.0/8 for the whole network, or 10.0.0.1/32"),
        (["2001:db8::1/64"], "host bits set"),
        (["300.1.2.3"], "is not an IPv4 or IPv6 address"),
        (["10.0.0.0/33"], "is not an IPv4 or IPv6 address"),
        (["rcs01.farm.local"], "is not an IPv4 or IPv6 address"),
        ([], "is empty"),
        (["", "  "], "is empty"),
        (["10.0.0.0/8", "10.0.0.0/8"], "given twice"),
    ],
)
def test_malformed_lists_are_refused_with_what_to_write(entries, fragment):
    with pytest.raises(InvalidSettings, match="allowed source IPs") as caught:
        parse_source_ips(entries)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def refusal(entries: list[str], allow_any: bool = False) -> str:
    with pytest.raises(InvalidSettings) as caught:
        parse_source_ips(entries, allow_any=allow_any)
    message = str(caught.value)
    assert "\n" not in message
    return message


def ip_network_of_python_37(address, strict=True):
    """ipaddress.ip_network as Python 3.7 has it: it knows no IPv6 zone index (3.9 added them)."""
    if "%" in str(address):
        raise ValueError(f"{address!r} does not appear to be an IPv4 or IPv6 network")
    return ipaddress.ip_network(address, strict=strict)


@pytest.mark.parametrize("entry", ["fe80::1%eth0", "fe80::1%eth0/128", "fe80::%12/64"])
def test_an_ipv6_zone_index_is_refused_in_the_same_line_whatever_the_python(entry, monkeypatch):
    """A zone index names the sender's interface; it never travels in a request, so an aws:SourceIp value holding one
    (``fe80::1%eth0/128``, as Python 3.9+ would write it) matches nothing. Python 3.7 refuses the text as garbage,
    3.9+ accepts it: the refusal must not depend on which one runs."""
    message = refusal([entry])
    assert f"{entry!r} has an IPv6 zone index (%" in message and "write the address without it" in message
    monkeypatch.setattr(source_ip.ipaddress, "ip_network", ip_network_of_python_37)
    assert refusal([entry]) == message


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        (["0.0.0.0/0"], "0.0.0.0/0 matches every IPv4 address, so it restricts nothing"),
        (["::/0", "203.0.113.10/32"], "::/0 matches every IPv6 address, so it restricts nothing"),
        (["0.0.0.0/1", "128.0.0.0/1"], "0.0.0.0/1 and 128.0.0.0/1 match every IPv4 address together, so they restrict"),
    ],
)
def test_a_list_that_matches_every_address_is_refused_unless_meant(entries, fragment):
    message = refusal(entries)
    assert fragment in message
    assert "unless --allow-any-address" in message and "Allow Any Address" in message
    assert parse_source_ips(entries, allow_any=True) == tuple(entries)


def test_every_problem_of_a_list_is_named_at_once():
    with pytest.raises(InvalidSettings) as caught:
        parse_source_ips(["10.0.0.1/8", "nonsense"])
    assert "10.0.0.1/8" in str(caught.value) and "nonsense" in str(caught.value)


def test_an_allow_without_conditions_gets_the_source_ip_condition():
    assert restrict_statement(allow(), RCS) == allow(Condition={"IpAddress": {"aws:SourceIp": list(RCS)}})


def test_conditions_a_statement_already_has_are_kept_beside_the_new_one():
    statement = allow(Condition={"StringEquals": {"ec2:Region": "us-west-2"}})
    restricted = restrict_statement(statement, RCS)
    assert restricted["Condition"] == {
        "StringEquals": {"ec2:Region": "us-west-2"},
        "IpAddress": {"aws:SourceIp": list(RCS)},
    }
    assert statement["Condition"] == {"StringEquals": {"ec2:Region": "us-west-2"}}  # the input is not changed


def test_an_existing_source_ip_condition_keeps_only_addresses_in_both_lists():
    statement = allow(Condition={"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"]}})
    restricted = restrict_statement(statement, ("203.0.113.10/32", "192.0.2.0/24"))
    assert restricted["Condition"] == {"IpAddress": {"aws:SourceIp": ["203.0.113.10/32"]}}


def test_an_existing_source_ip_condition_with_nothing_in_common_drops_the_statement():
    statement = allow(Condition={"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}})
    assert restrict_statement(statement, RCS) is None


def test_an_ip_address_block_on_another_key_gets_the_source_ip_key_added():
    statement = allow(Condition={"IpAddress": {"aws:VpcSourceIp": "10.0.0.0/8"}})
    assert restrict_statement(statement, RCS)["Condition"]["IpAddress"] == {
        "aws:VpcSourceIp": "10.0.0.0/8",
        "aws:SourceIp": list(RCS),
    }


def test_a_deny_statement_is_left_as_it_is():
    deny = {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}
    assert restrict_statement(deny, RCS) == deny


def test_restricting_a_document_restricts_every_allow_and_counts_like_iam():
    document = {"Version": "2012-10-17", "Statement": [allow(), allow(Sid="Two"), {"Effect": "Deny", "Action": "*"}]}
    restricted = restrict_document(document, RCS)
    assert [s.get("Condition") for s in restricted["Statement"][:2]] == [{"IpAddress": {"aws:SourceIp": list(RCS)}}] * 2
    assert allowed_ips_of(restricted) == frozenset(RCS)
    assert policy_characters(restricted) == len(json.dumps(restricted, separators=(",", ":")))
    assert policy_characters(restricted) > policy_characters(document)

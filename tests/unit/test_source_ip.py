"""The allowed-address list and the IP-restricted copy of a policy document."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from DeadlineSpotIamSetup import source_ip
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.source_ip import (
    addresses_in,
    allowed_ips_of,
    compare_copy,
    describe_statement,
    merge_problems,
    merged_copy,
    normal_statement,
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


# -- a copy against what this project writes -------------------------------------------------------------------------
DENY = {"Sid": "NoUserDeletion", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}
PROJECTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateTags"], "Resource": ["*"]},
        {
            "Sid": "Pass",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["arn:aws:iam::*:role/DeadlineSpot*"],
            "Condition": {"StringLike": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
    ],
}


def with_statements(document: dict, *statements: dict) -> dict:
    return {**document, "Statement": [*document["Statement"], *statements]}


def test_the_same_document_is_the_same():
    assert compare_copy(PROJECTS, PROJECTS).same


def test_what_iam_reads_alike_is_the_same_whatever_the_spelling():
    """"Action": "x" is ["x"]; list elements and statements in any order; action names and context key names in any
    case (IAM JSON policy elements: Action, Condition)."""
    respelled = {
        "Statement": [
            {
                "Sid": "Pass",
                "Condition": {"StringLike": {"IAM:passedtoservice": ["ec2.amazonaws.com"]}},
                "Resource": "arn:aws:iam::*:role/DeadlineSpot*",
                "Action": "IAM:passrole",
                "Effect": "Allow",
            },
            {"Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:RunInstances", "ec2:createtags"], "Resource": "*"},
        ],
        "Version": "2012-10-17",
    }
    assert compare_copy(respelled, PROJECTS).same


def test_a_missing_version_is_2008_10_17_not_the_current_language():
    """"If you do not include a Version element, the value defaults to 2008-10-17" (IAM JSON policy elements:
    Version)."""
    difference = compare_copy({"Statement": PROJECTS["Statement"]}, PROJECTS)
    assert difference.changed == ("its Version is 2008-10-17, where this project writes 2012-10-17",)
    assert compare_copy({"Statement": []}, {"Version": "2008-10-17", "Statement": []}).same


def test_values_keep_their_case_and_resources_are_compared_as_written():
    lowered = json.loads(json.dumps(PROJECTS).replace("DeadlineSpot*", "deadlinespot*"))
    assert compare_copy(lowered, PROJECTS).changed == (
        "changes statement 'Pass' (Allow iam:PassRole): its Resource differs "
        "(+arn:aws:iam::*:role/deadlinespot*, -arn:aws:iam::*:role/DeadlineSpot*)",
    )


def test_an_added_statement_is_an_addition_named_by_sid_effect_and_action():
    difference = compare_copy(with_statements(PROJECTS, DENY), PROJECTS)
    assert difference.changed == () and difference.added == (DENY,)
    assert difference.description() == "adds statement 'NoUserDeletion' (Deny iam:DeleteUser)"


def test_an_added_element_is_an_addition_too():
    difference = compare_copy({**PROJECTS, "Id": "render-farm"}, PROJECTS)
    assert difference.extra_elements == (("Id", "render-farm"),) and difference.changed == ()
    assert difference.additions() == "adds the element Id"


def test_a_changed_statement_of_the_project_says_which_elements_differ_and_how():
    edited = json.loads(json.dumps(PROJECTS))
    edited["Statement"][0]["Action"].append("ec2:DescribeInstances")
    del edited["Statement"][1]["Condition"]
    difference = compare_copy(edited, PROJECTS)
    assert difference.added == ()
    assert difference.changed == (
        "changes statement (Allow ec2:RunInstances, ec2:CreateTags): its Action differs (+ec2:DescribeInstances)",
        "changes statement 'Pass' (Allow iam:PassRole): its Condition differs",
    )


def test_a_removed_statement_of_the_project_is_lacking():
    removed = {**PROJECTS, "Statement": PROJECTS["Statement"][1:]}
    assert compare_copy(removed, PROJECTS).changed == ("lacks statement (Allow ec2:RunInstances, ec2:CreateTags)",)


def test_long_action_lists_are_shown_cut_short():
    many = {"Effect": "Allow", "Action": [f"ec2:Action{n}" for n in range(5)], "Resource": "*"}
    assert describe_statement(many) == "statement (Allow ec2:Action0, ec2:Action1, ec2:Action2 +2 more)"


def test_the_admins_additions_are_merged_into_a_new_version_once():
    newer = with_statements(PROJECTS, {"Effect": "Allow", "Action": "ec2:DescribeSpotPriceHistory", "Resource": "*"})
    difference = compare_copy({**with_statements(PROJECTS, DENY, DENY), "Id": "farm"}, PROJECTS)
    merged = merged_copy(newer, difference)
    assert merged == {**with_statements(newer, DENY), "Id": "farm"}
    assert merge_problems(newer, difference) == []


def test_an_addition_that_would_repeat_a_sid_of_the_new_version_cannot_be_merged():
    reused = {**DENY, "Sid": "Pass"}
    difference = compare_copy(with_statements(PROJECTS, reused), PROJECTS)
    (problem,) = merge_problems(PROJECTS, difference)
    assert "has the Sid of a statement of the new version" in problem


def test_an_addition_that_would_make_the_new_version_too_large_cannot_be_merged():
    huge = {**DENY, "Sid": "Huge", "Resource": [f"arn:aws:iam::123456789012:user/u{n:05}" for n in range(200)]}
    difference = compare_copy(with_statements(PROJECTS, huge), PROJECTS)
    (problem,) = merge_problems(PROJECTS, difference)
    assert "over IAM's limit of 6144" in problem


def test_the_address_lists_a_document_carries_are_found_once_each_whatever_their_order():
    document = restrict_document(PROJECTS, RCS)
    document["Statement"][1]["Condition"]["IpAddress"]["aws:SourceIp"].reverse()
    document["Statement"].append(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:sourceip": "x"}}}
    )
    assert addresses_in(document) == [RCS]


# -- properties of the comparison, over generated documents ----------------------------------------------------------
ACTIONS = ["ec2:RunInstances", "ec2:CreateTags", "iam:PassRole", "iam:GetRole", "s3:GetObject", "lambda:GetFunction"]
RESOURCES = ["*", "arn:aws:iam::*:role/DeadlineSpot*", "arn:aws:s3:::farm/*", "arn:aws:ec2:*:*:instance/*"]
KEYS = ["iam:PassedToService", "ec2:CreateAction", "aws:RequestedRegion"]
VALUES = ["ec2.amazonaws.com", "RunInstances", "us-west-2", "Lambda.amazonaws.com"]


# Every strategy is built once, here: hypothesis validates a strategy and works out its properties the first time it
# draws from it, which costs far more than the draw itself (a strategy made inside a composite is a new one each time).
BOOLEANS = st.booleans()
ONE_TO_FIVE = st.integers(min_value=1, max_value=5)
SPELLINGS = st.sampled_from([str, str.upper, str.lower])


@functools.lru_cache(maxsize=None)
def below(bound: int) -> st.SearchStrategy:
    """An index from 0 to ``bound - 1``: one strategy for each bound."""
    return st.integers(min_value=0, max_value=bound - 1)


def shuffled(draw: st.DrawFn, values: list) -> list:
    """``values`` in an order drawn (Fisher-Yates, each swap drawn): any order can come out."""
    values = list(values)
    for last in range(len(values) - 1, 0, -1):
        other = draw(below(last + 1))
        values[last], values[other] = values[other], values[last]
    return values


def subsets(choices: list[str], min_size: int, max_size: int) -> st.SearchStrategy:
    """``min_size`` to ``max_size`` distinct ``choices``, in their order, as one draw among every such subset
    (smallest first, which is where hypothesis shrinks to). A list (or a dictionary's keys) of distinct elements drawn
    one by one costs hypothesis several times as much (its unique-list strategy was four fifths of drawing a
    document), and so does a filtered integer (hypothesis rebuilt the filter at every draw): this property's cases
    are mostly made of these."""
    every = [list(picked) for size in range(min_size, max_size + 1) for picked in itertools.combinations(choices, size)]
    return st.sampled_from(every)


def one_or_many(choices: list[str]) -> st.SearchStrategy:
    """One of ``choices`` as a string, or 2 to 4 of them, distinct, as a list, in the order of ``choices`` (the
    respellings reorder them)."""
    return subsets(choices, 1, 4).map(lambda picked: picked[0] if len(picked) == 1 else picked)


OPERATORS = subsets(["StringEquals", "StringLike"], 0, 2)
CONDITION_KEYS = subsets(KEYS, 1, 2)
CONDITION_VALUES = one_or_many(VALUES)


@st.composite
def conditions(draw: st.DrawFn) -> dict:
    """A Condition block: up to two operators, each with one or two context keys, in any order."""
    return {
        operator: {key: draw(CONDITION_VALUES) for key in shuffled(draw, draw(CONDITION_KEYS))}
        for operator in shuffled(draw, draw(OPERATORS))
    }


def _statement(effect: str, action: object, resource: object, condition: dict) -> dict:
    statement = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


statements = st.builds(
    _statement,
    st.sampled_from(["Allow", "Deny"]),
    one_or_many(ACTIONS),
    one_or_many(RESOURCES),
    conditions(),
)


@st.composite
def documents(draw: st.DrawFn, prefix: str = "Project") -> dict:
    count = draw(ONE_TO_FIVE)
    with_sids = draw(BOOLEANS)
    chosen = [draw(statements) for _ in range(count)]
    if with_sids:
        chosen = [{**statement, "Sid": f"{prefix}{n}"} for n, statement in enumerate(chosen)]
    unique = list({normal_statement(s): s for s in chosen}.values())  # a policy of distinct statements
    return {"Version": "2012-10-17", "Statement": unique}


DOCUMENTS = documents()
ADMIN_DOCUMENTS = documents(prefix="Admin")


def respell(draw: st.DrawFn, document: dict) -> dict:
    """The document as another tool may write it back, IAM reading it alike: lists reordered, repeated, or a single
    element as a string; action names and context key names in another case; statements and elements reordered.
    Called inside the composites below with their ``draw`` (a composite made for each document would be a new
    strategy at every case, which hypothesis checks afresh: a fifth of these properties' time)."""

    def spell(values: object, change_case: bool) -> object:
        listed = list(values) if isinstance(values, list) else [values]
        listed = shuffled(draw, listed) + [listed[draw(below(len(listed)))] for _ in range(draw(below(3)))]
        if change_case:
            listed = [draw(SPELLINGS)(v) for v in listed]
        return listed[0] if len(set(listed)) == 1 and draw(BOOLEANS) else listed

    result = []
    for statement in shuffled(draw, document["Statement"]):
        spelled = {
            "Effect": statement["Effect"],
            "Action": spell(statement["Action"], change_case=True),
            "Resource": spell(statement["Resource"], change_case=False),
        }
        if "Condition" in statement:
            spelled["Condition"] = {
                operator: {draw(SPELLINGS)(key): spell(values, change_case=False) for key, values in block.items()}
                for operator, block in statement["Condition"].items()
            }
        if "Sid" in statement:
            spelled["Sid"] = statement["Sid"]
        result.append(dict(shuffled(draw, list(spelled.items()))))
    return {"Statement": result, "Version": document["Version"]}


@st.composite
def respelled_documents(draw: st.DrawFn) -> tuple[dict, dict]:
    """A document and a respelling of it."""
    document = draw(DOCUMENTS)
    return document, respell(draw, document)


@st.composite
def admin_additions(draw: st.DrawFn) -> tuple[dict, dict, list[dict], dict]:
    """Our copy, the newer version the project would write, the statements an admin added to our copy (none the same
    as one of ours), and our copy with them as IAM gives it back, respelled."""
    ours, newer, theirs = draw(DOCUMENTS), draw(DOCUMENTS), draw(ADMIN_DOCUMENTS)
    known = {normal_statement(statement) for statement in ours["Statement"]}
    extras = [statement for statement in theirs["Statement"] if normal_statement(statement) not in known]
    return ours, newer, extras, respell(draw, with_statements(ours, *extras))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(respelled_documents())
def test_any_respelling_iam_reads_alike_is_the_same(case: tuple[dict, dict]):
    document, respelled = case
    assert compare_copy(respelled, document).same


@settings(max_examples=300, derandomize=True, deadline=None)
@given(admin_additions())
def test_additions_are_found_as_added_and_merged_back_into_any_new_version(case: tuple[dict, dict, list, dict]):
    ours, newer, extras, edited = case
    difference = compare_copy(edited, ours)
    assert difference.changed == ()
    assert sorted(map(normal_statement, difference.added)) == sorted(map(normal_statement, extras))
    if not merge_problems(newer, difference):
        assert compare_copy(merged_copy(newer, difference), with_statements(newer, *extras)).same
        assert compare_copy(merged_copy(newer, difference), newer).added == tuple(
            s for s in difference.added if normal_statement(s) not in map(normal_statement, newer["Statement"])
        )


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.data())
def test_a_project_statement_dropped_or_edited_is_never_taken_for_an_addition(data: st.DataObject):
    ours = data.draw(DOCUMENTS)
    edited = json.loads(json.dumps(ours))
    target = data.draw(below(len(edited["Statement"])))
    if data.draw(BOOLEANS):
        del edited["Statement"][target]
    else:
        statement = edited["Statement"][target]
        statement["Effect"] = "Deny" if statement["Effect"] == "Allow" else "Allow"
    if compare_copy(edited, ours).same:  # the edit made it equal to another statement of the document
        return
    assert compare_copy(edited, ours).changed != ()

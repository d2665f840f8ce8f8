"""The YAML writer of the CloudFormation export (yaml_writer.py), text for text: what it quotes, how it writes a
string across lines, empty mappings and lists, nesting, and what it refuses. No YAML library here (this suite runs
under Deadline's Python with boto3 only); tests/cli/test_yaml_writer_reads_back.py reads its output back with PyYAML.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given

from DeadlineSpotIamSetup.yaml_writer import to_yaml
from tests.support.yaml_documents import documents


def test_a_mapping_is_written_block_style_one_key_a_line():
    assert to_yaml({"Version": "1", "Count": 3, "On": True, "Off": False, "Nothing": None}) == (
        'Version: "1"\nCount: 3\n"On": true\n"Off": false\nNothing: null\n'
    )


def test_every_string_is_double_quoted_even_one_yaml_would_read_as_a_string():
    text = to_yaml({"a": "plain", "b": "", "c": "123", "d": "yes", "e": "null", "f": "2024-05-01", "g": "- x"})
    assert text.splitlines() == [
        'a: "plain"',
        'b: ""',
        'c: "123"',
        'd: "yes"',
        'e: "null"',
        'f: "2024-05-01"',
        'g: "- x"',
    ]


@pytest.mark.parametrize(
    "key",
    # YAML 1.1 booleans and nulls, in every case (yaml.org/type/bool.html, yaml.org/type/null.html)
    ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "NO", "on", "On", "off", "OFF", "true", "True", "false"]
    + ["FALSE", "null", "Null", "NULL", "~", "yEs"]
    # what is not a plain word: a leading digit, a space, a trailing colon, a comment sign, a flow or block
    # indicator, nothing at all, a non-ASCII letter
    + ["1x", "12", "a b", "ends:", "a#b", "#a", "[a]", "{a}", "-a", "? a", "&a", "*a", "!a", "%a", "@a", "`a"]
    + ["", " a", "a ", "caf\u00e9", "a\nb", "'a'", '"a"', "<<", "=", ".inf"],
)
def test_a_key_yaml_would_read_otherwise_is_quoted(key):
    assert to_yaml({key: 1}) == f"{json.dumps(key)}: 1\n"


@pytest.mark.parametrize("key", ["a", "Fn::Sub", "Fn::GetAtt", "AWS::IAM::Role", "_x", "a.b", "a/b", "a-b", "x1"])
def test_a_key_that_reads_only_as_itself_stays_plain(key):
    assert to_yaml({key: 1}) == f"{key}: 1\n"


def test_a_key_longer_than_yaml_reads_on_its_line_is_written_as_an_explicit_key():
    """YAML reads an implicit key of at most 1024 characters ("At most 1024 characters altogether", YAML 1.2.2
    specification, productions [154] and [155]; PyYAML's scanner refuses a longer one); a longer key, as written,
    takes the explicit form ``? KEY`` then ``: VALUE`` (8.2.2 Block Mappings)."""
    longest = "k" * 1022  # 1024 characters with its quotes
    assert to_yaml({longest + " ": 1}) == f'? "{longest} "\n: 1\n'
    assert to_yaml({longest[:-1] + " ": 1}) == f'"{longest[:-1]} ": 1\n'
    written = "\\u00e9" * 171  # 1026 characters once quoted, from 171 characters
    assert to_yaml({"\u00e9" * 171: {"a": [1]}, "b": [{"\u00e9" * 171: []}]}) == (
        f'? "{written}"\n:\n  a:\n    - 1\nb:\n  - ? "{written}"\n    : []\n'
    )


def test_a_multi_line_string_stays_on_one_line_with_its_line_breaks_escaped():
    text = to_yaml({"Description": "first line\nsecond line\r\nthird\ttabbed\n", "List": ["a\nb"]})
    assert text == 'Description: "first line\\nsecond line\\r\\nthird\\ttabbed\\n"\nList:\n  - "a\\nb"\n'


def test_every_character_beyond_printable_ascii_is_escaped_json_style():
    text = to_yaml({"s": 'caf\u00e9 \U0001d400 \u2028 \x85 \x00 \ufeff \x7f \b\f "quoted" back\\slash'})
    assert text == (
        's: "caf\\u00e9 \\U0001d400 \\u2028 \\u0085 \\u0000 \\ufeff \\u007f \\b\\f \\"quoted\\" back\\\\slash"\n'
    )
    assert text.isascii()


def test_empty_mappings_and_lists_are_written_in_flow_style():
    text = to_yaml({"Map": {}, "List": [], "Nested": [{}, [], {"k": []}]})
    assert text == "Map: {}\nList: []\nNested:\n  - {}\n  - []\n  - k: []\n"


def test_nested_lists_and_mappings_are_indented_two_spaces_a_level():
    text = to_yaml({"a": [[1, 2], [{"k": "v", "l": [True]}], {"deep": {"x": None}}]})
    assert text == (
        "a:\n"
        "  - - 1\n"
        "    - 2\n"
        '  - - k: "v"\n'
        "      l:\n"
        "        - true\n"
        "  - deep:\n"
        "      x: null\n"
    )


def test_integers_are_written_as_decimal_numbers():
    assert to_yaml({"a": [0, -5, 10**20]}) == "a:\n  - 0\n  - -5\n  - 100000000000000000000\n"


@pytest.mark.parametrize("value", [1.5, b"bytes", ("tuple",), {1: "x"}, {None: "x"}, {"a"}, object()])
def test_what_a_template_does_not_hold_is_refused(value):
    with pytest.raises(TypeError):
        to_yaml({"key": value})


@pytest.mark.parametrize("document", [{}, [], "text", None])
def test_a_document_is_a_non_empty_mapping(document):
    with pytest.raises(TypeError, match="non-empty mapping"):
        to_yaml(document)  # type: ignore[arg-type]


# -- the shape of any output --------------------------------------------------------------------------------------

KEY = r'(?:[A-Za-z_][A-Za-z0-9_.:/-]*|"(?:[^"\\]|\\.)*")'
SCALAR = r'(?:"(?:[^"\\]|\\.)*"|-?[0-9]+|true|false|null|\{\}|\[\])'
LINE = re.compile(
    rf"(?:  )*(?:- )*(?:\? (?P<explicit_key>{KEY})|(?P<key>{KEY})?:(?: (?P<value>{SCALAR}))?|(?P<item>{SCALAR}))"
)



def leaves(value: object) -> list[object]:
    """The document's scalars (empty mappings and lists count as one) in the order the writer meets them."""
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in [key, *leaves(item)]]
    if isinstance(value, list) and value:
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def json_or_yaml_escapes(scalar: str) -> object:
    """A scalar as JSON reads it, YAML's ``\\UXXXXXXXX`` escape read as the surrogate pair JSON writes instead."""

    def as_json(escape: re.Match) -> str:
        if escape.group(1) is None:
            return escape.group(0)
        return json.dumps(chr(int(escape.group(1), 16)))[1:-1]

    return json.loads(re.sub(r"\\U([0-9a-f]{8})|\\.", as_json, scalar))


def written_leaves(text: str) -> list[object]:
    found: list[object] = []
    for line in text.splitlines():
        match = LINE.fullmatch(line)
        assert match, line
        for part in ("explicit_key", "key", "value", "item"):
            if match.group(part) is not None:
                scalar = match.group(part)
                plain_key = part.endswith("key") and not scalar.startswith('"')
                found.append(scalar if plain_key else json_or_yaml_escapes(scalar))
    return found


@given(documents)
def test_any_document_is_written_one_json_scalar_at_a_time_in_its_order(document):
    """A strict structural check without a YAML library: every line is indentation, sequence dashes, then a key
    (plain or JSON-quoted) with or without a scalar, an explicit key (``? KEY``) or its value (``:`` with or without a
    scalar), or a scalar alone; every key and scalar is JSON, and they come in the document's order."""
    text = to_yaml(document)
    assert text.endswith("\n") and text.isascii()
    assert written_leaves(text) == leaves(document)

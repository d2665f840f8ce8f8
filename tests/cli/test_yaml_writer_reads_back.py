"""What the YAML writer (yaml_writer.py) writes reads back, with PyYAML (the YAML reader cfn-lint uses, YAML 1.1), as
exactly the document it was given: any string in a key or a value, integers, booleans, None, nesting, empty mappings
and lists. The writer's text, line by line, is pinned by tests/unit/test_yaml_writer.py."""

from __future__ import annotations

import yaml
from hypothesis import given, settings

from DeadlineSpotIamSetup.yaml_writer import to_yaml
from tests.support.yaml_documents import documents


def test_the_yaml_reads_back_whatever_the_strings_hold():
    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Metadata": {
            "yes": "no",
            "On": True,
            "null": None,
            "a b": ["", " lead", "trail ", "#hash", "- dash", "key: value", "{x}", "[y]", "'single'", '"double"'],
            "x:": "caf\u00e9 \U0001d400 \u2028 \x85 \x00 \ufeff back\\slash\ttab\nline \x7f",
            "1": 0,
            "nested": [[1, [2, []]], [{"k": {}}], {"deep": [{"a": [True, False]}]}],
            "Fn::Sub": "${AWS::Partition} ${!Literal}",
        },
    }
    assert yaml.safe_load(to_yaml(document)) == document


def test_multi_line_strings_and_keys_yaml_would_read_otherwise_read_back():
    document = {
        "Description": "first line\nsecond line\r\n\n  indented\ttabbed\n",
        "y": "n",
        "NULL": "~",
        "~": "null",
        "12": "0x1F",
        "1:30": "1:30",
        "2024-05-01": "2024-05-01",
        ".inf": ".nan",
        "<<": {"=": []},
        "": {"": ""},
    }
    assert yaml.safe_load(to_yaml(document)) == document


def test_a_key_longer_than_yaml_reads_on_its_line_reads_back():
    """YAML reads an implicit key of at most 1024 characters (YAML 1.2.2 specification, productions [154] and [155]);
    PyYAML refuses a longer one ("mapping values are not allowed here"), so the writer makes it an explicit key."""
    document = {"k" * 1100: 1, "\u00e9" * 300: {"a": [1]}, "b": [{"x" * 2000: []}, {"y" * 1023: None}]}
    assert yaml.safe_load(to_yaml(document)) == document


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_reads_back_as_written(document):
    assert yaml.safe_load(to_yaml(document)) == document

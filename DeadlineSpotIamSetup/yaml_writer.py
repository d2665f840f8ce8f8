"""Block-style YAML for a CloudFormation template (cloudformation.py), written without a YAML library: the engine
imports only the standard library and boto3.

Every string is double-quoted with JSON's escapes, which YAML's double-quoted style shares ("Escaped Characters",
YAML 1.2 specification, 5.7; ``\\U`` with eight hex digits for a character beyond the Basic Multilingual Plane), so
it reads back as exactly that string. A mapping key is written plain only when a YAML 1.1 reader (PyYAML's, which
cfn-lint uses) reads it back as that string: letters, digits and ``_.:/-``, beginning with a letter or ``_``, not
ending with ``:``, and none of the words YAML 1.1 reads as a boolean or null (yaml.org/type/bool.html: y, yes, on,
true, n, no, off, false; yaml.org/type/null.html: ``~``, null), in any case; a key longer, as written, than YAML
reads on its line is written as an explicit key (``? KEY``, then ``: VALUE``). Intrinsic functions stay in their long
form (``Fn::Sub:``, ``Ref:``). An empty mapping or list is written in flow style (``{}``, ``[]``). Dicts, lists,
strings, integers, booleans and None only; anything else is a TypeError.
"""

from __future__ import annotations

import re
from typing import Any

# Plain scalars YAML 1.1 reads as something other than a string (compared in lower case).
_YAML_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
# The longest key YAML reads in the implicit form (KEY: VALUE), counted as written: "At most 1024 characters
# altogether" (YAML 1.2.2 specification, productions [154] ns-s-implicit-yaml-key and [155] c-s-implicit-json-key;
# PyYAML's scanner holds a key to the same). A longer one is written in the explicit form, "? KEY" on one line and
# ": VALUE" on the next (8.2.2 Block Mappings: explicit entries).
MAX_IMPLICIT_KEY = 1024
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _quoted(text: str) -> str:
    """A double-quoted scalar, JSON-style: printable ASCII as is, everything else escaped (\\uXXXX, or \\UXXXXXXXX
    beyond the Basic Multilingual Plane, which YAML has and JSON spells as two surrogates)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"a template's keys are strings, not {key!r}")
    if _PLAIN_KEY.fullmatch(key) and not key.endswith(":") and key.lower() not in _YAML_SPECIAL:
        return key
    return _quoted(key)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    raise TypeError(f"no YAML for {value!r}")


def _block(value: dict[str, Any] | list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            written = _key(key)
            if len(written) > MAX_IMPLICIT_KEY:
                lines.append(f"{pad}? {written}")
                written = ""  # the value follows on its own line, after ":"
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{written}:")
                lines += _block(item, indent + 2)
            else:
                lines.append(f"{pad}{written}: {_scalar(item)}")
        return lines
    for item in value:
        if isinstance(item, (dict, list)) and item:
            nested = _block(item, indent + 2)
            lines.append(f"{pad}- {nested[0][indent + 2 :]}")
            lines += nested[1:]
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def to_yaml(document: dict[str, Any]) -> str:
    """The template as block-style YAML: every string double-quoted, intrinsic functions in their long form
    (``Fn::Sub:``, ``Ref:``). Dicts, lists, strings, integers, booleans and None only."""
    if not isinstance(document, dict) or not document:
        raise TypeError("a template is a non-empty mapping")
    return "\n".join(_block(document, 0)) + "\n"

"""What a CloudFormation template is made of while it is rendered from the desired state (:mod:`cloudformation`):
its sections, the intrinsic functions and name Parameters the identities are written with, and the logical IDs by
which one resource refers to another.

Each kind's handler adds its identity to a :class:`TemplateParts` (``Handler.cloudformation``), as it adds its
statements to the bootstrap policy (``Handler.permissions``). Pure: the standard library only, no AWS.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

from .compat import remove_suffix
from .desired import CreationOptions, DesiredState, ManagedPolicy
from .errors import InvalidSettings

FORMAT_VERSION = "2010-09-09"
PARTITION = "${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
NAME_CHARACTERS = "[A-Za-z0-9+=,.@_-]"  # of an IAM name, in a Parameter's AllowedPattern
IAM_NAME_RULE = "letters, digits and +=,.@_-"  # the same, in a Parameter's ConstraintDescription

_TOKEN = re.compile(r"\$\{AWS::(?:Partition|AccountId)\}")
_ARN_PREFIX = re.compile(r"arn:(aws(?:-cn|-us-gov|-iso|-iso-b)?):iam::([0-9]{12}|aws):(.*)", re.DOTALL)


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def sub(text: str) -> dict[str, str] | str:
    """``text`` holding ``${AWS::Partition}`` / ``${AWS::AccountId}`` as an ``Fn::Sub``; any other ``${`` in it
    is escaped (``${!``) so that CloudFormation leaves it as written. A text without them stays as it is."""
    if not _TOKEN.search(text):
        return text
    pieces = _TOKEN.split(text)
    tokens = _TOKEN.findall(text)
    escaped = [piece.replace("${", "${!") for piece in pieces]
    return {"Fn::Sub": "".join(p + t for p, t in zip(escaped, [*tokens, ""]))}


def sub_strings(value: Any) -> Any:
    """Every string of a document (not its keys) that names the partition or account token, as an ``Fn::Sub``."""
    if isinstance(value, dict):
        return {key: sub_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sub_strings(item) for item in value]
    if isinstance(value, str):
        return sub(value)
    return value


def tokenized_document(document: Any, partition: str) -> Any:
    """A policy document read in ``partition`` with every ``arn:<partition>:`` as ``arn:${AWS::Partition}:`` (any
    ``${`` already there, such as a policy variable, is kept as written)."""
    if isinstance(document, dict):
        return {key: tokenized_document(item, partition) for key, item in document.items()}
    if isinstance(document, list):
        return [tokenized_document(item, partition) for item in document]
    if isinstance(document, str) and f"arn:{partition}:" in document:
        escaped = document.replace("${", "${!")
        return {"Fn::Sub": escaped.replace(f"arn:{partition}:", f"arn:{PARTITION}:")}
    return document


def agnostic_policy_arn(arn: str) -> str:
    """A policy ARN with its partition (and its account: a permissions boundary must be in the account of the user
    or role it bounds) as tokens: ``arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/NAME``."""
    match = _ARN_PREFIX.fullmatch(arn)
    if match is None:
        raise InvalidSettings(f"{arn!r} is not an IAM policy ARN")
    _, account, rest = match.groups()
    return f"arn:{PARTITION}:iam::{'aws' if account == 'aws' else ACCOUNT}:{rest}"


def logical_id(text: str) -> str:
    """A logical ID made of ``text``'s ASCII letters and digits."""
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def name_parameter(description: str, default: str, pattern: str, rule: str, max_length: int = 64) -> dict[str, Any]:
    """A Parameter naming an IAM identity: ``pattern`` (its AllowedPattern) says what the engine accepts, ``rule``
    says it in words."""
    return {
        "Type": "String",
        "Description": description,
        "Default": default,
        "MinLength": 1,
        "MaxLength": max_length,
        "AllowedPattern": pattern,
        "ConstraintDescription": rule,
    }


def any_name_parameter(description: str, default: str, max_length: int = 64) -> dict[str, Any]:
    """A Parameter naming an IAM identity any valid name suits."""
    return name_parameter(
        description,
        default,
        f"^{NAME_CHARACTERS}+$",
        f"1-{max_length} characters: {IAM_NAME_RULE}",
        max_length,
    )


def _may_name_one_role(prefixes: tuple[str, ...], others: tuple[str, ...]) -> bool:
    """Whether two role-name Parameters whose patterns require these prefixes can name the same role."""
    return any(a.lower().startswith(b.lower()) or b.lower().startswith(a.lower()) for a in prefixes for b in others)


class TemplateParts:
    """One template being rendered from a desired state: each identity's handler adds to its sections.

    ``agnostic``: ARNs name ``${AWS::Partition}`` (a permissions boundary also ``${AWS::AccountId}``); otherwise
    they are written as in ``partition``. ``sources``: the AWS managed policies' documents by name, read in
    ``partition`` (for the IP-restricted copies).
    """

    def __init__(
        self, desired: DesiredState, sources: Mapping[str, dict[str, Any]], agnostic: bool, partition: str
    ) -> None:
        self.desired = desired
        self.sources = sources
        self.agnostic = agnostic
        self.partition = partition
        self.parameters: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.notes: list[str] = []  # what the template does not hold, and why (its Metadata)
        self.description: list[str] = []  # sentences added to the template's Description
        # Filled before any resource is added (``Handler.cloudformation_names``), so that a resource can refer to
        # one added after it: the logical ID of each role this template creates, by its name as IAM compares names
        # (ignoring case); of each managed policy it creates, by name; and the name Parameter of an existing role
        # the template attaches its managed policies to (by their Roles property).
        self.role_ids: dict[str, str] = {}
        self.policy_ids: dict[str, str] = {}
        self.existing_role_parameter: str | None = None
        # The name Parameter of each role this template creates, with the prefixes its pattern requires: two of them
        # that can name one role get a Rule refusing it (a role cannot be two of them).
        self.role_name_parameters: dict[str, tuple[str, ...]] = {}

    @property
    def options(self) -> CreationOptions:
        return self.desired.options

    def managed_arn(self, policy: ManagedPolicy) -> Any:
        return sub(policy.arn(PARTITION)) if self.agnostic else policy.arn(self.partition)

    def extras(self) -> dict[str, Any]:
        """PermissionsBoundary and Tags, as the engine sets them on the users and roles it creates."""
        extras: dict[str, Any] = {}
        if self.options.permissions_boundary:
            given = self.options.permissions_boundary
            extras["PermissionsBoundary"] = sub(agnostic_policy_arn(given)) if self.agnostic else given
        if self.options.tags:
            extras["Tags"] = self.options.tag_list()
        return extras

    def untagged(self, what: str, always: bool = False) -> None:
        """``always``: the engine tags it even without creation tags (a policy copy, with its source's version)."""
        if always or self.options.tags:
            self.notes.append(
                f"{what}: not tagged (CloudFormation has no Tags property for it; the engine tags it when it creates "
                "it)"
            )

    def rules(self) -> dict[str, Any]:
        """What the engine refuses and a pattern cannot: two of the roles under one name."""
        created = list(self.role_name_parameters)
        pairs = [
            (first, second)
            for first, second in itertools.combinations(created, 2)
            if _may_name_one_role(self.role_name_parameters[first], self.role_name_parameters[second])
        ]
        if self.existing_role_parameter:
            pairs += [(self.existing_role_parameter, name) for name in created]
        return {
            f"{remove_suffix(first, 'Name')}And{remove_suffix(second, 'Name')}Differ": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Equals": [ref(first), ref(second)]}]},
                        "AssertDescription": f"{first} and {second} must name different roles: they need different "
                        "trust policies and policies",
                    }
                ]
            }
            for first, second in pairs
        }

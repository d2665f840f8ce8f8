"""CloudFormation templates rendered from the desired state, for StackSets across an AWS Organization.

One more renderer of the desired state, like :mod:`bootstrap_policy`: :func:`template` creates exactly the identities
the engine would create (the same names, trust, managed policies, instance profile, path, boundary and tags, and in
the IP-restricted mode the customer managed copies), with the names as Parameters; each identity's handler says how
it appears (``Handler.cloudformation``, adding to :class:`template_parts.TemplateParts`), so this module knows no
kind. :func:`bootstrap_role_template` creates the bootstrap role itself. ARNs use ``${AWS::Partition}`` and
``${AWS::AccountId}`` (``Fn::Sub``), so one template serves every account and partition of a StackSet.
:func:`to_yaml` (:mod:`yaml_writer`) writes a template as YAML.

What a template cannot hold is said in its Description and Metadata: no access key (a secret does not belong in a
template: the event plugin creates and delivers it, or the Spot credentials are an existing role), no role it does
not create (a Spot credentials role is the admin's), no tags on instance profiles and managed policies
(CloudFormation has no such property).

Pure: the standard library only, no AWS. The IP-restricted copies embed the AWS managed policies' documents, which
the caller reads (the engine reads them at apply time, a template is fixed when it is rendered).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from . import __version__
from .bootstrap_policy import bootstrap_policy
from .desired import DesiredState
from .errors import InvalidSettings
from .handlers import handler_for
from .template_parts import (
    ACCOUNT,
    FORMAT_VERSION,
    PARTITION,
    TemplateParts,
    agnostic_policy_arn,
    any_name_parameter,
    ref,
    sub,
    sub_strings,
)
from .yaml_writer import to_yaml

__all__ = ["bootstrap_role_template", "sub", "template", "to_yaml"]

BOOTSTRAP_ROLE_DEFAULT = "DeadlineSpotIamSetupBootstrap"
BOOTSTRAP_POLICY_NAME = "DeadlineSpotIamSetupBootstrap"
# IAM's limits, counted without white space: all inline policies of one role together; one managed policy.
MAX_ROLE_INLINE_CHARACTERS = 10240
MAX_MANAGED_POLICY_CHARACTERS = 6144
MAX_MANAGED_POLICIES_PER_ROLE = 10  # IAM's default quota
_LONGEST_PARTITION = "aws-us-gov"  # to measure a policy whose ARNs name ${AWS::Partition}

_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(?:root|(?:user|role)/(?:[A-Za-z0-9+=,.@_-]+/)*"
    r"[A-Za-z0-9+=,.@_-]{1,64})"
)
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def template(
    desired: DesiredState,
    sources: Mapping[str, dict[str, Any]] | None = None,
    *,
    partition_agnostic: bool = True,
    partition: str = "aws",
) -> dict[str, Any]:
    """A CloudFormation template creating the identities the engine would create for ``desired``.

    ``sources``: the AWS managed policies' documents by name, read in ``partition`` (needed only in the IP-restricted
    mode: the copies embed them, restricted as the engine restricts them). ``partition_agnostic``: ARNs name
    ``${AWS::Partition}`` (and a permissions boundary ``${AWS::AccountId}``), so the template fits every account and
    partition of a StackSet; False: ARNs as written in ``partition``, the boundary as given.
    Each identity's handler adds it (``Handler.cloudformation``); an identity no handler knows is a TypeError, never
    skipped.
    """
    parts = TemplateParts(desired, sources or {}, partition_agnostic, partition)
    handlers = [(identity, handler_for(identity)) for identity in desired]
    for identity, handler in handlers:
        handler.cloudformation_names(identity, parts)
    for identity, handler in handlers:
        handler.cloudformation(identity, parts)
    description = " ".join(
        [
            f"IAM identities of the Deadline Spot Event Plugin (DeadlineSpotIamSetup {__version__}). No access key: "
            "the event plugin creates and delivers it, or use an existing role as the Spot credentials.",
            *parts.description,
        ]
    )
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": FORMAT_VERSION,
        "Description": description,
        "Metadata": {"DeadlineSpotIamSetup": {"Version": __version__, "NotInTemplate": parts.notes}},
        "Parameters": parts.parameters,
    }
    rules = parts.rules()
    if rules:
        document["Rules"] = rules
    if parts.conditions:
        document["Conditions"] = parts.conditions
    document["Resources"] = parts.resources
    if parts.outputs:
        document["Outputs"] = parts.outputs
    return document


def _principal(trusted_principal: str) -> Any:
    if _ACCOUNT_ID.fullmatch(trusted_principal):
        return sub(f"arn:{PARTITION}:iam::{trusted_principal}:root")
    if len(trusted_principal) <= 2048 and _PRINCIPAL_ARN.fullmatch(trusted_principal):
        return trusted_principal
    raise InvalidSettings(
        f"trusted principal {trusted_principal!r} is not a 12-digit account ID or the ARN of an account (...:root), a "
        "user or a role"
    )


def _size(statements: list[dict[str, Any]]) -> int:
    """The characters IAM counts for a policy of these statements, at the longest partition and a 12-digit account."""
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    return len(text.replace(PARTITION, _LONGEST_PARTITION).replace(ACCOUNT, "123456789012"))


def _chunks(statements: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    chunks: list[list[dict[str, Any]]] = [[]]
    for statement in statements:
        if _size([statement]) > limit:
            raise InvalidSettings(
                f"bootstrap policy statement {statement.get('Sid')} alone is over IAM's limit of {limit} characters "
                "for a managed policy: give fewer tags"
            )
        if chunks[-1] and _size([*chunks[-1], statement]) > limit:
            chunks.append([])
        chunks[-1].append(statement)
    return chunks


def bootstrap_role_template(desired: DesiredState, trusted_principal: str) -> dict[str, Any]:
    """A template creating the bootstrap role: trusted by ``trusted_principal`` (an account ID or an ARN) and
    allowed what ``bootstrap-policy`` prints for ``desired``, in the account and partition it is deployed to.

    The policy is inline when it fits IAM's 10,240 characters for a role's inline policies; otherwise it is split
    into customer managed policies of at most 6,144 characters each, attached to the role.
    """
    principal = _principal(trusted_principal)
    options = desired.options
    if options.permissions_boundary:
        # The boundary the engine will set is the one of the account it runs in.
        options = replace(options, permissions_boundary=agnostic_policy_arn(options.permissions_boundary))
    policy = bootstrap_policy(replace(desired, options=options), PARTITION, ACCOUNT)
    statements = policy["Statement"]
    properties: dict[str, Any] = {
        "RoleName": ref("BootstrapRoleName"),
        "Description": "Runs DeadlineSpotIamSetup apply: creates and repairs the Spot Event Plugin's IAM identities",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        },
        "Path": "/",
    }
    resources: dict[str, Any] = {"BootstrapRole": {"Type": "AWS::IAM::Role", "Properties": properties}}
    if _size(statements) <= MAX_ROLE_INLINE_CHARACTERS:
        properties["Policies"] = [
            {"PolicyName": BOOTSTRAP_POLICY_NAME, "PolicyDocument": sub_strings(policy)},
        ]
    else:
        chunks = _chunks(statements, MAX_MANAGED_POLICY_CHARACTERS)
        if len(chunks) > MAX_MANAGED_POLICIES_PER_ROLE:
            raise InvalidSettings(
                f"the bootstrap policy needs {len(chunks)} managed policies, over IAM's "
                f"{MAX_MANAGED_POLICIES_PER_ROLE} per role: give fewer tags"
            )
        arns = []
        for number, chunk in enumerate(chunks, 1):
            logical = f"BootstrapPolicy{number}"
            resources[logical] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": {"Fn::Sub": f"${{BootstrapRoleName}}-{number}"},
                    "Path": "/",
                    "Description": f"DeadlineSpotIamSetup bootstrap policy, part {number} of {len(chunks)}",
                    "PolicyDocument": sub_strings({"Version": "2012-10-17", "Statement": chunk}),
                },
            }
            arns.append(ref(logical))
        properties["ManagedPolicyArns"] = arns
    return {
        "AWSTemplateFormatVersion": FORMAT_VERSION,
        "Description": f"The bootstrap role of DeadlineSpotIamSetup {__version__}: what `apply` (or the event plugin "
        "with Create Missing Identities) needs to create the Spot Event Plugin's IAM identities in this account.",
        "Parameters": {"BootstrapRoleName": any_name_parameter("The bootstrap role's name", BOOTSTRAP_ROLE_DEFAULT)},
        "Resources": resources,
        "Outputs": {
            "BootstrapRoleArn": {
                "Description": "Give it to --role-arn, or to the event plugin's Assume Role ARN",
                "Value": {"Fn::GetAtt": ["BootstrapRole", "Arn"]},
            }
        },
    }

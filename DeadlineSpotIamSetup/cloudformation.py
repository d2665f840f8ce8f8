"""CloudFormation templates rendered from the desired state, for StackSets across an AWS Organization.

One more renderer of the desired state, like :mod:`bootstrap_policy`: :func:`template` creates exactly the identities
the engine would create (the same names, trust, managed policies, instance profile, path, boundary and tags, and in
the IP-restricted mode the customer managed copies), with the names as Parameters; :func:`bootstrap_role_template`
creates the bootstrap role itself. ARNs use ``${AWS::Partition}`` and ``${AWS::AccountId}`` (``Fn::Sub``), so one
template serves every account and partition of a StackSet. :func:`to_yaml` writes a template as YAML.

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
from .compat import remove_prefix, remove_suffix
from .desired import (
    FLEET_ROLE_DEFAULT,
    TRACKER_ROLE_PREFIX,
    WORKER_ROLE_PREFIX,
    AccessKey,
    CredentialsRole,
    DesiredState,
    FleetGroupCheck,
    InstanceProfile,
    ManagedPolicy,
    PolicyCopy,
    ServiceLinkedRole,
    ServiceRole,
    SpotPermissions,
    SpotUser,
    TrackerInUse,
)
from .errors import InvalidSettings
from .handlers.policy_copy import restricted_copy
from .kinds import Kind
from .values import PolicyInfo

FORMAT_VERSION = "2010-09-09"
PARTITION = "${AWS::Partition}"
ACCOUNT = "${AWS::AccountId}"
CREATE_SERVICE_LINKED_ROLES = "CreateServiceLinkedRoles"  # the Parameter
SERVICE_LINKED_ROLES_WANTED = "ServiceLinkedRolesWanted"  # the Condition it drives
BOOTSTRAP_ROLE_DEFAULT = "DeadlineSpotIamSetupBootstrap"
BOOTSTRAP_POLICY_NAME = "DeadlineSpotIamSetupBootstrap"
# IAM's limits, counted without white space: all inline policies of one role together; one managed policy.
MAX_ROLE_INLINE_CHARACTERS = 10240
MAX_MANAGED_POLICY_CHARACTERS = 6144
MAX_MANAGED_POLICIES_PER_ROLE = 10  # IAM's default quota
_LONGEST_PARTITION = "aws-us-gov"  # to measure a policy whose ARNs name ${AWS::Partition}

_NAME_CHARACTERS = "[A-Za-z0-9+=,.@_-]"
_TOKEN = re.compile(r"\$\{AWS::(?:Partition|AccountId)\}")
_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(?:root|(?:user|role)/(?:[A-Za-z0-9+=,.@_-]+/)*"
    r"[A-Za-z0-9+=,.@_-]{1,64})"
)
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ARN_PREFIX = re.compile(r"arn:(aws(?:-cn|-us-gov|-iso|-iso-b)?):iam::([0-9]{12}|aws):(.*)", re.DOTALL)

# Each service role's kind: its logical ID, its name Parameter, and what the Parameter enforces (as the engine
# refuses other names: the AWS managed admin policies allow iam:PassRole only on these names).
_SERVICE_ROLES: dict[Kind, tuple[str, str, str, str, str]] = {
    Kind.WORKER_ROLE: (
        "WorkerRole",
        "WorkerRoleName",
        "The worker role: the role of the Spot instances (through the instance profile)",
        f"^{WORKER_ROLE_PREFIX}{_NAME_CHARACTERS}*$",
        f"must begin with {WORKER_ROLE_PREFIX} (AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole "
        f"only on role/{WORKER_ROLE_PREFIX}*), then letters, digits and +=,.@_-; at most 64 characters",
    ),
    Kind.FLEET_ROLE: (
        "FleetRole",
        "FleetRoleName",
        "The Spot Fleet role: IamFleetRole of the Spot Fleet configuration",
        f"^({FLEET_ROLE_DEFAULT}|{WORKER_ROLE_PREFIX}{_NAME_CHARACTERS}*)$",
        f"must be {FLEET_ROLE_DEFAULT} or begin with {WORKER_ROLE_PREFIX} (AWSThinkboxDeadlineSpotEventPluginAdmin"
        "Policy allows iam:PassRole only on those); at most 64 characters",
    ),
    Kind.TRACKER_ROLE: (
        "TrackerRole",
        "TrackerRoleName",
        "The Resource Tracker role (its Lambda functions)",
        f"^{TRACKER_ROLE_PREFIX}{_NAME_CHARACTERS}*$",
        f"must begin with {TRACKER_ROLE_PREFIX} (AWSThinkboxDeadlineResourceTrackerAdminPolicy allows iam:PassRole "
        f"only on role/{TRACKER_ROLE_PREFIX}*); at most 64 characters",
    ),
}
_IAM_NAME_RULE = "letters, digits and +=,.@_-"

# Identities that are checks, not things to create: a template has nothing to say about them but why.
_NOT_CREATED = (AccessKey, SpotPermissions, FleetGroupCheck, TrackerInUse)


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


def _tokenized_document(document: Any, partition: str) -> Any:
    """A policy document read in ``partition`` with every ``arn:<partition>:`` as ``arn:${AWS::Partition}:`` (any
    ``${`` already there, such as a policy variable, is kept as written)."""
    if isinstance(document, dict):
        return {key: _tokenized_document(item, partition) for key, item in document.items()}
    if isinstance(document, list):
        return [_tokenized_document(item, partition) for item in document]
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


def _logical_id(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def _name_parameter(description: str, default: str, pattern: str, rule: str, max_length: int = 64) -> dict:
    return {
        "Type": "String",
        "Description": description,
        "Default": default,
        "MinLength": 1,
        "MaxLength": max_length,
        "AllowedPattern": pattern,
        "ConstraintDescription": rule,
    }


class _Template:
    """One template being rendered from a desired state."""

    def __init__(self, desired: DesiredState, sources: Mapping[str, dict], agnostic: bool, partition: str) -> None:
        self.desired = desired
        self.sources = sources
        self.agnostic = agnostic
        self.partition = partition
        self.parameters: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}
        self.rules: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.notes: list[str] = []
        # Roles this template creates, by name as IAM compares names (ignoring case), for the instance profile.
        self.role_ids = {
            identity.name.lower(): _SERVICE_ROLES[identity.kind][0]
            for identity in desired
            if isinstance(identity, ServiceRole) and identity.kind in _SERVICE_ROLES
        }
        # The policy copies' logical IDs, by name: the Spot user takes them in its ManagedPolicyArns; an existing Spot
        # credentials role by the copies' Roles property, which names it with this Parameter.
        self.copy_ids: dict[str, str] = {}
        self.copies_to_role: str | None = None

    # -- values ----------------------------------------------------------------------------------------------------

    def managed_arn(self, policy: ManagedPolicy) -> Any:
        return sub(policy.arn(PARTITION)) if self.agnostic else policy.arn(self.partition)

    def extras(self) -> dict[str, Any]:
        """PermissionsBoundary and Tags, as the engine sets them on the users and roles it creates."""
        extras: dict[str, Any] = {}
        options = self.desired.options
        if options.permissions_boundary:
            given = options.permissions_boundary
            extras["PermissionsBoundary"] = sub(agnostic_policy_arn(given)) if self.agnostic else given
        if options.tags:
            extras["Tags"] = options.tag_list()
        return extras

    def untagged(self, what: str, always: bool = False) -> None:
        """``always``: the engine tags it even without creation tags (a policy copy, with its source's version)."""
        if always or self.desired.options.tags:
            self.notes.append(
                f"{what}: not tagged (CloudFormation has no Tags property for it; the engine tags it when it creates "
                "it)"
            )

    # -- identities ------------------------------------------------------------------------------------------------

    def render(self) -> None:
        for identity in self.desired:
            if isinstance(identity, PolicyCopy):
                self.copy_ids[identity.name] = _logical_id(identity.name)
        for identity in self.desired:
            if isinstance(identity, CredentialsRole) and identity.copies:
                self.copies_to_role = "SpotRoleName"
        for identity in self.desired:
            if isinstance(identity, _NOT_CREATED):
                self.not_created(identity)
            elif isinstance(identity, SpotUser):
                self.spot_user(identity)
            elif isinstance(identity, CredentialsRole):
                self.credentials_role(identity)
            elif isinstance(identity, ServiceRole):
                self.service_role(identity)
            elif isinstance(identity, InstanceProfile):
                self.instance_profile(identity)
            elif isinstance(identity, ServiceLinkedRole):
                self.service_linked_role(identity)
            elif isinstance(identity, PolicyCopy):
                self.policy_copy(identity)
            else:
                raise TypeError(f"no CloudFormation rendering for identity {identity!r}")
        # What the engine refuses and a pattern cannot: two of the roles under one name.
        names = [_SERVICE_ROLES[kind][1] for kind in _SERVICE_ROLES if _SERVICE_ROLES[kind][1] in self.parameters]
        pairs = [("WorkerRoleName", "FleetRoleName")] if {"WorkerRoleName", "FleetRoleName"} <= set(names) else []
        if self.copies_to_role:
            pairs += [(self.copies_to_role, name) for name in names]
        for first, second in pairs:
            self.rules[f"{remove_suffix(first, 'Name')}And{remove_suffix(second, 'Name')}Differ"] = {
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Equals": [ref(first), ref(second)]}]},
                        "AssertDescription": f"{first} and {second} must name different roles: they need different "
                        "trust policies and policies",
                    }
                ]
            }

    def not_created(self, identity: Any) -> None:
        if isinstance(identity, AccessKey):
            self.notes.append(
                f"access-key {identity.user_name}: not created (a secret does not belong in a template): the event "
                "plugin creates the key and delivers it to the Spot Event Plugin, or run `apply --secret-out FILE`; "
                "or use an existing role as the Spot credentials (--spot-role), which needs no key"
            )
        elif isinstance(identity, SpotPermissions):
            self.notes.append(
                f"spot-permissions {identity.name}: a check, nothing to create (`check` judges the permission chain)"
            )
        elif isinstance(identity, FleetGroupCheck):
            self.notes.append(f"fleet-group {identity.name}: a check of the Spot Fleet configuration, never created")
        else:
            self.notes.append(f"resource-tracker {identity.name}: a check of the Spot plugin's settings")

    def spot_user(self, identity: SpotUser) -> None:
        self.parameters["SpotUserName"] = _name_parameter(
            "The IAM user whose access key the Spot Event Plugin uses",
            identity.name,
            f"^{_NAME_CHARACTERS}+$",
            f"1-64 characters: {_IAM_NAME_RULE}",
        )
        arns = [self.managed_arn(policy) for policy in identity.policies]
        arns += [ref(self.copy_ids[policy_copy.name]) for policy_copy in identity.copies]
        self.resources["SpotUser"] = {
            "Type": "AWS::IAM::User",
            "Properties": {
                "UserName": ref("SpotUserName"),
                "Path": identity.path,
                "ManagedPolicyArns": arns,
                **self.extras(),
            },
        }
        self.outputs["SpotUserArn"] = {
            "Description": "The Spot Event Plugin's IAM user (its access key is not made here)",
            "Value": {"Fn::GetAtt": ["SpotUser", "Arn"]},
        }

    def credentials_role(self, identity: CredentialsRole) -> None:
        if identity.copies:
            self.parameters["SpotRoleName"] = _name_parameter(
                "The existing role used as the Spot credentials (not created here): the policy copies are attached "
                "to it",
                identity.name,
                f"^{_NAME_CHARACTERS}+$",
                f"1-64 characters: {_IAM_NAME_RULE}",
            )
            self.notes.append(
                f"spot-role {identity.name}: not created (an existing role; only its owner knows who may assume it); "
                "the IP-restricted policy copies are attached to it by their Roles property, so it must exist in every "
                "account the stack is deployed to"
            )
        else:
            names = ", ".join(policy.name for policy in identity.policies)
            self.notes.append(
                f"spot-role {identity.name}: not created (an existing role; only its owner knows who may assume it), "
                f"and its policies are not attached (CloudFormation cannot attach a policy to a role it does not "
                f"create): attach {names} to it, or run `apply --spot-role {identity.name}`"
            )

    def service_role(self, identity: ServiceRole) -> None:
        if identity.kind not in _SERVICE_ROLES:
            raise TypeError(f"no CloudFormation rendering for identity {identity!r}")
        logical, parameter, description, pattern, rule = _SERVICE_ROLES[identity.kind]
        if parameter in self.parameters:
            raise ValueError(f"the desired state holds two {identity.kind} identities")
        self.parameters[parameter] = _name_parameter(
            f"{description}, trusted by {identity.service}",
            identity.name,
            pattern,
            rule,
        )
        self.resources[logical] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": ref(parameter),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": identity.service}, "Action": "sts:AssumeRole"}
                    ],
                },
                "ManagedPolicyArns": [self.managed_arn(policy) for policy in identity.policies],
                # Always at "/": the AWS managed policies allow iam:PassRole on role/NAME only.
                "Path": "/",
                "Description": identity.description,
                **self.extras(),
            },
        }
        self.outputs[f"{logical}Arn"] = {
            "Description": f"The {identity.kind} ({identity.service})",
            "Value": {"Fn::GetAtt": [logical, "Arn"]},
        }

    def instance_profile(self, identity: InstanceProfile) -> None:
        self.parameters["InstanceProfileName"] = _name_parameter(
            "The worker instance profile (what a Spot Fleet launch specification names)",
            identity.name,
            f"^{_NAME_CHARACTERS}+$",
            f"1-128 characters: {_IAM_NAME_RULE}",
            128,
        )
        role = self.role_ids.get(identity.role_name.lower())
        self.resources["WorkerInstanceProfile"] = {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {
                "InstanceProfileName": ref("InstanceProfileName"),
                "Path": identity.path,
                "Roles": [ref(role) if role else identity.role_name],
            },
        }
        self.untagged(f"instance-profile {identity.name}")
        self.outputs["WorkerInstanceProfileArn"] = {
            "Description": "The worker instance profile: IamInstanceProfile.Arn of the Spot Fleet configuration",
            "Value": {"Fn::GetAtt": ["WorkerInstanceProfile", "Arn"]},
        }

    def service_linked_role(self, identity: ServiceLinkedRole) -> None:
        if not identity.create:  # the organisation creates them (--no-service-linked-roles)
            return
        if CREATE_SERVICE_LINKED_ROLES not in self.parameters:
            self.parameters[CREATE_SERVICE_LINKED_ROLES] = {
                "Type": "String",
                "Description": "Create the EC2 Spot and Spot Fleet service-linked roles. An account can hold each "
                "only once, so the stack fails where they exist already: answer false there (an account that "
                "ever used Spot has them)",
                "Default": "true",
                "AllowedValues": ["true", "false"],
            }
            self.conditions[SERVICE_LINKED_ROLES_WANTED] = {"Fn::Equals": [ref(CREATE_SERVICE_LINKED_ROLES), "true"]}
        self.resources[f"ServiceLinkedRole{_logical_id(remove_prefix(identity.name, 'AWSServiceRoleFor'))}"] = {
            "Type": "AWS::IAM::ServiceLinkedRole",
            "Condition": SERVICE_LINKED_ROLES_WANTED,
            # Kept when the stack goes: every Spot request of the account needs it, as the engine never deletes it.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"AWSServiceName": identity.service},
        }

    def policy_copy(self, identity: PolicyCopy) -> None:
        document = self.sources.get(identity.source.name)
        if document is None:
            raise InvalidSettings(
                f"the IP-restricted copy {identity.name} needs the document of AWS managed policy "
                f"{identity.source.name} (read it from IAM)"
            )
        restricted = restricted_copy(identity, PolicyInfo("", "", document))
        properties: dict[str, Any] = {
            "ManagedPolicyName": identity.name,
            "Path": identity.path,
            "Description": f"{identity.source.name}, allowed only from the RCS/Pulse machines' addresses",
            "PolicyDocument": _tokenized_document(restricted, self.partition) if self.agnostic else restricted,
        }
        if self.copies_to_role:
            properties["Roles"] = [ref(self.copies_to_role)]
        self.resources[self.copy_ids[identity.name]] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": properties}
        self.notes.append(
            f"policy-copy {identity.name}: {identity.source.name} as it was when this template was rendered, allowed "
            f"only from {', '.join(identity.allowed_source_ips)}; `check` reports it once AWS publishes a newer "
            "version (render the template again and update the stack: the copy carries no record of the version it "
            "was made from, so `apply` leaves it to you)"
        )
        self.untagged(f"policy-copy {identity.name}", always=True)

    # -- the whole -------------------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        description = (
            f"IAM identities of the Deadline Spot Event Plugin (DeadlineSpotIamSetup {__version__}). No access key: "
            "the event plugin creates and delivers it, or use an existing role as the Spot credentials."
        )
        if any(isinstance(identity, CredentialsRole) for identity in self.desired):
            description += " The Spot credentials role is not created: see Metadata."
        if CREATE_SERVICE_LINKED_ROLES in self.parameters:
            description += f" Where the Spot service-linked roles exist, set {CREATE_SERVICE_LINKED_ROLES}=false."
        template: dict[str, Any] = {
            "AWSTemplateFormatVersion": FORMAT_VERSION,
            "Description": description,
            "Metadata": {"DeadlineSpotIamSetup": {"Version": __version__, "NotInTemplate": self.notes}},
            "Parameters": self.parameters,
        }
        if self.rules:
            template["Rules"] = self.rules
        if self.conditions:
            template["Conditions"] = self.conditions
        template["Resources"] = self.resources
        if self.outputs:
            template["Outputs"] = self.outputs
        return template


def template(
    desired: DesiredState,
    sources: Mapping[str, dict] | None = None,
    *,
    partition_agnostic: bool = True,
    partition: str = "aws",
) -> dict[str, Any]:
    """A CloudFormation template creating the identities the engine would create for ``desired``.

    ``sources``: the AWS managed policies' documents by name, read in ``partition`` (needed only in the IP-restricted
    mode: the copies embed them, restricted as the engine restricts them). ``partition_agnostic``: ARNs name
    ``${AWS::Partition}`` (and a permissions boundary ``${AWS::AccountId}``), so the template fits every account and
    partition of a StackSet; False: ARNs as written in ``partition``, the boundary as given.
    An identity this renderer does not know is a TypeError, never skipped.
    """
    rendering = _Template(desired, sources or {}, partition_agnostic, partition)
    rendering.render()
    return rendering.document()


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
        "Parameters": {
            "BootstrapRoleName": _name_parameter(
                "The bootstrap role's name",
                BOOTSTRAP_ROLE_DEFAULT,
                f"^{_NAME_CHARACTERS}+$",
                f"1-64 characters: {_IAM_NAME_RULE}",
            )
        },
        "Resources": resources,
        "Outputs": {
            "BootstrapRoleArn": {
                "Description": "Give it to --role-arn, or to the event plugin's Assume Role ARN",
                "Value": {"Fn::GetAtt": ["BootstrapRole", "Arn"]},
            }
        },
    }


# -- YAML ------------------------------------------------------------------------------------------------------------

# Plain scalars YAML 1.1 reads as something other than a string.
_YAML_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
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


def _block(value: dict | list, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines += _block(item, indent + 2)
            else:
                lines.append(f"{pad}{_key(key)}: {_scalar(item)}")
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

"""The Spot Event Plugin's Spot Fleet Request Configurations (one EC2 SpotFleetRequestConfig per Deadline group):
parsed, refusing malformed input with one line naming where it breaks, and audited against the managed fleet role
and instance profile. Pure: the caller looks up the instance profiles and launch templates and passes what it found.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .errors import InvalidSettings
from .values import ProfileInfo

MAX_CONFIG_BYTES = 1_000_000  # far above any real configuration; bounds the memory a pasted text can take
SPOT_ADMIN_POLICY_NAME = "AWSThinkboxDeadlineSpotEventPluginAdminPolicy"
_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")  # IAM's name pattern (64 for roles, 128 for instance profiles)
_ACCOUNT = re.compile(r"[0-9]{12}")
_SHOWN_LENGTH = 120
_APPLY_CREATES = "apply this tool's setup: it creates the managed instance profile"
_APPLY_ADDS = "apply this tool's setup: it adds the worker role to the managed instance profile"


@dataclass(frozen=True)
class ProfileRef:
    """An IamInstanceProfile; ``where`` is its place in the group: ``LaunchSpecifications[0].IamInstanceProfile``."""

    where: str
    arn: str | None
    name: str | None  # the Name field, or the name taken from the ARN's last path segment

    @property
    def profile_name(self) -> str | None:
        """The instance profile's name: ``name``, else the last path segment of an instance profile ARN."""
        return self.name if self.name is not None else _arn_name(self.arn or "")


@dataclass(frozen=True)
class TemplateRef:
    """A LaunchTemplateSpecification. Equal (and hashed) by template and version only, not by ``where``."""

    where: str = field(compare=False)
    template_id: str | None
    template_name: str | None
    version: str = "$Default"

    def describe(self) -> str:
        return f"launch template {_show(self.template_id or self.template_name or '')} version {_show(self.version)}"


@dataclass(frozen=True)
class LaunchSpec:
    """What a LaunchSpecification names that IAM authorizes the launch on (EC2's SpotFleetLaunchSpecification: ImageId,
    InstanceType, SubnetId "To specify multiple subnets, separate them using commas", SecurityGroups, KeyName).
    Read leniently: a field of another type is left out, and EC2 refuses it when the fleet is requested."""

    where: str  # "LaunchSpecifications[0]"
    image_id: str | None = None
    instance_type: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    key_name: str | None = None


@dataclass(frozen=True)
class FleetGroup:
    name: str  # the Deadline group
    fleet_role_arn: str | None
    profiles: tuple[ProfileRef, ...]
    specs_without_profile: tuple[str, ...]  # "LaunchSpecifications[1]"
    templates: tuple[TemplateRef, ...]
    launch_specs: tuple[LaunchSpec, ...] = ()


# A role ARN -> None when the Spot credentials may pass it to EC2, else why not (one clause, e.g. "the Spot
# credentials may not pass it to EC2 (iam:PassRole): explicitly denied by ...").
RoleJudge = typing.Callable[[str], typing.Optional[str]]  # noqa: UP006, UP007, UP045 -- evaluated at run time (3.7)


@dataclass(frozen=True)
class FleetExpectations:
    """What the audit compares a group with. ``may_pass`` judges each role the group names by the Spot credentials'
    own policies (the permission chain); without it (the credentials' policies are not known), a role is judged by
    the names the AWS managed policy allows iam:PassRole on: the managed fleet role, and worker roles beginning with
    ``worker_role_prefix``."""

    partition: str
    account: str
    fleet_role: str  # the managed fleet role's name
    instance_profile: str  # the managed instance profile's name
    worker_role_prefix: str
    may_pass: RoleJudge | None = None


@dataclass(frozen=True)
class GroupProblem:
    problem: str
    remedy: str
    unchecked: bool = False  # the reference could not be checked (it is not known to be wrong)


# The instance profile a launch template version names; a str says why it could not be read; None: it names none.
TemplateLookup = Optional[Union[ProfileRef, str]]


def _show(value: str) -> str:
    """A value from the configuration, fit for a one-line message."""
    if len(value) > _SHOWN_LENGTH:
        value = value[:_SHOWN_LENGTH] + "..."
    return value if value and value.isprintable() else repr(value)


def _one_line(text: str) -> str:
    """A message from elsewhere (a reason, an exception), on one line."""
    return " ".join(text.split()) or "no reason given"


def _arn_name(arn: str) -> str | None:
    """``arn:aws:iam::123456789012:instance-profile/a/b/Name`` → ``Name``; None for any other ARN."""
    resource = arn.split(":", 5)[-1]
    return resource.rsplit("/", 1)[-1] if resource.startswith("instance-profile/") else None


# -- parsing -----------------------------------------------------------------------------------------------------


class _Object(typing.Dict[str, Any]):  # noqa: UP006 -- a base class, made at run time (Python 3.7)
    duplicates: tuple[str, ...] = ()  # the keys given more than once (the last value wins, as in Deadline)


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) < len(pairs):
        keys = [key for key, _ in pairs]
        result.duplicates = tuple(dict.fromkeys(key for i, key in enumerate(keys) if key in keys[:i]))
    return result


def _optional_str(obj: dict[str, Any], key: str, at: str, what: str = "a string") -> str | None:
    value = obj.get(key)
    if key in obj and not isinstance(value, str):
        raise InvalidSettings(f"{at}{key} must be {what}")
    return value


def _json_object(value: Any, group: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidSettings(f"{group}: {where} is not a JSON object")
    return value


def _entries(config: dict[str, Any], key: str, group: str) -> Iterator[tuple[str, dict[str, Any]]]:
    entries = config.get(key, [])
    if not isinstance(entries, list):
        raise InvalidSettings(f"{group}: {key} must be a JSON array")
    for index, entry in enumerate(entries):
        yield f"{key}[{index}]", _json_object(entry, group, f"{key}[{index}]")


def _parse_group(name: str, config: Any, source: str) -> FleetGroup:
    group = f"{source}: group {name!r}"
    if not isinstance(config, dict):
        raise InvalidSettings(f"{group} is not a JSON object")
    fleet_role = _optional_str(config, "IamFleetRole", f"{group}: ", "a string (an IAM role ARN)")
    profiles: list[ProfileRef] = []
    without: list[str] = []
    specs: list[LaunchSpec] = []
    for where, entry in _entries(config, "LaunchSpecifications", group):
        specs.append(_launch_spec(where, entry))
        if "IamInstanceProfile" not in entry:
            without.append(where)
            continue
        where += ".IamInstanceProfile"
        spec, at = _json_object(entry["IamInstanceProfile"], group, where), f"{group}: {where}."
        arn, profile = _optional_str(spec, "Arn", at) or None, _optional_str(spec, "Name", at) or None
        if arn is None and profile is None:
            raise InvalidSettings(f"{group}: {where} needs an Arn or a Name")
        profiles.append(ProfileRef(where, arn, profile if profile is not None else _arn_name(arn or "")))
    templates: list[TemplateRef] = []
    for where, entry in _entries(config, "LaunchTemplateConfigs", group):
        if "LaunchTemplateSpecification" not in entry:
            raise InvalidSettings(f"{group}: {where} needs a LaunchTemplateSpecification")
        where += ".LaunchTemplateSpecification"
        spec, at = _json_object(entry["LaunchTemplateSpecification"], group, where), f"{group}: {where}."
        template_id = _optional_str(spec, "LaunchTemplateId", at) or None
        template_name = _optional_str(spec, "LaunchTemplateName", at) or None
        if template_id is None and template_name is None:
            raise InvalidSettings(f"{group}: {where} needs a LaunchTemplateId or a LaunchTemplateName")
        version = _optional_str(spec, "Version", at) or "$Default"
        templates.append(TemplateRef(where, template_id, template_name, version))
    return FleetGroup(name, fleet_role, tuple(profiles), tuple(without), tuple(templates), tuple(specs))


def _text_field(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _launch_spec(where: str, entry: dict[str, Any]) -> LaunchSpec:
    subnets = _text_field(entry, "SubnetId")
    groups = entry.get("SecurityGroups")
    group_ids = [g.get("GroupId") for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []
    return LaunchSpec(
        where,
        _text_field(entry, "ImageId"),
        _text_field(entry, "InstanceType"),
        tuple(s.strip() for s in subnets.split(",") if s.strip()) if subnets else (),
        tuple(g.strip() for g in group_ids if isinstance(g, str) and g.strip()),
        _text_field(entry, "KeyName"),
    )


def parse_fleet_config(text: str, source: str) -> tuple[FleetGroup, ...]:
    """Parse the Spot Fleet Request Configurations; ``source`` names them in every refusal. Empty text: no fleet."""
    if len(text) > MAX_CONFIG_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise InvalidSettings(f"{source}: larger than {MAX_CONFIG_BYTES // 1_000_000} MB, which no fleet config needs")
    if not text.strip():
        return ()
    try:
        data = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise InvalidSettings(f"{source}: not valid JSON at {where}: {error.msg}") from None
    except RecursionError:
        raise InvalidSettings(f"{source}: not usable JSON: nested too deeply") from None
    except ValueError as error:  # e.g. a number longer than Python's limit on integer digits
        raise InvalidSettings(f"{source}: not usable JSON: {_one_line(str(error))}") from None
    if not isinstance(data, _Object):  # every JSON object is read as one (object_pairs_hook)
        raise InvalidSettings(f"{source}: must be a JSON object with one entry per Deadline group")
    if data.duplicates:
        name = data.duplicates[0]
        raise InvalidSettings(f"{source}: group {name!r} appears twice: Deadline would use only one of them")
    return tuple(_parse_group(name, config, source) for name, config in data.items())


def referenced_profile_names(groups: Iterable[FleetGroup]) -> tuple[str, ...]:
    """The valid instance profile names the groups refer to, each once (IAM names ignore case), in order."""
    names: dict[str, str] = {}
    for group in groups:
        for ref in group.profiles:
            name = ref.profile_name
            if name is not None and _NAME.fullmatch(name):
                names.setdefault(name.lower(), name)
    return tuple(names.values())


def referenced_templates(groups: Iterable[FleetGroup]) -> tuple[TemplateRef, ...]:
    """The launch template versions the groups refer to, each once, in order."""
    return tuple(dict.fromkeys(ref for group in groups for ref in group.templates))


# -- the audit ---------------------------------------------------------------------------------------------------


def expected_fleet_role_arn(expect: FleetExpectations) -> str:
    return f"arn:{expect.partition}:iam::{expect.account}:role/{expect.fleet_role}"


def expected_profile_arn(expect: FleetExpectations) -> str:
    return f"arn:{expect.partition}:iam::{expect.account}:instance-profile/{expect.instance_profile}"


def _arn_problem(arn: str, resource_type: str, expect: FleetExpectations) -> str | None:
    """Why ``arn`` cannot name this account's IAM ``resource_type`` (``role`` or ``instance-profile``), or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1]:
        return "is not an ARN"
    _, partition, service, region, account, resource = parts
    kind, *segments = resource.split("/")
    names_ok = bool(segments) and all(_NAME.fullmatch(segment) for segment in segments)
    if (service, region, kind) != ("iam", "", resource_type) or not _ACCOUNT.fullmatch(account) or not names_ok:
        label = "role" if resource_type == "role" else "instance profile"
        return f"is not an IAM {label} ARN (arn:{expect.partition}:iam::{expect.account}:{resource_type}/NAME)"
    if partition != expect.partition:
        return f"is in partition {_show(partition)}, not {expect.partition}"
    if account != expect.account:
        return f"names account {account}, not this account {expect.account}"
    return None


def _audit_fleet_role(arn: str | None, expect: FleetExpectations) -> GroupProblem | None:
    remedy = f"set IamFleetRole to {expected_fleet_role_arn(expect)}"
    if arn is None:
        return GroupProblem("IamFleetRole is missing: Spot Fleet needs a role to launch and tag instances", remedy)
    why = _arn_problem(arn, "role", expect)
    if why is None and expect.may_pass is not None:
        # Any role the Spot credentials may pass will do (aws/aws-rfdk names its fleet roles by CDK and grants
        # iam:PassRole on exactly those): the chain judges it, asked about the ARN as written, path included.
        why = expect.may_pass(arn)
        if why is not None:
            if arn.rsplit("/", 1)[-1].lower() == expect.fleet_role.lower() and arn.count("/") > 1:
                why += " (the role is under a path; the managed fleet role is at path /)"
            remedy = f"{_grant_pass(arn)}, or {remedy}"
    elif why is None:
        name = arn.rsplit("/", 1)[-1]
        if name.lower() != expect.fleet_role.lower():
            why = f"names role {name}, not the managed fleet role {expect.fleet_role}"
        elif arn.lower() != expected_fleet_role_arn(expect).lower():
            why = f"names role {name} under a path: the managed fleet role is at path /"
    return None if why is None else GroupProblem(f"IamFleetRole {_show(arn)}: {why}", remedy)


def _role_arn(info: ProfileInfo, index: int) -> str:
    """The ARN of the instance profile's ``index``-th role (IAM's answer; else at path /, in the profile's account)."""
    if index < len(info.role_arns):
        return info.role_arns[index]
    head = info.arn.split(":instance-profile/", 1)[0]
    return f"{head}:role/{info.role_names[index]}"


def _grant_pass(role_arn: str) -> str:
    return (
        f"make sure the Spot credentials may pass {_show(role_arn)} to EC2 (iam:PassRole, iam:PassedToService "
        "ec2.amazonaws.com)"
    )


def _refused_roles(info: ProfileInfo, expect: FleetExpectations) -> list[tuple[str, str, str | None]]:
    """(role name, why the Spot credentials may not pass it to EC2, its ARN when the chain judged it) for each role
    they may not pass."""
    prefix = expect.worker_role_prefix
    restriction = f"{SPOT_ADMIN_POLICY_NAME} allows iam:PassRole only on role/{prefix}*"
    if expect.may_pass is None:
        return [(role, restriction, None) for role in info.role_names if not role.startswith(prefix)]
    refused: list[tuple[str, str, str | None]] = []
    for index, role in enumerate(info.role_names):
        arn = _role_arn(info, index)
        why = expect.may_pass(arn)
        if why is not None:
            if "not allowed by any attached policy" in why and not role.startswith(prefix):
                why += f"; {restriction}"
            refused.append((role, why, arn))
    return refused


def _audit_profile(
    ref: ProfileRef, at: str, fix: str, expect: FleetExpectations, profiles: Mapping[str, ProfileInfo | None]
) -> GroupProblem | None:
    """``at`` starts the message; the remedy is ``fix`` followed by the managed instance profile's ARN."""
    expected, prefix = expected_profile_arn(expect), expect.worker_role_prefix
    shown, fixed = _show(ref.arn or ref.name or ""), f"{fix} {expected}"

    def problem(why: str, remedy: str = fixed, unchecked: bool = False) -> GroupProblem:
        return GroupProblem(f"{at} {shown}: {why}", remedy, unchecked)

    if ref.arn is not None:
        why = _arn_problem(ref.arn, "instance-profile", expect)
        if why is not None:
            return problem(why)
    name = ref.profile_name or ""
    if not _NAME.fullmatch(name):
        return problem("is not a valid instance profile name (letters, digits and +=,.@_-)")
    if ref.arn is not None and ref.name is not None and ref.name.lower() != (_arn_name(ref.arn) or "").lower():
        return problem(f"Arn and Name {_show(ref.name)} name different instance profiles")
    found = {key.lower(): info for key, info in profiles.items()}
    if name.lower() not in found:
        check = f"check that instance profile {_show(name)} holds a role whose name begins with {prefix}"
        return problem("not checked: the instance profile was not looked up", check, True)
    info, managed = found[name.lower()], name.lower() == expect.instance_profile.lower()
    if info is None:
        return problem("does not exist in IAM", _APPLY_CREATES if managed else fixed)
    if ref.arn is not None and ref.arn.lower() != info.arn.lower():
        return problem(f"IAM holds this instance profile as {_show(info.arn)}", f"{fix} {_show(info.arn)}")
    if not info.role_names:
        return problem("has no role: workers start without credentials", _APPLY_ADDS if managed else fixed)
    refused = _refused_roles(info, expect)
    if refused:
        role, reason, role_arn = refused[0]
        remove = f"remove role {_show(role)} from instance profile {name}, then apply this tool's setup"
        remedy = remove if managed else fixed
        return problem(
            f"holds role {_show(role)}: {reason}", f"{_grant_pass(role_arn)}, or {remedy}" if role_arn else remedy
        )
    return None


def audit_group(
    group: FleetGroup,
    expect: FleetExpectations,
    profiles: Mapping[str, ProfileInfo | None],
    templates: Mapping[TemplateRef, TemplateLookup],
) -> list[GroupProblem]:
    """What keeps ``group`` from launching workers with the managed identities: one problem per reference.

    ``profiles``: what IAM holds by instance profile name (None: no such profile; a name left out was not looked
    up). ``templates``: the instance profile each launch template version names (see :data:`TemplateLookup`).
    """
    expected = expected_profile_arn(expect)
    found = [_audit_fleet_role(group.fleet_role_arn, expect)]
    if not (group.profiles or group.specs_without_profile or group.templates):
        why = "no LaunchSpecifications and no LaunchTemplateConfigs: Spot Fleet has nothing to launch"
        found.append(GroupProblem(why, f"add a launch specification whose IamInstanceProfile Arn is {expected}"))
    for ref in group.profiles:
        fix = f"set {ref.where}.Arn to" if ref.arn is not None else f"replace {ref.where}.Name with Arn"
        found.append(_audit_profile(ref, ref.where, fix, expect, profiles))
    for where in group.specs_without_profile:
        why = f"{where} has no IamInstanceProfile: workers would start without the worker role"
        found.append(GroupProblem(why, f"set {where}.IamInstanceProfile.Arn to {expected}"))
    for template in group.templates:
        at = f"{template.where}: {template.describe()}"
        fix = "use a version of the launch template whose IamInstanceProfile is"
        lookup = templates.get(template, "the launch template version was not looked up")
        if isinstance(lookup, str):
            check = f"check that its instance profile holds a role whose name begins with {expect.worker_role_prefix}"
            found.append(GroupProblem(f"{at} not checked: {_one_line(lookup)}", check, True))
        elif lookup is None:
            why = "names no instance profile: workers would start without the worker role"
            found.append(GroupProblem(f"{at} {why}", f"{fix} {expected}"))
        else:
            found.append(_audit_profile(lookup, f"{at}: instance profile", fix, expect, profiles))
    return [problem for problem in found if problem is not None]

"""The desired state: plain, frozen data describing every IAM identity the Spot Event Plugin needs.

Built from :class:`Settings` by :func:`desired_state`, which refuses invalid input before any AWS call.
Nothing here talks to AWS, so the same data can be checked, planned, applied or rendered (bootstrap policy).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Union

from .compat import remove_prefix
from .errors import InvalidSettings
from .fleet_config import FleetGroup
from .kinds import Kind
from .waits import KEY_MAX_AGE_DAYS

# The prefixes the AWS managed policies allow iam:PassRole / iam:GetRole on. A role named otherwise cannot
# be used by the Spot Event Plugin or the Resource Tracker, however correct it is otherwise.
WORKER_ROLE_PREFIX = "DeadlineSpot"
FLEET_ROLE_DEFAULT = "aws-ec2-spot-fleet-tagging-role"
TRACKER_ROLE_PREFIX = "DeadlineResourceTrackerAccess"


@dataclass(frozen=True)
class ManagedPolicy:
    """An AWS managed policy, named independently of the partition (``arn:<partition>:iam::aws:policy...``)."""

    name: str
    path: str = "/"

    def arn(self, partition: str) -> str:
        return f"arn:{partition}:iam::aws:policy{self.path}{self.name}"

    def matches(self, arn: str) -> bool:
        """True when ``arn`` names this policy in any partition."""
        parts = arn.split(":", 5)
        return len(parts) == 6 and parts[2:5] == ["iam", "", "aws"] and parts[5] == f"policy{self.path}{self.name}"


SPOT_ADMIN_POLICY = ManagedPolicy("AWSThinkboxDeadlineSpotEventPluginAdminPolicy")
TRACKER_ADMIN_POLICY = ManagedPolicy("AWSThinkboxDeadlineResourceTrackerAdminPolicy")
WORKER_POLICY = ManagedPolicy("AWSThinkboxDeadlineSpotEventPluginWorkerPolicy")
FLEET_TAGGING_POLICY = ManagedPolicy("AmazonEC2SpotFleetTaggingRole", "/service-role/")
TRACKER_ACCESS_POLICY = ManagedPolicy("AWSThinkboxDeadlineResourceTrackerAccessPolicy")

# Service-linked roles have fixed names chosen by AWS.
SERVICE_LINKED_ROLES = (
    ("AWSServiceRoleForEC2Spot", "spot.amazonaws.com"),
    ("AWSServiceRoleForEC2SpotFleet", "spotfleet.amazonaws.com"),
)


@dataclass(frozen=True)
class PolicyCopy:
    """A customer managed copy of an AWS managed policy, every Allow statement restricted to the allowed source
    IPs (the IP-restricted mode). Kept up to date with the AWS managed policy's default version."""

    kind: ClassVar[Kind] = Kind.POLICY_COPY
    name: str
    source: ManagedPolicy
    allowed_source_ips: tuple[str, ...]
    path: str = "/"

    def arn(self, partition: str, account: str) -> str:
        return f"arn:{partition}:iam::{account}:policy{self.path}{self.name}"

    def matches(self, arn: str) -> bool:
        """True when ``arn`` names this copy, in any partition and account."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] == "aws":
            return False
        return parts[5] == f"policy{self.path}{self.name}"


def copy_name(policy: ManagedPolicy) -> str:
    """``AWSThinkboxDeadlineSpotEventPluginAdminPolicy`` → ``DeadlineSpotEventPluginAdminPolicy-SourceIp``."""
    return remove_prefix(policy.name, "AWSThinkbox") + "-SourceIp"


@dataclass(frozen=True)
class SpotUser:
    """The IAM user whose access key the Spot Event Plugin uses.

    ``policies`` are the AWS managed policies to attach. In the IP-restricted mode they are empty, ``copies`` are
    attached instead, and the AWS managed policies they replace (``replaced``) must not stay attached.
    """

    kind: ClassVar[Kind] = Kind.SPOT_USER
    name: str
    policies: tuple[ManagedPolicy, ...]
    path: str = "/"
    copies: tuple[PolicyCopy, ...] = ()
    replaced: tuple[ManagedPolicy, ...] = ()


@dataclass(frozen=True)
class AccessKey:
    """One active programmatic access key of the Spot user."""

    kind: ClassVar[Kind] = Kind.ACCESS_KEY
    user_name: str
    max_age_days: int = KEY_MAX_AGE_DAYS  # older is due for rotation; 0: any age

    @property
    def name(self) -> str:
        return self.user_name


@dataclass(frozen=True)
class CredentialsRole:
    """An existing role (e.g. the RCS machine's instance role) used as Spot credentials instead of a user.

    It is never created: only its trust owner knows who should assume it. Missing policies are attached.
    """

    kind: ClassVar[Kind] = Kind.SPOT_ROLE
    name: str
    policies: tuple[ManagedPolicy, ...]
    copies: tuple[PolicyCopy, ...] = ()
    replaced: tuple[ManagedPolicy, ...] = ()


@dataclass(frozen=True)
class ServiceRole:
    """A role assumed by an AWS service (EC2 for workers, Spot Fleet, Lambda for the Resource Tracker)."""

    kind: Kind  # WORKER_ROLE, FLEET_ROLE or TRACKER_ROLE
    name: str
    service: str
    policies: tuple[ManagedPolicy, ...]
    description: str = ""


@dataclass(frozen=True)
class InstanceProfile:
    kind: ClassVar[Kind] = Kind.INSTANCE_PROFILE
    name: str
    role_name: str
    path: str = "/"


@dataclass(frozen=True)
class ServiceLinkedRole:
    """One of the Spot services' service-linked roles. ``create`` False: the organisation creates it centrally (an
    SCP often refuses iam:CreateServiceLinkedRole to everyone else), so it is never created here, and while it is
    missing it is expected from the organisation, not a problem."""

    kind: ClassVar[Kind] = Kind.SERVICE_LINKED_ROLE
    name: str
    service: str
    create: bool = True


@dataclass(frozen=True)
class SpotPermissions:
    """What the Spot credentials (user or role ``name``) must be allowed for the Spot Event Plugin to start fleets:
    judged from their policy documents, for the configured names."""

    kind: ClassVar[Kind] = Kind.PERMISSIONS
    name: str
    principal: str  # "user" or "role"
    worker_role: str
    fleet_role: str
    instance_profile: str
    tracker_role: str | None  # None: no Resource Tracker
    policies: tuple[str, ...]  # the managed policies' names the setup attaches (AWS managed, or the copies)
    aws_managed: tuple[str, ...] = ()  # those of them that are AWS managed (their documents are read at once)
    region: str | None = None  # the region the Spot Event Plugin starts fleets in (None: the check's region)
    source_ips: tuple[str, ...] | None = None  # the IP-restricted mode's networks: where the plugin calls from
    # False: the organisation creates the Spot service-linked roles, so the Spot credentials need not be allowed to
    service_linked_roles: bool = True


@dataclass(frozen=True)
class FleetGroupCheck:
    """One group of the Spot Event Plugin's Spot Fleet configuration, audited against the identities set up here.
    Only read and reported: the fleet configuration is the admin's, never edited."""

    kind: ClassVar[Kind] = Kind.FLEET_GROUP
    group: FleetGroup
    fleet_role: str
    instance_profile: str
    credentials: SpotPermissions | None = None  # whose permission chain judges the group's roles and calls

    @property
    def name(self) -> str:
        return self.group.name


@dataclass(frozen=True)
class TrackerInUse:
    """The Spot Event Plugin's Use Resource Tracker is on while this setup leaves the Resource Tracker out."""

    kind: ClassVar[Kind] = Kind.TRACKER_IN_USE
    name: str  # the Resource Tracker role's name


Identity = Union[
    SpotUser,
    AccessKey,
    CredentialsRole,
    ServiceRole,
    InstanceProfile,
    ServiceLinkedRole,
    PolicyCopy,
    SpotPermissions,
    FleetGroupCheck,
    TrackerInUse,
]


@dataclass(frozen=True)
class CreationOptions:
    """Applied to what the engine creates; existing identities are never rewritten for these."""

    permissions_boundary: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in self.tags]


@dataclass(frozen=True)
class DesiredState:
    identities: tuple[Identity, ...]
    options: CreationOptions = field(default_factory=CreationOptions)

    def __iter__(self) -> Iterator[Identity]:
        return iter(self.identities)

    def of_kind(self, kind: Kind) -> tuple[Identity, ...]:
        return tuple(identity for identity in self.identities if identity.kind == kind)

    @property
    def access_key(self) -> AccessKey:
        """The Spot user's access key (a desired state with a Spot user has one)."""
        [key] = [identity for identity in self.identities if isinstance(identity, AccessKey)]
        return key


@dataclass(frozen=True)
class Settings:
    """What a front end (command line or event plugin) asks for. Every name is configurable."""

    spot_user: str = "DeadlineSpotEventPluginAdmin"
    spot_role: str | None = None  # use this existing role as Spot credentials instead of a user
    access_key: bool = True  # the Spot user needs an access key
    worker_role: str = "DeadlineSpotWorker"
    instance_profile: str | None = None  # default: the worker role's name
    fleet_role: str = FLEET_ROLE_DEFAULT
    tracker_role: str = "DeadlineResourceTrackerAccessRole"
    resource_tracker: bool = True
    # False where the organisation creates the EC2 Spot and Spot Fleet service-linked roles centrally: they are never
    # created, and while they are missing they are reported as expected from the organisation, not as a problem.
    service_linked_roles: bool = True
    path: str = "/"
    permissions_boundary: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    # The IP-restricted mode: CIDRs the Spot credentials may be used from (None: the AWS managed policies as they
    # are). An empty tuple was given and is refused.
    allowed_source_ips: tuple[str, ...] | None = None
    # A list of allowed source IPs that matches every address (0.0.0.0/0, ::/0) is refused unless this says it is meant.
    allow_any_address: bool = False
    # The access key's age limit in days: older is reported as due for rotation. 0: no limit.
    key_max_age_days: int = KEY_MAX_AGE_DAYS
    # The Spot Event Plugin's own configuration, when it is known: its Spot Fleet groups are audited, and its Use
    # Resource Tracker is compared with ``resource_tracker``.
    fleet_groups: tuple[FleetGroup, ...] = ()
    spot_uses_resource_tracker: bool = False
    # The region the Spot Event Plugin starts its fleets in (its Region setting); None: the region the check uses.
    spot_region: str | None = None


class _Pattern:
    """A regular expression compiled on its first use: a command that validates no such value does not pay for it."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def fullmatch(self, text: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.fullmatch(text)


# IAM's own patterns, ASCII only; always used with fullmatch (a "$" would accept a trailing newline).
_NAME = _Pattern(r"[A-Za-z0-9+=,.@_-]+")
_PATH = _Pattern(r"/|/[\x21-\x7e]+/")
_PARTITION = r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?"
# An ARN's path has non-empty segments; [0-9], not \d, which would accept any script's digits.
_SEGMENT = r"[A-Za-z0-9+=,.@_-]+"
_POLICY_ARN = _Pattern(
    _PARTITION + r":iam::(?:[0-9]{12}|aws):policy/(?:" + _SEGMENT + r"/)*[A-Za-z0-9+=,.@_-]{1,128}"
)
_ROLE_ARN = _Pattern(_PARTITION + r":iam::[0-9]{12}:role/(?:" + _SEGMENT + r"/)*[A-Za-z0-9+=,.@_-]{1,64}")
MAX_KEY_AGE_DAYS = 3650
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"  # the role AWS Organizations creates in the accounts it makes
_MAX_ARN_LENGTH = 2048  # IAM's limit for an ARN parameter
_ACCOUNT_ID = _Pattern(r"[0-9]{12}")
_EXTERNAL_ID = _Pattern(r"[A-Za-z0-9+=,.@:/_-]{2,1224}")
# IAM API Reference, the Tag data type: Key 1-128 and Value 0-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@], that is
# letters, separators (spaces) and numbers of any script, and these seven characters.
_TAG_PUNCTUATION = "_.:/=+-@"
_TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @ (IAM's Tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@])"
_MAX_TAG_KEY, _MAX_TAG_VALUE = 128, 256
_REGION = _Pattern(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")


def same_iam_name(first: str, second: str) -> bool:
    """IAM names (users, roles, instance profiles, policies) are unique regardless of case."""
    return first.lower() == second.lower()


def name_problems(label: str, name: str, max_length: int = 64) -> list[str]:
    if not name:
        return [f"{label} is empty"]
    if len(name) > max_length or not _NAME.fullmatch(name):
        return [f"{label} {name!r} is not a valid IAM name (1-{max_length} characters: letters, digits and +=,.@_-)"]
    return []


def validate_role_arn(arn: str) -> str:
    if len(arn) > _MAX_ARN_LENGTH or not _ROLE_ARN.fullmatch(arn):
        raise InvalidSettings(f"role ARN {arn!r} is not valid: expected arn:aws:iam::123456789012:role/NAME")
    return arn


def validate_external_id(external_id: str) -> str:
    if not _EXTERNAL_ID.fullmatch(external_id):
        raise InvalidSettings("external ID is not valid: 2-1224 characters: letters, digits and +=,.@:/-")
    return external_id


def validate_account_id(account: str) -> str:
    if not _ACCOUNT_ID.fullmatch(account):
        raise InvalidSettings(f"account {account!r} is not a 12-digit AWS account ID")
    return account


def is_policy_arn(arn: str) -> bool:
    return len(arn) <= _MAX_ARN_LENGTH and _POLICY_ARN.fullmatch(arn) is not None


def validate_assume_role(role_arn: str | None, external_id: str | None, role_option: str, external_option: str) -> None:
    """Options for assuming a role first; the option names are the front end's own (flag or setting). None
    means "not given"; an empty string was given and is refused (it would silently mean "no role")."""
    if role_arn is not None:
        if not role_arn:
            raise InvalidSettings(f"{role_option} is empty: give a role ARN or leave the option out")
        validate_role_arn(role_arn)
    if external_id is not None:
        if not external_id:
            raise InvalidSettings(f"{external_option} is empty: give the external ID or leave the option out")
        if not role_arn:
            raise InvalidSettings(f"{external_option} goes with {role_option}")
        validate_external_id(external_id)


def _refused_character(text: str) -> str | None:
    """The first character of ``text`` IAM's Tag pattern refuses, as shown in a message; None: all allowed."""
    import unicodedata  # only when a tag is given

    for character in text:
        if unicodedata.category(character)[0] not in "LNZ" and character not in _TAG_PUNCTUATION:
            return repr(character) if character.isprintable() else f"U+{ord(character):04X}"
    return None


def tag_problems(key: str, value: str) -> list[str]:
    """What IAM would refuse in one tag, each naming the tag, the rule and, for a character, which one."""
    problems = []
    if not key:
        problems.append(f"a tag key is empty (IAM: 1-{_MAX_TAG_KEY} characters)")
    elif len(key) > _MAX_TAG_KEY:
        problems.append(f"tag key {key[:20]!r}... is {len(key)} characters: IAM allows at most {_MAX_TAG_KEY}")
    elif key.lower().startswith("aws:"):
        problems.append(f"tag key {key!r} begins with aws:, which AWS reserves for its own tags")
    refused = _refused_character(key)
    if refused:
        problems.append(f"tag key {key!r} has {refused}, which IAM does not allow in a tag key: {_TAG_CHARACTERS}")
    if len(value) > _MAX_TAG_VALUE:
        problems.append(f"tag value for {key!r} is {len(value)} characters: IAM allows at most {_MAX_TAG_VALUE}")
    refused = _refused_character(value)
    if refused:
        problems.append(
            f"tag value for {key!r} has {refused}, which IAM does not allow in a tag value: {_TAG_CHARACTERS}"
        )
    return problems


def parse_tag(text: str) -> tuple[str, str]:
    """Parse ``KEY=VALUE`` (the value may be empty)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InvalidSettings(f"tag {text!r} is not KEY=VALUE")
    return key, value


def _settings_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    if settings.allowed_source_ips is not None:
        from .source_ip import parse_source_ips  # the IP-restricted mode alone needs it

        try:
            parse_source_ips(settings.allowed_source_ips, allow_any=settings.allow_any_address)
        except InvalidSettings as error:
            problems.append(str(error))
    if settings.spot_role is not None:
        problems += name_problems("Spot credentials role name", settings.spot_role)
    else:
        problems += name_problems("Spot user name", settings.spot_user)
    problems += name_problems("worker role name", settings.worker_role)
    if settings.worker_role and not settings.worker_role.startswith(WORKER_ROLE_PREFIX):
        problems.append(
            f"worker role name {settings.worker_role!r} must begin with {WORKER_ROLE_PREFIX!r}: "
            f"AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole only on role/{WORKER_ROLE_PREFIX}*"
        )
    if settings.instance_profile is not None:
        problems += name_problems("instance profile name", settings.instance_profile, 128)
    problems += name_problems("fleet role name", settings.fleet_role)
    if settings.fleet_role and not (
        settings.fleet_role == FLEET_ROLE_DEFAULT or settings.fleet_role.startswith(WORKER_ROLE_PREFIX)
    ):
        problems.append(
            f"fleet role name {settings.fleet_role!r} must be {FLEET_ROLE_DEFAULT!r} or begin with "
            f"{WORKER_ROLE_PREFIX!r}: AWSThinkboxDeadlineSpotEventPluginAdminPolicy allows iam:PassRole only on those"
        )
    roles = [("worker role", settings.worker_role), ("fleet role", settings.fleet_role)]
    if settings.resource_tracker:
        roles.append(("Resource Tracker role", settings.tracker_role))
    if settings.spot_role is not None:
        roles.append(("Spot credentials role", settings.spot_role))
    for i, (label, name) in enumerate(roles):
        for other_label, other in roles[i + 1 :]:
            if same_iam_name(name, other):
                spelled = repr(name) if name == other else f"{name!r} and {other!r} (IAM names ignore case)"
                problems.append(
                    f"the {label} and the {other_label} are both named {spelled}: they need "
                    "different trust policies and policies, so they must be different roles"
                )
    if settings.resource_tracker:
        problems += name_problems("Resource Tracker role name", settings.tracker_role)
        if settings.tracker_role and not settings.tracker_role.startswith(TRACKER_ROLE_PREFIX):
            problems.append(
                f"Resource Tracker role name {settings.tracker_role!r} must begin with {TRACKER_ROLE_PREFIX!r}: "
                f"AWSThinkboxDeadlineResourceTrackerAdminPolicy allows iam:PassRole only on "
                f"role/{TRACKER_ROLE_PREFIX}*"
            )
    if not 0 <= settings.key_max_age_days <= MAX_KEY_AGE_DAYS:
        problems.append(
            f"access key age limit {settings.key_max_age_days} is not 0 (no limit) or 1-{MAX_KEY_AGE_DAYS} days"
        )
    if len(settings.path) > 512 or not _PATH.fullmatch(settings.path):
        problems.append(f"path {settings.path!r} is not a valid IAM path: '/' or '/name/.../'")
    if settings.permissions_boundary is not None and not is_policy_arn(settings.permissions_boundary):
        problems.append(
            f"permissions boundary {settings.permissions_boundary!r} is not a policy ARN "
            "(arn:aws:iam::123456789012:policy/NAME)"
        )
    if settings.spot_region is not None and not _REGION.fullmatch(settings.spot_region):
        problems.append(f"Spot region {settings.spot_region!r} is not an AWS region name (e.g. us-west-2)")
    if len(settings.tags) > 50:
        problems.append(f"{len(settings.tags)} tags given: IAM allows at most 50")
    seen: set[str] = set()
    for key, value in settings.tags:
        problems += tag_problems(key, value)
        if key.lower() in seen:
            problems.append(f"tag key {key!r} is given twice (IAM tag keys ignore case)")
        seen.add(key.lower())
    return problems


def desired_state(settings: Settings) -> DesiredState:
    """Turn settings into the desired state, refusing invalid input with every problem in one message."""
    problems = _settings_problems(settings)
    if problems:
        raise InvalidSettings("; ".join(problems))
    admin_policies = (SPOT_ADMIN_POLICY, TRACKER_ADMIN_POLICY) if settings.resource_tracker else (SPOT_ADMIN_POLICY,)
    identities: list[Identity] = []
    attached: tuple[ManagedPolicy, ...] = admin_policies
    copies: tuple[PolicyCopy, ...] = ()
    replaced: tuple[ManagedPolicy, ...] = ()
    allowed = None
    if settings.allowed_source_ips is not None:
        from .source_ip import parse_source_ips

        allowed = parse_source_ips(settings.allowed_source_ips, allow_any=settings.allow_any_address)
        copies = tuple(PolicyCopy(copy_name(p), p, allowed, settings.path) for p in admin_policies)
        attached, replaced = (), admin_policies
        identities.extend(copies)
    if settings.spot_role is not None:
        identities.append(CredentialsRole(settings.spot_role, attached, copies, replaced))
    else:
        identities.append(SpotUser(settings.spot_user, attached, settings.path, copies, replaced))
        if settings.access_key:
            identities.append(AccessKey(settings.spot_user, settings.key_max_age_days))
    # Roles stay at path "/": the managed policies allow PassRole on role/DeadlineSpot*, which a role
    # under another path (role/some/path/DeadlineSpotWorker) does not match.
    identities.append(
        ServiceRole(
            Kind.WORKER_ROLE,
            settings.worker_role,
            "ec2.amazonaws.com",
            (WORKER_POLICY,),
            "Deadline Spot Event Plugin workers",
        )
    )
    identities.append(
        InstanceProfile(settings.instance_profile or settings.worker_role, settings.worker_role, settings.path)
    )
    identities.append(
        ServiceRole(
            Kind.FLEET_ROLE,
            settings.fleet_role,
            "spotfleet.amazonaws.com",
            (FLEET_TAGGING_POLICY,),
            "Spot Fleet requests of the Deadline Spot Event Plugin",
        )
    )
    if settings.resource_tracker:
        identities.append(
            ServiceRole(
                Kind.TRACKER_ROLE,
                settings.tracker_role,
                "lambda.amazonaws.com",
                (TRACKER_ACCESS_POLICY,),
                "Deadline Resource Tracker",
            )
        )
    identities.extend(
        ServiceLinkedRole(name, service, settings.service_linked_roles) for name, service in SERVICE_LINKED_ROLES
    )
    profile_name = settings.instance_profile or settings.worker_role
    permissions = SpotPermissions(
        settings.spot_role if settings.spot_role is not None else settings.spot_user,
        "role" if settings.spot_role is not None else "user",
        settings.worker_role,
        settings.fleet_role,
        profile_name,
        settings.tracker_role if settings.resource_tracker else None,
        tuple(c.name for c in copies) if copies else tuple(p.name for p in admin_policies),
        () if copies else tuple(p.name for p in admin_policies),
        settings.spot_region,
        allowed,
        settings.service_linked_roles,
    )
    identities.extend(
        FleetGroupCheck(group, settings.fleet_role, profile_name, permissions) for group in settings.fleet_groups
    )
    if settings.spot_uses_resource_tracker and not settings.resource_tracker:
        identities.append(TrackerInUse(settings.tracker_role))
    identities.append(permissions)
    return DesiredState(
        tuple(identities),
        CreationOptions(settings.permissions_boundary, tuple(settings.tags)),
    )

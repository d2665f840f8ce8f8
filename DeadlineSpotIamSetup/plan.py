"""From (desired, observed) to findings and actions. Pure: no AWS here.

A finding says, per identity, ``ok`` / ``missing`` / ``drift`` and the exact problems. An action is one IAM
write, as data (API operation + parameters), in the order apply must run them. What the engine will not
do (remove what an admin attached, move a role, delete a key) goes to ``manual``: problems for a human.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .desired import (
    AccessKey,
    CreationOptions,
    CredentialsRole,
    DesiredState,
    Identity,
    InstanceProfile,
    ManagedPolicy,
    ServiceLinkedRole,
    ServiceRole,
    SpotUser,
)
from .observe import Observation, Observed
from .trust import service_trust_policy, trusted_services, trusts_service, with_service_trust

OK, MISSING, DRIFT = "ok", "missing", "drift"
MAX_KEYS_PER_USER = 2  # IAM's quota


@dataclass(frozen=True)
class Finding:
    identity: Identity
    status: str
    problems: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.identity.kind

    @property
    def name(self) -> str:
        return self.identity.name


@dataclass(frozen=True)
class Action:
    """One IAM write: ``operation`` is the API name (``CreateRole``), ``params`` its boto3 arguments."""

    operation: str
    params: dict[str, Any] = field(hash=False)
    identity: Identity
    summary: str

    @property
    def subject(self) -> str:
        return f"{self.identity.kind} {self.identity.name}"


@dataclass(frozen=True)
class Plan:
    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]
    manual: tuple[str, ...]
    observation: Observation | None = field(default=None, compare=False)  # what the plan was made from

    @property
    def ok(self) -> bool:
        return all(f.status == OK for f in self.findings)


@dataclass
class _Draft:
    """Collects one identity's problems and actions while planning it."""

    identity: Identity
    exists: bool
    problems: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)

    def act(self, operation: str, params: dict[str, Any], summary: str) -> None:
        self.actions.append(Action(operation, params, self.identity, summary))

    def needs_admin(self, problem: str, what_to_do: str) -> None:
        self.problems.append(problem)
        self.manual.append(f"{self.identity.kind} {self.identity.name}: {problem}: {what_to_do}")

    def finding(self) -> Finding:
        status = OK if self.exists and not self.problems else (MISSING if not self.exists else DRIFT)
        return Finding(self.identity, status, tuple(self.problems))


def _missing_policies(policies: tuple[ManagedPolicy, ...], attached: frozenset[str]) -> list[ManagedPolicy]:
    return [p for p in policies if not any(p.matches(arn) for arn in attached)]


def _creation_extras(options: CreationOptions, boundary: bool = True) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if boundary and options.permissions_boundary:
        extras["PermissionsBoundary"] = options.permissions_boundary
    if options.tags:
        extras["Tags"] = options.tag_list()
    return extras


def _plan_user(draft: _Draft, user: SpotUser, seen: Observed, partition: str, options: CreationOptions) -> None:
    if not draft.exists:
        draft.problems.append("user does not exist")
        draft.act(
            "CreateUser",
            {"UserName": user.name, "Path": user.path, **_creation_extras(options)},
            f"create user {user.name}",
        )
    for policy in _missing_policies(user.policies, seen.attached):
        if draft.exists:
            draft.problems.append(f"policy {policy.name} is not attached")
        draft.act(
            "AttachUserPolicy",
            {"UserName": user.name, "PolicyArn": policy.arn(partition)},
            f"attach {policy.name} to user {user.name}",
        )


def _plan_role_policies(
    draft: _Draft, name: str, policies: tuple[ManagedPolicy, ...], seen: Observed, partition: str
) -> None:
    for policy in _missing_policies(policies, seen.attached):
        if draft.exists:
            draft.problems.append(f"policy {policy.name} is not attached")
        draft.act(
            "AttachRolePolicy",
            {"RoleName": name, "PolicyArn": policy.arn(partition)},
            f"attach {policy.name} to role {name}",
        )


def _plan_service_role(
    draft: _Draft, role: ServiceRole, seen: Observed, partition: str, options: CreationOptions
) -> None:
    if not draft.exists:
        draft.problems.append("role does not exist")
        draft.act(
            "CreateRole",
            {
                "RoleName": role.name,
                "AssumeRolePolicyDocument": json.dumps(service_trust_policy(role.service)),
                "Path": "/",
                "Description": role.description,
                **_creation_extras(options),
            },
            f"create role {role.name} trusted by {role.service}",
        )
    else:
        assert seen.role is not None
        if not trusts_service(seen.role.trust, role.service):
            others = ", ".join(sorted(trusted_services(seen.role.trust))) or "no service"
            draft.problems.append(f"trust policy does not let {role.service} assume it (it trusts {others})")
            draft.act(
                "UpdateAssumeRolePolicy",
                {
                    "RoleName": role.name,
                    "PolicyDocument": json.dumps(with_service_trust(seen.role.trust, role.service)),
                },
                f"add {role.service} to the trust policy of role {role.name} (existing statements kept)",
            )
        if seen.role.path != "/":
            draft.needs_admin(
                f"role is at path {seen.role.path}, so its ARN does not match the role/NAME pattern the AWS "
                "managed policies allow iam:PassRole on",
                "recreate it at path / (IAM cannot move a role)",
            )
    _plan_role_policies(draft, role.name, role.policies, seen, partition)


def _plan_profile(draft: _Draft, profile: InstanceProfile, seen: Observed, options: CreationOptions) -> None:
    add_role = (
        "AddRoleToInstanceProfile",
        {"InstanceProfileName": profile.name, "RoleName": profile.role_name},
        f"add role {profile.role_name} to instance profile {profile.name}",
    )
    if not draft.exists:
        draft.problems.append("instance profile does not exist")
        draft.act(
            "CreateInstanceProfile",
            {"InstanceProfileName": profile.name, "Path": profile.path, **_creation_extras(options, False)},
            f"create instance profile {profile.name}",
        )
        draft.act(*add_role)
        return
    assert seen.profile is not None
    roles = seen.profile.role_names
    if profile.role_name in roles:
        return
    if not roles:
        draft.problems.append(f"instance profile holds no role (expected {profile.role_name})")
        draft.act(*add_role)
    else:
        draft.needs_admin(
            f"instance profile holds role {', '.join(roles)}, not {profile.role_name}",
            "an instance profile holds one role: remove that role from it or choose another instance profile name",
        )


def _plan_access_key(draft: _Draft, key: AccessKey, seen: Observed, deliver_key: bool) -> None:
    if any(k.active for k in seen.keys):
        return
    if not seen.exists:
        draft.problems.append("no access key (the user does not exist yet)")
    elif seen.keys:
        draft.problems.append(f"all {len(seen.keys)} access keys of the user are inactive")
    else:
        draft.problems.append("the user has no access key")
    if len(seen.keys) >= MAX_KEYS_PER_USER:
        draft.manual.append(
            f"access-key {key.user_name}: the user already has {len(seen.keys)} inactive access keys, IAM's limit: "
            "delete one that is no longer used, then run again"
        )
    elif deliver_key:
        draft.act("CreateAccessKey", {"UserName": key.user_name}, f"create an access key for user {key.user_name}")
    else:
        draft.manual.append(
            f"access-key {key.user_name}: no key is created without somewhere safe to deliver its secret"
        )


def plan_identity(
    identity: Identity, seen: Observed, partition: str, options: CreationOptions, deliver_key: bool = True
) -> _Draft:
    draft = _Draft(identity, seen.exists)
    if isinstance(identity, SpotUser):
        _plan_user(draft, identity, seen, partition, options)
    elif isinstance(identity, AccessKey):
        draft.exists = bool(seen.keys)  # "missing" when there is no key at all, "drift" when all are inactive
        _plan_access_key(draft, identity, seen, deliver_key)
    elif isinstance(identity, CredentialsRole):
        if not draft.exists:
            draft.needs_admin(
                "role does not exist",
                "create it with a trust policy for the machine running RCS/Pulse, or choose an existing role",
            )
        else:
            _plan_role_policies(draft, identity.name, identity.policies, seen, partition)
    elif isinstance(identity, ServiceRole):
        _plan_service_role(draft, identity, seen, partition, options)
    elif isinstance(identity, InstanceProfile):
        _plan_profile(draft, identity, seen, options)
    elif isinstance(identity, ServiceLinkedRole):
        if not draft.exists:
            draft.problems.append(f"service-linked role for {identity.service} does not exist")
            draft.act(
                "CreateServiceLinkedRole",
                {"AWSServiceName": identity.service},
                f"create the service-linked role for {identity.service}",
            )
    else:
        raise TypeError(f"unknown identity {identity!r}")
    return draft


# Apply runs actions in stages so that every action finds what it depends on: the actions of one stage are
# independent of each other (apply runs them in parallel), and each depends only on earlier stages. The access
# key comes last, so a secret exists only once everything else succeeded.
STAGES: tuple[tuple[str, ...], ...] = (
    ("CreateUser", "CreateRole", "UpdateAssumeRolePolicy", "CreateInstanceProfile", "CreateServiceLinkedRole"),
    ("AttachUserPolicy", "AttachRolePolicy", "AddRoleToInstanceProfile"),
    ("CreateAccessKey",),
)
_ORDER = [operation for stage in STAGES for operation in stage]


def stage_of(action: Action) -> int:
    return next(number for number, stage in enumerate(STAGES) if action.operation in stage)


def make_plan(desired: DesiredState, observation: Observation, partition: str, deliver_key: bool = True) -> Plan:
    """The findings for every identity and the actions that fix what the engine owns."""
    drafts = [
        plan_identity(identity, observation[identity], partition, desired.options, deliver_key) for identity in desired
    ]
    actions = [action for draft in drafts for action in draft.actions]
    actions.sort(key=lambda action: _ORDER.index(action.operation))  # stable: identity order within a step
    return Plan(
        findings=tuple(draft.finding() for draft in drafts),
        actions=tuple(actions),
        manual=tuple(item for draft in drafts for item in draft.manual),
        observation=observation,
    )

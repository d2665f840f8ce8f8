"""What every identity handler is: the reads a kind needs, how it is planned, what apply does for its
actions, which permissions those calls need, and how the identity appears in a CloudFormation template.

The observer, the planner, the executor, the bootstrap-policy renderer and the CloudFormation renderer know no
kind: they iterate over :data:`handlers.HANDLERS`. Adding a kind is one module here plus its registration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..desired import CreationOptions, CredentialsRole, Identity, ManagedPolicy, PolicyCopy, SpotPermissions, SpotUser
from ..errors import AlreadyExists, AwsAccessError, LimitExceeded
from ..findings import Action, ApplyResult, Draft, PlanContext, Read, Stage, made
from ..key_delivery import KeyDelivery
from ..kinds import Kind
from ..permission_chain import Judged, remedy
from ..template_parts import TemplateParts
from ..values import NewAccessKey, Observed

if TYPE_CHECKING:
    from typing import Protocol

    from ..gateway_protocol import Gateway
else:  # typing.Protocol is Python 3.8+: at run time ApplyRun is only a name for annotations
    Protocol = object


class KeyVerification(Protocol):
    """STS being asked, in the background, whether it accepts a new key (apply.KeyVerification)."""

    def finish(self) -> None:
        """The key is delivered: wait (bounded) for STS's answer; a note when STS does not accept the key yet."""

    def abandon(self) -> None:
        """The key is being deleted again: stop asking."""


class ApplyRun(KeyDelivery, Protocol):
    """What a handler may use while apply runs one of its actions (implemented by apply's executor), a new access
    key's hand-over included (:func:`key_delivery.deliver_new_key`)."""

    gateway: Gateway
    result: ApplyResult

    def write(self, action: Action) -> dict[str, Any]:
        """The action's IAM write, retrying NoSuchEntity while IAM catches up with earlier stages."""

    def wait_until_shown(self, action: Action) -> None:
        """Bounded wait until the action's ``shows_up`` read answers."""

    def cancelled(self) -> bool:
        """True once the caller asked the run to stop: start nothing new."""

    def start_verifying(self, key: NewAccessKey) -> KeyVerification:
        """Start asking STS (bounded, in the background) whether it accepts the new key."""


@dataclass
class Permissions:
    """Collects the bootstrap policy's statements, resources scoped to one partition and account."""

    partition: str
    account: str
    options: CreationOptions
    statements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def iam(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}"

    def anywhere(self, resource_type: str, name: str) -> list[str]:
        """``type/NAME`` at the root and under any path: check must be able to read an identity an admin put
        under another path, to report it, rather than fail with AccessDenied."""
        return [f"{self.iam}:{resource_type}/{name}", f"{self.iam}:{resource_type}/*/{name}"]

    def allow(
        self, sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
    ) -> None:
        statement: dict[str, Any] = {
            "Sid": "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", sid)),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": resources,
        }
        if condition:
            statement["Condition"] = condition
        self.statements.append(statement)

    def attach_condition(
        self, policies: tuple[ManagedPolicy, ...], copies: tuple[PolicyCopy, ...] = ()
    ) -> dict[str, Any]:
        """Attaching only these policies. A copy's ARN names this account, or any account ("*") when the policy is
        rendered without one: then ArnLike, whose wildcard IAM honours."""
        arns = [p.arn(self.partition) for p in policies] + [c.arn(self.partition, self.account) for c in copies]
        operator = "ArnLike" if copies and self.account == "*" else "ArnEquals"
        return {operator: {"iam:PolicyARN": arns}}

    def tag_keys_condition(self, patterns: list[str], creation_tags: bool = True) -> dict[str, Any]:
        """Tagging with these keys only (``*`` patterns), and (``creation_tags``) the tags given for what is
        created."""
        keys = patterns + ([key for key, _ in self.options.tags] if creation_tags else [])
        return {"ForAllValues:StringLike": {"aws:TagKeys": keys}}

    @property
    def tagging(self) -> bool:
        return bool(self.options.tags)

    def boundary_condition(self) -> dict[str, Any] | None:
        boundary = self.options.permissions_boundary
        return {"StringEquals": {"iam:PermissionsBoundary": boundary}} if boundary else None


class Handler:
    """Base of every handler. ``kind`` names the kind it handles, ``identity_type`` the desired-state class."""

    kind: Kind
    identity_type: type

    def reads(self, identity: Any) -> tuple[Read, ...]:
        """What observe reads for this identity; the identity exists when the first read answers."""
        raise NotImplementedError

    def later_reads(self, identity: Any, answers: Mapping[str, Any]) -> tuple[Read, ...]:
        """Reads that depend on what the first round (``answers``: field → answer) found; a second round makes them.
        None, for most kinds."""
        return ()

    def plan(self, identity: Any, seen: Observed, draft: Draft, context: PlanContext) -> None:
        """Add this identity's problems, actions and manual steps to ``draft``. Pure."""
        raise NotImplementedError

    def permissions(self, identity: Any, policy: Permissions) -> None:
        """Add the statements that every read and write of this identity needs."""
        raise NotImplementedError

    def cloudformation_names(self, identity: Any, template: TemplateParts) -> None:
        """Before any identity is added to ``template``: the logical IDs (or name Parameter) other identities refer
        to this one by, so that they may be added before it. Nothing, for most kinds."""

    def cloudformation(self, identity: Any, template: TemplateParts) -> None:
        """Add this identity to a CloudFormation template (cloudformation.py): the resources, Parameters, Conditions
        and Outputs that create it as the engine would, or a note in the template's Metadata saying why a template
        does not hold it."""
        raise NotImplementedError

    def shared_permissions(self, policy: Permissions) -> None:
        """Statements the bootstrap policy carries whatever the desired state (for identities that come from a
        configuration the policy is not rendered from, such as the Spot plugin's fleet groups)."""

    def execute(self, action: Action, run: ApplyRun) -> str:
        """Run one of this handler's actions; returns the line that says what was done. The default: the write,
        EntityAlreadyExists as success (a racing run made it), then a bounded wait until IAM shows it."""
        try:
            run.write(action)
        except AlreadyExists:
            line = f"{action.summary}: already there (created by another run)"
        except LimitExceeded as error:
            return self.limit_exceeded(action, run, error)
        else:
            line = action.summary
        run.wait_until_shown(action)
        return line

    def limit_exceeded(self, action: Action, run: ApplyRun, error: LimitExceeded) -> str:
        raise AwsAccessError(f"{action.summary} failed: IAM limit reached ({error})") from None


def report_judged(draft: Draft, judged: list[Judged], credentials: SpotPermissions) -> None:
    """The permission chain's verdicts into a finding: a problem (and what to do) for each call not plainly allowed,
    a note for each grant that ends soon."""
    for step in judged:
        problem = step.problem()
        if problem is not None:
            draft.needs_admin(problem, remedy(step, credentials))
        note = step.note()
        if note is not None:
            draft.note(note)


def missing_policies(policies: tuple[ManagedPolicy, ...], attached: frozenset[str]) -> list[ManagedPolicy]:
    return [p for p in policies if not any(p.matches(arn) for arn in attached)]


def creation_extras(options: CreationOptions, boundary: bool = True) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if boundary and options.permissions_boundary:
        extras["PermissionsBoundary"] = options.permissions_boundary
    if options.tags:
        extras["Tags"] = options.tag_list()
    return extras


# Tagged on the Spot user (or Spot credentials role) for each AWS managed policy this project attached, so that
# switching to the IP-restricted mode detaches only what this project attached.
ATTACHED_TAG_PREFIX = "DeadlineSpotIamSetup:attached:"


def attached_tag(policy: ManagedPolicy) -> str:
    return ATTACHED_TAG_PREFIX + policy.name


@dataclass(frozen=True)
class Attachments:
    """How one kind of principal takes policies: ``AttachUserPolicy`` with ``UserName``, and so on."""

    attach: str
    detach: str
    tag: str
    list_tags: str
    name_param: str
    noun: str


USER_ATTACHMENTS = Attachments("AttachUserPolicy", "DetachUserPolicy", "TagUser", "ListUserTags", "UserName", "user")
ROLE_ATTACHMENTS = Attachments("AttachRolePolicy", "DetachRolePolicy", "TagRole", "ListRoleTags", "RoleName", "role")


def plan_attachments(
    draft: Draft,
    how: Attachments,
    identity: Identity,
    policies: tuple[ManagedPolicy, ...],
    seen: Observed,
    partition: str,
    record: bool = False,
) -> None:
    """Attach every AWS managed policy that is not attached yet; with ``record``, tag the principal with what this
    project attached (in the same stage: the tag only says who attached it)."""
    missing = missing_policies(policies, seen.attached)
    principal = made(how.noun, identity.name)
    for policy in missing:
        if draft.exists:
            draft.problems.append(f"policy {policy.name} is not attached")
        draft.act(
            how.attach,
            {how.name_param: identity.name, "PolicyArn": policy.arn(partition)},
            f"attach {policy.name} to {how.noun} {identity.name}",
            Stage.CONFIGURE,
            makes=(attached(how, identity.name, policy.name),),
            needs=(principal,),
        )
    if record and missing:
        # The record says this project attached them: only once it has. Nothing waits for it: it runs beside the
        # access key's first steps, not in a round of its own before them.
        draft.act(
            how.tag,
            {how.name_param: identity.name, "Tags": [{"Key": attached_tag(p), "Value": "true"} for p in missing]},
            f"tag {how.noun} {identity.name} with the policies this project attached",
            Stage.ACCESS_KEY,
            needs=(principal, *(attached(how, identity.name, p.name) for p in missing)),
        )


def attached(how: Attachments, principal: str, policy: str) -> str:
    """What attaching ``policy`` to the user or role ``principal`` makes (:attr:`Action.makes`)."""
    return made(f"attached/{how.noun}/{principal.lower()}", policy)


def attachment_permissions(
    policy: Permissions,
    how: Attachments,
    label: str,
    resources: list[str],
    identity: SpotUser | CredentialsRole,
    records: tuple[str, ...] = (),
) -> None:
    """What attaching the admin policies (or their copies) to the Spot credentials needs: attach only those,
    tag only the record of what was attached (and the other ``records``: tag-key patterns this project keeps on
    the principal, which it may also remove), and in the IP-restricted mode read that record and detach only the
    AWS managed policies the copies replace."""
    policy.allow(
        f"{label} policies",
        [f"iam:{how.attach}"],
        resources,
        policy.attach_condition(identity.policies + identity.replaced, identity.copies),
    )
    tag_keys = [ATTACHED_TAG_PREFIX + "*", *records]
    policy.allow(f"{label} tags", [f"iam:{how.tag}"], resources, policy.tag_keys_condition(tag_keys))
    if records:
        untag = f"iam:{how.tag.replace('Tag', 'Untag', 1)}"
        own_keys = policy.tag_keys_condition(list(records), creation_tags=False)
        policy.allow(f"{label} untag", [untag], resources, own_keys)
    if identity.replaced or records:
        policy.allow(f"{label} read tags", [f"iam:{how.list_tags}"], resources)
    if identity.replaced:
        policy.allow(
            f"{label} replaced policies", [f"iam:{how.detach}"], resources, policy.attach_condition(identity.replaced)
        )


def plan_copies(
    draft: Draft,
    how: Attachments,
    identity: Identity,
    copies: tuple[PolicyCopy, ...],
    replaced: tuple[ManagedPolicy, ...],
    seen: Observed,
    context: PlanContext,
) -> None:
    """The IP-restricted mode: attach the policy copies, and detach the AWS managed policies they replace, but only
    those this project attached (tagged); another one is left to an admin, since it lifts the restriction."""
    if copies and context.account is None:
        raise ValueError("planning policy copies needs the account: plan_changes finds it")
    for policy_copy in copies:
        if any(policy_copy.matches(arn) for arn in seen.attached):
            continue
        if draft.exists:
            draft.problems.append(f"policy {policy_copy.name} is not attached")
        draft.act(
            how.attach,
            {how.name_param: identity.name, "PolicyArn": policy_copy.arn(context.partition, str(context.account))},
            f"attach {policy_copy.name} to {how.noun} {identity.name}",
            Stage.CONFIGURE,
            makes=(attached(how, identity.name, policy_copy.name),),
            needs=(made(how.noun, identity.name), made("policy", policy_copy.name)),
        )
    tags = seen.tags or {}
    for policy in replaced:
        arn = next((a for a in seen.attached if policy.matches(a)), None)
        if arn is None:
            continue
        problem = f"AWS managed policy {policy.name} is attached, so the source-IP restriction does not hold"
        if tags.get(attached_tag(policy)) == "true":
            draft.problems.append(problem)
            replacing = [c.name for c in copies if c.source == policy]
            draft.act(
                how.detach,
                {how.name_param: identity.name, "PolicyArn": arn},
                f"detach {policy.name} from {how.noun} {identity.name} (its IP-restricted copy replaces it)",
                Stage.RETIRE,
                needs=tuple(attached(how, identity.name, name) for name in replacing),
            )
        else:
            draft.needs_admin(
                problem,
                f"detach it from {how.noun} {identity.name} (it was not attached by this project, so it is not "
                "detached automatically)",
            )


Sleep = Callable[[float], None]

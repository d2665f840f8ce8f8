"""The data a plan is made of: findings, actions, steps left to an admin. Pure: no AWS, no planning logic.

A finding says, per identity, ``ok`` / ``missing`` / ``drift`` and the exact problems. An action is one IAM
write, as data (API operation + boto3 parameters) with the stage apply runs it in. What the engine will not do
(remove what an admin attached, move a role, delete a key) is a :class:`ManualStep`: identity, problem, remedy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .desired import CreationOptions, Identity
from .errors import SetupError
from .kinds import Kind, Status
from .values import NewAccessKey, Observation

if TYPE_CHECKING:
    from .gateway_protocol import ReadName


class Stage(IntEnum):
    """Apply runs actions stage by stage, each stage once the one before has ended, and within a stage every action
    as soon as what it needs is made (:attr:`Action.needs`). The access key comes last, so a secret is made only once
    everything else was tried; the record of the policies this project attached (a tag no change waits for) is made
    beside it."""

    CREATE = 0  # users, roles, instance profiles, service-linked roles, policy copies; trust policy repairs
    CONFIGURE = 1  # policy attachments, the instance profile's role
    ACCESS_KEY = 2  # and the record of what was attached
    RETIRE = 3  # detaching what the policy copies replace: only once the copies are attached


@dataclass(frozen=True)
class Read:
    """One read of an identity: ``method`` of the gateway (:class:`gateway_protocol.Gateway`, one of its reads)
    called with ``args``; its answer fills ``field`` of :class:`~values.Observed` (None: IAM answered NoSuchEntity)."""

    field: str
    method: ReadName
    args: tuple[Any, ...]  # the method's arguments (names, and the tuples some reads take)


def made(kind: str, name: str) -> str:
    """What an action makes, or needs made, as :attr:`Action.makes` and :attr:`Action.needs` name it: ``kind/name``,
    the name as IAM compares it (ignoring case)."""
    return f"{kind}/{name.lower()}"


@dataclass(frozen=True)
class Action:
    """One IAM write: ``operation`` is the API name (``CreateRole``), ``params`` its boto3 arguments.
    ``shows_up`` is the read that must answer once IAM shows what the action created (apply waits for it).

    ``makes`` names what the action makes (:func:`made`: ``role/deadlinespotworker``), ``needs`` what must exist
    before it runs: an action whose need another action of the plan makes runs only once that action is done, and is
    not attempted when that one was refused or failed. A need no action of the plan makes exists already."""

    operation: str
    params: dict[str, Any] = field(hash=False)
    identity: Identity
    summary: str
    stage: Stage
    shows_up: Read | None = None
    makes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.identity.kind} {self.identity.name}"


# What became of one action of a plan apply ran.
DONE, REFUSED, FAILED, NOT_ATTEMPTED = "done", "refused", "failed", "not attempted"


@dataclass(frozen=True)
class ActionOutcome:
    """What became of one action: ``state`` DONE, REFUSED, FAILED or NOT_ATTEMPTED; ``detail`` what was done, the
    error, or why it was not attempted. A refusal names who was refused (``principal``, an ARN when known) and the
    permission that was missing."""

    action: Action
    state: str
    detail: str
    principal: str | None = None
    permission: str | None = None
    blocked_by: Action | None = None  # NOT_ATTEMPTED: the action it needed, which was not done
    error: Exception | None = field(default=None, compare=False)  # REFUSED, FAILED: the error itself


@dataclass(frozen=True)
class ManualStep:
    """Something the engine will not do: which identity, what is wrong, what an admin should do."""

    kind: Kind
    name: str
    problem: str
    remedy: str


@dataclass(frozen=True)
class Finding:
    identity: Identity
    status: Status
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # warnings that leave the status as it is (a grant that ends soon)

    @property
    def kind(self) -> Kind:
        return self.identity.kind

    @property
    def name(self) -> str:
        return self.identity.name


@dataclass(frozen=True)
class Plan:
    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]
    manual: tuple[ManualStep, ...]
    observation: Observation | None = field(default=None, compare=False)  # what the plan was made from

    @property
    def ok(self) -> bool:
        return all(f.status is Status.OK for f in self.findings)

    @property
    def creates_access_key(self) -> bool:
        """Whether applying the plan creates an access key, whose secret then needs a destination."""
        return any(action.operation == "CreateAccessKey" for action in self.actions)

    def finding(self, kind: Kind) -> Finding | None:
        return next((f for f in self.findings if f.kind is kind), None)


@dataclass(frozen=True)
class PlanContext:
    """What planning needs besides one identity and what IAM holds for it."""

    partition: str
    options: CreationOptions
    deliver_key: bool = True  # False: there is nowhere to deliver a new key's secret, so none is created
    account: str | None = None  # known when the desired state holds customer managed policies (policy copies)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # keys' ages are judged at this time
    region: str | None = None  # the region the check calls AWS in (the Spot plugin's, unless it names its own)


@dataclass
class Draft:
    """Collects one identity's problems, actions and manual steps while its handler plans it."""

    identity: Identity
    exists: bool
    problems: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def act(
        self,
        operation: str,
        params: dict[str, Any],
        summary: str,
        stage: Stage,
        shows_up: Read | None = None,
        makes: tuple[str, ...] = (),
        needs: tuple[str, ...] = (),
    ) -> None:
        self.actions.append(Action(operation, params, self.identity, summary, stage, shows_up, makes, needs))

    def needs_admin(self, problem: str, remedy: str) -> None:
        self.problems.append(problem)
        self.leave_to_admin(problem, remedy)

    def leave_to_admin(self, problem: str, remedy: str) -> None:
        """A manual step whose problem is already among the finding's problems."""
        self.manual.append(ManualStep(self.identity.kind, self.identity.name, problem, remedy))

    def note(self, text: str) -> None:
        """A warning shown with the finding, whatever its status."""
        self.notes.append(text)

    def finding(self) -> Finding:
        if not self.exists:
            return Finding(self.identity, Status.MISSING, tuple(self.problems), tuple(self.notes))
        status = Status.DRIFT if self.problems else Status.OK
        return Finding(self.identity, status, tuple(self.problems), tuple(self.notes))


@dataclass
class ApplyResult:
    """What apply did, action by action, and the key it created (if this run's key is the one that stayed)."""

    done: list[str] = field(default_factory=list)
    key: NewAccessKey | None = None
    key_verified_as: str | None = None
    key_left_to_another_run: bool = False  # a racing run created the key; that run delivers it
    notes: list[str] = field(default_factory=list)
    outcomes: list[ActionOutcome] = field(default_factory=list)  # in the plan's order
    stopped: SetupError | None = None  # what stopped the run before its end, if anything

    def of_state(self, state: str) -> list[ActionOutcome]:
        return [outcome for outcome in self.outcomes if outcome.state == state]

    @property
    def complete(self) -> bool:
        """Every action of the plan was done."""
        return all(outcome.state == DONE for outcome in self.outcomes)

    @property
    def refused_or_failed(self) -> bool:
        """Some change was refused or failed (the changes that needed it were then not attempted)."""
        return any(outcome.state in (REFUSED, FAILED) for outcome in self.outcomes)


@dataclass
class RotationResult:
    """What a run of the key rotation did, and what is left for a later run or an admin."""

    done: list[str] = field(default_factory=list)
    key: NewAccessKey | None = None  # the key this run delivered
    verified_as: str | None = None
    waiting: list[str] = field(default_factory=list)  # why the rotation is not finished yet (nothing failed)
    manual: list[ManualStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)  # what a later run finishes by itself (deleting the old key)

    @property
    def settled(self) -> bool:
        """Nothing left for an admin, nor any step a later run waits for but the old key's deletion."""
        return not self.waiting and not self.manual

    @property
    def complete(self) -> bool:
        """Nothing at all is left of the rotation."""
        return self.settled and not self.remaining


# An account's outcome in a check of many accounts (accounts.py): every identity in place, some short, or the account
# could not be checked.
OK, SHORT, UNREACHABLE = "ok", "short", "unreachable"


@dataclass(frozen=True)
class AccountResult:
    account: str
    role_arn: str
    plan: Plan | None  # None: the account could not be checked
    error: str | None = None  # why not, in one line

    @property
    def status(self) -> str:
        if self.plan is None:
            return UNREACHABLE
        return OK if self.plan.ok else SHORT

    @property
    def pending(self) -> int:
        """Identities that need attention (missing or drifted)."""
        return 0 if self.plan is None else sum(1 for f in self.plan.findings if f.status is not Status.OK)

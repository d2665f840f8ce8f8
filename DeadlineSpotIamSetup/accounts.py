"""Many accounts in one check: ``check --accounts FILE``.

FILE names one account per line: a 12-digit account ID (the role ``--assume-role-name``, by default
``OrganizationAccountAccessRole``, in that account, in the partition of the credential in use) or a role ARN.
Each account's role is assumed from the credential in use and the account checked as ``check`` does (the same
names and options for every account), several accounts at once in a bounded pool; every call is bounded as
usual (the gateway does that). One report comes out (report.py: a table, or JSON); the command itself, with its
options and exit codes, is cli_accounts.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .desired import DesiredState, validate_role_arn
from .engine import plan_changes
from .errors import AccessDenied, InvalidSettings, SetupError
from .findings import AccountResult, Plan
from .gateway import AwsAccess, IamGateway, connect

# Accounts checked at once. Most of one account's time is waiting: assuming its role, then its check's rounds of
# parallel reads. Its CPU (about 0.2 s: two boto3 sessions and clients, botocore parsing its data files for each
# session, and the replies) cannot overlap with another account's (the GIL): 8 in flight keep that CPU busy while the
# others wait, and more only add threads contending for it. The bound also keeps an organisation of hundreds of
# accounts to about 130 open connections and threads instead of thousands, and its sts:AssumeRole calls (all counted
# against the credential's own account) to 8 at a time.
MAX_PARALLEL_ACCOUNTS = 8

_SHOWN_CHARACTERS = 80  # of a refused line, in the error naming it


@dataclass(frozen=True)
class AccountTarget:
    """One line of the accounts file. ``role_arn`` None: the role ``--assume-role-name`` in ``account``, resolved
    once the partition of the credential in use is known (:func:`resolve_targets`)."""

    account: str
    role_arn: str | None
    line: int


# -- the accounts file (pure) -------------------------------------------------------------------------------------
def parse_accounts(text: str, source: str) -> tuple[AccountTarget, ...]:
    """The accounts ``text`` names, in its order. Blank lines and ``#`` comments (whole lines or after an entry) are
    skipped. A line that is neither an account ID nor a role ARN, an account named twice, or no account at all is
    refused with one line naming ``source`` and the line number."""
    targets: list[AccountTarget] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        target = _target(entry, number, source)
        if target.account in seen:
            raise InvalidSettings(
                f"{source} line {number}: account {target.account} is already on line {seen[target.account]} "
                "(name each account once)"
            )
        seen[target.account] = number
        targets.append(target)
    if not targets:
        raise InvalidSettings(f"{source} names no account: one 12-digit account ID or role ARN per line")
    return tuple(targets)


def _target(entry: str, number: int, source: str) -> AccountTarget:
    if len(entry) == 12 and entry.isascii() and entry.isdigit():
        return AccountTarget(entry, None, number)
    shown = entry if len(entry) <= _SHOWN_CHARACTERS else entry[:_SHOWN_CHARACTERS] + "..."
    if entry.startswith("arn:"):
        try:
            validate_role_arn(entry)
        except InvalidSettings:
            raise InvalidSettings(
                f"{source} line {number}: {shown!r} is not a valid role ARN: expected "
                "arn:aws:iam::123456789012:role/NAME"
            ) from None
        return AccountTarget(entry.split(":")[4], entry, number)
    raise InvalidSettings(
        f"{source} line {number}: {shown!r} is neither a 12-digit account ID nor a role ARN "
        "(arn:aws:iam::123456789012:role/NAME)"
    )


def resolve_targets(
    targets: Sequence[AccountTarget], partition: str, role_name: str, source: str = "the accounts file"
) -> tuple[AccountTarget, ...]:
    """Every target with its role ARN: an account ID means the role ``role_name`` in that account, in ``partition``
    (the credential's). A role ARN in another partition is refused, naming its line in ``source``: "a credential issued
    in one partition isn't valid in another. As a result, direct role assumption with the AssumeRole API doesn't work
    across partition boundaries" (IAM User Guide, "Federating AWS identities across AWS partitions")."""
    for target in targets:
        arn_partition = target.role_arn.split(":")[1] if target.role_arn else partition
        if arn_partition != partition:
            raise InvalidSettings(
                f"{source} line {target.line}: role {target.role_arn} is in partition {arn_partition}, but the "
                f"credential in use works in partition {partition}, and AssumeRole does not cross partitions: check "
                f"that account with a credential and a region of {arn_partition} (--profile, --region)"
            )
    return tuple(
        target
        if target.role_arn
        else replace(target, role_arn=f"arn:{partition}:iam::{target.account}:role/{role_name}")
        for target in targets
    )


def read_accounts(path: Path) -> tuple[AccountTarget, ...]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSettings(f"--accounts {path} cannot be read: {error}") from None
    return parse_accounts(text, str(path))


# -- checking -----------------------------------------------------------------------------------------------------
Connect = Callable[..., IamGateway]
PlanChanges = Callable[..., Plan]


def check_accounts(
    access: AwsAccess,
    targets: Sequence[AccountTarget],
    desired: DesiredState,
    external_id: str | None = None,
    connect: Connect = connect,
    plan: PlanChanges = plan_changes,
    max_parallel: int = MAX_PARALLEL_ACCOUNTS,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[AccountResult]:
    """Check each account (``targets`` resolved: every one has its role ARN) as its role, assumed from ``access``,
    at most ``max_parallel`` at once. Results in the order of ``targets``; an account that cannot be checked is a
    result with its one-line error, never an exception. Interrupted (an exception here, or ``cancelled``, the
    command line's Ctrl-C), no account starts a new call."""
    stop = threading.Event()

    def stopped() -> bool:
        return stop.is_set() or cancelled()

    def check(target: AccountTarget) -> AccountResult:
        role_arn = target.role_arn or ""
        try:
            gateway = connect(replace(access, role_arn=role_arn, external_id=external_id), cancelled=stopped)
        except AccessDenied:
            with_id = " and external ID" if external_id else ""
            return AccountResult(
                target.account,
                role_arn,
                None,
                f"AWS denied sts:AssumeRole on {role_arn}: the role must exist in account {target.account} and trust "
                f"the credential in use{with_id}",
            )
        except SetupError as error:
            return AccountResult(target.account, role_arn, None, str(error))
        with gateway:  # closed: no call of this account's check outlives it
            try:
                return AccountResult(target.account, role_arn, plan(gateway, desired, deliver_key=True))
            except SetupError as error:
                return AccountResult(target.account, role_arn, None, str(error))

    if not targets:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(targets))), thread_name_prefix="account")
    futures: list[Future[AccountResult]] = []
    try:
        for target in targets:
            futures.append(pool.submit(check, target))
        return [future.result() for future in futures]
    except BaseException:
        stop.set()
        for future in futures:  # what shutdown(cancel_futures=True) does from Python 3.9: none not started starts
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)

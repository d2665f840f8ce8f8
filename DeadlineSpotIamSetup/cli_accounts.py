"""The command line's ``check --accounts FILE`` (the check itself: accounts.py; its report: report.py): every input
refused before any AWS call, then every account checked, one report.

Exit codes: 0 every account complete, 2 an account falls short, 1 an account could not be checked (the others are
still reported; 1 wins over 2). They are the command line's own (cli.py): 0 done, 2 something needs an admin, 1 an
error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .accounts import check_accounts, read_accounts, resolve_targets
from .desired import DEFAULT_ROLE_NAME, DesiredState, name_problems, validate_external_id
from .errors import InvalidSettings
from .findings import SHORT, UNREACHABLE, AccountResult
from .gateway import AwsAccess, connect
from .report import accounts_json, accounts_lines

EXIT_OK, EXIT_UNREACHABLE, EXIT_SHORT = 0, 1, 2


def check_account_file(
    access: AwsAccess,
    path: Path,
    role_name: str | None,
    external_id: str | None,
    desired: DesiredState,
    as_json: bool,
    out: TextIO,
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """``check --accounts FILE``: every input refused before any AWS call, then every account checked, one report."""
    role_name = validate_role_name(DEFAULT_ROLE_NAME if role_name is None else role_name)
    if external_id is not None:
        if not external_id:
            raise InvalidSettings("--external-id is empty: give the external ID or leave the option out")
        validate_external_id(external_id)
    targets = read_accounts(path)
    base = connect(access)  # no call: the partition comes from the region, as for check
    resolved = resolve_targets(targets, base.partition, role_name, str(path))
    results = check_accounts(access, resolved, desired, external_id, cancelled=cancelled)
    if as_json:
        json.dump(accounts_json(results), out, indent=2)
        out.write("\n")
    else:
        title = f"Deadline Spot Event Plugin identities in {len(results)} account(s) ({base.endpoint_description}):"
        for line in accounts_lines(results, title):
            print(line, file=out)
    return exit_code(results)


def validate_role_name(name: str) -> str:
    problems = name_problems("--assume-role-name", name)
    if problems:
        raise InvalidSettings(problems[0])
    return name


def exit_code(results: Sequence[AccountResult]) -> int:
    statuses = {result.status for result in results}
    if UNREACHABLE in statuses:
        return EXIT_UNREACHABLE
    return EXIT_SHORT if SHORT in statuses else EXIT_OK

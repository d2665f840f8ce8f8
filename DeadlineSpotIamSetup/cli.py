"""The command line: ``python -m DeadlineSpotIamSetup check|plan|apply|rotate-key|bootstrap-policy|export|demo``.

Exit codes (automation depends on them): check and plan: 0 all in place / nothing to do, 2 something missing
or drifted; apply: 0 everything in place afterwards, 2 something still needs an admin; rotate-key: 0 nothing
left to do, 2 the rotation waits for something (the new key's first use, an admin); any command: 1 on
error, one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, TextIO

from . import __version__
from .commands import command, invocation, use
from .desired import (
    DEFAULT_ROLE_NAME,
    DesiredState,
    Settings,
    desired_state,
    parse_tag,
    validate_account_id,
    validate_assume_role,
)
from .engine import apply_changes, plan_changes, rotate_access_key
from .errors import AwsAccessError, InvalidSettings, SetupError
from .findings import DONE, ApplyResult, Plan, RotationResult
from .gateway import AwsAccess, IamGateway, connect
from .interruption import listening
from .kinds import Kind
from .regions import check_region
from .report import (
    KEY_HINT,
    action_lines,
    apply_outcome_json,
    apply_outcome_lines,
    apply_stopped_lines,
    finding_lines,
    incomplete_line,
    manual_lines,
    plan_json,
    rotation_json,
    rotation_outcome_lines,
    rotation_step_lines,
    summary_line,
)
from .waits import CLI_APPLY_WAITS, CLI_TIMEOUTS, REAL_CLOCK, Clock

# What one command alone uses (apply, the key rotation, the EC2 dry run, the templates, the plugin's files, the
# multi-account check) is imported by that command when it runs: every command starts without the others' modules.
if TYPE_CHECKING:
    from .ec2_check import DryRunVerdict
    from .fleet_config import FleetGroup
    from .rotation import KeyHolder

EXIT_OK, EXIT_ERROR, EXIT_PENDING = 0, 1, 2

# The commands that call AWS, and so take the AWS access options (also before the command, as the AWS CLI does).
AWS_COMMANDS = ("check", "plan", "apply", "rotate-key", "export")
# The AWS access options' destinations: given before a command that calls no AWS, they are refused.
_AWS_DESTINATIONS = ("profile", "region", "endpoint_url", "role_arn", "external_id", "allow_unknown_region")


def _aws_options(parser: argparse.ArgumentParser) -> None:
    """Taken before the command and after it (the command's own, given last, wins). No defaults: an option left out is
    absent from the namespace, so the command's parser never overwrites one given before the command."""
    group = parser.add_argument_group("AWS access (default: the standard AWS environment variables and files)")
    quiet = argparse.SUPPRESS
    group.add_argument("--profile", default=quiet, help="named profile from the AWS config/credentials files")
    group.add_argument(
        "--region", default=quiet, help="region whose IAM endpoint to use (IAM is global; default us-east-1)"
    )
    group.add_argument("--endpoint-url", default=quiet, help="IAM/STS endpoint URL (also AWS_ENDPOINT_URL)")
    group.add_argument("--role-arn", default=quiet, help="assume this role first and act as it")
    group.add_argument("--external-id", default=quiet, help="external ID for --role-arn")
    group.add_argument(
        "--allow-unknown-region",
        action="store_true",
        default=quiet,
        help="take a region this botocore does not know (one newer than the installed botocore)",
    )


def _name_options(parser: argparse.ArgumentParser, *, key_age: bool) -> argparse._ArgumentGroup:
    d = Settings()
    group = parser.add_argument_group("identities")
    group.add_argument("--spot-user", default=d.spot_user, help="IAM user for the Spot credentials (%(default)s)")
    group.add_argument("--spot-role", help="use this existing role as the Spot credentials instead of a user")
    group.add_argument("--no-access-key", action="store_true", help="do not expect an access key for the Spot user")
    group.add_argument(
        "--worker-role", default=d.worker_role, help="worker role, must begin with DeadlineSpot (%(default)s)"
    )
    group.add_argument("--instance-profile", help="worker instance profile (default: the worker role's name)")
    group.add_argument("--fleet-role", default=d.fleet_role, help="Spot Fleet role (%(default)s)")
    group.add_argument("--tracker-role", default=d.tracker_role, help="Resource Tracker role (%(default)s)")
    group.add_argument("--no-resource-tracker", action="store_true", help="no Resource Tracker role or policy")
    group.add_argument(
        "--no-service-linked-roles",
        action="store_true",
        help="your organisation creates the EC2 Spot and Spot Fleet service-linked roles: never create them, and "
        "report them as expected from your organisation while they are missing",
    )
    group.add_argument(
        "--path", default="/", help="IAM path for the user and instance profile it creates (roles stay at /)"
    )
    if key_age:
        _key_age_option(group)
    group.add_argument(
        "--allowed-source-ips",
        metavar="CIDR[,CIDR...]",
        help="IP-restricted mode: attach copies of the AWS managed admin policies that allow calls only from these "
        "addresses (the RCS/Pulse machines; IPv4 or IPv6) instead of the AWS managed policies",
    )
    group.add_argument(
        "--allow-any-address",
        action="store_true",
        help="accept --allowed-source-ips that match every address (0.0.0.0/0, ::/0), which restrict nothing",
    )
    return group


def _creation_options(group: argparse._ArgumentGroup) -> None:
    """What is given to what apply creates: plan shows it, apply, export and bootstrap-policy use it."""
    group.add_argument(
        "--permissions-boundary", help="policy ARN set as permissions boundary on users/roles it creates"
    )
    group.add_argument(
        "--tag", action="append", metavar="KEY=VALUE", help="tag what it creates (repeatable)"
    )


def _key_age_option(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--key-max-age-days",
        type=_days,
        default=Settings().key_max_age_days,
        metavar="DAYS",
        help="an access key older than this is due for rotation (%(default)s; 0: no limit)",
    )


def _days(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days")
    return int(text)


def _spot_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the Spot Event Plugin's own configuration (optional)")
    group.add_argument(
        "--spot-config",
        type=Path,
        metavar="FILE",
        help="its Spot Fleet Request Configurations (the JSON pasted in Monitor): audit each group's fleet role and "
        "instance profiles against these identities",
    )
    group.add_argument(
        "--spot-region",
        metavar="REGION",
        help="its Region setting (where it starts fleets): the permission chain judges its EC2 calls there "
        "(default: the region in use, --region)",
    )
    group.add_argument(
        "--spot-uses-resource-tracker",
        action="store_true",
        help="its Use Resource Tracker is on: report it when this setup leaves the Resource Tracker out",
    )


def read_spot_config(path: Path | None) -> tuple[FleetGroup, ...]:
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidSettings(f"--spot-config {path} cannot be read: {error}") from None
    from .fleet_config import parse_fleet_config

    return parse_fleet_config(text, str(path))


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``word`` was probably meant as: one it abbreviates, else the most similar."""
    starting = [candidate for candidate in candidates if candidate.startswith(word)]
    if len(starting) == 1:
        return starting[0]
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


class _Parser(argparse.ArgumentParser):
    """Usage errors are errors like any other: exit 1 (argparse's own 2 means "pending" here), in one line that says
    what was probably meant. Options are never abbreviated (``--prof`` is not ``--profile``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise InvalidSettings(f"{message} (see {self.prog} --help)")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value outside the choices (a command, a --format) names the choice probably meant."""
        choices = action.choices
        if choices is not None and value not in choices:
            names = [str(choice) for choice in choices]
            meant = _closest(str(value), names)
            hint = f"did you mean {meant!r}?" if meant else f"choose from {', '.join(names)}"
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}: {hint}")
        super()._check_value(action, value)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self._refuse_extras(parsed, extras)
        return parsed

    def _commands(self) -> dict[str, argparse.ArgumentParser]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def _refuse_extras(self, parsed: argparse.Namespace, extras: list[str]) -> NoReturn:
        commands = self._commands()
        command = getattr(parsed, "command", None)
        parser = commands.get(command, self) if command is not None else self
        options = [option for option in extras if option.startswith("-")]
        if not options:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        typed = options[0].split("=", 1)[0]
        own = [string for action in parser._actions for string in action.option_strings]
        elsewhere = sorted(
            name
            for name, sub in commands.items()
            if name != command and any(typed in action.option_strings for action in sub._actions)
        )
        if elsewhere and command:
            parser.error(f"{command} does not take {typed} ({', '.join(elsewhere)} do)")
        meant = _closest(typed, [string for string in own if string.startswith("--")])
        if meant is not None:
            abbreviated = " (options are not abbreviated)" if meant.startswith(typed) else ""
            parser.error(f"there is no option {typed}{abbreviated}: did you mean {meant}?")
        parser.error(f"unrecognized arguments: {' '.join(extras)}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=invocation(),
        description="Check, plan and create the AWS IAM identities Deadline's Spot Event Plugin needs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _aws_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name in AWS_COMMANDS:
            _aws_options(sub)
        return sub

    check = command("check", "read-only: report each identity as ok, missing or drift")
    _name_options(check, key_age=True)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    many = check.add_argument_group("many accounts (optional): each one checked as a role assumed from the credential")
    many.add_argument(
        "--accounts",
        type=Path,
        metavar="FILE",
        help="one 12-digit account ID or role ARN per line (# comments): check every account, one report",
    )
    many.add_argument(
        "--assume-role-name",
        metavar="NAME",
        help=f"the role to assume in an account given by its ID (default: {DEFAULT_ROLE_NAME}); --external-id is "
        "given to every account's role",
    )
    plan = command("plan", "print the changes apply would make; changes nothing")
    _creation_options(_name_options(plan, key_age=True))
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    apply = command("apply", "create what is missing and repair the drift this tool owns")
    _creation_options(_name_options(apply, key_age=True))
    for sub in (check, plan, apply):
        _spot_config_options(sub)
    dry_run = check.add_argument_group(
        "proof against EC2 (optional): a dry-run Spot Fleet request as the Spot credentials"
    )
    dry_run.add_argument("--verify-ec2", action="store_true", help="make the dry run (nothing is launched)")
    dry_run.add_argument("--subnet", metavar="ID", help="a subnet the fleets launch in (subnet-...)")
    dry_run.add_argument("--image", metavar="ID", help="the workers' AMI (ami-...)")
    dry_run.add_argument("--instance-type", default="t3.micro", help="an instance type the fleets use (%(default)s)")
    dry_run.add_argument(
        "--spot-key-file", type=Path, metavar="FILE", help="the Spot credentials: a key file apply wrote"
    )
    dry_run.add_argument("--spot-profile", metavar="NAME", help="the Spot credentials: a named profile")
    apply.add_argument(
        "--secret-out",
        type=Path,
        metavar="FILE",
        help="write a newly created access key here (JSON, mode 0600); without it no key is created",
    )
    apply.add_argument(
        "--force", action="store_true", help="let --secret-out replace an existing file (it is refused otherwise)"
    )
    apply.add_argument("--json", action="store_true", help="print the outcome as JSON")
    rotate = command(
        "rotate-key",
        "replace the Spot user's access key: the new key goes to --secret-out; once you have entered it in the Spot "
        "Event Plugin, run rotate-key --finish, and the old key is deactivated once nothing uses it, deleted later",
    )
    user = rotate.add_argument_group("the Spot user")
    user.add_argument("--spot-user", default=Settings().spot_user, help="its name (%(default)s)")
    _key_age_option(user)
    rotate.add_argument(
        "--secret-out",
        type=Path,
        metavar="FILE",
        help="start a rotation: write the new access key here (JSON, mode 0600; it appears once the key is "
        "recorded); without it, only the next steps of a rotation under way are taken",
    )
    rotate.add_argument("--force", action="store_true", help="let --secret-out replace an existing file")
    rotate.add_argument(
        "--if-due",
        action="store_true",
        help="rotate only a key older than --key-max-age-days (for a scheduler); otherwise a key is rotated now",
    )
    rotate.add_argument("--now", action="store_true", help=argparse.SUPPRESS)  # the default; kept for old scripts
    rotate.add_argument(
        "--finish",
        action="store_true",
        help="confirm that the new key is entered in the Spot Event Plugin: the old key is deactivated once it has "
        "gone unused long enough to be sure nothing else holds it",
    )
    rotate.add_argument(
        "--abandon",
        action="store_true",
        help="delete the new key of a rotation that waits to be entered (its file was lost); the old key stays",
    )
    rotate.add_argument("--json", action="store_true", help="print the outcome as JSON")
    policy = command("bootstrap-policy", "print the IAM policy the credential running apply needs")
    _creation_options(_name_options(policy, key_age=False))
    policy.add_argument("--partition", choices=["aws", "aws-cn", "aws-us-gov"], help="(json) the partition (aws)")
    policy.add_argument("--account", default="*", help="(json) 12-digit account ID to scope the resources to")
    policy.add_argument(
        "--format",
        default="json",
        choices=["json", "cloudformation"],
        help="json: the policy (%(default)s); cloudformation: a template creating the bootstrap role with it, in the "
        "account and partition it is deployed to",
    )
    policy.add_argument(
        "--trust-principal",
        metavar="ACCOUNT_OR_ARN",
        help="(cloudformation) who may assume the bootstrap role: a 12-digit account ID or a user or role ARN",
    )
    export = command(
        "export",
        "print a CloudFormation template creating the identities apply would create (for StackSets); no access key",
    )
    _creation_options(_name_options(export, key_age=False))
    export.add_argument("--format", default="cloudformation", choices=["cloudformation"], help="%(default)s (YAML)")
    export.add_argument("--output", type=Path, metavar="FILE", help="write the template here instead of printing it")
    export.add_argument("--force", action="store_true", help="let --output replace an existing file")
    demo = command("demo", "run check, plan, apply, check against an embedded AWS stand-in (no AWS account needed)")
    demo.add_argument(
        "--keep",
        action="store_true",
        help="afterwards, keep the stand-in running and print what to paste into another shell to try every command "
        "against it, until Ctrl-C",
    )
    for name, text in (
        ("install", "install the Deadline event plugin into a repository (custom/events/DeadlineSpotIamSetup)"),
        ("uninstall", "remove the Deadline event plugin from a repository"),
    ):
        sub = command(name, text)
        sub.add_argument("--repository", type=Path, required=True, metavar="PATH", help="Deadline repository root")
    return parser


#: The parser of each name the program is invoked by (``commands.invocation()``), built at its first parse: building
#: one (some 160 options, each checked by a help formatter argparse makes for it) costs about 5 ms, which a process
#: running many commands (the demo, tests) paid at every one. argparse keeps nothing of a parse in the parser: each
#: parse starts from a new namespace; no option has a default a caller could change in place (``--tag`` is None when
#: not given, a new list when given).
_PARSERS: dict[str, argparse.ArgumentParser] = {}


def _parser() -> argparse.ArgumentParser:
    name = invocation()
    parser = _PARSERS.get(name)
    if parser is None:
        parser = _PARSERS[name] = build_parser()
    return parser


def parse_command_line(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line; AWS access options given before a command that calls no AWS are refused."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command not in AWS_COMMANDS:
        given = [f"--{dest.replace('_', '-')}" for dest in _AWS_DESTINATIONS if hasattr(args, dest)]
        if given:
            parser.error(f"{args.command} makes no AWS call: leave out {', '.join(given)}")
    return args


def _given(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option's value; ``default`` for an option the command does not take."""
    return getattr(args, name, default)


def settings_from(args: argparse.Namespace) -> Settings:
    d = Settings()
    allowed_source_ips = _given(args, "allowed_source_ips")
    allow_any_address = _given(args, "allow_any_address", False)
    if allow_any_address and allowed_source_ips is None:
        raise InvalidSettings("--allow-any-address goes with --allowed-source-ips: give the list, or leave it out")
    spot_region = _given(args, "spot_region")
    if spot_region is not None and not _given(args, "allow_unknown_region", False):
        check_region(spot_region, "--spot-region", "add --allow-unknown-region")
    return Settings(
        spot_user=_given(args, "spot_user", d.spot_user),
        spot_role=_given(args, "spot_role"),
        access_key=not _given(args, "no_access_key", False),
        worker_role=_given(args, "worker_role", d.worker_role),
        instance_profile=_given(args, "instance_profile"),
        fleet_role=_given(args, "fleet_role", d.fleet_role),
        tracker_role=_given(args, "tracker_role", d.tracker_role),
        resource_tracker=not _given(args, "no_resource_tracker", False),
        service_linked_roles=not _given(args, "no_service_linked_roles", False),
        path=_given(args, "path", d.path),
        permissions_boundary=_given(args, "permissions_boundary"),
        tags=tuple(parse_tag(tag) for tag in _given(args, "tag") or ()),
        allowed_source_ips=None if allowed_source_ips is None else tuple(allowed_source_ips.split(",")),
        allow_any_address=allow_any_address,
        key_max_age_days=_given(args, "key_max_age_days", d.key_max_age_days),
        fleet_groups=read_spot_config(_given(args, "spot_config")),
        spot_uses_resource_tracker=_given(args, "spot_uses_resource_tracker", False),
        spot_region=spot_region,
    )


def access_from(args: argparse.Namespace, assume_role: bool = True) -> AwsAccess:
    """How to reach AWS; ``assume_role``: with the role of --role-arn (--external-id) to assume first."""
    role_arn, external_id = (_given(args, "role_arn"), _given(args, "external_id")) if assume_role else (None, None)
    validate_assume_role(role_arn, external_id, "--role-arn", "--external-id")
    return AwsAccess(
        profile=_given(args, "profile"),
        region=_given(args, "region"),
        endpoint_url=_given(args, "endpoint_url"),
        role_arn=role_arn,
        external_id=external_id,
        allow_unknown_region=_given(args, "allow_unknown_region", False),
    )


def _print_findings(plan: Plan, out: TextIO, title: str) -> None:
    print(title, file=out)
    for line in finding_lines(plan.findings):
        print(line, file=out)
    print(summary_line(plan), file=out)


def _print_plan(plan: Plan, out: TextIO) -> None:
    if plan.actions:
        print(f"\nApply would make {len(plan.actions)} change(s):", file=out)
        for line in action_lines(plan):
            print(line, file=out)
    else:
        print("\nNothing to change.", file=out)
    if plan.manual:
        print("\nNeeds an admin (apply will not do this):", file=out)
        for line in manual_lines(plan):
            print(line, file=out)


def _stopped(args: argparse.Namespace) -> Callable[[], bool]:
    """Whether the run was asked to stop (Ctrl-C, SIGTERM): asked before every AWS call, change and rotation step."""
    return getattr(args, "stop", None) or (lambda: False)


def _gateway(args: argparse.Namespace) -> IamGateway:
    """A gateway for the command, closed when the command ends (:func:`_run`): the reads it started ahead of need
    are answered before the command returns."""
    opened: contextlib.ExitStack = args.opened
    return opened.enter_context(connect(access_from(args), _stopped(args)))


def _dry_run_access(args: argparse.Namespace) -> AwsAccess:
    """The Spot credentials, for --verify-ec2: a key file apply or rotate-key wrote, or a named profile."""
    if not (args.subnet and args.image):
        raise InvalidSettings("--verify-ec2 needs --subnet and --image (where and what a fleet would launch)")
    if bool(args.spot_key_file) == bool(args.spot_profile):
        raise InvalidSettings("--verify-ec2 needs the Spot credentials: --spot-key-file FILE or --spot-profile NAME")
    access = access_from(args)
    if args.spot_profile:
        return replace(access, profile=args.spot_profile, role_arn=None, external_id=None)
    try:
        key = json.loads(args.spot_key_file.read_text(encoding="utf-8"))
        key_id, secret = str(key["AccessKeyId"]), str(key["SecretAccessKey"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidSettings(
            f"--spot-key-file {args.spot_key_file} is not a key file written by apply or rotate-key"
        ) from None
    return replace(
        access, profile=None, role_arn=None, external_id=None, access_key_id=key_id, secret_access_key=secret
    )


def _dry_run(
    args: argparse.Namespace, settings: Settings, access: AwsAccess, plan: Plan, gateway: IamGateway
) -> DryRunVerdict:
    account = (plan.observation.account if plan.observation else None) or gateway.account
    from .ec2_check import DryRunRequest, dry_run_spot_fleet

    iam = f"arn:{gateway.partition}:iam::{account}"
    profile = settings.instance_profile or settings.worker_role
    request = DryRunRequest(
        f"{iam}:role/{settings.fleet_role}",
        f"{iam}:instance-profile/{profile}",
        args.subnet,
        args.image,
        args.instance_type,
    )
    return dry_run_spot_fleet(access, request)


def run_check(args: argparse.Namespace, out: TextIO, with_plan: bool) -> int:
    settings = settings_from(args)
    desired = desired_state(settings)
    # The Spot credentials for --verify-ec2: incomplete options are refused here, before any call.
    spot_access = _dry_run_access(args) if getattr(args, "verify_ec2", False) else None
    gateway = _gateway(args)
    plan = plan_changes(gateway, desired, deliver_key=True, now=_now(args))
    verdict = _dry_run(args, settings, spot_access, plan, gateway) if spot_access is not None else None
    if args.json:
        document = plan_json(plan, with_actions=with_plan)
        if verdict is not None:
            document["ok"] = plan.ok and verdict.passed
            document["ec2_dry_run"] = {"passed": verdict.passed, "line": verdict.line, "encoded": verdict.encoded}
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        _print_findings(plan, out, f"Deadline Spot Event Plugin identities ({gateway.endpoint_description}):")
        if with_plan:
            _print_plan(plan, out)
            if plan.creates_access_key:
                print(f"\nThe access key is created only by apply with --secret-out: {KEY_HINT}.", file=out)
        else:
            if plan.manual:
                print("\nTo fix by hand (apply will not):", file=out)
                for line in manual_lines(plan):
                    print(line, file=out)
            if plan.actions:
                print(f"\napply fixes the rest ({len(plan.actions)} change(s); plan lists them).", file=out)
        if verdict is not None:
            print(f"\nEC2 dry run: {'passed' if verdict.passed else 'FAILED'}: {verdict.line}", file=out)
    return EXIT_OK if plan.ok and (verdict is None or verdict.passed) else EXIT_PENDING


def run_accounts_check(args: argparse.Namespace, out: TextIO) -> int:
    """check --accounts FILE (accounts.py): each account's role is assumed from the credential in use."""
    if args.accounts is None:
        raise InvalidSettings("--assume-role-name goes with --accounts")
    if _given(args, "role_arn") is not None or args.verify_ec2:
        raise InvalidSettings("--accounts assumes each account's role itself: leave out --role-arn and --verify-ec2")
    desired = desired_state(settings_from(args))
    access = access_from(args, assume_role=False)  # --external-id is given to each account's role
    external_id = _given(args, "external_id")
    from .cli_accounts import check_account_file

    return check_account_file(
        access, args.accounts, args.assume_role_name, external_id, desired, args.json, out, _stopped(args)
    )


def _refuse_replacing_secret_file(secret_out: Path, desired: DesiredState, plan: Plan) -> NoReturn:
    """The refusal of an existing --secret-out file a new key would replace, naming what it holds by the Spot user's
    keys the plan read."""
    from .secret_file import refuse_replacing

    key = desired.access_key
    seen = plan.observation[key] if plan.observation is not None else None
    refuse_replacing(secret_out, key.user_name, None if seen is None else [k.access_key_id for k in seen.keys or ()])


def run_apply(args: argparse.Namespace, out: TextIO) -> int:
    from .apply import ApplyOptions
    from .secret_file import SecretFileHolder, check_secret_destination

    desired = desired_state(settings_from(args))
    secret_out = check_secret_destination(args.secret_out) if args.secret_out else None
    gateway = _gateway(args)
    if secret_out is not None and secret_out.exists() and not args.force:
        # Refuse before any write, and only when a key would really be created (a converged account is fine).
        before = plan_changes(gateway, desired)
        if before.creates_access_key:
            _refuse_replacing_secret_file(secret_out, desired, before)
    progress = (lambda line: None) if args.json else (lambda line: print(f"  done: {line}", file=out, flush=True))
    if not args.json:
        print(f"Applying against {gateway.endpoint_description}:", file=out)
    # The file appears only once the key is recorded as this project's, and never for a key deleted again.
    sink = SecretFileHolder(secret_out) if secret_out else None
    written_to = str(secret_out) if secret_out is not None else None
    options = ApplyOptions(waits=CLI_APPLY_WAITS, cancelled=_stopped(args))
    try:
        outcome = apply_changes(gateway, desired, key_sink=sink, progress=progress, options=options, now=_now(args))
    except SetupError as error:
        done = error.partial_result
        if isinstance(done, ApplyResult) and not args.json:  # what the run did before it stopped
            for line in apply_stopped_lines(done, written_to):
                print(line, file=out)
        raise
    result = outcome.result
    if args.json:
        json.dump(apply_outcome_json(outcome.after, result, ok=outcome.ok, secret_out=written_to), out, indent=2)
        out.write("\n")
    else:
        for line in apply_outcome_lines(outcome.after, result, written_to):
            print(line, file=out)
    if result.refused_or_failed:
        raise SetupError(incomplete_line(result.outcomes))  # exit 1, one line on stderr after the table
    return EXIT_OK if outcome.ok else EXIT_PENDING


def _rotation_holder(args: argparse.Namespace) -> tuple[KeyHolder, Path | None]:
    """Where this run hands a new key: the --secret-out file, refused before any AWS call when it cannot be written
    (an existing one is refused by run_rotate without --force, once it has read which keys the Spot user has).
    Without it (and with --finish or --abandon) the run starts no rotation: it takes the next steps of the one under
    way."""
    from .secret_file import NoKeyHolder, SecretFileHolder, check_secret_destination

    if args.finish and args.abandon:
        raise InvalidSettings(
            "--finish and --abandon exclude each other: --finish keeps the new key, --abandon deletes it"
        )
    if args.secret_out is None:
        return NoKeyHolder(), None
    if args.finish or args.abandon:
        raise InvalidSettings(
            f"--secret-out starts a new rotation; {'--finish' if args.finish else '--abandon'} only ends the one "
            "under way: leave out --secret-out"
        )
    secret_out = check_secret_destination(args.secret_out)
    return SecretFileHolder(secret_out), secret_out


def run_rotate(args: argparse.Namespace, out: TextIO) -> int:
    desired = desired_state(settings_from(args))
    holder, secret_out = _rotation_holder(args)
    gateway = _gateway(args)
    if secret_out is not None and secret_out.exists() and not args.force:
        key = desired.access_key
        keys = gateway.access_keys(key.user_name)  # read only to say what the file holds
        from .secret_file import refuse_replacing

        refuse_replacing(secret_out, key.user_name, None if keys is None else [k.access_key_id for k in keys])
    try:
        result = _rotate(args, gateway, desired, holder, secret_out)
    except SetupError as error:
        done = error.partial_result
        if isinstance(done, RotationResult) and not args.json:  # the steps taken before it stopped
            for line in rotation_step_lines(done, str(secret_out) if secret_out is not None else None):
                print(line, file=out)
        raise
    if args.json:
        json.dump(rotation_json(result, str(secret_out)), out, indent=2)
        out.write("\n")
    else:
        written_to = str(secret_out) if secret_out is not None else None
        for line in rotation_outcome_lines(result, gateway.endpoint_description, written_to):
            print(line, file=out)
    return EXIT_OK if result.settled else EXIT_PENDING


def _rotate(
    args: argparse.Namespace, gateway: IamGateway, desired: DesiredState, holder: KeyHolder, secret_out: Path | None
) -> RotationResult:
    from .rotation import RotationOptions

    return rotate_access_key(
        gateway,
        desired,
        holder,
        RotationOptions(
            if_due=args.if_due,
            start=secret_out is not None,
            confirm_entered=args.finish,
            abandon=args.abandon,
            key_verification=CLI_APPLY_WAITS.key_verification,
            call_deadline=CLI_TIMEOUTS.call_deadline,
            sleep=_clock(args).sleep,
            monotonic=_clock(args).monotonic,
            cancelled=_stopped(args),
        ),
        now=_now(args),
    )


def _clock(args: argparse.Namespace) -> Clock:
    return getattr(args, "clock", REAL_CLOCK)


def _now(args: argparse.Namespace) -> datetime | None:
    """AWS's time as a test sets it (``main(clock=...)``); None: as the gateway reads it from AWS's replies."""
    aws_now = _clock(args).aws_now
    return aws_now() if aws_now is not None else None


def run_bootstrap_policy(args: argparse.Namespace, out: TextIO) -> int:
    from .bootstrap_policy import bootstrap_policy
    from .cloudformation import bootstrap_role_template, to_yaml

    if args.format == "cloudformation":
        if not args.trust_principal:
            raise InvalidSettings("--format cloudformation needs --trust-principal (an account ID or an ARN)")
        if args.partition is not None or args.account != "*":
            raise InvalidSettings(
                "--format cloudformation takes the partition and account from where it is deployed: leave out "
                "--partition and --account"
            )
        desired = desired_state(settings_from(args))
        out.write(to_yaml(bootstrap_role_template(desired, args.trust_principal)))
        return EXIT_OK
    if args.trust_principal is not None:
        raise InvalidSettings("--trust-principal goes with --format cloudformation")
    if args.account != "*":
        validate_account_id(args.account)
    desired = desired_state(settings_from(args))
    json.dump(bootstrap_policy(desired, args.partition or "aws", args.account), out, indent=2)
    out.write("\n")
    return EXIT_OK


def _write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole (a temporary file beside it, then renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise InvalidSettings(f"--output {path} cannot be written: {error.strerror or error}") from None


def run_export(args: argparse.Namespace, out: TextIO) -> int:
    """export --format cloudformation: the template of what apply would create. The IP-restricted copies embed the
    AWS managed policies as IAM holds them now, so --allowed-source-ips reads them (the only AWS calls)."""
    from .cloudformation import template, to_yaml

    desired = desired_state(settings_from(args))
    if args.output is not None and args.output.exists() and not args.force:
        raise InvalidSettings(f"--output {args.output} already exists: give a new file, or add --force to replace it")
    copies = desired.of_kind(Kind.POLICY_COPY)
    sources: dict[str, dict[str, Any]] = {}
    partition = "aws"
    if copies:
        try:
            gateway = _gateway(args)
            partition = gateway.partition
            for policy_copy in copies:
                source = policy_copy.source  # type: ignore[union-attr]
                info = gateway.managed_policy(source.name, source.path)
                if info is None:
                    raise InvalidSettings(
                        f"AWS managed policy {source.name} does not exist in partition {partition}: the IP-restricted "
                        "mode copies it, leave out --allowed-source-ips"
                    )
                sources[source.name] = info.document
        except AwsAccessError as error:
            raise AwsAccessError(
                f"--allowed-source-ips: the template embeds the AWS managed policies it restricts, read from IAM: "
                f"{error}"
            ) from None
    text = to_yaml(template(desired, sources, partition=partition))
    if args.output is None:
        out.write(text)
    else:
        _write_output(args.output, text)
        print(f"Wrote the CloudFormation template to {args.output}.", file=out)
    return EXIT_OK


def run_install(args: argparse.Namespace, out: TextIO) -> int:
    from .install import PLUGIN_NAME, SUPPORTED_DEADLINE, install, uninstall

    if args.command == "install":
        target = install(args.repository)
        print(f"Installed the {PLUGIN_NAME} event plugin in {target}.", file=out)
        print(
            f"Supported: {SUPPORTED_DEADLINE} (on Deadline 10.1 and 10.2 the plugin runs under Deadline's Python 3; "
            "loaded by an older Python it logs one line and does nothing).",
            file=out,
        )
        print(
            f"Next: Deadline Monitor > Tools > Configure Events > {PLUGIN_NAME}: set State to Global Enabled, "
            "and Create Missing Identities plus a bootstrap credential if it should create what is missing.",
            file=out,
        )
    else:
        removed = uninstall(args.repository)
        print(f"Removed {removed}." if removed else f"{PLUGIN_NAME} was not installed there.", file=out)
    return EXIT_OK


Demo = Callable[..., int]  # demo(out, keep=..., stop=...): the demo, given by __main__


def dispatch(args: argparse.Namespace, out: TextIO, demo: Demo | None = None) -> int:
    if args.command == "check":
        if args.accounts is not None or args.assume_role_name is not None:
            return run_accounts_check(args, out)
        return run_check(args, out, with_plan=False)
    if args.command == "plan":
        return run_check(args, out, with_plan=True)
    if args.command == "apply":
        return run_apply(args, out)
    if args.command == "rotate-key":
        return run_rotate(args, out)
    if args.command == "bootstrap-policy":
        return run_bootstrap_policy(args, out)
    if args.command == "export":
        return run_export(args, out)
    if args.command in ("install", "uninstall"):
        return run_install(args, out)
    if args.command == "demo":
        if demo is None:  # the demo is wired in by __main__ (it stands above the command line)
            raise SetupError(f"this entry point has no demo: run {command('demo')}")
        return demo(out, keep=args.keep, stop=getattr(args, "stop", None))
    raise InvalidSettings(f"unknown command {args.command!r}")


def interrupted_line(args: argparse.Namespace | None, signal_name: str, done: object) -> str:
    """What an interrupted run did and what is left, from what it did before it stopped (``partial_result``)."""
    stopped = f"interrupted ({signal_name})"
    command_name = args.command if args is not None else "the command"
    if command_name == "apply":
        if not isinstance(done, ApplyResult):
            return f"{stopped} before any change was made: run apply again"
        made = len(done.of_state(DONE))
        total = len(done.outcomes)
        if made == total:
            return f"{stopped} once every change was made ({made} of {total}): run check to see what is in place"
        return f"{stopped}: made {made} of {total} changes, {total - made} left (above): run apply again to make them"
    if command_name == "rotate-key":
        if isinstance(done, RotationResult) and done.key is not None:
            return (
                f"{stopped} once the new access key {done.key.access_key_id} was delivered to "
                f"{getattr(args, 'secret_out', None)} "
                "(above): enter it in the Spot Event Plugin, then run rotate-key --finish"
            )
        steps = len(done.done) if isinstance(done, RotationResult) else 0
        return (
            f"{stopped} after {steps} step(s) of the key rotation (above), before a new key was delivered: run the "
            "same rotate-key command again"
        )
    if command_name in ("check", "plan", "export"):
        return f"{stopped}: {command_name} did not finish; nothing was changed"
    return f"{stopped}: {command_name} did not finish"


def _silence_stdout(out: TextIO) -> None:
    """Point the process's stdout at the null device, so the interpreter's final flush cannot fail again."""
    if out is sys.stdout:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    demo: Demo | None = None,
    clock: Clock = REAL_CLOCK,
    prog: str | None = None,
) -> int:
    """``clock``: where the run reads the time and waits (tests move time with their own); ``prog``: the program's
    name as it was invoked, for usage, errors, --version and every message naming a command of this tool (the
    command line's own name, python -m DeadlineSpotIamSetup, unless told)."""
    out = out or sys.stdout
    err = err or sys.stderr
    named_before = invocation()
    use(prog or named_before)
    try:
        return _run(argv, out, err, demo, clock)
    finally:
        use(named_before)


def _run(argv: Sequence[str] | None, out: TextIO, err: TextIO, demo: Demo | None, clock: Clock) -> int:
    with listening() as stop:
        args = None
        try:
            args = parse_command_line(argv)
            args.clock, args.stop = clock, stop
            with contextlib.ExitStack() as opened:  # what the command opens (its gateways) is closed as it ends
                args.opened = opened
                code = dispatch(args, out, demo)
            out.flush()  # a closed pipe shows here, inside the handlers below, not at interpreter exit
            if stop() and not stop.expected:  # asked to stop, yet it ended: say so, as a stopped run
                print(f"error: interrupted ({stop.name}) as {args.command} ended (see above)", file=err)
                return stop.exit_code
            return code
        except BrokenPipeError:
            # The reader stopped reading (`bootstrap-policy | head -1`): a normal end for a command-line tool.
            _silence_stdout(out)
            return EXIT_OK
        except SetupError as error:
            if stop():
                print(f"error: {interrupted_line(args, stop.name, error.partial_result)}", file=err)
                return stop.exit_code
            print(f"error: {error}", file=err)
            return EXIT_ERROR
        except KeyboardInterrupt:  # a second Ctrl-C: stopped where it stood
            print(f"error: interrupted ({stop.name}), stopped at once: run check to see what is in place", file=err)
            return stop.exit_code
        except Exception as error:  # never a traceback: one line naming what happened
            print(f"error: unexpected {type(error).__name__}: {error}", file=err)
            return EXIT_ERROR

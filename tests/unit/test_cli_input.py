"""The command line refuses bad input with exit 1 and one ``error:`` line, before any AWS call."""

from __future__ import annotations

import io
import json

import pytest

from DeadlineSpotIamSetup.cli import build_parser, main, settings_from
from DeadlineSpotIamSetup.desired import Settings
from tests.support.command_line import run_cli


def assert_one_error_line(text: str) -> None:
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: ")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "--worker-role", "Workers"], "DeadlineSpot"),
        (["plan", "--tag", "novalue"], "KEY=VALUE"),
        (["check", "--role-arn", "notanarn"], "role ARN"),
        (["check", "--external-id", "xyz"], "--role-arn"),
        (["apply", "--fleet-role", "MyFleet"], "fleet role"),
        (["plan", "--path", "nopath"], "path"),
        (["plan", "--permissions-boundary", "arn:aws:iam::123:policy/B"], "permissions boundary"),
        (["apply", "--tag", "aws:owner=me"], "aws:"),
        (
            ["check", "--role-arn", "arn:aws:iam::123456789012:role/Admin", "--external-id", "x"],
            "external ID",
        ),
        (["bootstrap-policy", "--account", "12"], "12-digit"),
        (["bootstrap-policy", "--account", "12345678901a"], "12-digit"),
        (["bootstrap-policy", "--worker-role", "Workers"], "DeadlineSpot"),
        (["apply", "--allowed-source-ips", "fe80::1%eth0"], "'fe80::1%eth0' has an IPv6 zone index (%eth0)"),
        (["check", "--allowed-source-ips", "0.0.0.0/0"], "0.0.0.0/0 matches every IPv4 address"),
        (["plan", "--allowed-source-ips", "203.0.113.10/32,::/0"], "unless --allow-any-address"),
        (["check", "--allow-any-address"], "--allow-any-address goes with --allowed-source-ips"),
        (["plan", "--tag", "team=render#2"], "tag value for 'team' has '#'"),
    ],
)
def test_bad_input_exits_1_with_one_error_line_before_any_aws_call(argv, fragment, gateway_calls):
    code, out, err = run_cli(*argv)
    assert code == 1
    assert_one_error_line(err)
    assert fragment in err
    assert out == ""
    assert gateway_calls == []


def test_apply_refuses_a_secret_destination_in_a_missing_folder_before_any_aws_call(tmp_path, gateway_calls):
    code, _, err = run_cli("apply", "--secret-out", str(tmp_path / "missing" / "key.json"))
    assert code == 1
    assert_one_error_line(err)
    assert "does not exist" in err
    assert gateway_calls == []


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--bogus"],
        ["frobnicate"],
        [],
        ["bootstrap-policy", "--partition", "aws-mars"],
        ["check", "--worker-role"],
    ],
)
def test_usage_errors_exit_1_with_one_error_line(argv, gateway_calls):
    err = io.StringIO()
    assert main(argv, out=io.StringIO(), err=err) == 1
    assert_one_error_line(err.getvalue())
    assert gateway_calls == []


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["bootstrap-policy", "--help"]])
def test_help_exits_0(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv, out=io.StringIO(), err=io.StringIO())
    assert caught.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_bootstrap_policy_prints_a_valid_json_policy_and_exits_0(gateway_calls):
    code, out, err = run_cli("bootstrap-policy")
    assert code == 0
    assert err == ""
    policy = json.loads(out)
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"]
    assert gateway_calls == []


def test_bootstrap_policy_applies_partition_account_and_names():
    code, out, _ = run_cli(
        "bootstrap-policy",
        "--partition",
        "aws-cn",
        "--account",
        "123456789012",
        "--worker-role",
        "DeadlineSpotNodes",
        "--no-resource-tracker",
    )
    assert code == 0
    policy = json.loads(out)
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    aws_managed = "arn:aws-cn:iam::*:policy/*"  # the Spot credentials' AWS managed policies, read to judge them
    assert all(r.startswith("arn:aws-cn:iam::123456789012:") or r == aws_managed for r in resources)
    assert "arn:aws-cn:iam::123456789012:role/DeadlineSpotNodes" in resources
    assert not [r for r in resources if "ResourceTracker" in r]


def test_default_options_give_the_default_settings():
    args = build_parser().parse_args(["check"])
    assert settings_from(args) == Settings()


def test_options_map_onto_settings():
    args = build_parser().parse_args(
        [
            "plan",
            "--spot-user",
            "SpotAdmin",
            "--no-access-key",
            "--worker-role",
            "DeadlineSpotNodes",
            "--instance-profile",
            "NodesProfile",
            "--fleet-role",
            "DeadlineSpotFleet",
            "--no-resource-tracker",
            "--path",
            "/deadline/",
            "--permissions-boundary",
            "arn:aws:iam::123456789012:policy/B",
            "--tag",
            "Team=Render",
            "--tag",
            "Empty=",
        ]
    )
    assert settings_from(args) == Settings(
        spot_user="SpotAdmin",
        access_key=False,
        worker_role="DeadlineSpotNodes",
        instance_profile="NodesProfile",
        fleet_role="DeadlineSpotFleet",
        resource_tracker=False,
        path="/deadline/",
        permissions_boundary="arn:aws:iam::123456789012:policy/B",
        tags=(("Team", "Render"), ("Empty", "")),
    )


def test_spot_role_option_selects_role_credentials():
    args = build_parser().parse_args(["check", "--spot-role", "RcsInstanceRole"])
    assert settings_from(args).spot_role == "RcsInstanceRole"


@pytest.mark.parametrize("account", ["١٢٣٤٥٦٧٨٩٠١٢", "１２３４５６７８９０１２", "12345678901²"])
def test_bootstrap_policy_refuses_account_ids_in_other_digits(account, gateway_calls):
    code, out, err = run_cli("bootstrap-policy", "--account", account)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "12-digit" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "--role-arn", ""], "--role-arn is empty"),
        (
            ["check", "--role-arn", "arn:aws:iam::123456789012:role/Admin", "--external-id", ""],
            "--external-id is empty",
        ),
    ],
)
def test_empty_assume_role_options_are_refused_not_ignored(argv, fragment, gateway_calls):
    code, out, err = run_cli(*argv)
    assert code == 1 and err.count("\n") == 1 and fragment in err
    assert gateway_calls == []


def test_a_malformed_role_arn_of_2100_characters_is_refused(gateway_calls):
    code, _, err = run_cli("check", "--role-arn", "arn:aws:iam::123456789012:role/" + "r/" * 1040 + "Admin")
    assert code == 1 and "role ARN" in err and gateway_calls == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10.0.0.1/8", "host bits set: write 10.0.0.0/8"),
        ("10.0.0.0/8,10.0.0.0/8", "given twice"),
        ("", "is empty"),
        (",", "is empty"),
        ("203.0.113.300", "is not an IPv4 or IPv6 address"),
        ("2001:db8::1/64", "host bits set"),
        ("rcs01.farm.local", "is not an IPv4 or IPv6 address"),
    ],
)
def test_malformed_allowed_source_ips_are_refused_before_any_aws_call(value, fragment, gateway_calls):
    code, out, err = run_cli("apply", "--allowed-source-ips", value)
    assert code == 1 and out == ""
    assert_one_error_line(err)
    assert fragment in err and gateway_calls == []


def test_allowed_source_ips_of_both_families_reach_the_settings_and_the_bootstrap_policy(gateway_calls):
    args = build_parser().parse_args(["check", "--allowed-source-ips", "203.0.113.10/32,2001:db8::/64"])
    assert settings_from(args).allowed_source_ips == ("203.0.113.10/32", "2001:db8::/64")
    code, out, _ = run_cli("bootstrap-policy", "--allowed-source-ips", "203.0.113.10, 2001:db8::/64")
    assert code == 0
    actions = {a for s in json.loads(out)["Statement"] for a in s["Action"]}
    assert {"iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DetachUserPolicy"} <= actions


def test_one_parse_leaves_nothing_for_the_next_and_each_program_name_keeps_its_own_parser(gateway_calls):
    """The command line keeps its parser for the next command of the same process (cli._parser): what one command
    line gave (tags, names, flags) is never seen by the next, and a usage error names the program as invoked now."""
    from DeadlineSpotIamSetup.cli import _parser, parse_command_line
    from DeadlineSpotIamSetup.commands import invocation, use

    first = parse_command_line(["plan", "--tag", "Team=Render", "--spot-user", "FarmSpot", "--path", "/farm/"])
    assert settings_from(first).tags == (("Team", "Render"),) and settings_from(first).spot_user == "FarmSpot"
    first.tag.append("Injected=ByHand")  # a caller changing what it was given changes nothing for the next one
    second = parse_command_line(["plan"])
    assert settings_from(second) == Settings()
    parsers = [_parser()]
    for parser in parsers:  # no option of any command has a default a caller could change in place
        for action in parser._actions:
            assert not isinstance(action.default, (list, dict, set)), (parser.prog, action.option_strings)
            parsers.extend((action.choices or {}).values() if isinstance(action.choices, dict) else ())
    assert len(parsers) > 9
    assert parse_command_line(["plan", "--tag", "A=B"]).tag == ["A=B"]
    before = invocation()
    try:
        use("deadline-spot-iam-setup")
        code, _, err = run_cli("chek")
        assert code == 1 and "(see deadline-spot-iam-setup --help)" in err
        use("python -m DeadlineSpotIamSetup")
        code, _, err = run_cli("chek")
        assert code == 1 and "(see python -m DeadlineSpotIamSetup --help)" in err
    finally:
        use(before)
    assert gateway_calls == []

"""The command line speaks like the tools admins know (git, the AWS CLI): it names itself as invoked, suggests what
was probably meant for a mistyped command, option, profile or region, takes the AWS options before the command as
``aws`` does, and shows each command only the options it uses. Every refusal is one ``error:`` line, exit 1, before
any AWS call."""

from __future__ import annotations

import io

import pytest

from DeadlineSpotIamSetup.cli import build_parser, main, settings_from


def run(argv: list[str], prog: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err, **({"prog": prog} if prog else {}))
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("argv0", "name"),
    [
        ("/opt/farm/venv/bin/deadline-spot-iam-setup", "deadline-spot-iam-setup"),
        ("C:\\Python311\\Scripts\\deadline-spot-iam-setup.exe", "deadline-spot-iam-setup"),
        ("/srv/checkout/DeadlineSpotIamSetup/__main__.py", "python -m DeadlineSpotIamSetup"),
        ("", "python -m DeadlineSpotIamSetup"),
    ],
)
def test_the_program_is_named_as_it_was_invoked(argv0, name):
    from DeadlineSpotIamSetup.__main__ import program_name

    assert program_name(argv0) == name


def test_the_command_line_process_collects_cycles_less_often_and_the_plugin_leaves_deadline_s_collector_alone(
    monkeypatch, gateway_calls
):
    """``python -m DeadlineSpotIamSetup`` and the console script set their own process's collector thresholds
    (__main__.GARBAGE_THRESHOLDS) before loading the command line; importing the engine or the plugin's library, as
    Deadline's process does, sets nothing."""
    import gc
    import os
    import subprocess
    import sys
    from pathlib import Path

    from DeadlineSpotIamSetup import __main__ as entry

    def thresholds(code: str) -> tuple[int, ...]:
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "lib")])}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        return tuple(int(n) for n in done.stdout.strip("()\n").split(","))

    default = thresholds("import gc; print(gc.get_threshold())")
    loaded = thresholds("import gc, DeadlineSpotIamSetup.cli, spot_iam_plugin.runner; print(gc.get_threshold())")
    assert loaded == default and entry.GARBAGE_THRESHOLDS[0] > default[0]
    set_to: list[tuple[int, ...]] = []
    monkeypatch.setattr(gc, "set_threshold", lambda *values: set_to.append(values))
    assert entry.main(["chek"]) == 1
    assert set_to == [entry.GARBAGE_THRESHOLDS]
    assert gateway_calls == []


def test_usage_errors_and_the_version_name_the_program_as_invoked(capsys):
    code, _, err = run(["chek"], prog="deadline-spot-iam-setup")
    assert code == 1 and "(see deadline-spot-iam-setup --help)" in one_error_line(err)
    with pytest.raises(SystemExit):
        main(["--version"], out=io.StringIO(), err=io.StringIO(), prog="deadline-spot-iam-setup")
    assert capsys.readouterr().out.startswith("deadline-spot-iam-setup 0.")
    with pytest.raises(SystemExit):
        main(["rotate-key", "--help"], out=io.StringIO(), err=io.StringIO(), prog="deadline-spot-iam-setup")
    assert "usage: deadline-spot-iam-setup rotate-key" in capsys.readouterr().out


def test_an_error_naming_a_command_of_this_tool_names_it_as_invoked(gateway_calls):
    code, _, err = run(["demo"], prog="deadline-spot-iam-setup")
    assert code == 1 and "`deadline-spot-iam-setup demo`" in one_error_line(err)
    assert "python -m" not in err


def test_a_mistyped_command_is_refused_with_the_command_meant(gateway_calls):
    code, _, err = run(["chek"])
    line = one_error_line(err)
    assert code == 1 and "'chek'" in line and "did you mean 'check'?" in line
    assert gateway_calls == []


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["check", "--prof", "admin"], "--profile"),  # an abbreviation is not taken for the option
        (["check", "--endpoint-ur", "http://127.0.0.1:1"], "--endpoint-url"),
        (["apply", "--secret", "key.json"], "--secret-out"),
        (["plan", "--worker-rol=DeadlineSpotX"], "--worker-role"),
        (["rotate-key", "--fnish"], "--finish"),
    ],
)
def test_a_mistyped_or_abbreviated_option_is_refused_with_the_option_meant(argv, meant, gateway_calls):
    code, _, err = run(argv)
    line = one_error_line(err)
    assert code == 1 and f"did you mean {meant}?" in line, line
    assert gateway_calls == []


def test_an_option_another_command_takes_is_refused_by_one_that_does_not(gateway_calls, capsys):
    code, _, err = run(["rotate-key", "--worker-role", "DeadlineSpotNodes"])
    assert code == 1 and "rotate-key does not take --worker-role" in one_error_line(err)
    assert gateway_calls == []
    with pytest.raises(SystemExit):
        main(["rotate-key", "--help"], out=io.StringIO(), err=io.StringIO())
    shown = capsys.readouterr().out
    assert "--secret-out" in shown and "--spot-user" in shown and "--profile" in shown
    for unused in ("--worker-role", "--instance-profile", "--fleet-role", "--tag", "--allowed-source-ips", "--path"):
        assert unused not in shown


@pytest.mark.parametrize(
    ("command", "absent"),
    [
        ("check", ("--tag", "--permissions-boundary", "--secret-out")),
        ("bootstrap-policy", ("--profile", "--endpoint-url", "--key-max-age-days", "--spot-config")),
        ("install", ("--profile", "--worker-role")),
        ("demo", ("--profile", "--worker-role")),
        ("export", ("--spot-config", "--key-max-age-days")),
    ],
)
def test_each_command_shows_only_the_options_it_uses(command, absent, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"], out=io.StringIO(), err=io.StringIO())
    shown = capsys.readouterr().out
    assert [option for option in absent if option in shown] == []


def test_aws_options_before_the_command_are_taken_as_the_aws_cli_takes_them():
    args = build_parser().parse_args(["--profile", "admin", "--region", "eu-west-1", "check"])
    assert (args.profile, args.region, args.command) == ("admin", "eu-west-1", "check")
    after = build_parser().parse_args(["check", "--profile", "admin", "--endpoint-url", "http://127.0.0.1:1"])
    assert (after.profile, after.endpoint_url) == ("admin", "http://127.0.0.1:1")
    both = build_parser().parse_args(["--profile", "first", "check", "--profile", "second"])
    assert both.profile == "second"  # the command's own option, given last, wins
    assert settings_from(build_parser().parse_args(["--profile", "admin", "plan"])) == settings_from(
        build_parser().parse_args(["plan"])
    )


def test_an_aws_option_before_a_command_that_makes_no_aws_call_is_refused(gateway_calls):
    code, _, err = run(["--profile", "admin", "bootstrap-policy"])
    assert code == 1 and "bootstrap-policy makes no AWS call: leave out --profile" in one_error_line(err)


PROFILES = "[default]\nregion = us-east-1\n[profile admin]\nregion = us-east-1\n[profile render]\nregion = us-west-2\n"


@pytest.fixture
def aws_config(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text(PROFILES, encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    return config


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
def test_an_unknown_profile_from_the_environment_is_named_with_where_it_came_from(aws_config, monkeypatch, variable):
    monkeypatch.setenv(variable, "admn")
    code, _, err = run(["check"])
    line = one_error_line(err)
    assert code == 1
    assert f"AWS profile 'admn' (from {variable}) is not in the AWS config or credentials file" in line, line
    assert "did you mean 'admin'?" in line and "admin, default, render" in line
    assert "None" not in line


def test_an_unknown_profile_option_lists_the_known_ones(aws_config):
    code, _, err = run(["check", "--profile", "rendr"])
    line = one_error_line(err)
    assert "AWS profile 'rendr' (from --profile)" in line and "did you mean 'render'?" in line


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["check", "--region", "us-easst-1"], "--region 'us-easst-1' is not a region this botocore"),
        (["--region", "eu-wset-1", "plan"], "did you mean 'eu-west-1'?"),
        (["check", "--spot-region", "ap-southeast-22"], "--spot-region 'ap-southeast-22'"),
    ],
)
def test_a_region_botocore_does_not_know_is_refused_with_the_region_meant(argv, fragment, gateway_calls):
    code, _, err = run(argv)
    line = one_error_line(err)
    assert code == 1 and fragment in line and "--allow-unknown-region" in line, line
    assert gateway_calls == []


def test_a_region_from_the_environment_that_botocore_does_not_know_is_refused_too(monkeypatch, gateway_calls):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-easst-1")
    code, _, err = run(["check"])
    line = one_error_line(err)
    assert code == 1 and "AWS_DEFAULT_REGION 'us-easst-1'" in line and "did you mean 'us-east-1'?" in line


def test_a_region_newer_than_botocore_is_taken_with_allow_unknown_region(gateway_calls):
    code, _, err = run(["check", "--region", "xx-future-1", "--allow-unknown-region"])
    assert gateway_calls, err  # it went on to make the gateway (which the fixture stops there)
    assert "not a region" not in err

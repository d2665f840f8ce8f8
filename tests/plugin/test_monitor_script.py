"""Results where Deadline admins look: the Monitor script install lays out (custom/scripts/General/SpotIamSetup.py),
run the way Monitor runs scripts (tests/plugin/deadline_standin.py, MonitorHost), shows every RCS/Pulse machine's last
result and files a Check now that the next house cleaning honours; and the command script the log's to-do lines name
(command.py, run by ``deadlinecommand -ExecuteScriptNoGui``). The machines run as separate OS processes sharing the
Deadline database file (host_process.py), the Monitor in the test's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from deadline_standin import MonitorHost, PluginHost
from plugin_farm import BOOTSTRAP_SECRET, Farm, checked, machine

from DeadlineSpotIamSetup.install import MONITOR_SCRIPT, PLUGIN_NAME, monitor_script_path, uninstall
from tests.support.fault_proxy import FaultProxy

# What the script may ask of Deadline: where the plugin is, its metadata, and writing the Check now setting. Reading
# the plugin's settings (GetEventPluginConfig) would bring its secrets to the workstation.
SCRIPT_CALLS = {
    "GetEventPluginDirectory",
    "GetEventPluginConfigMetaDataDictionary",
    "AddOrUpdateEventPluginConfigSetting",
}


@pytest.fixture
def shared_farm(tmp_path: Path, proxy: FaultProxy, endpoint: str) -> Iterator[Farm]:
    yield from checked(Farm(tmp_path / "repository", proxy, endpoint, database=tmp_path / "deadline-db.json"))


@pytest.fixture
def farm(tmp_path: Path, proxy: FaultProxy, endpoint: str) -> Iterator[Farm]:
    yield from checked(Farm(tmp_path / "repository", proxy, endpoint))


def monitor(farm: Farm) -> MonitorHost:
    """A workstation's Monitor: no boto3 or botocore there is needed (hidden while the script runs)."""
    return MonitorHost(farm.fake, hostname="workstation", hide_modules=("boto3", "botocore"))


def test_install_lays_out_the_monitor_script_in_custom_scripts_general(farm: Farm) -> None:
    script = monitor_script_path(farm.root)
    assert script == farm.root / "custom" / "scripts" / "General" / MONITOR_SCRIPT
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
    uninstall(farm.root)
    assert not script.exists()


def test_a_file_of_that_name_that_is_not_ours_stays(farm: Farm) -> None:
    from DeadlineSpotIamSetup.errors import SetupError
    from DeadlineSpotIamSetup.install import install

    script = monitor_script_path(farm.root)
    script.write_text("# an admin's own script\n", encoding="utf-8")
    with pytest.raises(SetupError, match="not the Monitor script: .* is not this tool's"):
        install(farm.root)
    uninstall(farm.root)
    assert script.read_text(encoding="utf-8") == "# an admin's own script\n"


def test_monitor_shows_two_machines_and_their_next_house_cleaning_honours_check_now(shared_farm: Farm) -> None:
    farm = shared_farm
    farm.configure(CreateMissing=False)  # one machine's check sets nothing up: every identity is missing
    with machine(farm, "rcs-a") as a, machine(farm, "rcs-b") as b:
        assert a.house_cleaning()["error"] is None
        farm.configure(CreateMissing=True)
        assert b.house_cleaning()["error"] is None

        with monitor(farm) as workstation:
            dialog = workstation.run_monitor_script(monitor_script_path(farm.root))
            assert dialog is not None and dialog.title == "Spot IAM Setup" and dialog.open
            shown = dialog.GetValue("ReportBox")
            assert "rcs-a: pending, checked" in shown and "rcs-b: ok, checked" in shown
            assert "  missing  spot-user" in shown and "  ok       spot-user" in shown  # each machine's identities
            assert "To do:" in shown and "Left as they are, CreateMissing is off" in shown  # rcs-a's to-do, with fix
            assert BOOTSTRAP_SECRET not in shown

            farm.fake.clear_log()
            workstation.press(dialog, "CheckNowButton")
            request = farm.fake.config(PLUGIN_NAME)["CheckNowRequest"]
            assert "waiting for the next house cleaning of rcs-a, rcs-b" in dialog.GetValue("ReportBox")
            assert dialog.messages and "next house cleaning" in dialog.messages[-1][0]

            a.house_cleaning()  # rcs-a's next house cleaning: no check was due, Check now was asked
            a.house_cleaning()  # honoured once
            workstation.press(dialog, "RefreshButton")
            assert "waiting for the next house cleaning of rcs-b (" in dialog.GetValue("ReportBox")
            assert "rcs-a: ok, checked" in dialog.GetValue("ReportBox")  # its new result
        assert set(workstation.calls) <= SCRIPT_CALLS

    checks = [line for line in farm.fake.log_lines() if "Checking the Spot Event Plugin's IAM identities" in line]
    assert len(checks) == 1 and "(Check now asked in Monitor by " in checks[0]
    assert request.split()[0] == farm.fake.metadata(PLUGIN_NAME)["CheckNowHonoured.rcs-a"]


def test_monitor_without_any_result_says_how_to_start(farm: Farm) -> None:
    with monitor(farm) as workstation:
        dialog = workstation.run_monitor_script(monitor_script_path(farm.root))
    assert dialog is not None
    assert "No RCS/Pulse machine has recorded a check yet" in dialog.GetValue("ReportBox")


def test_the_to_do_lines_name_the_engine_as_installed_run_with_deadlines_python(farm: Farm) -> None:
    farm.configure(CreateMissing=False)
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as host:
        host.house_cleaning(PLUGIN_NAME)
    script = farm.root / "custom" / "events" / PLUGIN_NAME / "command.py"
    todo = next(line for line in farm.fake.warnings() if "Left as they are" in line)
    assert f'`deadlinecommand -ExecuteScriptNoGui "{script}" apply`' in todo
    assert f'`deadlinecommand -ExecuteScriptNoGui "{script}" bootstrap-policy`' in todo
    assert "python -m" not in "\n".join(farm.fake.log_lines())


def test_the_command_script_runs_the_command_line_as_deadlinecommand_calls_it(farm: Farm) -> None:
    script = farm.root / "custom" / "events" / PLUGIN_NAME / "command.py"
    printed = io.StringIO()
    with MonitorHost(farm.fake) as deadlinecommand, redirect_stdout(printed):
        status = deadlinecommand.execute_script_no_gui(script, "bootstrap-policy")
    assert status == 0
    policy = json.loads(printed.getvalue())
    assert policy["Version"] == "2012-10-17" and policy["Statement"]


def test_the_command_script_answers_a_usage_error_naming_itself(
    farm: Farm, capsys: pytest.CaptureFixture[str]
) -> None:
    script = farm.root / "custom" / "events" / PLUGIN_NAME / "command.py"
    with MonitorHost(farm.fake) as deadlinecommand:
        assert deadlinecommand.execute_script_no_gui(script, "no-such-command") == 1
    assert f'(see deadlinecommand -ExecuteScriptNoGui "{script}" --help)' in capsys.readouterr().err

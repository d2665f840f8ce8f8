"""The event plugin audits the Spot Event Plugin's own Spot Fleet configuration at every check: read from the
repository's server data (ID event.plugin.spot, key Config: where Deadline 10.1.12+ keeps it, written by AWS's RFDK
through the RCS's /rcs/v1/putServerData and by admins' scripts with RepositoryUtils.AddOrUpdateServerData), else from
the Spot plug-in's settings (their names taken from its installed .param); the log names the source once per check.
Each group is reported like any identity, with the corrected ARN; a malformed configuration is one line and the rest
of the check goes on."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from deadline_standin import PluginHost
from spot_param_samples import SPOT_PARAM_FLEET_SETTINGS, SPOT_PARAM_WITH_KEY_FIELDS
from test_plugin import Farm, farm  # noqa: F401 -- the fixture

from DeadlineSpotIamSetup.install import PLUGIN_NAME

IAM = "arn:aws:iam::123456789012"
GOOD = {
    "IamFleetRole": f"{IAM}:role/aws-ec2-spot-fleet-tagging-role",
    "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": f"{IAM}:instance-profile/DeadlineSpotWorker"}}],
}
ELSEWHERE = {
    "IamFleetRole": "arn:aws:iam::111111111111:role/aws-ec2-spot-fleet-tagging-role",
    "LaunchSpecifications": [{"IamInstanceProfile": {"Arn": f"{IAM}:instance-profile/DeadlineSpotWorker"}}],
}


@pytest.fixture
def host(farm: Farm) -> Iterator[PluginHost]:  # noqa: F811
    farm.fake.write_spot_param(SPOT_PARAM_WITH_KEY_FIELDS + SPOT_PARAM_FLEET_SETTINGS)
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as running:
        yield running


def test_each_fleet_group_is_reported_with_the_corrected_arn(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    farm.fake.set_config("Spot", Config=json.dumps({"gpu": GOOD, "cpu": ELSEWHERE}), ResourceTracker=True)
    farm.configure(Verbose=True)  # every identity's line, the ok ones included
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert "The Spot Fleet configuration audited is the one in the Spot event plugin's Config." in log
    assert "ok       fleet-group" in log and "drift    fleet-group" in log
    assert "names account 111111111111" in log
    assert f"set IamFleetRole to {IAM}:role/aws-ec2-spot-fleet-tagging-role" in log
    assert "resource-tracker" not in log  # on there, and set up here


def test_a_malformed_configuration_is_one_line_and_the_check_goes_on(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    farm.fake.set_config("Spot", Config='{"gpu": {"IamFleetRole": 7}}')
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert (
        "The Spot Fleet configuration is not audited: the Spot event plugin's Config: group 'gpu': IamFleetRole" in log
    )
    assert "identities are in place" in log  # the rest was checked


def test_the_resource_tracker_on_in_the_spot_plugin_but_off_here_is_reported(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    farm.configure(EnableResourceTracker=False)
    farm.fake.set_config("Spot", ResourceTracker=True)
    host.house_cleaning(PLUGIN_NAME)
    assert "Use Resource Tracker is on, but this setup leaves the Resource Tracker out" in farm.log()


def file_in_server_data(farm: Farm, configuration: dict) -> None:  # noqa: F811
    """As an admin's script does: RepositoryUtils.AddOrUpdateServerData("event.plugin.spot", "Config", json)."""
    farm.fake.modules["Deadline.Scripting"].RepositoryUtils.AddOrUpdateServerData(
        "event.plugin.spot", "Config", json.dumps(configuration)
    )


def test_the_configuration_in_server_data_is_audited_first_and_named_once(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    file_in_server_data(farm, {"cpu": ELSEWHERE})
    farm.fake.set_config("Spot", Config=json.dumps({"gpu": GOOD}))  # an older copy in the Spot plug-in's settings
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    source = (
        "The Spot Fleet configuration audited is the one in the repository's server data event.plugin.spot (Config)."
    )
    assert log.count(source) == 1
    assert "names account 111111111111" in log  # the server data's group
    assert "gpu" not in log  # not the Spot plug-in's setting


def test_a_malformed_configuration_in_server_data_names_it(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    farm.fake.server_data("event.plugin.spot")["Config"] = '{"gpu": {"IamFleetRole": 7}}'
    host.house_cleaning(PLUGIN_NAME)
    malformed = "not audited: the repository's server data event.plugin.spot (Config): group 'gpu': IamFleetRole"
    assert malformed in farm.log()


def test_with_neither_server_data_nor_a_spot_setting_the_log_says_where_it_looked(farm: Farm, host: PluginHost) -> None:  # noqa: F811
    farm.fake.set_config("Spot", Config="")
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert (
        "The Spot Fleet configuration is not audited: no Spot Fleet Request Configurations in the repository's server "
        "data event.plugin.spot (Config), and the Spot event plugin's Config is empty" in log
    )
    assert "identities are in place" in log  # the rest was checked

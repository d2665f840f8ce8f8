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
from plugin_farm import USER, Farm
from spot_param_samples import SPOT_PARAM_FLEET_SETTINGS, SPOT_PARAM_WITH_KEY_FIELDS

from DeadlineSpotIamSetup.install import PLUGIN_NAME
from tests.support import rfdk_fleet as rfdk
from tests.support.rfdk_fleet import make_rfdk_fleet

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
def host(farm: Farm) -> Iterator[PluginHost]:
    farm.fake.write_spot_param(SPOT_PARAM_WITH_KEY_FIELDS + SPOT_PARAM_FLEET_SETTINGS)
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as running:
        yield running


def test_each_fleet_group_is_reported_with_the_corrected_arn(farm: Farm, host: PluginHost) -> None:
    farm.fake.set_config("Spot", Config=json.dumps({"gpu": GOOD, "cpu": ELSEWHERE}), ResourceTracker=True)
    farm.configure(Verbose=True)  # every identity's line, the ok ones included
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert "The Spot Fleet configuration audited is the one in the Spot event plugin's Config." in log
    assert "ok       fleet-group" in log and "drift    fleet-group" in log
    assert "names account 111111111111" in log
    assert f"set IamFleetRole to {IAM}:role/aws-ec2-spot-fleet-tagging-role" in log
    assert "resource-tracker" not in log  # on there, and set up here


def test_a_malformed_configuration_is_one_line_and_the_check_goes_on(farm: Farm, host: PluginHost) -> None:
    farm.fake.set_config("Spot", Config='{"gpu": {"IamFleetRole": 7}}')
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert (
        "The Spot Fleet configuration is not audited: the Spot event plugin's Config: group 'gpu': IamFleetRole" in log
    )
    assert "identities are in place" in log  # the rest was checked


def test_the_resource_tracker_on_in_the_spot_plugin_but_off_here_is_reported(farm: Farm, host: PluginHost) -> None:
    farm.configure(EnableResourceTracker=False)
    farm.fake.set_config("Spot", ResourceTracker=True)
    host.house_cleaning(PLUGIN_NAME)
    assert "Use Resource Tracker is on, but this setup leaves the Resource Tracker out" in farm.log()


# -- judged by the permission chain -------------------------------------------------------------------------------

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def check_again(farm: Farm, host: PluginHost) -> str:
    """The log of a new check (a restarted RCS checks at its first house cleaning)."""
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    return farm.log()


def test_an_rfdk_fleet_is_ok_with_its_grant_and_refused_by_the_chain_without_it(
    farm: Farm,
    host: PluginHost,
    iam,
) -> None:
    host.house_cleaning(PLUGIN_NAME)  # the setup: the Spot user and its policies
    farm.configure(Verbose=True)  # every identity's status, the ok ones included
    farm.fake.set_config("Spot", Config=json.dumps({"rfdk": make_rfdk_fleet(iam, USER)}))
    log = check_again(farm, host)
    assert "ok       fleet-group" in log and "drift    fleet-group" not in log, log
    iam.delete_user_policy(UserName=USER, PolicyName=rfdk.GRANT)
    log = check_again(farm, host)
    assert f"IamFleetRole {IAM}:role/{rfdk.FLEET_ROLE}: the Spot credentials may not pass it to EC2" in log
    assert f"holds role {rfdk.INSTANCE_ROLE}: the Spot credentials may not pass it to EC2" in log


def test_the_spot_plugins_region_is_where_its_ec2_calls_are_judged(farm: Farm, host: PluginHost, iam) -> None:
    host.house_cleaning(PLUGIN_NAME)
    lock = {
        "Sid": "OnlyFrankfurt",
        "Effect": "Deny",
        "Action": "ec2:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}},
    }
    document = json.dumps({"Version": "2012-10-17", "Statement": [lock]})
    iam.put_user_policy(UserName=USER, PolicyName="RegionLock", PolicyDocument=document)
    farm.fake.set_config("Spot", Region="us-west-2")
    assert "cannot request a Spot Fleet (ec2:RequestSpotFleet on spot-fleet-request/*)" in check_again(farm, host)
    farm.fake.set_config("Spot", Region="eu-central-1")
    assert "statement OnlyFrankfurt" not in check_again(farm, host)


def test_a_source_ip_condition_without_the_ip_mode_is_an_allowed_only_if_line_in_the_log(
    farm: Farm,
    host: PluginHost,
    iam,
) -> None:
    """A role as the Spot credentials, its permissions boundary allowing calls only from the office network (moto
    keeps a boundary for roles only)."""
    office = {
        "Sid": "AllowFromOffice",
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    }
    boundary = iam.create_policy(
        PolicyName="OfficeOnly", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [office]})
    )["Policy"]["Arn"]
    iam.create_role(
        RoleName="RcsInstanceRole", AssumeRolePolicyDocument=json.dumps(EC2_TRUST), PermissionsBoundary=boundary
    )
    farm.configure(SpotCredentialsMode="IAM Role", SpotRoleName="RcsInstanceRole")
    host.house_cleaning(PLUGIN_NAME)
    assert (
        "pass the worker role to EC2 (iam:PassRole on role/DeadlineSpotWorker): the permissions boundary allows it "
        "only if the RCS/Pulse machine calls from 203.0.113.0/24 (permissions boundary policy OfficeOnly v1 statement "
        "AllowFromOffice)"
    ) in farm.log()


def file_in_server_data(farm: Farm, configuration: dict) -> None:
    """As an admin's script does: RepositoryUtils.AddOrUpdateServerData("event.plugin.spot", "Config", json)."""
    farm.fake.modules["Deadline.Scripting"].RepositoryUtils.AddOrUpdateServerData(
        "event.plugin.spot", "Config", json.dumps(configuration)
    )


def test_the_configuration_in_server_data_is_audited_first_and_named_once(farm: Farm, host: PluginHost) -> None:
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


def test_a_malformed_configuration_in_server_data_names_it(farm: Farm, host: PluginHost) -> None:
    farm.fake.server_data("event.plugin.spot")["Config"] = '{"gpu": {"IamFleetRole": 7}}'
    host.house_cleaning(PLUGIN_NAME)
    malformed = "not audited: the repository's server data event.plugin.spot (Config): group 'gpu': IamFleetRole"
    assert malformed in farm.log()


def test_with_neither_server_data_nor_a_spot_setting_the_log_says_where_it_looked(farm: Farm, host: PluginHost) -> None:
    farm.fake.set_config("Spot", Config="")
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert (
        "The Spot Fleet configuration is not audited: no Spot Fleet Request Configurations in the repository's server "
        "data event.plugin.spot (Config), and the Spot event plugin's Config is empty" in log
    )
    assert "identities are in place" in log  # the rest was checked

"""The event plugin's settings: Deadline's config entries (strings) read into typed, validated values."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from spot_iam_plugin.settings import (
    DELIVERY_CHOICES,
    PLUGIN_TIMEOUTS,
    ROLE_MODE,
    USER_MODE,
    PluginSettings,
    read_settings,
)

from DeadlineSpotIamSetup.desired import Settings
from DeadlineSpotIamSetup.errors import InvalidSettings
from DeadlineSpotIamSetup.waits import CLI_TIMEOUTS

ROOT = Path(__file__).resolve().parents[2]

KEY_ID = "AKIAIOSFODNN7BOOTSTRAP"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLUGINSECRET"
ROLE_ARN = "arn:aws:iam::123456789012:role/DeadlineSetupAdmin"


def getter(entries: dict[str, object]):
    """A GetConfigEntryWithDefault over a dict: the stored value, else the default."""

    def get(key: str, default: str) -> object:
        return entries.get(key, default)

    return get


def read(**entries: object) -> PluginSettings:
    return read_settings(getter(entries))


def refusal(**entries: object) -> str:
    with pytest.raises(InvalidSettings) as caught:
        read(**entries)
    return str(caught.value)


# -- defaults -------------------------------------------------------------------------------------


def test_nothing_set_gives_the_documented_defaults():
    settings = read()
    assert settings == PluginSettings()
    assert settings.create_missing is False
    assert settings.check_interval_hours == 24
    assert settings.key_delivery == "Automatic"
    assert settings.spot_credentials_mode == USER_MODE
    assert settings.spot_user_name == "DeadlineSpotEventPluginAdmin"
    assert settings.worker_role_name == "DeadlineSpotWorker"
    assert settings.fleet_role_name == "aws-ec2-spot-fleet-tagging-role"
    assert settings.tracker_role_name == "DeadlineResourceTrackerAccessRole"
    assert settings.enable_resource_tracker is True
    assert settings.forget_bootstrap_credential is False
    assert settings.iam_path == "/"
    assert settings.tags == ()
    assert settings.credentials_profile_name == "DeadlineSpotEventPlugin"
    assert settings.spot_plugin_name == "Spot"
    assert not settings.uses_bootstrap_keys


def test_a_host_answering_none_for_every_key_gives_the_defaults():
    assert read_settings(lambda key, default: None) == PluginSettings()


def test_values_are_stripped_of_surrounding_whitespace():
    settings = read(SpotUserName="  SpotAdmin \n", Region=" eu-west-1 ", BootstrapAccessKeyId=f" {KEY_ID} ")
    assert settings.spot_user_name == "SpotAdmin"
    assert settings.region == "eu-west-1"
    assert settings.bootstrap_access_key_id == KEY_ID


def test_empty_profile_name_plugin_name_and_path_fall_back_to_their_defaults():
    settings = read(CredentialsProfileName="", SpotPluginName=" ", IamPath="")
    assert settings.credentials_profile_name == "DeadlineSpotEventPlugin"
    assert settings.spot_plugin_name == "Spot"
    assert settings.iam_path == "/"


# -- booleans -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("True", True), ("true", True), (" TRUE ", True), ("1", True), ("False", False), ("false", False), ("", False)],
)
def test_boolean_settings_accept_deadlines_spellings(text: str, expected: bool):
    settings = read(CreateMissing=text, EnableResourceTracker=text, ForgetBootstrapCredential=text)
    assert settings.create_missing is expected
    assert settings.enable_resource_tracker is expected
    assert settings.forget_bootstrap_credential is expected


@pytest.mark.parametrize("key", ["CreateMissing", "EnableResourceTracker", "ForgetBootstrapCredential"])
def test_a_bad_boolean_is_refused_naming_its_key(key: str):
    message = refusal(**{key: "maybe"})
    assert key in message
    assert "maybe" in message


# -- CheckIntervalHours ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("0", 0), (" 48 ", 48), ("8760", 8760)])
def test_check_interval_accepts_whole_hours_from_0_to_a_year(text: str, expected: int):
    assert read(CheckIntervalHours=text).check_interval_hours == expected


@pytest.mark.parametrize("text", ["abc", "1.5", "", "24h"])
def test_check_interval_that_is_not_a_whole_number_is_refused(text: str):
    assert "CheckIntervalHours" in refusal(CheckIntervalHours=text)


@pytest.mark.parametrize("text", ["-1", "8761"])
def test_check_interval_out_of_range_is_refused(text: str):
    assert "CheckIntervalHours" in refusal(CheckIntervalHours=text)


# -- enumerations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", DELIVERY_CHOICES)
def test_key_delivery_choices_are_read_case_insensitively(choice: str):
    assert read(KeyDelivery=choice.upper()).key_delivery == choice
    assert read(KeyDelivery=f" {choice.lower()} ").key_delivery == choice


def test_spot_credentials_mode_is_read_case_insensitively():
    assert read(SpotCredentialsMode="iam role").spot_credentials_mode == ROLE_MODE
    assert read(SpotCredentialsMode="IAM USER").spot_credentials_mode == USER_MODE


@pytest.mark.parametrize(("key", "text"), [("KeyDelivery", "Email"), ("SpotCredentialsMode", "IAM Group")])
def test_an_unknown_choice_is_refused_naming_its_key(key: str, text: str):
    message = refusal(**{key: text})
    assert key in message
    assert text in message


# -- tags -----------------------------------------------------------------------------------------


def test_tags_are_read_one_per_line_and_a_value_may_be_empty():
    assert read(Tags="a=b\nc=").tags == (("a", "b"), ("c", ""))


def test_tags_skip_blank_lines_and_accept_windows_line_ends():
    assert read(Tags="\r\nteam=render\r\n\r\ncost=vfx\r\n").tags == (("team", "render"), ("cost", "vfx"))


def test_a_tag_without_equals_sign_is_refused():
    with pytest.raises(InvalidSettings):
        read(Tags="team=render\nnovalue")


# -- engine settings ------------------------------------------------------------------------------


def test_engine_settings_map_every_name_in_user_mode():
    settings = read(
        SpotUserName="SpotAdmin",
        WorkerRoleName="DeadlineSpotWorkerX",
        InstanceProfileName="WorkerProfile",
        FleetRoleName="DeadlineSpotFleet",
        TrackerRoleName="DeadlineResourceTrackerAccessX",
        EnableResourceTracker="False",
        IamPath="/deadline/",
        PermissionsBoundary="arn:aws:iam::123456789012:policy/Boundary",
        Tags="team=render",
    )
    assert settings.engine_settings() == Settings(
        spot_user="SpotAdmin",
        spot_role=None,
        access_key=True,
        worker_role="DeadlineSpotWorkerX",
        instance_profile="WorkerProfile",
        fleet_role="DeadlineSpotFleet",
        tracker_role="DeadlineResourceTrackerAccessX",
        resource_tracker=False,
        path="/deadline/",
        permissions_boundary="arn:aws:iam::123456789012:policy/Boundary",
        tags=(("team", "render"),),
    )


def test_engine_settings_of_the_defaults_are_the_engines_defaults():
    assert read().engine_settings() == Settings()


def test_empty_instance_profile_name_and_boundary_become_none():
    engine = read(InstanceProfileName="", PermissionsBoundary="").engine_settings()
    assert engine.instance_profile is None
    assert engine.permissions_boundary is None


def test_role_mode_without_a_role_name_is_refused():
    settings = read(SpotCredentialsMode="IAM Role")
    with pytest.raises(InvalidSettings, match="SpotRoleName"):
        settings.engine_settings()


def test_role_mode_uses_the_role_and_creates_no_access_key():
    engine = read(SpotCredentialsMode="IAM Role", SpotRoleName="RcsInstanceRole").engine_settings()
    assert engine.spot_role == "RcsInstanceRole"
    assert engine.access_key is False


def test_user_mode_ignores_a_leftover_role_name():
    engine = read(SpotRoleName="RcsInstanceRole").engine_settings()
    assert engine.spot_role is None
    assert engine.access_key is True


# -- AWS access -----------------------------------------------------------------------------------


def test_a_key_id_without_its_secret_is_refused():
    with pytest.raises(InvalidSettings, match="BootstrapSecretAccessKey"):
        read(BootstrapAccessKeyId=KEY_ID).aws_access()


def test_a_secret_without_its_key_id_is_refused_without_quoting_the_secret():
    with pytest.raises(InvalidSettings) as caught:
        read(BootstrapSecretAccessKey=SECRET).aws_access()
    assert "BootstrapAccessKeyId" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_an_external_id_without_a_role_is_refused():
    with pytest.raises(InvalidSettings, match="BootstrapRoleArn"):
        read(BootstrapExternalId="deadline-setup").aws_access()


@pytest.mark.parametrize("arn", ["DeadlineSetupAdmin", "arn:aws:iam::12345:role/X", "arn:aws:iam::123456789012:user/X"])
def test_a_bad_role_arn_is_refused(arn: str):
    with pytest.raises(InvalidSettings):
        read(BootstrapRoleArn=arn).aws_access()


def test_bootstrap_keys_take_precedence_over_the_profile():
    access = read(BootstrapAccessKeyId=KEY_ID, BootstrapSecretAccessKey=SECRET, BootstrapProfile="admin").aws_access()
    assert access.profile is None
    assert access.access_key_id == KEY_ID
    assert access.secret_access_key == SECRET


def test_the_profile_is_used_when_no_bootstrap_key_is_set():
    access = read(BootstrapProfile="admin", Region="eu-west-1").aws_access()
    assert access.profile == "admin"
    assert access.access_key_id is None
    assert access.secret_access_key is None
    assert access.region == "eu-west-1"


def test_empty_settings_give_the_default_credential_chain():
    access = read().aws_access()
    assert (access.profile, access.region, access.endpoint_url, access.access_key_id) == (None, None, None, None)
    assert (access.role_arn, access.external_id) == (None, None)


def test_role_and_external_id_are_passed_on():
    access = read(BootstrapRoleArn=ROLE_ARN, BootstrapExternalId="deadline-setup").aws_access()
    assert access.role_arn == ROLE_ARN
    assert access.external_id == "deadline-setup"


def test_aws_access_uses_the_plugins_tighter_timeouts():
    assert read().aws_access().timeouts == PLUGIN_TIMEOUTS
    command_line = CLI_TIMEOUTS
    assert PLUGIN_TIMEOUTS.connect < command_line.connect
    assert PLUGIN_TIMEOUTS.read < command_line.read
    assert PLUGIN_TIMEOUTS.call_budget < command_line.call_budget
    assert PLUGIN_TIMEOUTS.max_attempts <= command_line.max_attempts


def test_uses_bootstrap_keys_needs_both_halves():
    assert read(BootstrapAccessKeyId=KEY_ID, BootstrapSecretAccessKey=SECRET).uses_bootstrap_keys
    assert not read(BootstrapAccessKeyId=KEY_ID).uses_bootstrap_keys
    assert not read(BootstrapSecretAccessKey=SECRET).uses_bootstrap_keys


def test_repr_never_shows_the_bootstrap_secret():
    settings = read(BootstrapAccessKeyId=KEY_ID, BootstrapSecretAccessKey=SECRET)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(settings.aws_access())
    assert KEY_ID in repr(settings)


# -- the region and the service-linked roles ------------------------------------------------------------------------


def test_a_region_botocore_does_not_know_is_refused_with_the_region_meant():
    message = refusal(Region="us-easst-1")
    assert "Region 'us-easst-1' is not a region this botocore" in message
    assert "did you mean 'us-east-1'?" in message and "set AllowUnknownRegion to True" in message


def test_a_region_newer_than_botocore_is_taken_with_allow_unknown_region():
    settings = read(Region="xx-future-1", AllowUnknownRegion="True")
    assert settings.allow_unknown_region is True
    assert settings.aws_access().region == "xx-future-1" and settings.aws_access().allow_unknown_region is True


def test_a_known_region_is_taken_as_it_is():
    assert read(Region="eu-west-1").aws_access().region == "eu-west-1"


def test_a_new_process_parses_botocore_endpoint_data_once_for_the_settings_and_the_gateway():
    """The Region setting is checked against botocore's endpoint data when the settings are read, and again with the
    session's data when the gateway opens: one parse of endpoints.json per process (about 40 ms of CPU each), the
    session's clients resolving their endpoints from the same parsed data. In a process of its own: what was parsed
    is kept for the process's life."""
    script = textwrap.dedent(
        """
        import botocore.loaders
        parsed = []
        load_file = botocore.loaders.JSONFileLoader.load_file
        def counting(self, file_path, *args, **kwargs):
            if "endpoints" in str(file_path):
                parsed.append(file_path)
            return load_file(self, file_path, *args, **kwargs)
        botocore.loaders.JSONFileLoader.load_file = counting
        from spot_iam_plugin.settings import read_settings
        from DeadlineSpotIamSetup.gateway import connect
        settings = read_settings(lambda key, default: {"Region": "eu-west-1"}.get(key, default))
        connect(settings.aws_access())  # the gateway's IAM client is made here
        print(len(parsed))
        """
    )
    environment = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="not-a-secret")
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "lib")])
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_service_linked_roles_are_created_unless_the_organisation_creates_them():
    assert read().engine_settings().service_linked_roles is True
    assert read(CreateServiceLinkedRoles="False").engine_settings().service_linked_roles is False

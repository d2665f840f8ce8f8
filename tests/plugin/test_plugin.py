"""The installed event plugin, loaded the way Deadline loads it, firing house cleanings against moto's server.

Every test checks at teardown that no log line holds a secret (the bootstrap one or a created one).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import boto3
import pytest
from deadline_standin import PluginHost
from plugin_farm import (
    BOOTSTRAP_KEY_ID,
    BOOTSTRAP_SECRET,
    USER,
    Farm,
    all_in_place,
    machine,
)
from spot_param_samples import SPOT_PARAM_WITHOUT_KEY_FIELDS

from DeadlineSpotIamSetup.install import PLUGIN_NAME
from tests.support.wire import caller_arn

pytestmark = pytest.mark.waits  # the simulated RCS machines' polls and an unanswered AWS: run first (tests/conftest.py)


def test_empty_account_gets_everything_and_the_spot_plugin_gets_a_working_key(farm: Farm, host: PluginHost, iam):
    host.house_cleaning(PLUGIN_NAME)
    spot = farm.spot()
    assert spot["AccessID"].startswith("AKIA") and spot["SecretKey"]
    assert spot["UseLocalCredentials"] == "False"
    assert caller_arn(farm.endpoint, spot["AccessID"], spot["SecretKey"]).endswith(f":user/{USER}")
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [spot["AccessID"]]
    log = farm.log()
    assert "first house cleaning since RCS/Pulse started" in log
    assert "done: create role DeadlineSpotWorker trusted by ec2.amazonaws.com" in log
    assert f"New access key {spot['AccessID']} for user {USER} delivered to the Spot event plugin's Security" in log
    assert all_in_place() in log
    assert (
        farm.fake.metadata(PLUGIN_NAME)[next(k for k in farm.fake.metadata(PLUGIN_NAME) if k.startswith("LastResult"))]
        == "ok"
    )
    assert farm.fake.warnings() == []


def test_the_endpoint_named_by_aws_endpoint_url_is_used_with_every_supported_botocore(farm: Farm, monkeypatch):
    """botocore reads AWS_ENDPOINT_URL itself from 1.31.0 (its CHANGELOG; configprovider.ConfiguredEndpointProvider);
    with the older boto3 of Deadline 10.1/10.2 the engine reads it (old_botocore). This suite runs with both."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", farm.proxy.endpoint_url)
    farm.configure(EndpointUrl="")
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as host:
        assert host.house_cleaning(PLUGIN_NAME).error is None
    assert farm.proxy.counts()["GetCallerIdentity"] >= 1 and farm.writes()["CreateUser"] == 1
    assert all_in_place() in farm.log()


def test_later_house_cleanings_make_no_aws_call(farm: Farm, host: PluginHost):
    host.house_cleaning(PLUGIN_NAME)
    farm.proxy.clear()
    farm.fake.clear_log()
    for _ in range(3):
        host.house_cleaning(PLUGIN_NAME)
    assert farm.proxy.counts() == {}
    assert farm.fake.log_lines() == []


def test_restart_checks_again_without_writing(farm: Farm, host: PluginHost):
    host.house_cleaning(PLUGIN_NAME)
    key_before = farm.spot()["AccessID"]
    farm.proxy.clear()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    counts = farm.proxy.counts()
    assert sum(counts.values()) > 0
    assert farm.writes() == {}
    assert farm.spot()["AccessID"] == key_before
    assert f"uses access key {key_before} of user {USER}" in farm.log()


def test_interval_elapsed_checks_again(farm: Farm, host: PluginHost):
    farm.configure(CheckIntervalHours=1)
    host.house_cleaning(PLUGIN_NAME)
    metadata = farm.fake.metadata(PLUGIN_NAME)
    last = next(k for k in metadata if k.startswith("LastCheckUtc"))
    metadata[last] = "2000-01-01T00:00:00+00:00"
    farm.proxy.clear()
    host.house_cleaning(PLUGIN_NAME)
    assert "1 h (CheckIntervalHours) since the last check" in farm.log()
    assert farm.proxy.counts() and farm.writes() == {}


def test_create_missing_off_reports_only(farm: Farm, host: PluginHost, iam):
    farm.configure(CreateMissing=False)
    host.house_cleaning(PLUGIN_NAME)
    assert farm.writes() == {}
    assert iam.list_roles()["Roles"] == []
    warnings = "\n".join(farm.fake.warnings())
    assert "Left as they are, CreateMissing is off: spot-user DeadlineSpotEventPluginAdmin" in warnings
    assert "worker-role DeadlineSpotWorker" in warnings and "bootstrap-policy" in warnings
    assert "missing  worker-role" in farm.log()


def test_a_check_ends_only_once_every_call_it_made_is_answered(farm: Farm, host: PluginHost):
    """The permission chain's reads of the expected AWS managed policies are not waited for when the Spot user does
    not exist; the check still ends only once they are answered: no call of a finished check is left under way in
    RCS/Pulse's process."""
    farm.configure(CreateMissing=False)
    farm.proxy.gather("GetPolicy", parties=3, timeout=1.0)  # the 2 expected policies' reads held a second
    host.house_cleaning(PLUGIN_NAME)
    ended = time.monotonic()
    late = [action for _, action, _, answered in farm.proxy.rounds() if answered > ended]
    assert farm.proxy.counts()["GetPolicy"] == 2 and late == [], late
    assert "Left as they are, CreateMissing is off: spot-user" in "\n".join(farm.fake.warnings())


def test_unresponsive_aws_returns_in_bounded_time_without_raising(farm: Farm, host: PluginHost):
    farm.proxy.hang()
    started = time.monotonic()
    result = host.house_cleaning(PLUGIN_NAME)
    elapsed = time.monotonic() - started
    assert result.error is None
    assert elapsed < 40  # the contract: with AWS unresponsive the house cleaning returns within 40 s
    assert "did not answer" in "\n".join(farm.fake.warnings())
    assert "the next attempt comes in 15 minutes" in farm.log()
    farm.proxy.unhang()
    farm.proxy.clear()
    host.house_cleaning(PLUGIN_NAME)  # a failed check is not retried at every house cleaning
    assert farm.proxy.counts() == {}


def test_key_goes_to_a_named_profile_when_spot_has_no_key_fields(farm: Farm, host: PluginHost):
    farm.fake.write_spot_param(SPOT_PARAM_WITHOUT_KEY_FIELDS)
    credentials = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
    credentials.write_text(
        "# managed by hand\n[render]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"
    )
    host.house_cleaning(PLUGIN_NAME)
    text = credentials.read_text()
    assert text.startswith(
        "# managed by hand\n[render]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"
    )
    assert "[DeadlineSpotEventPlugin]" in text
    if os.name == "posix":
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert farm.spot()["UseLocalCredentials"] == "True"
    assert farm.spot()["NamedProfile"] == "DeadlineSpotEventPlugin"
    session = boto3.session.Session(profile_name="DeadlineSpotEventPlugin", region_name="us-east-1")
    arn = session.client("sts", endpoint_url=farm.endpoint).get_caller_identity()["Arn"]
    assert arn.endswith(f":user/{USER}")
    assert "profile [DeadlineSpotEventPlugin]" in farm.log()


def test_forget_bootstrap_credential_clears_it_after_success(farm: Farm, host: PluginHost):
    farm.configure(ForgetBootstrapCredential=True)
    host.house_cleaning(PLUGIN_NAME)
    config = farm.fake.config(PLUGIN_NAME)
    assert config["BootstrapSecretAccessKey"] == "" and config["BootstrapAccessKeyId"] == ""
    assert f"Deactivate or delete access key {BOOTSTRAP_KEY_ID}" in farm.log()


def test_bootstrap_credential_is_kept_when_the_run_fails(farm: Farm, host: PluginHost):
    farm.configure(ForgetBootstrapCredential=True)
    farm.proxy.inject(status=403, code="AccessDenied", action="CreateRole", times=None)
    host.house_cleaning(PLUGIN_NAME)
    assert farm.fake.config(PLUGIN_NAME)["BootstrapSecretAccessKey"] == BOOTSTRAP_SECRET
    assert "AWS denied iam:CreateRole on worker-role DeadlineSpotWorker" in "\n".join(farm.fake.warnings())


def test_a_refused_change_leaves_every_other_made_and_the_key_delivered(farm: Farm, host: PluginHost, iam):
    """As on the command line: every change that does not need the refused one is made (the user, its policies, the
    key the Spot plugin is given); each change not made is a warning saying why; the run counts as failed (retried
    sooner)."""
    farm.proxy.inject(status=403, code="AccessDenied", action="CreateRole", times=None)
    host.house_cleaning(PLUGIN_NAME)
    spot = farm.spot()
    assert caller_arn(farm.endpoint, spot["AccessID"], spot["SecretKey"]).endswith(f":user/{USER}")
    assert len(iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]) == 2
    warnings = "\n".join(farm.fake.warnings())
    worker = "create role DeadlineSpotWorker trusted by ec2.amazonaws.com"
    assert f"Not done (refused): {worker}: AWS denied iam:CreateRole on worker-role DeadlineSpotWorker" in warnings
    assert (
        "Not done (not attempted): add role DeadlineSpotWorker to instance profile DeadlineSpotWorker: it needs "
        f"{worker}, which was refused"
    ) in warnings
    metadata = farm.fake.metadata(PLUGIN_NAME)
    assert metadata[next(key for key in metadata if key.startswith("LastResult"))] == "failed"


def test_service_linked_roles_the_organisation_creates_are_never_created(farm: Farm, host: PluginHost):
    farm.configure(CreateServiceLinkedRoles=False)
    host.house_cleaning(PLUGIN_NAME)
    assert "CreateServiceLinkedRole" not in farm.writes()
    assert all_in_place(create_service_linked_roles=False) in farm.log()
    assert "AWSServiceRoleForEC2Spot" in farm.log() and "expected from your organisation" in farm.log()


def test_existing_key_the_spot_plugin_lacks_gets_instructions(farm: Farm, host: PluginHost, iam):
    iam.create_user(UserName=USER)
    existing = iam.create_access_key(UserName=USER)["AccessKey"]
    farm.secrets.add(existing["SecretAccessKey"])
    host.house_cleaning(PLUGIN_NAME)
    warnings = "\n".join(farm.fake.warnings())
    assert f"does not use an access key of user {USER} (it has no access key set)" in warnings
    assert existing["AccessKeyId"] in warnings and "Security Credentials" in warnings
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 1


def test_role_mode_gives_an_existing_role_the_admin_policies(farm: Farm, host: PluginHost, iam):
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="RcsInstanceRole", AssumeRolePolicyDocument=json.dumps(trust))
    farm.configure(SpotCredentialsMode="IAM Role", SpotRoleName="RcsInstanceRole")
    host.house_cleaning(PLUGIN_NAME)
    attached = iam.list_attached_role_policies(RoleName="RcsInstanceRole")["AttachedPolicies"]
    assert len(attached) == 2
    assert iam.list_users()["Users"] == []
    assert "SecretKey" not in farm.spot() or farm.spot()["SecretKey"] == ""
    assert all_in_place(spot_credentials_mode="IAM Role", spot_role_name="RcsInstanceRole") in farm.log()


def test_invalid_settings_are_logged_and_make_no_aws_call(farm: Farm, host: PluginHost):
    farm.configure(WorkerRoleName="Workers")
    result = host.house_cleaning(PLUGIN_NAME)
    assert result.error is None
    assert farm.proxy.counts() == {}
    assert "must begin with 'DeadlineSpot'" in "\n".join(farm.fake.warnings())


@pytest.mark.parametrize("register_as", [PLUGIN_NAME, "deadline_event_plugin_3f2a"])
def test_loads_whatever_module_name_the_host_registers(farm: Farm, register_as: str):
    with PluginHost(farm.fake, register_as=register_as) as host:
        result = host.house_cleaning(PLUGIN_NAME)
    assert result.error is None
    assert all_in_place() in farm.log()


def test_two_machines_sharing_one_database_each_check_once(shared_farm: Farm, iam):
    farm = shared_farm
    with machine(farm, "rcs-a") as a, machine(farm, "rcs-b") as b:
        assert a.house_cleaning()["error"] is None and b.house_cleaning()["error"] is None
        farm.proxy.clear()
        a.house_cleaning()
        b.house_cleaning()
    assert farm.proxy.counts() == {}
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 1
    assert farm.log().count("Checking the Spot Event Plugin's IAM identities") == 2


def test_allowed_source_ips_give_the_spot_user_restricted_copies(farm: Farm, host: PluginHost, iam):
    farm.configure(AllowedSourceIps="203.0.113.10/32\n2001:db8::/64")
    host.house_cleaning(PLUGIN_NAME)
    attached = {p["PolicyName"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]}
    assert attached == {"DeadlineSpotEventPluginAdminPolicy-SourceIp", "DeadlineResourceTrackerAdminPolicy-SourceIp"}
    assert all_in_place(allowed_source_ips="203.0.113.10/32\n2001:db8::/64") in farm.log()
    assert farm.spot()["AccessID"].startswith("AKIA")


def test_malformed_allowed_source_ips_are_invalid_settings(farm: Farm, host: PluginHost):
    farm.configure(AllowedSourceIps="10.0.0.1/8")
    host.house_cleaning(PLUGIN_NAME)
    assert farm.proxy.counts() == {}
    assert "host bits set" in "\n".join(farm.fake.warnings())


def test_a_copy_an_admin_edited_is_reported_at_every_check_and_never_overwritten(farm: Farm, host: PluginHost, iam):
    farm.configure(AllowedSourceIps="203.0.113.10/32")
    host.house_cleaning(PLUGIN_NAME)
    arn = "arn:aws:iam::123456789012:policy/DeadlineSpotEventPluginAdminPolicy-SourceIp"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    deny = {"Sid": "NoUserDeletion", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}
    document["Statement"].append(deny)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    farm.proxy.clear()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)  # CreateMissing is on: the plugin applies
    assert farm.writes() == {}
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    assert iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"] == document
    assert "edited by hand: adds statement 'NoUserDeletion' (Deny iam:DeleteUser)" in farm.log()


@pytest.mark.parametrize("addresses", ["0.0.0.0/0", "::/0\n203.0.113.10/32"])
def test_an_allowed_address_list_that_restricts_nothing_is_refused_unless_meant(
    farm: Farm, host: PluginHost, iam, addresses: str
):
    farm.configure(AllowedSourceIps=addresses)
    host.house_cleaning(PLUGIN_NAME)
    assert farm.proxy.counts() == {}
    warnings = "\n".join(farm.fake.warnings())
    assert "restricts nothing" in warnings and "Allow Any Address" in warnings
    farm.configure(AllowAnyAddress=True)
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    attached = {p["PolicyName"] for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]}
    assert attached == {"DeadlineSpotEventPluginAdminPolicy-SourceIp", "DeadlineResourceTrackerAdminPolicy-SourceIp"}


def test_an_address_with_an_ipv6_zone_index_is_refused_in_one_line(farm: Farm, host: PluginHost):
    farm.configure(AllowedSourceIps="fe80::1%eth0")
    host.house_cleaning(PLUGIN_NAME)
    assert farm.proxy.counts() == {}
    (line,) = [w for w in farm.fake.warnings() if "fe80::1%eth0" in w]
    assert "zone index" in line and "\n" not in line


def test_concise_by_default_every_identity_with_verbose(farm: Farm, host: PluginHost):
    host.house_cleaning(PLUGIN_NAME)  # sets everything up
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert all_in_place() in farm.log()
    assert "  ok       spot-user" not in farm.log()  # nothing needs attention: the summary says it
    farm.configure(Verbose=True)
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert "  ok       spot-user" in farm.log() and "  ok       worker-role" in farm.log()


def test_on_an_ec2_instance_role_the_role_mode_is_suggested_once_per_process(farm: Farm, host: PluginHost):
    """RFDK runs RCS with an instance role; botocore's chain names it "iam-role" (test_gateway_pure.py shows that
    from botocore itself). Here the gateway of the plugin's own process is told so."""
    module = host.load(PLUGIN_NAME)
    with host.process_patches(PLUGIN_NAME):
        module._load_runner()
        gateway = sys.modules["DeadlineSpotIamSetup.gateway"]
        gateway.IamGateway.credential_source = property(lambda self: "iam-role")
    host.house_cleaning(PLUGIN_NAME)
    farm.configure(CheckNowRequest="a1b2c3 2026-01-01T00:00:00+00:00 alice")  # a second check in this process
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert log.count("Checking the Spot Event Plugin's IAM identities") == 2
    assert log.count("This machine runs on EC2 with an instance role") == 1
    assert "set Spot Credentials (SpotCredentialsMode) to IAM Role and Spot Role Name (SpotRoleName)" in log

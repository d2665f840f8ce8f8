"""The event plugin when things go wrong around the key: delivery settings that cannot work, a hand-off that fails
half-way, bookkeeping that fails, several RCS machines delivering to named profiles, a run past its time limit.

Loaded and driven as in test_plugin.py, with the same farm (plugin_farm.py: the installed plugin, moto behind a
counting proxy) and fixtures (conftest.py)."""

from __future__ import annotations

import threading
import time

import pytest
from plugin_farm import BOOTSTRAP_SECRET, USER, Farm, intercept_setting_writes, machine
from spot_param_samples import SPOT_PARAM_WITHOUT_KEY_FIELDS

from DeadlineSpotIamSetup.install import PLUGIN_NAME


def warnings(farm: Farm) -> str:
    return "\n".join(farm.fake.warnings())


def key_calls(farm: Farm) -> dict[str, int]:
    counts = farm.proxy.counts()
    return {op: counts[op] for op in ("CreateAccessKey", "DeleteAccessKey") if counts[op]}


@pytest.mark.parametrize(
    ("settings", "setting_named"),
    [
        ({"KeyDelivery": "Spot Plugin Fields"}, "KeyDelivery"),
        ({"CredentialsProfileName": "default"}, "CredentialsProfileName"),
    ],
    ids=["fields-the-spot-plugin-lacks", "profile-named-default"],
)
def test_delivery_settings_that_cannot_work_create_no_key_and_name_the_setting(
    farm: Farm, host, iam, settings, setting_named
):
    farm.fake.write_spot_param(SPOT_PARAM_WITHOUT_KEY_FIELDS)
    farm.configure(**settings)
    host.house_cleaning(PLUGIN_NAME)
    assert key_calls(farm) == {}  # no key created and deleted again
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    assert setting_named in warnings(farm) and "run apply again" not in warnings(farm)
    assert iam.get_role(RoleName="DeadlineSpotWorker")  # everything else is still set up


def test_a_hand_off_failing_half_way_leaves_the_spot_plugin_as_it_was(farm: Farm, host, iam, monkeypatch):
    def flaky(name, key):
        if name == "Spot" and key == "UseLocalCredentials":
            raise RuntimeError("the database refused the write")

    intercept_setting_writes(monkeypatch, flaky)
    farm.fake.set_config("Spot", AccessID="", SecretKey="")
    host.house_cleaning(PLUGIN_NAME)
    assert farm.spot().get("AccessID") == "" and farm.spot().get("SecretKey") == ""
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []  # the key was deleted again
    assert "RuntimeError: the database refused the write" in warnings(farm)


def test_a_bookkeeping_failure_is_reported_as_such_and_the_work_is_not_redone(farm: Farm, host, monkeypatch):
    farm.configure(ForgetBootstrapCredential=True)
    def refuse_forgetting(name, key):
        if name == PLUGIN_NAME and key.startswith("Bootstrap"):
            raise RuntimeError("settings are read-only")

    intercept_setting_writes(monkeypatch, refuse_forgetting)
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert "nothing changed by it" not in log
    assert "could not clear the bootstrap credential" in log and "RuntimeError: settings are read-only" in log
    farm.proxy.clear()
    host.house_cleaning(PLUGIN_NAME)
    assert farm.proxy.counts() == {}  # the successful run was recorded: no second check


def test_the_bootstrap_credential_is_kept_while_another_machine_delivers_the_key(farm: Farm, host, iam):
    """A run that left the key to a racing machine must not forget the shared bootstrap credential: if that
    machine's delivery fails, it needs the credential to try again."""
    farm.configure(ForgetBootstrapCredential=True)
    farm.proxy.latency = 0.2  # room for the other machine to act between this run's attachments and its key step

    def other_machine() -> None:  # creates the key the moment this run has attached the user's policies
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not farm.proxy.counts()["AttachUserPolicy"]:
            time.sleep(0.01)
        key = iam.create_access_key(UserName=USER)["AccessKey"]
        farm.secrets.add(key["SecretAccessKey"])

    racer = threading.Thread(target=other_machine)
    racer.start()
    host.house_cleaning(PLUGIN_NAME)
    racer.join()
    assert "Another run created the access key at the same moment" in farm.log()
    assert farm.fake.config(PLUGIN_NAME)["BootstrapSecretAccessKey"] == BOOTSTRAP_SECRET
    assert "the bootstrap credential is kept" in farm.log()


def test_every_machine_gets_the_named_profile_the_spot_plugin_is_pointed_at(shared_farm: Farm, iam, tmp_path):
    """Two RCS machines, each its own OS process with its own credentials file, one Deadline database: the one
    that delivers the key as a named profile points the shared Spot settings at that profile, so the other must
    end with the same key in its own file."""
    farm = shared_farm
    farm.fake.write_spot_param(SPOT_PARAM_WITHOUT_KEY_FIELDS)
    files = {name: tmp_path / name / "credentials" for name in ("rcs-a", "rcs-b")}
    own_file = {name: {"AWS_SHARED_CREDENTIALS_FILE": str(path)} for name, path in files.items()}
    with machine(farm, "rcs-a", **own_file["rcs-a"]) as a, machine(farm, "rcs-b", **own_file["rcs-b"]) as b:
        for host_process in (a, b, a, b):
            assert host_process.house_cleaning()["error"] is None
    (key,) = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    for path in files.values():
        assert f"aws_access_key_id = {key['AccessKeyId']}" in path.read_text()
    assert farm.log().count(f"The Spot event plugin uses access key {key['AccessKeyId']}") >= 1
    assert "does not use an access key" not in farm.log()
    for line in files["rcs-b"].read_text().splitlines():
        if line.startswith("aws_secret_access_key"):
            farm.secrets.add(line.split("=", 1)[1].strip())

"""Rotating the Spot user's access key from the event plugin (RotateKeyAfterDays), loaded and driven as in
test_plugin.py, with the same farm (plugin_farm.py) and fixtures (conftest.py).

moto dates a key when it makes it and cannot backdate one, so the farm's proxy makes a key look older in
ListAccessKeys' replies (``AgingProxy.age``); a house cleaning can also run "days later" (``house_cleaning_at``),
the runner's ``now``, which the engine judges keys' ages and the rotation's grace period at. Every test checks at
teardown that no log line holds a secret, the old keys' included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from deadline_standin import PluginHost
from plugin_farm import USER, Farm, all_in_place, checked, intercept_setting_writes, machine
from spot_param_samples import SPOT_PARAM_WITHOUT_KEY_FIELDS

from DeadlineSpotIamSetup import cli
from DeadlineSpotIamSetup.install import PLUGIN_NAME
from DeadlineSpotIamSetup.key_records import ROTATING_TAG, RotationMark
from DeadlineSpotIamSetup.waits import KEY_RETIRE_GRACE
from tests.support.exact_pair_proxy import ExactPairProxy
from tests.support.fault_proxy import FaultProxy
from tests.support.wire import caller_arn

_MEMBER = re.compile(rb"<member>.*?</member>", re.S)
_CREATED = re.compile(rb"<CreateDate>([^<]+)</CreateDate>")


class AgingProxy(FaultProxy):
    """The farm's counting proxy that also makes chosen access keys look older in ListAccessKeys' replies."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        self.aged: dict[str, timedelta] = {}

    def age(self, access_key_id: str, days: int) -> None:
        self.aged[access_key_id] = timedelta(days=days)

    def _forward(self, method, path, headers, body):
        status, reason, relayed, payload = super()._forward(method, path, headers, body)
        if self.aged and b"<ListAccessKeysResponse" in payload:
            payload = _MEMBER.sub(self._backdate, payload)
        return status, reason, relayed, payload

    def _backdate(self, member: re.Match) -> bytes:
        text = member.group(0)
        by = next((delta for key, delta in self.aged.items() if f"<AccessKeyId>{key}<".encode() in text), None)
        if by is None:
            return text

        def earlier(date: re.Match) -> bytes:
            moment = datetime.fromisoformat(date.group(1).decode().replace("Z", "+00:00")) - by
            # In whole seconds, as IAM gives it (IAM API Reference, ListAccessKeys, sample response:
            # <CreateDate>2012-05-08T23:34:01Z</CreateDate>) and as the Date header gives AWS's time; moto's fraction
            # of a second would make a key aged 100 days a few milliseconds short of it when read within that second.
            return b"<CreateDate>" + moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b"</CreateDate>"

        return _CREATED.sub(earlier, text)


@pytest.fixture
def aging(endpoint: str) -> Iterator[AgingProxy]:
    with AgingProxy(endpoint) as running:
        yield running


@pytest.fixture
def exact(endpoint: str) -> Iterator[ExactPairProxy]:
    with ExactPairProxy(endpoint, USER) as running:
        yield running


@pytest.fixture
def exact_farm(tmp_path: Path, exact: ExactPairProxy, endpoint: str) -> Iterator[Farm]:
    """A farm whose AWS judges signatures as AWS does: plugin -> AgingProxy -> ExactPairProxy -> moto."""
    with AgingProxy(exact.endpoint_url) as aging:
        yield from checked(Farm(tmp_path / "repository", aging, endpoint))


@pytest.fixture
def farm(tmp_path: Path, aging: AgingProxy, endpoint: str) -> Iterator[Farm]:
    yield from checked(Farm(tmp_path / "repository", aging, endpoint))


@pytest.fixture
def shared_farm(tmp_path: Path, aging: AgingProxy, endpoint: str) -> Iterator[Farm]:
    yield from checked(Farm(tmp_path / "repository", aging, endpoint, database=tmp_path / "deadline-db.json"))


def house_cleaning_at(host: PluginHost, when: datetime) -> str | None:
    """One house cleaning of the installed plugin as plugin.py runs it, but with the runner's clock at ``when``."""
    module = host.load(PLUGIN_NAME)
    with host.process_patches(PLUGIN_NAME):
        listener = module.GetDeadlineEventListener()
        try:
            status = module._load_runner().on_house_cleaning(listener, module.RepositoryUtils, PLUGIN_NAME, now=when)
        finally:
            module.CleanupDeadlineEventListener(listener)
    return None if status is None else str(status)


def keys(iam) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}


def journal(farm: Farm) -> tuple[str, str]:
    config = farm.fake.config(PLUGIN_NAME)
    return config.get("DeliveredAccessKeyId", ""), config.get("DeliveredSecretAccessKey", "")


def last_result(farm: Farm) -> str:
    metadata = farm.fake.metadata(PLUGIN_NAME)
    return metadata[next(k for k in metadata if k.startswith("LastResult"))]


def warnings(farm: Farm) -> str:
    return "\n".join(farm.fake.warnings())


def first_key(farm: Farm, host: PluginHost) -> tuple[str, str]:
    """The first check: everything set up, the key delivered to the Spot plugin's fields (and journalled)."""
    host.house_cleaning(PLUGIN_NAME)
    spot = farm.spot()
    farm.secrets.add(spot["SecretKey"])
    assert journal(farm) == (spot["AccessID"], spot["SecretKey"])  # the journal is written by every delivery
    return spot["AccessID"], spot["SecretKey"]


def profile_secret(path: Path) -> str:
    return next(line.split("=", 1)[1].strip() for line in path.read_text().splitlines() if "aws_secret" in line)


def test_an_old_key_is_replaced_at_a_check_and_deleted_after_the_grace_period(farm: Farm, host: PluginHost, iam):
    old, _ = first_key(farm, host)
    farm.proxy.age(old, days=100)
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)

    spot = farm.spot()
    new = spot["AccessID"]
    assert new != old and caller_arn(farm.endpoint, new, spot["SecretKey"]).endswith(f":user/{USER}")
    assert journal(farm) == (new, spot["SecretKey"])
    assert keys(iam) == {old: "Inactive", new: "Active"}
    log = farm.log()
    assert f"done: created access key {new} to replace {old} (100 days old)" in log, log
    assert f"done: deactivated the old access key {old}" in log
    assert f"New access key {new} for user {USER} delivered to the Spot event plugin's Security Credentials" in log
    assert f"AWS accepts the new key as arn:aws:iam::123456789012:user/{USER}." in log
    # The final report shows the state after the rotation: the old key's age is no longer a finding.
    assert all_in_place() in log and "days old (limit" not in log
    assert last_result(farm) == "ok" and farm.fake.warnings() == []

    farm.fake.clear_log()
    later = datetime.now(timezone.utc) + KEY_RETIRE_GRACE + timedelta(days=1)
    assert house_cleaning_at(host, later) == "ok"
    assert keys(iam) == {new: "Active"}
    assert f"done: deleted access key {old} of user {USER}" in farm.log()
    assert farm.spot()["AccessID"] == new


def test_a_refused_spot_write_leaves_the_old_key_delivered_and_the_new_key_deleted(
    farm: Farm, host: PluginHost, iam, monkeypatch
):
    old, old_secret = first_key(farm, host)
    farm.proxy.age(old, days=100)
    def refuse_the_secret(name, key):
        if name == "Spot" and key == "SecretKey":
            raise RuntimeError("the database refused the write")

    intercept_setting_writes(monkeypatch, refuse_the_secret)
    host.restart()
    host.house_cleaning(PLUGIN_NAME)

    assert (farm.spot()["AccessID"], farm.spot()["SecretKey"]) == (old, old_secret)
    assert journal(farm) == (old, old_secret)  # the journal was put back too
    assert keys(iam) == {old: "Active"}  # the new key was deleted again
    failure = [line for line in farm.fake.warnings() if "key rotation" in line]
    assert len(failure) == 1 and re.fullmatch(
        f"{PLUGIN_NAME}: Check failed during the key rotation: the new access key AKIA\\w+ was not delivered "
        r"\(RuntimeError: the database refused the write\); it was deleted again and the old key stays in use",
        failure[0],
    ), failure
    assert last_result(farm) == "failed"


class Killed(BaseException):
    """The RCS process dies here: no clean-up runs (a BaseException: the plugin's `except Exception` lets it by)."""


def test_a_rotation_killed_between_the_journal_and_the_spot_write_is_finished_by_the_next_check(
    farm: Farm, host: PluginHost, iam, monkeypatch
):
    old, _ = first_key(farm, host)
    farm.proxy.age(old, days=100)
    def die_at_the_spot_write(name, key):
        if name == "Spot":
            # From the kill on, nothing the process would still send reaches AWS (not even a clean-up).
            farm.proxy.inject(status=403, code="AccessDenied", message="the process is gone", times=None)
            raise Killed(f"killed while writing {key}")

    revive = intercept_setting_writes(monkeypatch, die_at_the_spot_write)
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    new, new_secret = journal(farm)
    farm.secrets.add(new_secret)
    assert new not in ("", old) and farm.spot()["AccessID"] == old  # journalled, not yet delivered
    assert keys(iam) == {old: "Active", new: "Active"}

    revive()
    farm.proxy.clear_faults()
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)

    spot = farm.spot()
    assert (spot["AccessID"], spot["SecretKey"]) == (new, new_secret)
    assert caller_arn(farm.endpoint, new, new_secret).endswith(f":user/{USER}")
    assert [key for key, status in keys(iam).items() if status == "Active"] == [new]
    log = farm.log()
    assert f"done: delivered access key {new} (finishing the delivery an interrupted run started)" in log
    assert f"done: deactivated the old access key {old}" in log
    assert all_in_place() in log and last_result(farm) == "ok"


def test_a_rotation_an_inactive_key_of_an_admin_blocks_is_left_to_the_admin_and_pending(
    farm: Farm, host: PluginHost, iam
):
    old, _ = first_key(farm, host)
    stranger = iam.create_access_key(UserName=USER)["AccessKey"]
    farm.secrets.add(stranger["SecretAccessKey"])
    iam.update_access_key(UserName=USER, AccessKeyId=stranger["AccessKeyId"], Status="Inactive")
    farm.proxy.age(old, days=100)
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert keys(iam) == {old: "Active", stranger["AccessKeyId"]: "Inactive"} and farm.spot()["AccessID"] == old
    assert farm.proxy.counts()["CreateAccessKey"] == 1  # only the first check's key
    assert any(
        line.startswith(
            f"{PLUGIN_NAME}: Admin to do: access-key {USER}: access key {old} is due for rotation, but the "
            f"inactive key {stranger['AccessKeyId']}, not made by this project, is in the way"
        )
        for line in farm.fake.warnings()
    ), warnings(farm)
    assert last_result(farm) == "pending"


def test_rotate_key_after_days_0_neither_rotates_nor_reports_an_age(farm: Farm, host: PluginHost, iam):
    farm.configure(RotateKeyAfterDays=0)
    old, _ = first_key(farm, host)
    farm.proxy.age(old, days=900)
    farm.proxy.clear()
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert keys(iam) == {old: "Active"} and farm.spot()["AccessID"] == old
    # The rotation is not even looked at: the check's own read of the keys (and their records), nothing more.
    assert farm.writes() == {} and farm.proxy.counts()["ListAccessKeys"] == 1
    assert all_in_place() in farm.log() and "days old" not in farm.log() and farm.fake.warnings() == []
    assert last_result(farm) == "ok"


def test_with_create_missing_off_an_old_key_is_reported_not_rotated(farm: Farm, host: PluginHost, iam):
    old, _ = first_key(farm, host)
    farm.configure(CreateMissing=False)
    farm.proxy.clear()
    farm.fake.clear_log()
    assert house_cleaning_at(host, datetime.now(timezone.utc) + timedelta(days=100)) == "pending"
    assert keys(iam) == {old: "Active"} and farm.writes() == {}
    assert f"access key {old} is 100 days old (limit 90)" in warnings(farm)
    assert "Left as they are, CreateMissing is off: access-key" in warnings(farm)
    assert "rotate-key" in warnings(farm) and "Rotate Key After Days" in warnings(farm)


def test_a_rotated_key_reaches_the_named_profile_of_every_machine(shared_farm: Farm, iam, tmp_path: Path):
    farm = shared_farm
    farm.fake.write_spot_param(SPOT_PARAM_WITHOUT_KEY_FIELDS)
    files = {name: tmp_path / name / "credentials" for name in ("rcs-a", "rcs-b")}
    own_file = {name: {"AWS_SHARED_CREDENTIALS_FILE": str(path)} for name, path in files.items()}
    with machine(farm, "rcs-a", **own_file["rcs-a"]) as a, machine(farm, "rcs-b", **own_file["rcs-b"]) as b:
        assert a.house_cleaning()["error"] is None and b.house_cleaning()["error"] is None
        (old,) = keys(iam)
        farm.secrets.add(profile_secret(files["rcs-a"]))
        farm.proxy.age(old, days=100)
        a.restart()
        assert a.house_cleaning()["error"] is None  # rcs-a rotates
        (new,) = [key for key in keys(iam) if key != old]
        # rcs-b's Spot plugin still reads the old key from its own credentials file: the old key stays active.
        assert keys(iam) == {old: "Active", new: "Active"}
        assert "not yet in the credentials file of rcs-b" in warnings(farm), warnings(farm)
        assert b.house_cleaning()["error"] is None  # rcs-b checks nothing now, but takes the key from the journal
        a.restart()
        assert a.house_cleaning()["error"] is None  # every machine holds the new key: the old one is retired
    assert keys(iam) == {old: "Inactive", new: "Active"}
    for path in files.values():
        text = path.read_text()
        secret = profile_secret(path)
        farm.secrets.add(secret)
        assert f"aws_access_key_id = {new}" in text
        assert caller_arn(farm.endpoint, new, secret).endswith(f":user/{USER}")
    assert farm.spot()["UseLocalCredentials"] == "True"
    assert f"Wrote access key {new} (delivered by this farm's plugin) into profile [DeadlineSpotEventPlugin]" in (
        farm.log()
    )


def test_a_key_rotate_key_made_is_retired_only_once_the_spot_plugin_holds_its_exact_pair(
    exact_farm: Farm, exact: ExactPairProxy, iam, tmp_path: Path
):
    """The plugin delivered K1; an admin rotates on the command line (K2 goes to a file). The plugin never claims K2's
    secret is somewhere it is not, and retires K1 only once STS accepts the exact pair in the Spot plugin's settings."""
    farm = exact_farm
    with PluginHost(farm.fake, register_as=PLUGIN_NAME) as host:
        old, old_secret = first_key(farm, host)
        secret_out = tmp_path / "k2.json"
        code = cli.main(["rotate-key", "--secret-out", str(secret_out), "--endpoint-url", exact.endpoint_url])
        assert code == 2
        new = json.loads(secret_out.read_text())
        new_id, new_secret = new["AccessKeyId"], new["SecretAccessKey"]
        farm.secrets.add(new_secret)

        farm.fake.clear_log()
        host.restart()
        host.house_cleaning(PLUGIN_NAME)
        assert "Delivered Secret Access Key" not in farm.log()
        assert f"the newest access key {new_id} is not in the Spot Event Plugin's settings" in warnings(farm)
        assert "--secret-out file of the rotate-key run that made it" in warnings(farm)
        assert keys(iam) == {old: "Active", new_id: "Active"} and last_result(farm) == "pending"

        # The admin enters K2's ID but keeps K1's secret: AWS refuses that pair, so K1 stays.
        farm.fake.set_config("Spot", AccessID=new_id)
        farm.fake.clear_log()
        host.restart()
        host.house_cleaning(PLUGIN_NAME)
        assert keys(iam) == {old: "Active", new_id: "Active"}, farm.log()
        assert f"hold access key {new_id} with a secret AWS does not accept" in warnings(farm)
        assert (new_id, "SignatureDoesNotMatch") in exact.refused

        farm.fake.set_config("Spot", SecretKey=new_secret)
        farm.fake.clear_log()
        host.restart()
        host.house_cleaning(PLUGIN_NAME)
        assert keys(iam) == {old: "Inactive", new_id: "Active"}, farm.log()
        assert f"done: deactivated the old access key {old}" in farm.log()
        assert caller_arn(farm.endpoint, new_id, new_secret).endswith(f":user/{USER}")
        assert (farm.spot()["AccessID"], farm.spot()["SecretKey"]) == (new_id, new_secret)
        assert old_secret not in farm.log()


def leave_a_killed_runs_mark(iam, old: str, minutes_ago: int = 10) -> RotationMark:
    """The mark of a rotation run killed between its mark and its create, ``minutes_ago``: long over."""
    at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    mark = RotationMark("rcs-9-killed", at, at + timedelta(seconds=10), at + timedelta(minutes=1), old)
    iam.tag_user(UserName=USER, Tags=[{"Key": ROTATING_TAG, "Value": mark.encode()}])
    return mark


def test_a_mark_that_outlived_its_run_is_reported_with_create_missing_off(farm: Farm, host: PluginHost, iam):
    old, _ = first_key(farm, host)
    leave_a_killed_runs_mark(iam, old)
    farm.configure(CreateMissing=False)
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert "an interrupted key rotation (run rcs-9-killed at " in warnings(farm), farm.log()
    assert ROTATING_TAG in {t["Key"] for t in iam.list_user_tags(UserName=USER)["Tags"]}  # reported, not touched
    assert last_result(farm) == "pending"


def test_after_a_failed_rotation_the_log_shows_the_state_the_run_left(farm: Farm, host: PluginHost, iam):
    """The rotation removed a void mark, then AWS refused its CreateAccessKey: the final report is of the account as
    the run left it (no mark), not of the plan made before the rotation."""
    old, _ = first_key(farm, host)
    leave_a_killed_runs_mark(iam, old)
    farm.proxy.age(old, days=100)
    farm.proxy.inject(status=403, code="AccessDenied", message="not allowed", action="CreateAccessKey", times=1)
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    log = farm.log()
    assert "done: removed the mark of an interrupted key rotation (run rcs-9-killed)" in log
    assert "Check failed during the key rotation: AWS denied iam:CreateAccessKey" in warnings(farm), log
    assert "left its mark on the user" not in log, log  # the drift the plan before the rotation saw
    assert ROTATING_TAG not in {t["Key"] for t in iam.list_user_tags(UserName=USER)["Tags"]}
    assert keys(iam) == {old: "Active"} and last_result(farm) == "failed"


def test_a_delivery_killed_between_the_spot_plugins_key_id_and_secret_is_written_whole_by_the_next_check(
    farm: Farm, host: PluginHost, iam, monkeypatch
):
    """Deadline writes one setting at a time: killed between the Spot plugin's Access Key ID and its Secret Access
    Key, the first delivery leaves the new ID with no secret. The next check writes the journal's whole pair, even with
    RotateKeyAfterDays 0."""
    farm.configure(RotateKeyAfterDays=0)

    def die_at_the_spot_secret(name, key):
        if name == "Spot" and key == "SecretKey":
            farm.proxy.inject(status=403, code="AccessDenied", message="the process is gone", times=None)
            raise Killed(f"killed while writing {key}")

    revive = intercept_setting_writes(monkeypatch, die_at_the_spot_secret)
    host.house_cleaning(PLUGIN_NAME, raise_errors=False)
    key_id, secret = journal(farm)
    farm.secrets.add(secret)
    assert farm.spot()["AccessID"] == key_id and farm.spot().get("SecretKey", "") != secret

    revive()
    farm.proxy.clear_faults()
    farm.fake.clear_log()
    host.restart()
    host.house_cleaning(PLUGIN_NAME)
    assert (farm.spot()["AccessID"], farm.spot()["SecretKey"]) == (key_id, secret)
    assert caller_arn(farm.endpoint, key_id, secret).endswith(f":user/{USER}")
    assert f"done: delivered access key {key_id} (finishing the delivery an interrupted run started)" in farm.log()
    assert keys(iam) == {key_id: "Active"} and last_result(farm) == "ok"

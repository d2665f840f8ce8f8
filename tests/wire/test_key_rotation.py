"""Rotating the Spot user's access key on moto's server: the command line's two-run switch-over, the event plugin's
deliver-then-deactivate, and a run killed between every two steps, after which the next run converges on one
delivered key that AWS accepts."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import empty_account, make_gateway
from states import USER

from DeadlineSpotIamSetup.cli import main
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes, rotate_access_key
from DeadlineSpotIamSetup.errors import KeyDeliveryFailed
from DeadlineSpotIamSetup.handlers.base import KEY_RECORD_PREFIX, ROTATING_TAG
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.rotation import RotationOptions
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import KEY_ORPHAN_AGE, KEY_RETIRE_GRACE

DESIRED = desired_state(Settings())
NO_WAIT = {"sleep": lambda seconds: None, "key_verification": 5.0}


def now() -> datetime:
    return datetime.now(timezone.utc)


class SpotPlugin:
    """The event plugin's side: its journal (its own settings) and the Spot Event Plugin's credentials. Delivering
    writes the journal first, then the Spot plugin's fields: two steps, as in lib/spot_iam_plugin/handoff.py."""

    def __init__(self) -> None:
        self.journal: dict[str, str] = {}
        self.spot: dict[str, str] = {}
        self.steps: list[str] = []
        self.crash_at: int | None = None

    def _step(self, name: str) -> None:
        if self.crash_at is not None and len(self.steps) >= self.crash_at:
            raise Killed(name)
        self.steps.append(name)

    def deliver(self, key: NewAccessKey) -> None:
        self._step("journal")
        self.journal = {"id": key.access_key_id, "secret": key.secret_access_key}
        self._step("spot settings")
        self.spot = {"id": key.access_key_id, "secret": key.secret_access_key}

    def configured(self) -> str | None:
        return self.spot.get("id")

    def journal_key(self) -> NewAccessKey | None:
        return NewAccessKey(USER, self.journal["id"], self.journal["secret"]) if self.journal else None


class Killed(BaseException):
    """The process died here: nothing after it runs, not even clean-up (a BaseException, as a kill is no error)."""


class Dying:
    """A gateway whose process dies before its ``crash_at``-th step: every call from then on raises Killed. The
    steps are counted together with the plugin's own (journal, Spot settings)."""

    def __init__(self, gateway: Any, plugin: SpotPlugin) -> None:
        self._gateway = gateway
        self._plugin = plugin

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._gateway, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._plugin._step(name if name != "write" else f"write {args[0]}")
            return attribute(*args, **kwargs)

        return call


def setup_with_key(endpoint: str, plugin: SpotPlugin) -> str:
    outcome = apply_changes(make_gateway(endpoint), DESIRED, key_sink=plugin.deliver)
    assert outcome.ok and outcome.result.key is not None
    return outcome.result.key.access_key_id


def sts_accepts(endpoint: str, key_id: str, secret: str) -> bool:
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    )
    return sts.get_caller_identity()["Arn"].endswith(f":user/{USER}")


def keys(iam) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}


def use_key(endpoint: str, key_id: str, secret: str) -> None:
    """What the Spot Event Plugin does with its key: EC2 calls."""
    boto3.client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    ).describe_spot_fleet_requests()


def test_apply_records_the_key_it_made_so_a_rotation_may_retire_it(endpoint, iam) -> None:
    key_id = setup_with_key(endpoint, SpotPlugin())
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=USER)["Tags"]}
    assert tags[KEY_RECORD_PREFIX + key_id].startswith("delivered ")


def test_a_key_past_its_age_limit_is_drift_naming_rotate_key(endpoint) -> None:
    setup_with_key(endpoint, SpotPlugin())
    gateway = make_gateway(endpoint)
    assert plan_changes(gateway, DESIRED).ok
    plan = plan_changes(gateway, DESIRED, now=now() + timedelta(days=91))
    finding = plan.finding(Kind.ACCESS_KEY)
    assert finding is not None and finding.status is Status.DRIFT
    assert "days old (limit 90)" in finding.problems[0]
    (step,) = plan.manual
    assert "rotate-key --secret-out FILE" in step.remedy and "Rotate Key After Days" in step.remedy
    no_limit = desired_state(Settings(key_max_age_days=0))
    assert plan_changes(gateway, no_limit, now=now() + timedelta(days=900)).ok


def test_the_command_line_switches_over_only_once_the_new_key_is_used(endpoint, iam, tmp_path: Path) -> None:
    old = setup_with_key(endpoint, SpotPlugin())
    secret_out = tmp_path / "new-key.json"

    def run(when: datetime | None = None, **options: Any):
        return rotate_access_key(
            make_gateway(endpoint),
            DESIRED,
            lambda key: secret_out.write_text(json.dumps({"id": key.access_key_id, "secret": key.secret_access_key})),
            RotationOptions(**NO_WAIT, **options),
            now=when,
        )

    assert run().done == [] and keys(iam) == {old: "Active"}  # not due: nothing happens

    first = run(now=True)
    new = json.loads(secret_out.read_text())
    assert first.key is not None and first.key.access_key_id == new["id"] and first.verified_as
    assert keys(iam) == {old: "Active", new["id"]: "Active"}  # the admin has not entered it yet
    assert not first.settled and "enter the new access key" in first.waiting[0]

    waiting = run()
    assert keys(iam) == {old: "Active", new["id"]: "Active"} and "has not been used yet" in waiting.waiting[0]

    use_key(endpoint, new["id"], new["secret"])  # the Spot Event Plugin now signs with the new key
    switched = run()
    assert keys(iam) == {old: "Inactive", new["id"]: "Active"}, switched
    finished = run()
    assert keys(iam) == {new["id"]: "Active"} and finished.settled, finished  # the successor is in use: deleted
    tags = {t["Key"] for t in iam.list_user_tags(UserName=USER)["Tags"] if ":attached:" not in t["Key"]}
    assert tags == {KEY_RECORD_PREFIX + new["id"]}  # the old key's record and the rotation mark are gone


def test_the_plugin_deactivates_the_old_key_once_the_new_one_is_delivered_and_deletes_it_after_the_grace(
    endpoint, iam
) -> None:
    plugin = SpotPlugin()
    old = setup_with_key(endpoint, plugin)
    def run(when: datetime | None = None, **options: Any):
        return rotate_access_key(
            make_gateway(endpoint),
            DESIRED,
            plugin.deliver,
            RotationOptions(**NO_WAIT, deactivate_on_delivery=True, **options),
            plugin.configured,
            plugin.journal_key(),
            when,
        )

    result = run(now=True)
    new = plugin.configured()
    assert new != old and keys(iam) == {old: "Inactive", new: "Active"} and result.settled, result
    assert sts_accepts(endpoint, new, plugin.spot["secret"])
    assert run().notes  # still in its grace period: kept, and said so
    assert keys(iam) == {old: "Inactive", new: "Active"}
    run(now() + KEY_RETIRE_GRACE + timedelta(days=1))
    assert keys(iam) == {new: "Active"}


def test_a_rotation_refuses_to_touch_an_inactive_key_it_did_not_make(endpoint, iam) -> None:
    plugin = SpotPlugin()
    setup_with_key(endpoint, plugin)
    stranger = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=USER, AccessKeyId=stranger, Status="Inactive")
    result = rotate_as_the_plugin(endpoint, plugin, dying=False)
    (step,) = result.manual
    assert stranger in step.problem and "in the way" in step.problem and "delete-access-key" in step.remedy
    assert keys(iam)[stranger] == "Inactive" and len(keys(iam)) == 2


def test_an_old_key_this_project_did_not_make_is_replaced_but_left_to_the_admin(endpoint, iam) -> None:
    iam.create_user(UserName=USER)
    admin_key = iam.create_access_key(UserName=USER)["AccessKey"]
    plugin = SpotPlugin()
    plugin.spot = {"id": admin_key["AccessKeyId"], "secret": admin_key["SecretAccessKey"]}
    result = rotate_as_the_plugin(endpoint, plugin, dying=False)
    assert plugin.configured() != admin_key["AccessKeyId"]
    assert keys(iam)[admin_key["AccessKeyId"]] == "Active"  # not ours to deactivate
    (step,) = result.manual
    assert "was not made by this project" in step.problem and "update-access-key" in step.remedy


def test_a_key_that_cannot_be_delivered_is_deleted_and_the_old_key_stays(endpoint, iam) -> None:
    plugin = SpotPlugin()
    old = setup_with_key(endpoint, plugin)

    def refuse(key: NewAccessKey) -> None:
        raise OSError(f"disk full while writing {key.secret_access_key}")

    with pytest.raises(KeyDeliveryFailed) as caught:
        rotate_access_key(make_gateway(endpoint), DESIRED, refuse, RotationOptions(**NO_WAIT, now=True))
    assert "****" in str(caught.value) and "old key stays in use" in str(caught.value)
    assert keys(iam) == {old: "Active"}
    assert ROTATING_TAG not in {t["Key"] for t in iam.list_user_tags(UserName=USER)["Tags"]}


def rotate_as_the_plugin(endpoint: str, plugin: SpotPlugin, when: datetime | None = None, dying: bool = True):
    """One rotation run in the event plugin's mode: deliver, then deactivate the old key at once. ``dying``: through
    a gateway that dies at the plugin's ``crash_at``; the first run rotates now, a later one (``when``) finishes."""
    gateway = make_gateway(endpoint)
    return rotate_access_key(
        Dying(gateway, plugin) if dying else gateway,
        DESIRED,
        plugin.deliver,
        RotationOptions(**NO_WAIT, now=when is None, max_age_days=0, deactivate_on_delivery=True),
        plugin.configured,
        plugin.journal_key(),
        when,
    )


def test_a_rotation_killed_between_any_two_steps_converges_on_the_next_run(endpoint, iam) -> None:
    plugin = SpotPlugin()
    setup_with_key(endpoint, plugin)
    plugin.steps = []
    rotate_as_the_plugin(endpoint, plugin)  # undisturbed: its steps are the kill points
    steps = plugin.steps
    for must in ("write TagUser", "create_access_key", "accepted_as", "journal", "spot settings"):
        assert must in steps, steps
    assert "write UpdateAccessKey" in steps, steps
    for crash_at in range(1, len(steps)):
        empty_account(endpoint)
        plugin = SpotPlugin()
        setup_with_key(endpoint, plugin)
        plugin.steps, plugin.crash_at = [], crash_at
        with pytest.raises(Killed):
            rotate_as_the_plugin(endpoint, plugin)
        killed_after = plugin.steps[-1] if plugin.steps else "nothing"
        # Never zero working keys delivered: whatever the Spot plugin holds at the kill still works.
        assert sts_accepts(endpoint, plugin.spot["id"], plugin.spot["secret"]), killed_after
        assert keys(iam)[plugin.spot["id"]] == "Active", killed_after

        plugin.crash_at = None
        result = rotate_as_the_plugin(endpoint, plugin, now() + KEY_ORPHAN_AGE + timedelta(minutes=2), dying=False)
        active = [key_id for key_id, status in keys(iam).items() if status == "Active"]
        assert active == [plugin.spot["id"]], (killed_after, result, keys(iam))
        assert sts_accepts(endpoint, plugin.spot["id"], plugin.spot["secret"]), killed_after
        assert not result.manual, (killed_after, result)
        tags = {t["Key"] for t in iam.list_user_tags(UserName=USER)["Tags"]}
        assert KEY_RECORD_PREFIX + plugin.spot["id"] in tags, killed_after


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_rotate_key_on_the_command_line(endpoint, iam, tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    old = json.loads(first.read_text())["AccessKeyId"]
    code, out, err = run_cli("rotate-key", "--secret-out", str(second), "--endpoint-url", endpoint)
    assert code == 0 and "days old: it is rotated when it is older than 90 days" in out, out + err
    assert not second.exists()
    code, out, err = run_cli("rotate-key", "--secret-out", str(first), "--now", "--endpoint-url", endpoint)
    assert code == 1 and "already exists" in err and "--force" in err
    code, out, err = run_cli("rotate-key", "--secret-out", str(second), "--now", "--endpoint-url", endpoint)
    new = json.loads(second.read_text())
    assert code == 2 and "enter the new access key" in out and new["AccessKeyId"] in out, out + err
    assert new["SecretAccessKey"] not in out + err
    assert keys(iam) == {old: "Active", new["AccessKeyId"]: "Active"}
    third = str(tmp_path / "third.json")
    code, out, _ = run_cli("rotate-key", "--secret-out", third, "--json", "--endpoint-url", endpoint)
    document = json.loads(out)
    assert code == 2 and document["settled"] is False and "has not been used yet" in document["waiting"][0]

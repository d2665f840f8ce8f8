"""Rotating the Spot user's access key on moto's server: the command line's hand-over to an admin and --finish, the
event plugin's deliver-then-verify switch-over, the mark a run leaves, lost replies, and a run killed between every
two steps, after which the next run converges on one delivered key that AWS accepts.

Time is moved by the tests' own clock (``main(clock=...)``, ``rotate_access_key(now=...)``), never by sleeping. moto
records a key's every use (AWS records at most one per 15 minutes, which the in-memory model of
tests/plugin/test_rotation_state_machine.py follows) and its STS accepts any secret: the event plugin's exact-pair cases
(tests/plugin/test_plugin_rotation.py) run through tests/support/exact_pair_proxy.py, which judges signatures as AWS
does."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from odd_servers import AnsweringProxy, LostReplyProxy, ec2_error
from states import USER

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import plan_changes, rotate_access_key
from DeadlineSpotIamSetup.errors import KeyDeliveryFailed
from DeadlineSpotIamSetup.findings import RotationResult
from DeadlineSpotIamSetup.key_records import (
    DELIVERED,
    KEY_RECORD_PREFIX,
    ROTATING_TAG,
    RotationMark,
    parse_mark,
    record_tag,
)
from DeadlineSpotIamSetup.kinds import Kind, Status
from DeadlineSpotIamSetup.rotation import HeldKey, KeyHolder, RotationOptions
from DeadlineSpotIamSetup.values import NewAccessKey
from DeadlineSpotIamSetup.waits import KEY_IDLE_BEFORE_RETIRING, KEY_RETIRE_GRACE
from tests.support.command_line import run_cli
from tests.support.fake_iam import FakeIam, Killed
from tests.support.wire import caller_arn, converged, make_gateway

DESIRED = desired_state(Settings())
NO_WAIT = {"sleep": lambda seconds: None, "key_verification": 5.0}


def now() -> datetime:
    return datetime.now(timezone.utc)


class SpotPlugin(KeyHolder):
    """The event plugin's side, as the rotation sees it: its journal (its own settings) and the Spot Event Plugin's
    credentials. Staging writes the journal first, then the Spot plugin's fields: two steps, as in
    lib/spot_iam_plugin/handoff.py. ``crash_at``: the process dies at that step (counted with the gateway's calls)."""

    def __init__(self) -> None:
        self.journal_pair: dict[str, str] = {}
        self.spot: dict[str, str] = {}
        self.steps: list[str] = []
        self.crash_at: int | None = None
        self._before: tuple[dict[str, str], dict[str, str]] | None = None

    @property
    def automatic(self) -> bool:
        return True

    def step(self, name: str) -> None:
        if self.crash_at is not None and len(self.steps) >= self.crash_at:
            raise Killed(name)
        self.steps.append(name)

    def stage(self, key: NewAccessKey) -> None:
        self._before = (dict(self.journal_pair), dict(self.spot))
        self.step("journal")
        self.journal_pair = {"id": key.access_key_id, "secret": key.secret_access_key}
        self.step("spot settings")
        self.spot = {"id": key.access_key_id, "secret": key.secret_access_key}

    def withdraw(self, key: NewAccessKey) -> None:
        before, self._before = self._before, None
        if before is not None:
            self.step("put back")  # a dead process puts nothing back
            self.journal_pair, self.spot = before

    def journal(self) -> NewAccessKey | None:
        pair = self.journal_pair
        return NewAccessKey(USER, pair["id"], pair["secret"]) if pair else None

    def held(self) -> HeldKey | None:
        return HeldKey(self.spot["id"], self.spot["secret"]) if self.spot else None

    def configured(self) -> str | None:
        return self.spot.get("id")

    def deliver(self, key: NewAccessKey) -> None:
        """apply's key sink."""
        self.stage(key)
        self._before = None


class Dying:
    """A gateway whose process dies before its ``crash_at``-th step: every call from then on raises Killed. The
    steps are counted together with the plugin's own (journal, Spot settings)."""

    def __init__(self, gateway: Any, plugin: SpotPlugin) -> None:
        self._gateway = gateway
        self._plugin = plugin

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._gateway, name)
        if not callable(attribute) or name == "aws_now":
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._plugin.step(name if name != "write" else f"write {args[0]}")
            return attribute(*args, **kwargs)

        return call


def setup_with_key(endpoint: str, plugin: SpotPlugin) -> str:
    """The test's fresh account as apply leaves it (``converged``), its key delivered to ``plugin`` as apply does."""
    (key,) = converged(endpoint, DESIRED)
    plugin.deliver(key)
    return key.access_key_id


def sts_accepts(endpoint: str, key_id: str, secret: str) -> bool:
    return caller_arn(endpoint, key_id, secret).endswith(f":user/{USER}")


def keys(iam) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]}


def tags(iam) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=USER)["Tags"]}


def use_key(endpoint: str, key_id: str, secret: str) -> None:
    """A call to EC2 signed with the key: what the Spot Event Plugin does, and what an admin trying the key does."""
    boto3.client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret
    ).describe_spot_fleet_requests()


def key_file(path: Path) -> dict[str, str]:
    return json.loads(path.read_text())


# -- what check says ---------------------------------------------------------------------------------------------
def test_apply_records_the_key_it_made_so_a_rotation_may_retire_it(endpoint, iam) -> None:
    key_id = setup_with_key(endpoint, SpotPlugin())
    assert tags(iam)[KEY_RECORD_PREFIX + key_id].startswith("delivered ")


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


# -- the command line ----------------------------------------------------------------------------------------------
def test_rotate_key_on_the_command_line_hands_over_waits_for_finish_then_retires_the_idle_old_key(
    endpoint, iam, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    old = key_file(first)
    use_key(endpoint, old["AccessKeyId"], old["SecretAccessKey"])  # the Spot Event Plugin at work
    code, out, err = run_cli("rotate-key", "--secret-out", str(first), "--endpoint-url", endpoint)
    assert code == 1 and "already exists" in err and "--force" in err

    code, out, err = run_cli("rotate-key", "--secret-out", str(second), "--endpoint-url", endpoint)
    new = key_file(second)  # rotated when asked, though the key is young (no --if-due)
    assert code == 2 and "rotate-key --finish" in out and new["AccessKeyId"] in out, out + err
    assert new["SecretAccessKey"] not in out + err
    assert keys(iam) == {old["AccessKeyId"]: "Active", new["AccessKeyId"]: "Active"}
    assert ROTATING_TAG not in tags(iam)

    third = tmp_path / "third.json"
    code, out, _ = run_cli("rotate-key", "--secret-out", str(third), "--json", "--endpoint-url", endpoint)
    document = json.loads(out)
    assert code == 2 and document["settled"] is False and not third.exists()  # one rotation at a time
    assert "then run `python -m DeadlineSpotIamSetup rotate-key --finish`" in document["waiting"][0]

    confirmed = now()
    code, out, _ = run_cli("rotate-key", "--finish", "--endpoint-url", endpoint, at=confirmed)
    assert code == 2 and "it is deactivated once it has gone unused for 4 hours" in out, out
    assert keys(iam)[old["AccessKeyId"]] == "Active"

    later = confirmed + KEY_IDLE_BEFORE_RETIRING + timedelta(minutes=1)
    code, out, _ = run_cli("rotate-key", "--endpoint-url", endpoint, at=later)
    assert code == 0 and "deactivated the old access key" in out, out
    assert "The switch-over is done" in out
    assert keys(iam) == {old["AccessKeyId"]: "Inactive", new["AccessKeyId"]: "Active"}

    # A minute past the grace: a run's time is the moment given plus the time it has run, and the retirement was
    # recorded some way into the run before, so the grace's exact end can still be a moment early.
    past_grace = later + KEY_RETIRE_GRACE + timedelta(minutes=1)
    code, out, _ = run_cli("rotate-key", "--endpoint-url", endpoint, "--if-due", at=past_grace)
    assert code == 0 and "The rotation is complete." in out, out
    assert keys(iam) == {new["AccessKeyId"]: "Active"}
    assert set(tags(iam)) - {k for k in tags(iam) if ":attached:" in k} == {KEY_RECORD_PREFIX + new["AccessKeyId"]}


def test_rotate_key_if_due_leaves_a_young_key_as_it_is_and_rotates_it_once_it_is_older_than_the_limit(
    endpoint, iam, tmp_path: Path
) -> None:
    """--if-due, for schedulers: the age rule rotate-key followed before it rotated whenever asked."""
    assert run_cli("apply", "--secret-out", str(tmp_path / "first.json"), "--endpoint-url", endpoint)[0] == 0
    [old] = keys(iam)
    secret = tmp_path / "second.json"
    code, out, _ = run_cli("rotate-key", "--if-due", "--secret-out", str(secret), "--endpoint-url", endpoint)
    assert code == 0 and f"access key {old} is 0 days old: it is rotated when it is older than 90 days" in out, out
    assert keys(iam) == {old: "Active"} and not secret.exists()
    code, out, _ = run_cli(
        "rotate-key", "--if-due", "--secret-out", str(secret), "--endpoint-url", endpoint, at=now() + timedelta(days=91)
    )
    assert code == 2 and key_file(secret)["AccessKeyId"] in keys(iam) and len(keys(iam)) == 2, out


def test_trying_the_new_key_with_ec2_is_not_taken_for_the_spot_plugin_using_it(endpoint, iam, tmp_path: Path) -> None:
    """An admin tries the new key before entering it (the tool's own EC2 dry run, `aws ec2 describe-*`): the old key,
    which the Spot Event Plugin still holds, stays active however often rotate-key runs."""
    first, second = tmp_path / "k1.json", tmp_path / "k2.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    assert run_cli("rotate-key", "--secret-out", str(second), "--endpoint-url", endpoint)[0] == 2
    with AnsweringProxy(endpoint, {"RequestSpotFleet": ec2_error(412, "DryRunOperation", "would succeed")}) as ec2:
        code, out, err = run_cli(
            "check", "--verify-ec2", "--subnet", "subnet-0abc", "--image", "ami-0123456789abcdef0",
            "--spot-key-file", str(second), "--endpoint-url", ec2.endpoint_url,
        )  # fmt: skip
        assert "EC2 dry run: passed" in out, out + err
    new = key_file(second)
    use_key(endpoint, new["AccessKeyId"], new["SecretAccessKey"])
    sts_accepts(endpoint, new["AccessKeyId"], new["SecretAccessKey"])
    for run in range(3):
        code, out, _ = run_cli(
            "rotate-key", "--secret-out", str(tmp_path / f"k{run + 3}.json"), "--endpoint-url", endpoint
        )
        assert code == 2 and "enter the new access key" in out, out
    assert keys(iam) == {key_file(first)["AccessKeyId"]: "Active", new["AccessKeyId"]: "Active"}


def test_the_old_key_used_after_finish_is_kept_and_named(endpoint, iam, tmp_path: Path) -> None:
    first, second = tmp_path / "k1.json", tmp_path / "k2.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    assert run_cli("rotate-key", "--secret-out", str(second), "--endpoint-url", endpoint)[0] == 2
    confirmed = now() - timedelta(minutes=1)
    assert run_cli("rotate-key", "--finish", "--endpoint-url", endpoint, at=confirmed)[0] == 2
    old = key_file(first)
    use_key(endpoint, old["AccessKeyId"], old["SecretAccessKey"])  # something still holds the old key
    later = confirmed + KEY_IDLE_BEFORE_RETIRING + timedelta(hours=1)
    code, out, _ = run_cli("rotate-key", "--endpoint-url", endpoint, at=later)
    assert code == 2 and "was used after you confirmed" in out and "something still holds it" in out, out
    assert keys(iam)[old["AccessKeyId"]] == "Active"


def test_abandon_deletes_the_new_key_that_was_never_entered(endpoint, iam, tmp_path: Path) -> None:
    first, second = tmp_path / "k1.json", tmp_path / "k2.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    assert run_cli("rotate-key", "--secret-out", str(second), "--endpoint-url", endpoint)[0] == 2
    code, out, err = run_cli("rotate-key", "--abandon", "--secret-out", str(tmp_path / "x.json"))
    assert code == 1 and "leave out --secret-out" in err
    code, out, _ = run_cli("rotate-key", "--abandon", "--endpoint-url", endpoint)
    assert code == 0 and "abandoned" in out, out
    assert keys(iam) == {key_file(first)["AccessKeyId"]: "Active"}


def test_a_lost_create_reply_never_deletes_the_key_in_use_made_by_hand_a_moment_before(
    endpoint, iam, tmp_path: Path
) -> None:
    assert run_cli("apply", "--endpoint-url", endpoint)[0] == 2  # no --secret-out: everything but the key
    by_hand = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]  # the admin's key, just made
    with LostReplyProxy(endpoint, "CreateAccessKey") as lossy:
        code, out, err = run_cli(
            "rotate-key", "--secret-out", str(tmp_path / "k2.json"), "--endpoint-url", lossy.endpoint_url
        )
    assert code == 1 and "reply to CreateAccessKey" in err, out + err
    assert f"the old key {by_hand} stays in use" in err and "was deleted" in err
    assert keys(iam) == {by_hand: "Active"}
    assert ROTATING_TAG not in tags(iam) and not (tmp_path / "k2.json").exists()


def test_a_killed_run_leaves_a_mark_that_check_reports_and_the_next_run_settles_without_touching_later_keys(
    endpoint, iam, tmp_path: Path
) -> None:
    """Killed between its mark and its create, a run's mark stays; check reports it once the run is over for certain,
    and the next rotate-key removes it, leaving alone a key an admin made after the run's window."""
    first = tmp_path / "k1.json"
    assert run_cli("apply", "--secret-out", str(first), "--endpoint-url", endpoint)[0] == 0
    marked = now() - timedelta(minutes=1)  # its CreateAccessKey's window closed 40 s ago; the run may live on
    old = key_file(first)["AccessKeyId"]
    killed = RotationMark("rcs-01-dead", marked, marked + timedelta(seconds=20), marked + timedelta(minutes=2), old)
    iam.tag_user(UserName=USER, Tags=[{"Key": ROTATING_TAG, "Value": killed.encode()}])
    code, out, _ = run_cli("check", "--endpoint-url", endpoint)
    assert code == 0 and "interrupted" not in out, out  # the run may still be alive
    admins = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]  # an admin's key, after the window
    later = now() + timedelta(minutes=5)
    code, out, _ = run_cli("check", "--endpoint-url", endpoint, at=later)
    assert code == 2 and "an interrupted key rotation (run rcs-01-dead" in out and "rotate-key" in out, out
    code, out, _ = run_cli("rotate-key", "--finish", "--endpoint-url", endpoint, at=later)
    assert "removed the mark of an interrupted key rotation (run rcs-01-dead)" in out, out
    assert ROTATING_TAG not in tags(iam) and keys(iam)[admins] == "Active"


def test_a_lost_reply_to_the_mark_or_the_record_leaves_no_mark(endpoint, iam, tmp_path: Path) -> None:
    assert run_cli("apply", "--secret-out", str(tmp_path / "k1.json"), "--endpoint-url", endpoint)[0] == 0
    with LostReplyProxy(endpoint, "TagUser", times=2) as lossy:  # the mark's, then the new key's record
        code, out, err = run_cli(
            "rotate-key", "--secret-out", str(tmp_path / "k2.json"), "--endpoint-url", lossy.endpoint_url
        )
        assert lossy.count("TagUser") >= 3  # TagUser is idempotent: retried after a lost reply
    assert code == 2, out + err
    assert ROTATING_TAG not in tags(iam)
    assert tags(iam)[KEY_RECORD_PREFIX + key_file(tmp_path / "k2.json")["AccessKeyId"]].startswith("delivered ")


def test_a_racing_rotation_that_fills_the_second_slot_first_leaves_no_mark_of_the_loser(
    proxy, iam, tmp_path: Path
) -> None:
    assert run_cli("apply", "--secret-out", str(tmp_path / "k1.json"), "--endpoint-url", proxy.endpoint_url)[0] == 0
    proxy.inject(status=409, code="LimitExceeded", action="CreateAccessKey", message="Cannot exceed quota", times=1)
    code, out, _ = run_cli(
        "rotate-key", "--secret-out", str(tmp_path / "k2.json"), "--endpoint-url", proxy.endpoint_url
    )
    assert code == 2 and "another run is rotating" in out, out
    assert ROTATING_TAG not in tags(iam) and len(keys(iam)) == 1


# -- the rotation's steps as the event plugin takes them --------------------------------------------------------------
def rotate_as_the_plugin(endpoint: str, plugin: SpotPlugin, when: datetime | None = None, dying: bool = True):
    """One rotation run in the event plugin's way. ``dying``: through a gateway that dies at the plugin's
    ``crash_at``; the first run rotates, a later one (``when``) finishes."""
    gateway = make_gateway(endpoint)
    return rotate_access_key(
        Dying(gateway, plugin) if dying else gateway,
        DESIRED,
        plugin,
        RotationOptions(**NO_WAIT, if_due=when is not None),
        now=when,
    )


def test_the_plugin_deactivates_the_old_key_once_the_spot_plugin_holds_the_new_pair_and_deletes_it_after_the_grace(
    endpoint, iam
) -> None:
    plugin = SpotPlugin()
    old = setup_with_key(endpoint, plugin)
    result = rotate_as_the_plugin(endpoint, plugin, dying=False)
    new = plugin.configured()
    assert new != old and keys(iam) == {old: "Inactive", new: "Active"} and result.settled, result
    assert sts_accepts(endpoint, new, plugin.spot["secret"])
    assert rotate_as_the_plugin(
        endpoint, plugin, now(), dying=False
    ).remaining  # in its grace period: kept, and said so
    assert keys(iam) == {old: "Inactive", new: "Active"}
    done = rotate_as_the_plugin(endpoint, plugin, now() + KEY_RETIRE_GRACE + timedelta(days=1), dying=False)
    assert keys(iam) == {new: "Active"} and done.complete


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

    class Refusing(SpotPlugin):
        def stage(self, key: NewAccessKey) -> None:
            raise OSError(f"disk full while writing {key.secret_access_key}")

    refusing = Refusing()
    refusing.spot, refusing.journal_pair = plugin.spot, plugin.journal_pair
    with pytest.raises(KeyDeliveryFailed) as caught:
        rotate_access_key(make_gateway(endpoint), DESIRED, refusing, RotationOptions(**NO_WAIT))
    assert "****" in str(caught.value) and "old key stays in use" in str(caught.value)
    assert keys(iam) == {old: "Active"}
    assert ROTATING_TAG not in tags(iam)


# -- a run killed at each of its steps, finished by the next run ------------------------------------------------------
# Every kill point runs against the in-memory IAM of tests/support/fake_iam.py, the same gateway methods as the real
# one's; a few run on the wire (moto's server), where the steps up to the kill are checked to be the fake's.
AT_START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def fake_farm() -> tuple[FakeIam, SpotPlugin]:
    """What apply leaves, in memory: one key, recorded as delivered, in the Spot plugin's settings and the journal."""
    aws = FakeIam(USER, AT_START)
    key = aws.new_key("project")
    record = record_tag(key.access_key_id, DELIVERED, AT_START)
    aws.tags[record["Key"]] = record["Value"]
    plugin = SpotPlugin()
    plugin.spot = plugin.journal_pair = {"id": key.access_key_id, "secret": key.secret}
    return aws, plugin


def rotate_on_the_fake(aws: FakeIam, plugin: SpotPlugin, finishing: bool = False) -> RotationResult:
    """One rotation run in the event plugin's way on ``aws``, through a gateway that dies at the plugin's ``crash_at``;
    ``finishing``: a later run (5 minutes on, past the killed run's mark) that finishes the rotation."""
    if finishing:
        aws.now += timedelta(minutes=5)
    gateway = aws if finishing else Dying(aws, plugin)
    return rotate_access_key(
        gateway, DESIRED, plugin, RotationOptions(**NO_WAIT, if_due=finishing), now=aws.now if finishing else None
    )


def undisturbed_steps() -> list[str]:
    """The steps of a rotation that nothing interrupts: the kill points."""
    aws, plugin = fake_farm()
    rotate_on_the_fake(aws, plugin)
    return plugin.steps


STEPS = undisturbed_steps()
KILL_POINTS = [pytest.param(at, id=f"{at:02d}-after-{STEPS[at - 1]}") for at in range(1, len(STEPS))]


def test_the_kill_points_are_every_step_of_the_rotation() -> None:
    for must in ("write TagUser", "create_access_key", "accepted_as", "journal", "spot settings"):
        assert must in STEPS, STEPS
    assert "write UpdateAccessKey" in STEPS, STEPS


@pytest.mark.parametrize("crash_at", KILL_POINTS)
def test_a_rotation_killed_at_any_step_converges_on_the_next_run(crash_at: int) -> None:
    aws, plugin = fake_farm()
    plugin.crash_at = crash_at
    with pytest.raises(Killed):
        rotate_on_the_fake(aws, plugin)
    # Never zero working keys delivered: whatever the Spot plugin holds at the kill still works.
    assert aws.accepts(plugin.spot["id"], plugin.spot["secret"])

    plugin.crash_at = None
    result = rotate_on_the_fake(aws, plugin, finishing=True)
    active = [key.access_key_id for key in aws.keys.values() if key.active]
    assert active == [plugin.spot["id"]], (result, aws.keys)
    assert aws.accepts(plugin.spot["id"], plugin.spot["secret"])
    assert not result.manual, result
    assert KEY_RECORD_PREFIX + plugin.spot["id"] in aws.tags
    assert parse_mark(aws.tags.get(ROTATING_TAG)) is None


@pytest.mark.parametrize("killed_after", ["create_access_key", "spot settings", "write UpdateAccessKey"])
def test_on_the_wire_a_rotation_killed_after_a_step_converges_on_the_next_run(endpoint, iam, killed_after) -> None:
    plugin = SpotPlugin()
    setup_with_key(endpoint, plugin)
    crash_at = STEPS.index(killed_after) + 1
    plugin.steps, plugin.crash_at = [], crash_at
    with pytest.raises(Killed):
        rotate_as_the_plugin(endpoint, plugin)
    assert plugin.steps == STEPS[:crash_at]  # moto's server took the fake's steps
    assert sts_accepts(endpoint, plugin.spot["id"], plugin.spot["secret"])
    assert keys(iam)[plugin.spot["id"]] == "Active"

    plugin.crash_at = None
    over = now() + timedelta(minutes=5)  # past the killed run's mark: the run has ended for certain
    result = rotate_as_the_plugin(endpoint, plugin, over, dying=False)
    active = [key_id for key_id, status in keys(iam).items() if status == "Active"]
    assert active == [plugin.spot["id"]], (result, keys(iam))
    assert sts_accepts(endpoint, plugin.spot["id"], plugin.spot["secret"])
    assert not result.manual, result
    assert KEY_RECORD_PREFIX + plugin.spot["id"] in tags(iam)
    assert parse_mark(tags(iam).get(ROTATING_TAG)) is None

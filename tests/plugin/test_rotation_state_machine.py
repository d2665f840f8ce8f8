"""The key rotation as a state machine: the event plugin's and the command line's runs, driven through random
interleavings of lost replies, kills between steps, a racing second run, an admin making, deleting, entering and
testing keys, and time passing, on machines whose clocks are up to 2 minutes off. After every step the invariants
the rotation promises are asserted:

1. the pair the Spot Event Plugin is configured with is accepted by STS (an exact pair: IAM User Guide, "Managing
   access keys for IAM users": a request is signed with the secret; STS refuses another secret or an inactive key);
2. no key this project did not make was deactivated or deleted;
3. at most one rotation mark, and none that outlived its run once a run has finished without a fault;
4. no secret in any output: the command line's, the rotation's lines, the errors.

AWS is tests/support/fake_iam.py (in memory, with IAM's documented two-key quota, exact-pair STS and 15-minute
last-used span); Deadline is the stand-in's repository and settings (tests/plugin/deadline_standin.py); the event
plugin's side is the plugin's own code (spot_iam_plugin.handoff.KeyHandoff and runner.rotate_as_plugin) and the command
line's is DeadlineSpotIamSetup.cli.main, each on the fake gateway. The wire cases in tests/wire/test_key_rotation.py
and tests/plugin/test_plugin_rotation.py run the same protocol against moto's server.

Derandomized, so every run of the suite takes the same steps; STEPS_RUN counts them (at least 2,000).
"""

from __future__ import annotations

import io
import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

from deadline_standin import FakeDeadline
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from spot_iam_plugin.handoff import KeyHandoff
from spot_iam_plugin.runner import journal_key, rotate_as_plugin
from spot_iam_plugin.settings import read_settings
from spot_param_samples import SPOT_PARAM_WITH_KEY_FIELDS

import DeadlineSpotIamSetup.cli as cli
import DeadlineSpotIamSetup.secret_file as secret_file
from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.errors import SetupError
from DeadlineSpotIamSetup.install import PLUGIN_NAME
from DeadlineSpotIamSetup.key_records import DELIVERED, ROTATING_TAG, RotationMark, parse_mark, record_tag
from DeadlineSpotIamSetup.waits import Clock
from tests.support.fake_iam import FakeIam, Killed, lost_reply

USER = "DeadlineSpotEventPluginAdmin"
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ROTATE_AFTER_DAYS = 2  # the plugin's Rotate Key After Days in this world: rotations come often
FAULTS = ("kill-before", "kill-after", "lost", "race-plugin", "race-cli")
STEPS_RUN = [0]


@dataclass(frozen=True)
class Fault:
    at: int  # the index of the step (a gateway call, a settings or file write) of the run it hits
    kind: str


class World(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="rotation-world-"))
        self.iam = FakeIam(USER, START)
        self.deadline = FakeDeadline(self.root / "repository", echo=False)
        self.deadline.write_spot_param(SPOT_PARAM_WITH_KEY_FIELDS)
        self.outputs: list[str] = []
        self.files: list[Path] = []  # the command line's --secret-out files, oldest first
        self.entered: set[Path] = set()
        self.abandoned: set[Path] = set()
        self.skews = {"rcs-a": timedelta(0), "rcs-b": timedelta(0)}
        self.void_mark_left = False
        self.half_written = False  # the Spot plugin's key ID written, its secret not: a killed plugin run's gap
        self.last_create_window_end = START
        self.step_kind = ""
        self._steps: Iterator[int] = itertools.count()
        self._fault: Fault | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the world's state ----------------------------------------------------------------------------
    @property
    def spot(self) -> Any:
        return self.deadline.config("Spot")

    def held(self) -> tuple[str, str]:
        return self.spot.get("AccessID", ""), self.spot.get("SecretKey", "")

    def journal(self) -> tuple[str, str]:
        config = self.deadline.config(PLUGIN_NAME)
        return config.get("DeliveredAccessKeyId", ""), config.get("DeliveredSecretAccessKey", "")

    def secrets(self) -> list[str]:
        return [key.secret for key in self.iam.every_key]

    @initialize(skew_a=st.integers(-120, 120), skew_b=st.integers(-120, 120))
    def a_farm_with_one_delivered_key(self, skew_a: int, skew_b: int) -> None:
        """What apply leaves: one key, recorded, in the Spot plugin's fields and in this plugin's journal."""
        self.skews = {"rcs-a": timedelta(seconds=skew_a), "rcs-b": timedelta(seconds=skew_b)}
        key = self.iam.new_key("project")
        record = record_tag(key.access_key_id, DELIVERED, START)
        self.iam.tags[record["Key"]] = record["Value"]
        self.deadline.set_config("Spot", AccessID=key.access_key_id, SecretKey=key.secret, UseLocalCredentials=False)
        self.deadline.set_config(
            PLUGIN_NAME,
            DeliveredAccessKeyId=key.access_key_id,
            DeliveredSecretAccessKey=key.secret,
            RotateKeyAfterDays=ROTATE_AFTER_DAYS,
        )

    # -- running the two front ends, with a fault ---------------------------------------------------
    def _intercept(self, operation: str, perform: Callable[[], Any]) -> Any:
        """Every step of a run comes through here: the fault plan decides what happens to it."""
        index = next(self._steps)
        fault = self._fault
        if fault is None or index != fault.at:
            return perform()
        self._fault = None  # one fault per run
        if fault.kind == "kill-before":
            raise Killed(operation)
        if fault.kind == "kill-after":
            perform()
            raise Killed(operation)
        if fault.kind == "lost":
            if operation.startswith("local:"):
                raise RuntimeError(f"{operation} was refused")  # a local write fails, it has no reply to lose
            perform()
            raise lost_reply(operation)
        racer = self.run_plugin if fault.kind == "race-plugin" else self.run_cli_rotation
        saved = self.iam.intercept
        self.iam.intercept = lambda op, do: do()
        try:
            racer("rcs-b", None)
        finally:
            self.iam.intercept = saved
        return perform()

    def _local(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            return self._intercept(f"local:{name}", lambda: function(*args, **kwargs))

        return step

    @contextmanager
    def _machine(self, host: str, fault: Fault | None) -> Iterator[Clock]:
        """A run on ``host``: its gateway reads AWS's clock from the replies (its own clock is off by its skew), its
        waits move AWS's clock instead of sleeping."""
        self._fault, self._steps = fault, itertools.count()
        outer, outer_skew = self.iam.intercept, self.iam.local_skew
        self.iam.intercept = self._intercept
        self.iam.local_skew = self.skews[host]

        def sleep(seconds: float) -> None:
            self.iam.now += timedelta(seconds=seconds)

        try:
            yield Clock(monotonic=lambda: self.iam.now.timestamp(), sleep=sleep)
        finally:
            self.iam.intercept, self.iam.local_skew = outer, outer_skew
            self._fault = None

    def _finished(self, fault: Fault | None, killed: bool, failed: bool) -> None:
        mark = parse_mark(self.iam.tags.get(ROTATING_TAG))
        if isinstance(mark, RotationMark):
            self.last_create_window_end = max(self.last_create_window_end, mark.created_by)
        if fault is None and not killed and not failed:  # a run that nothing interrupted removes every void mark
            self.void_mark_left = mark is not None and (not isinstance(mark, RotationMark) or mark.over(self.iam.now))

    def run_plugin(self, host: str, fault: Fault | None) -> None:
        repository = self.deadline.modules["Deadline.Scripting"].RepositoryUtils
        config = self.deadline.config(PLUGIN_NAME)
        plugin_settings = read_settings(lambda key, default: config.get(key, default))
        killed = failed = False
        with ExitStack() as stack:
            clock = stack.enter_context(self._machine(host, fault))
            write = repository.AddOrUpdateEventPluginConfigSetting
            stack.enter_context(
                mock.patch.object(repository, "AddOrUpdateEventPluginConfigSetting", self._local("settings", write))
            )
            handoff = KeyHandoff(repository, plugin_settings, PLUGIN_NAME)
            journal = journal_key(plugin_settings)
            try:
                result = rotate_as_plugin(
                    self.iam,
                    desired_state(Settings(key_max_age_days=ROTATE_AFTER_DAYS)),
                    handoff,
                    journal=journal,
                    protect=lambda secret: None,
                    profile_holders={},
                    host=host,
                    start=True,
                    clock=clock,
                )
                self.outputs += result.done + result.notes + result.waiting + result.remaining
                self.outputs += [f"{step.problem} {step.remedy}" for step in result.manual]
            except Killed:
                killed = True
            except SetupError as error:
                failed = True
                self.outputs.append(str(error))
        if killed:
            self.half_written = self.half_written or (
                not self.iam.accepts(*self.held()) and self.held()[0] == self.journal()[0]
            )
        elif not failed and fault is None:
            self.half_written = False  # a whole run of the plugin writes the journal's pair again
        self._finished(fault, killed, failed)

    def run_cli(self, host: str, fault: Fault | None, *arguments: str) -> int | None:
        out, err = io.StringIO(), io.StringIO()
        code = None
        with ExitStack() as stack:
            clock = stack.enter_context(self._machine(host, fault))
            stack.enter_context(mock.patch.object(cli, "_gateway", lambda args: self.iam))
            for name, step in (("_write_aside", "file aside"), ("_move_into_place", "file into place")):
                stack.enter_context(mock.patch.object(secret_file, name, self._local(step, getattr(secret_file, name))))
            try:
                code = cli.main(["rotate-key", *arguments], out=out, err=err, clock=clock)
            except Killed:
                pass
        self.outputs += [out.getvalue(), err.getvalue()]
        self._finished(fault, code is None, code == 1)
        return code

    def run_cli_rotation(self, host: str, fault: Fault | None) -> None:
        path = self.root / f"spot-key-{len(self.files)}.json"
        self.files.append(path)
        self.run_cli(host, fault, "--secret-out", str(path))

    # -- rules ----------------------------------------------------------------------------------------
    faults = st.one_of(st.none(), st.builds(Fault, st.integers(0, 16), st.sampled_from(FAULTS)))

    @rule(host=st.sampled_from(["rcs-a", "rcs-b"]), fault=faults)
    def the_event_plugin_checks(self, host: str, fault: Fault | None) -> None:
        self.run_plugin(host, fault)

    @rule(fault=faults)
    def an_admin_rotates_on_the_command_line(self, fault: Fault | None) -> None:
        self.run_cli_rotation("rcs-a", fault)

    def _published(self) -> list[Path]:
        return [path for path in self.files if path.exists() and path not in self.abandoned]

    @precondition(lambda self: any(p not in self.entered for p in self._published()))
    @rule()
    def an_admin_enters_the_newest_key_file_in_the_spot_plugin(self) -> None:
        import json

        path = self._published()[-1]
        document = json.loads(path.read_text())
        self.deadline.set_config("Spot", AccessID=document["AccessKeyId"], SecretKey=document["SecretAccessKey"])
        self.entered.add(path)

    @precondition(lambda self: bool(self.entered))
    @rule(fault=faults)
    def an_admin_confirms_the_new_key_is_entered(self, fault: Fault | None) -> None:
        self.run_cli("rcs-a", fault, "--finish")

    def _pending_key_not_entered(self) -> bool:
        active = sorted((k for k in self.iam.keys.values() if k.active), key=lambda k: k.created)
        return len(active) == 2 and active[-1].made_by == "project" and self.held()[0] != active[-1].access_key_id

    @precondition(_pending_key_not_entered)
    @rule(fault=faults)
    def an_admin_gives_up_a_rotation_whose_key_they_never_entered(self, fault: Fault | None) -> None:
        """Its file was lost, or never appeared (its run failed): the admin abandons the rotation."""
        for path in self.files:
            if path not in self.entered and path.exists():
                path.unlink()
                self.abandoned.add(path)
        self.run_cli("rcs-a", fault, "--abandon")

    @precondition(lambda self: bool(self._published()))
    @rule(service=st.sampled_from(["ec2", "sts"]))
    def an_admin_tries_the_newest_key_file(self, service: str) -> None:
        import json

        document = json.loads(self._published()[-1].read_text())
        self.iam.use(document["AccessKeyId"], document["SecretAccessKey"], service)

    @rule()
    def the_spot_plugin_calls_ec2(self) -> None:
        self.iam.use(*self.held())

    @precondition(lambda self: len(self.iam.keys) < 2)
    @rule()
    def an_admin_makes_a_key_by_hand(self) -> None:
        # IAM cannot tell two keys apart by their maker: inside the few seconds of a CreateAccessKey whose run was
        # killed or lost its reply, a key an admin made is indistinguishable from that run's (docs/known-limits.md).
        # The admin here acts outside those windows.
        self.iam.now = max(self.iam.now, self.last_create_window_end + timedelta(seconds=3))
        self.iam.new_key("admin")

    @precondition(lambda self: any(k.made_by == "admin" for k in self.iam.keys.values()))
    @rule()
    def an_admin_deletes_a_key_they_made(self) -> None:
        key = next(k for k in self.iam.keys.values() if k.made_by == "admin")
        if key.access_key_id != self.held()[0]:
            self.iam.delete_by_hand(key.access_key_id)

    @rule(
        span=st.sampled_from(
            [timedelta(seconds=1), timedelta(minutes=2), timedelta(minutes=20), timedelta(hours=5), timedelta(days=3)]
        )
    )
    def time_passes(self, span: timedelta) -> None:
        self.iam.now += span

    # -- invariants -------------------------------------------------------------------------------------
    @invariant()
    def the_spot_plugin_holds_a_pair_aws_accepts(self) -> None:
        STEPS_RUN[0] += 1
        key_id, secret = self.held()
        if self.half_written:
            # Deadline writes one setting at a time: a run killed between the Spot plugin's key ID and its secret
            # leaves the new ID with the old secret. The journal holds the whole new pair; the next run writes it.
            assert key_id == self.journal()[0] and self.iam.accepts(*self.journal())
            return
        assert self.iam.accepts(key_id, secret), f"the Spot Event Plugin holds {key_id}, which AWS does not accept"

    @invariant()
    def no_key_this_project_did_not_make_was_deactivated_or_deleted(self) -> None:
        touched = [change for change in self.iam.changes if change.made_by != "project"]
        assert not touched, touched

    @invariant()
    def no_run_that_finished_cleanly_left_a_void_mark(self) -> None:
        assert not self.void_mark_left, self.iam.tags.get(ROTATING_TAG)

    @invariant()
    def no_secret_in_any_output(self) -> None:
        text = "\n".join(self.outputs)
        for secret in self.secrets():
            assert secret not in text


def test_the_rotation_keeps_its_promises_through_faults_races_and_admins() -> None:
    STEPS_RUN[0] = 0
    run_state_machine_as_test(
        World,
        settings=settings(
            max_examples=120,
            stateful_step_count=25,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert STEPS_RUN[0] >= 2000, f"only {STEPS_RUN[0]} steps were taken"


def _invariants(world: World) -> None:
    world.the_spot_plugin_holds_a_pair_aws_accepts()
    world.no_key_this_project_did_not_make_was_deactivated_or_deleted()
    world.no_run_that_finished_cleanly_left_a_void_mark()
    world.no_secret_in_any_output()


def _walk(steps_in_a_run: int, scenario: Callable[[World, Fault], None]) -> None:
    """``scenario`` once for each step of a run killed before it, killed after it and its reply lost, each in a new
    world holding one delivered key that the Spot plugin has used; the last run of each must have fewer steps than
    the walk covers."""
    steps = []
    for kind, at in itertools.product(("kill-before", "kill-after", "lost"), range(steps_in_a_run)):
        world = World()
        try:
            world.a_farm_with_one_delivered_key(skew_a=0, skew_b=0)
            world.the_spot_plugin_calls_ec2()
            scenario(world, Fault(at, kind))
            steps.append(next(world._steps))
        finally:
            world.teardown()
    assert max(steps) < steps_in_a_run, "the walk must reach past the last step of a run"


def test_a_rotation_killed_at_any_step_of_a_plugin_check_leaves_the_spot_plugin_a_working_key() -> None:
    """Every step of the plugin's rotation, killed just before or just after it (a cancelled check runs its clean-up:
    the kill comes as an exception), then a check nothing interrupts. The state machine above samples these; this
    walks each one, so none depends on which examples a hypothesis version draws. Among them: a check killed after
    its last settings write of the hand-over, when the new key is in the Spot plugin's fields and its clean-up is
    deleting that key."""

    def scenario(world: World, fault: Fault) -> None:
        world.time_passes(span=timedelta(days=3))
        world.the_event_plugin_checks(host="rcs-a", fault=fault)
        _invariants(world)
        world.the_spot_plugin_calls_ec2()
        world.the_event_plugin_checks(host="rcs-b", fault=None)
        _invariants(world)

    _walk(24, scenario)


def test_a_command_line_rotation_killed_at_any_step_leaves_the_spot_plugin_a_working_key() -> None:
    """The command line's side of the walk above: each step of ``rotate-key --secret-out FILE`` killed before, killed
    after or its reply lost, then the admin enters the newest key file's key and a run nothing interrupts follows."""

    def scenario(world: World, fault: Fault) -> None:
        world.an_admin_rotates_on_the_command_line(fault=fault)
        _invariants(world)
        if world._published():
            world.an_admin_enters_the_newest_key_file_in_the_spot_plugin()
            _invariants(world)
        world.the_spot_plugin_calls_ec2()
        world.time_passes(span=timedelta(hours=5))
        world.an_admin_rotates_on_the_command_line(fault=None)
        _invariants(world)

    _walk(16, scenario)

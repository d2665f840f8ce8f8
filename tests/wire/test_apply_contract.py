"""apply's promises: idempotent (a second apply makes zero writes), safe when several run at once (exactly one
access key survives), and the command line's contract (exit codes, JSON, the secret only in --secret-out)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from states import USER

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.findings import FAILED
from DeadlineSpotIamSetup.values import NewAccessKey
from tests.support.command_line import run_cli
from tests.support.wire import DUMMY_SECRET, caller_arn, make_gateway, repository_root

DESIRED = desired_state(Settings())

# python -c START_LINE READY GO ARGS...: the command line with ARGS, once its imports are done (it makes READY) and
# the test says go (GO exists).
START_LINE = """
import pathlib, sys, time
from DeadlineSpotIamSetup.__main__ import main
import DeadlineSpotIamSetup.cli
pathlib.Path(sys.argv[1]).touch()
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.01)
sys.exit(main(sys.argv[3:]))
"""


def writes(counts) -> dict[str, int]:
    return {op: n for op, n in counts.items() if op and not op.startswith(("Get", "List"))}


def test_second_apply_makes_no_write_call(proxy, tmp_path: Path) -> None:
    code, _, err = run_cli("apply", "--secret-out", str(tmp_path / "k.json"), "--endpoint-url", proxy.endpoint_url)
    assert code == 0, err
    assert writes(proxy.counts())["CreateAccessKey"] == 1
    proxy.clear()
    code, out, _ = run_cli("apply", "--secret-out", str(tmp_path / "k2.json"), "--endpoint-url", proxy.endpoint_url)
    assert code == 0 and "nothing to do" in out
    assert writes(proxy.counts()) == {}
    assert not (tmp_path / "k2.json").exists()


def test_warm_check_reads_each_identity_once_in_at_most_20_calls(proxy) -> None:
    """12 reads for the identities (the Spot user's tags among them: the records of its keys and a rotation's mark),
    8 for the permission chain: the Spot user, its attached, inline and group policies, and each attached policy's
    default version (GetPolicy, GetPolicyVersion)."""
    with make_gateway(proxy.endpoint_url) as gateway:  # closed: none of its calls is left to be counted below
        apply_changes(gateway, DESIRED, key_sink=lambda key: None)
    proxy.clear()
    code, _, _ = run_cli("check", "--endpoint-url", proxy.endpoint_url)
    assert code == 0
    counts = proxy.counts()
    assert sum(counts.values()) <= 20
    assert writes(counts) == {}
    assert not any(op.startswith(("ListRoles", "ListUsers", "GetAccountAuthorization")) for op in counts)


def test_apply_without_secret_out_creates_no_key_and_says_how(endpoint, iam) -> None:
    code, out, _ = run_cli("apply", "--endpoint-url", endpoint)
    assert code == 2
    assert "apply --secret-out FILE" in out
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    # Everything else is in place.
    report = json.loads(run_cli("check", "--json", "--endpoint-url", endpoint)[1])
    assert [i["kind"] for i in report["identities"] if i["status"] != "ok"] == ["access-key"]


def test_secret_goes_only_to_the_file_and_the_key_works(endpoint, tmp_path: Path) -> None:
    target = tmp_path / "spot.json"
    code, out, err = run_cli("apply", "--secret-out", str(target), "--endpoint-url", endpoint)
    assert code == 0, err
    document = json.loads(target.read_text())
    assert set(document) == {"AccessKeyId", "SecretAccessKey"}
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert document["SecretAccessKey"] not in out + err
    assert DUMMY_SECRET not in out + err
    assert document["AccessKeyId"] in out
    assert caller_arn(endpoint, document["AccessKeyId"], document["SecretAccessKey"]).endswith(f":user/{USER}")
    assert "AWS accepts the new key as" in out


def test_check_and_plan_json_follow_the_contract(endpoint) -> None:
    code, out, _ = run_cli("plan", "--json", "--endpoint-url", endpoint)
    plan = json.loads(out)
    assert code == 2 and plan["ok"] is False
    assert set(plan) >= {"ok", "identities", "actions"}
    assert {"kind", "name", "status", "problems", "notes"} == set(plan["identities"][0])
    assert plan["actions"][0]["operation"] == "CreateUser"
    assert plan["actions"][-1]["operation"] == "CreateAccessKey"
    assert "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole" in out
    assert run_cli("check", "--endpoint-url", endpoint)[0] == 2  # plan changed nothing


def test_failed_key_delivery_takes_the_key_back(endpoint, iam) -> None:
    def broken_sink(key: NewAccessKey) -> None:
        raise OSError("disk full")

    outcome = apply_changes(make_gateway(endpoint), DESIRED, key_sink=broken_sink)
    [failed] = outcome.result.of_state(FAILED)  # every other change was made
    assert failed.action.operation == "CreateAccessKey"
    assert re.search("could not be delivered .* it was deleted again", failed.detail), failed.detail
    assert not outcome.ok and outcome.result.key is None
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def test_threads_racing_on_one_account_leave_exactly_one_key(endpoint, iam) -> None:
    delivered: list[NewAccessKey] = []
    errors: list[BaseException] = []
    left_to_another: list[bool] = []
    barrier = threading.Barrier(6)

    def one_run() -> None:
        try:
            gateway = make_gateway(endpoint)
            barrier.wait()
            outcome = apply_changes(gateway, DESIRED, key_sink=delivered.append)
            if any(action.operation == "CreateAccessKey" for action in outcome.before.actions):
                left_to_another.append(outcome.result.key_left_to_another_run)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=one_run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert len(keys) == 1
    assert [key.access_key_id for key in delivered] == [keys[0]["AccessKeyId"]]
    # Of the runs that set out to create the key, one delivered it and every other knows another run does.
    assert sorted(left_to_another) == [False] + [True] * (len(left_to_another) - 1)


def test_separate_processes_applying_at_once_leave_exactly_one_key(proxy, iam, tmp_path: Path) -> None:
    # Line the four runs up: each run reads its five roles (three service roles, two service-linked) while
    # observing, before its first write; held until all twenty reads arrive, every run plans from the same empty
    # account and races on every create, the access key included.
    # The runs start together, their imports done (START_LINE): a run whose first read waited at the gathering
    # longer than the command line's read timeout (6 s) would send it again, and the extra request would release
    # the gathering before the last run's reads arrive.
    proxy.gather("GetRole", parties=4 * 5)
    proxy.latency = 0.02  # spread each run's calls so the runs interleave
    env = dict(os.environ, PYTHONPATH=str(repository_root()))
    go = tmp_path / "go"
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                START_LINE,
                str(tmp_path / f"ready-{n}"),
                str(go),
                "apply",
                "--json",
                "--secret-out",
                str(tmp_path / f"key-{n}.json"),
                "--endpoint-url",
                proxy.endpoint_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(4)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(runs) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = [run.communicate(timeout=180) + (run.returncode,) for run in runs]
    assert [code for _, _, code in results] == [0, 0, 0, 0], [err for _, err, _ in results]
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert len(keys) == 1
    files = sorted(tmp_path.glob("key-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["AccessKeyId"] == keys[0]["AccessKeyId"]
    assert sum(1 for out, _, _ in results if json.loads(out)["access_key_id"]) == 1
    counts = proxy.counts()
    assert counts["CreateRole"] == 4 * 3, counts  # they really raced: every run tried to create the three roles
    assert counts["CreateAccessKey"] >= 1


def test_cancelled_apply_stops_before_any_write(proxy, iam) -> None:
    from DeadlineSpotIamSetup.apply import ApplyOptions
    from DeadlineSpotIamSetup.errors import SetupError

    with pytest.raises(SetupError, match=r"stopped before create user DeadlineSpotEventPluginAdmin \(15 of 15"):
        apply_changes(
            make_gateway(proxy.endpoint_url),
            DESIRED,
            key_sink=lambda key: None,
            options=ApplyOptions(cancelled=lambda: True),
        )
    assert writes(proxy.counts()) == {}
    assert iam.list_users()["Users"] == []


def test_service_linked_roles_the_organisation_creates_are_never_created_and_never_a_failure(
    proxy, iam, tmp_path: Path
) -> None:
    """--no-service-linked-roles, where an SCP or a central team owns them: apply never asks for them, and check
    reports them as expected from the organisation while they are missing, as present once they are."""
    options = ("--no-service-linked-roles", "--endpoint-url", proxy.endpoint_url)
    code, out, err = run_cli("apply", "--secret-out", str(tmp_path / "key.json"), *options)
    assert code == 0, out + err
    assert proxy.counts()["CreateServiceLinkedRole"] == 0
    code, out, _ = run_cli("check", *options)
    linked = [line.split() for line in out.splitlines() if "service-linked-role" in line]
    assert code == 0 and len(linked) == 2, out
    assert all(line[0] == "ok" and "expected from your organisation" in " ".join(line) for line in linked), out
    for service in ("spot.amazonaws.com", "spotfleet.amazonaws.com"):  # the organisation's own run
        iam.create_service_linked_role(AWSServiceName=service)
    code, out, _ = run_cli("check", *options)
    assert code == 0 and "expected from your organisation" not in out, out
    assert proxy.counts()["CreateServiceLinkedRole"] == 0

"""Settings IAM would read differently from us are refused before any AWS call, with one line saying what is
wrong; and the command line ends quietly when its reader goes away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.errors import InvalidSettings

ROOT = Path(__file__).resolve().parents[2]


def test_the_tracker_role_cannot_serve_as_the_spot_credentials_role():
    with pytest.raises(InvalidSettings, match="Resource Tracker role and the Spot credentials role"):
        desired_state(Settings(spot_role="DeadlineResourceTrackerAccessRole"))


def test_the_tracker_role_may_be_named_freely_when_the_resource_tracker_is_off():
    desired_state(Settings(spot_role="DeadlineResourceTrackerAccessRole", resource_tracker=False))


@pytest.mark.parametrize(
    "settings",
    [
        Settings(worker_role="DeadlineSpotWorker", fleet_role="DeadlineSpotworker"),
        Settings(
            worker_role="DeadlineSpotFleet", fleet_role="DEADLINESPOTFLEET".replace("DEADLINESPOT", "DeadlineSpot")
        ),
        Settings(spot_role="deadlinespotworker"),
        Settings(spot_role="deadlineresourcetrackeraccessrole"),
    ],
    ids=["worker-vs-fleet", "worker-vs-fleet-upper", "spot-vs-worker", "spot-vs-tracker"],
)
def test_role_names_that_differ_only_in_case_name_one_role(settings):
    with pytest.raises(InvalidSettings, match="must be different roles"):
        desired_state(settings)


def test_tag_keys_that_differ_only_in_case_are_one_tag():
    with pytest.raises(InvalidSettings, match="given twice"):
        desired_state(Settings(tags=(("Team", "render"), ("team", "lighting"))))


@pytest.mark.parametrize(
    "boundary",
    [
        "arn:aws:iam::123456789012:policy//",
        "arn:aws:iam::123456789012:policy/a//b",
        "arn:aws:iam::123456789012:policy/" + "p/" * 1030 + "Boundary",
        "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:policy/Boundary",
    ],
    ids=["empty-name", "empty-segment", "over-2048", "arabic-indic-digits"],
)
def test_malformed_permissions_boundaries_are_refused(boundary):
    with pytest.raises(InvalidSettings, match="permissions boundary"):
        desired_state(Settings(permissions_boundary=boundary))


def test_a_boundary_under_a_path_is_accepted():
    desired_state(Settings(permissions_boundary="arn:aws:iam::123456789012:policy/boundaries/RenderBoundary"))


def test_bootstrap_policy_into_a_closed_pipe_ends_quietly():
    """`bootstrap-policy | head -1`: the reader going away is a normal end, not an error line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    producer = subprocess.Popen(
        [sys.executable, "-m", "DeadlineSpotIamSetup", "bootstrap-policy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert producer.stdout is not None
    producer.stdout.close()  # the reader is gone before the policy is written (head -1 after its line)
    err = producer.stderr.read() if producer.stderr else b""
    producer.wait(timeout=60)
    assert err.decode() == ""
    assert producer.returncode == 0

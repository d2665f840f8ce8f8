"""policies/bootstrap-policy.json, shipped for admins who create the bootstrap identity by hand or in their own
tooling, is exactly what `bootstrap-policy` prints for the default names."""

from __future__ import annotations

import io
import json
from pathlib import Path

from DeadlineSpotIamSetup.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "policies" / "bootstrap-policy.json"


def test_the_shipped_bootstrap_policy_is_the_generated_one():
    out = io.StringIO()
    assert main(["bootstrap-policy"], out=out) == 0
    assert SHIPPED.read_text(encoding="utf-8") == out.getvalue(), (
        "regenerate it: python -m DeadlineSpotIamSetup bootstrap-policy > policies/bootstrap-policy.json"
    )
    assert json.loads(SHIPPED.read_text(encoding="utf-8"))["Version"] == "2012-10-17"

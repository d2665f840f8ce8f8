"""The event plugin's check inside a process that is already running (Deadline's RCS or Pulse): boto3 and this
package imported, as the plugin has them after its first run. Each check makes its gateway anew, as each plugin run
does (engine.plan_changes through gateway.connect, the plugin's runner.py), and is timed on its own: wall time and the
process's CPU time. Interleaved with each, its floor: a new IAM client and the same 19 reads in their 2 rounds.

Prints one JSON document: {"checks": [{"wall_s", "cpu_s", "start", "end"}...], "floors": [...]}; start and end are
read on time.monotonic, the clock the proxy stamps requests with, so the benchmark can tell each check's requests.

Usage: python benchmarks/plugin_check.py ENDPOINT_URL WARM_UP_URL CHECKS"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from floor_calls import check_reads  # noqa: E402

from DeadlineSpotIamSetup.desired import Settings, desired_state  # noqa: E402
from DeadlineSpotIamSetup.engine import plan_changes  # noqa: E402
from DeadlineSpotIamSetup.gateway import AwsAccess, connect  # noqa: E402


def timed(run: object) -> dict[str, float]:
    """Wall and CPU seconds of ``run()``; when it started and ended on the system's monotonic clock (the proxy's)."""
    start, wall, cpu = time.monotonic(), time.perf_counter(), time.process_time()
    run()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "start": start, "end": time.monotonic()}


def tool_check(url: str) -> None:
    plan = plan_changes(connect(AwsAccess(endpoint_url=url)), desired_state(Settings()))
    if not plan.ok:
        raise SystemExit("the account is not complete: the plugin's check would not be a warm check")


def floor_check(url: str) -> None:
    check_reads(boto3.client("iam", endpoint_url=url, config=Config(max_pool_connections=24)))


def main() -> None:
    url, warm_up_url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tool_check(warm_up_url)  # the plugin's first run: imports, botocore's data files (not counted, not proxied)
    floor_check(warm_up_url)
    checks, floors = [], []
    for _ in range(count):
        checks.append(timed(lambda: tool_check(url)))
        floors.append(timed(lambda: floor_check(url)))
    json.dump({"checks": checks, "floors": floors}, sys.stdout)


if __name__ == "__main__":
    main()

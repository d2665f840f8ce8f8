"""Benchmark of the suites' AWS stand-in: what one call costs in CPU, in the caller's process and in the server's,
on the suites' server (tests/support/moto_server.py) against moto's own as the demo runs it (docs/tests.md, "Where
the time goes": the suites are bound by CPU, and most of it is calls).

Starts both servers, each in a process of its own: the suites' (connections kept open, one request at a time, the
managed policies prepared once) and moto's own server (``DeadlineSpotIamSetup.standin.MotoStandIn``: werkzeug's
development server, which closes each connection after one answer). Against each, in interleaved rounds:

  direct     the engine's gateway (tests/support/wire.py, as the suites make it) reads a role
  proxied    the same read through the suites' FaultProxy (no latency), as the tests that count calls make it
  reset      an account emptied (moto's reset API) and its first call, as each test of the suites begins
  set-up     a gateway made (a botocore session and IAM client; this process only)

``caller ms`` is this process's CPU per call (the client, and the proxy's threads when proxied), ``server ms`` the
server process's, read from /proc (Linux; "n/a" elsewhere). Ratios compare the two servers measured in the same run.
This script prints figures; it asserts nothing about time.

Usage: python3 benchmarks/bench_test_server.py [--calls N] [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import harness  # benchmarks/harness.py; it puts the repository root on sys.path
from harness import KEY_ID, ROOT, SECRET

from tests.support import moto_server
from tests.support.fault_proxy import FaultProxy, reset_endpoint
from tests.support.wire import close_gateways, make_gateway

ASSUME_EC2 = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
#: moto's own server, as the demo runs it, in a process of its own: its URL on one line, then it serves until its
#: standard input closes.
MOTO_OWN = (
    "import sys\n"
    "from DeadlineSpotIamSetup.standin import MotoStandIn\n"
    "with MotoStandIn() as aws:\n"
    "    print(aws.endpoint_url, flush=True)\n"
    "    sys.stdin.read()\n"
)
SERVERS = ("suites", "moto")
SCENARIOS = ("direct", "proxied", "reset", "set-up")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (the state first); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pid: int) -> float | None:
    """The CPU seconds (user + system) process ``pid`` has used, from /proc; None where there is no /proc."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def moto_own(log: Path) -> Iterator[tuple[str, int]]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment["PYTHONPATH"] = str(ROOT)
    with open(log, "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", MOTO_OWN], env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=errors,
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        if not url.startswith("http://"):
            raise SystemExit(f"error: moto's server did not start: {log.read_text(errors='replace')[-2000:]}")
        yield url, process.pid
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


@contextmanager
def suites_server(log: Path) -> Iterator[tuple[str, int]]:
    before = set(_children())
    with moto_server.started(sys.executable, log) as url:
        (pid,) = set(_children()) - before
        yield url, pid


def _children() -> list[int]:
    """This process's child processes (Linux: /proc); [] elsewhere."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None and fields[1] == str(os.getpid()):
            found.append(int(entry))
    return found


def measure(server_pid: int, calls: int, work: Callable[[], None]) -> tuple[float, float | None]:
    """CPU per call, in ms, of this process and of the server, over ``calls`` runs of ``work``."""
    server_before, caller_before = process_cpu(server_pid), time.process_time()
    for _ in range(calls):
        work()
    caller = (time.process_time() - caller_before) * 1000 / calls
    server_after = process_cpu(server_pid)
    server = None if server_before is None or server_after is None else (server_after - server_before) * 1000 / calls
    return caller, server


def one_round(url: str, pid: int, calls: int) -> dict[str, tuple[float, float | None]]:
    reset_endpoint(url)
    gateway = make_gateway(url)
    iam = boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
    )
    iam.create_role(RoleName="bench", AssumeRolePolicyDocument=ASSUME_EC2)
    results = {"direct": measure(pid, calls, lambda: gateway.get_role("bench"))}
    with FaultProxy(url) as proxy:
        through = make_gateway(proxy.endpoint_url)
        results["proxied"] = measure(pid, calls, lambda: through.get_role("bench"))

    def reset() -> None:
        reset_endpoint(url)
        gateway.get_role("bench")

    results["reset"] = measure(pid, max(calls // 10, 5), reset)
    results["set-up"] = measure(pid, max(calls // 10, 5), lambda: make_gateway(url))
    close_gateways()  # make_gateway keeps each gateway for its closing, as at the end of a test
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per scenario and round (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (default 3), after one warm-up round")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)
    if not 10 <= args.calls <= 10_000 or not 1 <= args.repeat <= 20:
        parser.error("--calls takes 10 to 10000, --repeat 1 to 20")
    os.environ.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1")
    samples: dict[str, dict[str, list[tuple[float, float | None]]]] = {s: {c: [] for c in SCENARIOS} for s in SERVERS}
    with tempfile.TemporaryDirectory() as folder:
        with suites_server(Path(folder) / "suites.log") as suites, moto_own(Path(folder) / "moto.log") as own:
            servers = {"suites": suites, "moto": own}
            for round_number in range(args.repeat + 1):  # round 0 warms up
                for name in SERVERS:
                    url, pid = servers[name]
                    measured = one_round(url, pid, args.calls)
                    if round_number:
                        for scenario, figures in measured.items():
                            samples[name][scenario].append(figures)
                print(f"round {round_number}/{args.repeat} done", file=sys.stderr, flush=True)

    def median(values: list[float | None]) -> float | None:
        known = [value for value in values if value is not None]
        return statistics.median(known) if known else None

    table = {
        name: {
            scenario: {"caller_ms": median([c for c, _ in figures]), "server_ms": median([s for _, s in figures])}
            for scenario, figures in scenarios.items()
        }
        for name, scenarios in samples.items()
    }
    doc = {"versions": harness.versions(), "calls": args.calls, "repeat": args.repeat, "median": table}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    print(f"test server benchmark: {args.calls} calls per scenario, median of {args.repeat} rounds; {doc['versions']}")
    print(f"{'scenario':<10} {'suites caller ms':>17} {'server ms':>10} {'moto caller ms':>15} {'server ms':>10}"
          f" {'server ratio':>13}")
    for scenario in SCENARIOS:
        ours, theirs = table["suites"][scenario], table["moto"][scenario]
        ratio = (
            f"{ours['server_ms'] / theirs['server_ms']:.2f}"
            if ours["server_ms"] is not None and theirs["server_ms"]
            else "n/a"
        )
        print(
            f"{scenario:<10} {shown(ours['caller_ms']):>17} {shown(ours['server_ms']):>10}"
            f" {shown(theirs['caller_ms']):>15} {shown(theirs['server_ms']):>10} {ratio:>13}"
        )
    print("(server ratio: the suites' server's CPU per call over moto's own; set-up is this process's alone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of ``python -m DeadlineSpotIamSetup check --accounts FILE`` as a whole process: does checking 20
accounts cost about one account's time (the bounded pool), not twenty?

Starts an in-process moto stand-in and a FaultProxy in front of it that waits ``--latency`` seconds before
answering each request (100 ms by default, like a distant AWS endpoint). ``--accounts`` accounts (20) are set up
complete once, each by apply as a role assumed in that account, straight against moto. Then it times complete
subprocesses, every account checked as its role assumed through the proxy:

  1   check --accounts FILE, one account
  N   check --accounts FILE, N accounts (at most accounts.MAX_PARALLEL_ACCOUNTS at once)
  Ns  baseline: the same check of the N accounts one at a time (a pool of 1)
  Na  the same check of the N accounts all at once (a pool of N, no bound)

API calls are counted by the proxy. ``cpu s`` is the child's user + system time; ``server`` is this process's
during the run: the stand-in and the proxy, which share the machine's cores with the child. Repetitions are
interleaved (one round runs every scenario once) so machine noise hits all scenarios alike. This script prints
figures; it asserts nothing about time.

Usage: python3 benchmarks/bench_accounts.py [--latency S] [--accounts N] [--repeat N] [--warmup N] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import harness  # benchmarks/harness.py; it puts the repository root on sys.path
from harness import KEY_ID, PACKAGE, ROOT, SECRET

from DeadlineSpotIamSetup.accounts import MAX_PARALLEL_ACCOUNTS
from DeadlineSpotIamSetup.desired import DEFAULT_ROLE_NAME, Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from DeadlineSpotIamSetup.gateway import AwsAccess, connect

MAX_ACCOUNTS = 200

# The same check as `check --accounts FILE`, with the pool's size given: argv = endpoint, FILE, pool size.
POOL_SCRIPT = """\
import sys
from pathlib import Path
from DeadlineSpotIamSetup import accounts
from DeadlineSpotIamSetup.cli_accounts import exit_code
from DeadlineSpotIamSetup.desired import DEFAULT_ROLE_NAME, Settings, desired_state
from DeadlineSpotIamSetup.gateway import AwsAccess, connect
from DeadlineSpotIamSetup.report import accounts_lines
access = AwsAccess(endpoint_url=sys.argv[1])
targets = accounts.read_accounts(Path(sys.argv[2]))
targets = accounts.resolve_targets(targets, connect(access).partition, DEFAULT_ROLE_NAME)
results = accounts.check_accounts(access, targets, desired_state(Settings()), max_parallel=int(sys.argv[3]))
for line in accounts_lines(results, "accounts:"):
    print(line)
sys.exit(exit_code(results))
"""


def account_ids(count: int) -> list[str]:
    return [f"{300000000000 + number:012d}" for number in range(1, count + 1)]


@dataclass
class Scenario:
    key: str
    label: str
    argv: Callable[[str], list[str]]  # endpoint URL -> command line
    accounts: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    server_cpus: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    assumed: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "accounts": self.accounts,
            **harness.wall_summary(self.walls),
            "median_cpu_s": statistics.median(self.cpus),
            "median_server_cpu_s": statistics.median(self.server_cpus),
            "calls": int(statistics.median(self.calls)),
            "assume_role_calls": int(statistics.median(self.assumed)),
            "runs": [
                {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": server, "calls": calls}
                for wall, cpu, server, calls in zip(self.walls, self.cpus, self.server_cpus, self.calls, strict=True)
            ],
        }


class Bench(harness.ProxiedStandIn):
    def converge(self, accounts: list[str]) -> None:
        """Every account complete: apply as its role, straight against moto (no latency, not counted). moto hands
        out credentials for any role ARN, acting in that role's account."""
        desired = desired_state(Settings())

        def apply(account: str) -> None:
            access = AwsAccess(
                endpoint_url=self.aws.endpoint_url,
                region="us-east-1",
                access_key_id=KEY_ID,
                secret_access_key=SECRET,
                role_arn=f"arn:aws:iam::{account}:role/{DEFAULT_ROLE_NAME}",
            )
            if not apply_changes(connect(access), desired, key_sink=lambda key: None).ok:
                raise SystemExit(f"error: apply did not complete account {account}")

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(apply, accounts))
        if not self.quiet:
            print(f"set up {len(accounts)} accounts in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    def measure(self, scenario: Scenario, record: bool) -> None:
        run, counts = self.run_proxied(scenario.argv, scenario.label)
        if record:
            scenario.walls.append(run.wall)
            scenario.cpus.append(run.cpu)
            scenario.server_cpus.append(run.server_cpu)
            scenario.calls.append(sum(counts.values()))
            scenario.assumed.append(counts["AssumeRole"])
        self.progress(scenario.key, run, sum(counts.values()), record, key_width=4, calls_width=4)


def scenarios(workdir: Path, accounts: list[str]) -> list[Scenario]:
    python = sys.executable
    one, many = workdir / "one-account.txt", workdir / "accounts.txt"
    one.write_text(f"{accounts[0]}\n", encoding="utf-8")
    many.write_text("".join(f"{account}\n" for account in accounts), encoding="utf-8")
    count = len(accounts)

    def check(path: Path) -> Callable[[str], list[str]]:
        return lambda url: [python, "-m", PACKAGE, "check", "--accounts", str(path), "--endpoint-url", url]

    def pool(size: int) -> Callable[[str], list[str]]:
        return lambda url: [python, "-c", POOL_SCRIPT, url, str(many), str(size)]

    return [
        Scenario("1", "check --accounts, 1 account", check(one), 1),
        Scenario("N", f"check --accounts, {count} accounts (pool of {MAX_PARALLEL_ACCOUNTS})", check(many), count),
        Scenario("Ns", f"baseline: {count} accounts one at a time (pool of 1)", pool(1), count),
        Scenario("Na", f"{count} accounts all at once (pool of {count})", pool(count), count),
    ]


def results_document(args: argparse.Namespace, all_scenarios: list[Scenario]) -> dict:
    summaries = {s.key: s.summary() for s in all_scenarios}
    one, many = summaries["1"]["median_s"], summaries["N"]["median_s"]
    return {
        **harness.versions(),
        "cpus": os.cpu_count(),
        "latency_s": args.latency,
        "accounts": args.accounts,
        "pool": MAX_PARALLEL_ACCOUNTS,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "scenarios": [summaries[s.key] for s in all_scenarios],
        "ratios": {
            "many_to_one": many / one,
            "many_to_many_times_one": many / (args.accounts * one),
            "one_at_a_time_to_pool": summaries["Ns"]["median_s"] / many,
            "all_at_once_to_pool": summaries["Na"]["median_s"] / many,
        },
    }


def print_table(doc: dict) -> None:
    count = doc["accounts"]
    harness.print_heading("accounts", doc, machine=f", {doc['cpus']} CPUs")
    header = (
        f"{'':4} {'scenario':<48} {'median s':>8} {'min s':>7} {'cpu s':>6} {'server':>6} {'calls':>6} {'assume':>6}"
    )
    print(header)
    print("-" * len(header))
    for s in doc["scenarios"]:
        print(
            f"{s['key']:<4} {s['label']:<48} {s['median_s']:8.3f} {s['min_s']:7.3f} {s['median_cpu_s']:6.2f} "
            f"{s['median_server_cpu_s']:6.2f} {s['calls']:6d} {s['assume_role_calls']:6d}"
        )
    ratios = doc["ratios"]
    print()
    print(f"{count} accounts / 1 account (medians, N / 1):            {ratios['many_to_one']:6.2f}")
    print(f"{count} accounts / {count} x 1 account (N / ({count} x 1)):        {ratios['many_to_many_times_one']:6.2f}")
    print(f"one at a time / pool of {doc['pool']} (Ns / N):                 {ratios['one_at_a_time_to_pool']:6.2f}")
    print(f"all at once / pool of {doc['pool']} (Na / N):                   {ratios['all_at_once_to_pool']:6.2f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = harness.benchmark_parser(__doc__, default_repeat=3)
    parser.add_argument("--accounts", type=int, default=20, help=f"accounts in the big run, 2-{MAX_ACCOUNTS} (20)")
    args = harness.parse_checked(parser, argv)
    if not 2 <= args.accounts <= MAX_ACCOUNTS:
        parser.error(f"--accounts must be between 2 and {MAX_ACCOUNTS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = harness.child_environment("bench-accounts", PYTHONPATH=str(ROOT))
    accounts = account_ids(args.accounts)
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as folder:
        all_scenarios = scenarios(Path(folder), accounts)
        bench = Bench(args.latency, args.quiet, env)
        harness.run_rounds(bench, all_scenarios, args, setup=lambda: bench.converge(accounts))
    harness.emit(results_document(args, all_scenarios), args.json, print_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

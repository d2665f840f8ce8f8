"""Benchmark of ``python -m DeadlineSpotIamSetup check`` (and apply, and the plugin's check) against their floors.

Starts an in-process moto stand-in and a FaultProxy in front of it that waits ``--latency`` seconds before
answering each request (100 ms by default, like a distant AWS endpoint), then times complete subprocesses:

  1   check on a complete account (the warm check)
  2   check on an empty account (moto reset before each repetition)
  3   cold apply: apply --secret-out FILE on an empty account (moto reset before each repetition)
  3f  its floor (benchmarks/floor_cold_apply.py): boto3 making the same calls in the same 9 rounds
  4   baseline: a plain boto3 script making the check's 19 reads one after the other
  5a  irreducible: python -c "import boto3"
  5b  the warm check's floor (benchmarks/floor_check.py): import boto3, one IAM client, the same 19 distinct reads in
      the 2 rounds they need: 17 at once, then the 2 policy versions GetPolicy names
  6   the plugin's check in a running process (benchmarks/plugin_check.py): boto3 and the package imported, a new
      gateway per check as each plugin run makes; timed inside the process, check by check, against its floor (a new
      IAM client and the same reads in the same rounds), with the process's CPU time

API calls are counted by the proxy (reads are IAM Get*/List*, writes every other IAM action, STS apart), which also
numbers the rounds of each run (FaultProxy.rounds): the table ends with the critical path of 1, 3, 3f and 6, round by
round. Repetitions are interleaved (one round runs every scenario once) so machine noise hits all scenarios alike.
This script prints figures; it asserts nothing about time.

Usage: python3 benchmarks/bench_check.py [--latency S] [--repeat N] [--warmup N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import harness  # benchmarks/harness.py; it puts the repository root on sys.path
from floor_calls import READS
from harness import KEY_ID, PACKAGE

from tests.support.fault_proxy import reset_endpoint

# Targets for the warm check (scenario 1): its 19 distinct reads (12 for the identities by name, the Spot user's tags
# among them; 5 more for the permission chain: the Spot user, its inline and group policies, its two attached
# policies' GetPolicy; then their 2 default versions), no write, and a whole process within 1.1 times its floor (5b).
TARGET_MAX_CALLS = 19
TARGET_MAX_WRITES = 0
TARGET_MAX_RATIO = 1.1
# Target for the cold apply (scenario 3): everything created on an empty account, whole process, at the proxy's
# latency (100 ms per request by default); its critical path is 9 round trips (benchmarks/floor_cold_apply.py).
TARGET_COLD_APPLY_S = 2.0
# Targets for the plugin's check in a running process (scenario 6): 2 round trips and 50 ms of CPU per check.
TARGET_PLUGIN_ROUNDS = 2
TARGET_PLUGIN_CPU_S = 0.050
PLUGIN_CHECKS = 3  # checks per run of scenario 6
BENCHMARKS = Path(__file__).resolve().parent

SEQUENTIAL_SCRIPT = f"""\
import sys
import boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1])
for method, params in {READS!r}:
    answer = getattr(iam, method)(**params)
    if method == "get_policy":
        iam.get_policy_version(PolicyArn=params["PolicyArn"], VersionId=answer["Policy"]["DefaultVersionId"])
"""

# STS actions (IAM has no action of these names); every other action is IAM's.
STS_ACTIONS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "DecodeAuthorizationMessage",
        "GetAccessKeyInfo",
        "GetCallerIdentity",
        "GetFederationToken",
        "GetSessionToken",
    }
)

COMPLETE, EMPTY, FLOOR = "complete", "empty", "as floor_cold_apply.py left it"


def classify(actions: Counter) -> dict[str, int]:
    """Split a Counter of actions into reads (IAM Get*/List*), writes (other IAM), sts and other (unknown)."""
    calls = {"total": 0, "reads": 0, "writes": 0, "sts": 0, "other": 0}
    for action, n in actions.items():
        calls["total"] += n
        if action is None:
            calls["other"] += n
        elif action in STS_ACTIONS:
            calls["sts"] += n
        elif action.startswith(("Get", "List")):
            calls["reads"] += n
        else:
            calls["writes"] += n
    return calls


@dataclass
class Scenario:
    key: str
    label: str
    argv: Callable[[str], list[str]]  # endpoint URL -> command line
    expected_exit: int
    needs: str | None  # account state needed before each run: COMPLETE, EMPTY or None
    leaves: str | None = None  # account state after a successful run, when it changes it
    walls: list[float] = field(default_factory=list)
    calls: list[dict[str, int]] = field(default_factory=list)
    actions: list[dict[str, int]] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # the round trips of each run, one after the other
    path: list[dict] = field(default_factory=list)  # the critical path of the last run (harness.critical_path)
    inside: list[dict] = field(default_factory=list)  # scenario 6: each check and floor timed inside the process

    def summary(self) -> dict:
        counts = {name: int(statistics.median(c[name] for c in self.calls)) for name in self.calls[0]}
        return {
            "key": self.key,
            "label": self.label,
            **harness.wall_summary(self.walls),
            "rounds": int(statistics.median(self.rounds)) if self.rounds else None,
            "critical_path": self.path,
            "calls": counts,
            "calls_constant": all(c == self.calls[0] for c in self.calls),
            "runs": [
                {"wall_s": wall, "calls": calls, "actions": actions}
                for wall, calls, actions in zip(self.walls, self.calls, self.actions, strict=True)
            ],
        }


class Bench(harness.ProxiedStandIn):
    def __init__(self, latency: float, quiet: bool, env: dict[str, str], workdir: Path) -> None:
        super().__init__(latency, quiet, env)
        self.workdir = workdir
        self.state: str | None = None
        self._prime_client = None

    # -- stand-in ------------------------------------------------------------------------------------
    def _prime(self) -> None:
        """After a reset, moto rebuilds its IAM backend (AWS managed policies) on the first requests, which
        takes about half a second; make those requests here, directly, so no scenario pays for it."""
        if self._prime_client is None:
            import boto3

            self._prime_client = boto3.client(
                "iam",
                endpoint_url=self.aws.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id=KEY_ID,
                aws_secret_access_key="prime",
            )
        for _ in range(3):
            self._prime_client.list_users(MaxItems=1)

    def reset(self) -> None:
        reset_endpoint(self.aws.endpoint_url)
        self._prime()
        self.state = EMPTY

    def converge(self) -> None:
        """Reset, then run apply once directly against the stand-in (no latency, not counted)."""
        self.reset()
        secret = self.workdir / "converge-secret.json"
        command = [
            sys.executable,
            "-m",
            PACKAGE,
            "apply",
            "--secret-out",
            str(secret),
            "--endpoint-url",
            self.aws.endpoint_url,
        ]
        self.run(command, "converging the account with apply")
        self.state = COMPLETE

    def prepare(self, needs: str | None) -> None:
        if needs == EMPTY:
            self.reset()  # before every repetition, as the scenario asks for
        elif needs == COMPLETE and self.state != COMPLETE:
            self.converge()

    # -- runs ----------------------------------------------------------------------------------------
    def measure(self, scenario: Scenario, record: bool) -> None:
        self.prepare(scenario.needs)
        run, actions = self.run_proxied(scenario.argv, scenario.label, scenario.expected_exit)
        if scenario.leaves is not None:
            self.state = scenario.leaves
        rounds = self.last_rounds
        if scenario.key == "6":  # the first check's own requests and rounds; each check's figures from the child
            timed = json.loads(run.output)
            first = timed["checks"][0]
            rounds = harness.within(rounds, first["start"], first["end"])
            actions = Counter(action for _, action, _, _ in rounds)
        if record:
            scenario.walls.append(run.wall)
            scenario.calls.append(classify(actions))
            scenario.actions.append({str(name): n for name, n in sorted(actions.items(), key=str)})
            scenario.rounds.append(max((found[0] for found in rounds), default=0))
            scenario.path = harness.critical_path(rounds)
            if scenario.key == "6":
                scenario.inside.append(timed)
        self.progress(scenario.key, run, sum(actions.values()), record, key_width=3, calls_width=3)


def scenarios(workdir: Path, direct_url: Callable[[], str]) -> list[Scenario]:
    python = sys.executable
    secret = str(workdir / "apply-secret.json")
    floor_secret = str(workdir / "floor-secret.json")
    return [
        Scenario(
            "1",
            "check, complete account (warm check)",
            lambda url: [python, "-m", PACKAGE, "check", "--endpoint-url", url],
            0,
            COMPLETE,
        ),
        Scenario(
            "2", "check, empty account", lambda url: [python, "-m", PACKAGE, "check", "--endpoint-url", url], 2, EMPTY
        ),
        Scenario(
            "3",
            "cold apply: apply --secret-out, empty account",
            lambda url: [python, "-m", PACKAGE, "apply", "--secret-out", secret, "--force", "--endpoint-url", url],
            0,
            EMPTY,
            leaves=COMPLETE,
        ),
        Scenario(
            "3f",
            "floor of 3: boto3, the same calls in 9 rounds",
            lambda url: [python, str(BENCHMARKS / "floor_cold_apply.py"), url, floor_secret],
            0,
            EMPTY,
            leaves=FLOOR,
        ),
        Scenario(
            "4",
            "baseline: boto3, 19 reads in sequence",
            lambda url: [python, "-c", SEQUENTIAL_SCRIPT, url],
            0,
            COMPLETE,
        ),
        Scenario("5a", "irreducible: python -c 'import boto3'", lambda url: [python, "-c", "import boto3"], 0, None),
        Scenario(
            "5b",
            "floor of 1: boto3 + 19 reads in 2 rounds",
            lambda url: [python, str(BENCHMARKS / "floor_check.py"), url],
            0,
            COMPLETE,
        ),
        Scenario(
            "6",
            f"plugin's check in a running process (x{PLUGIN_CHECKS})",
            lambda url: [python, str(BENCHMARKS / "plugin_check.py"), url, direct_url(), str(PLUGIN_CHECKS)],
            0,
            COMPLETE,
        ),
    ]


def round_order(all_scenarios: list[Scenario]) -> list[Scenario]:
    """Within a round, the scenarios on a complete account come first and the applies come last: apply leaves the
    account complete again, and its floor leaves it as the floor made it (converged again before the next round)."""
    by_key = {s.key: s for s in all_scenarios}
    return [by_key[key] for key in ("1", "4", "5b", "6", "5a", "2", "3f", "3")]


def plugin_figures(scenario: dict, runs: list[dict]) -> dict:
    """Scenario 6, check by check over every run: the median wall and CPU time of a check and of its floor."""
    checks = [check for run in runs for check in run["checks"]]
    floors = [floor for run in runs for floor in run["floors"]]
    return {
        "check_wall_s": statistics.median(c["wall_s"] for c in checks),
        "check_cpu_s": statistics.median(c["cpu_s"] for c in checks),
        "floor_wall_s": statistics.median(f["wall_s"] for f in floors),
        "floor_cpu_s": statistics.median(f["cpu_s"] for f in floors),
        "rounds": scenario["rounds"],
    }


def results_document(args: argparse.Namespace, all_scenarios: list[Scenario]) -> dict:
    summaries = {s.key: s.summary() for s in all_scenarios}
    warm, floor, sequential = summaries["1"], summaries["5b"], summaries["4"]
    cold_apply, cold_floor = summaries["3"], summaries["3f"]
    plugin = plugin_figures(summaries["6"], next(s for s in all_scenarios if s.key == "6").inside)
    ratio_floor = warm["median_s"] / floor["median_s"]
    calls = warm["calls"]

    def target(value: float, limit: float) -> dict:
        return {"value": value, "max": limit, "met": value <= limit}

    return {
        **harness.versions(),
        "latency_s": args.latency,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "scenarios": [summaries[s.key] for s in all_scenarios],
        "plugin_check": plugin,
        "ratios": {
            "warm_check_to_floor": ratio_floor,
            "warm_check_to_sequential": warm["median_s"] / sequential["median_s"],
            "warm_check_minus_floor_s": warm["median_s"] - floor["median_s"],
            "cold_apply_to_floor": cold_apply["median_s"] / cold_floor["median_s"],
            "plugin_check_to_floor": plugin["check_wall_s"] / plugin["floor_wall_s"],
        },
        "targets": {
            "warm_check_calls": target(calls["total"], TARGET_MAX_CALLS),
            "warm_check_writes": target(calls["writes"], TARGET_MAX_WRITES),
            "warm_check_to_floor": target(ratio_floor, TARGET_MAX_RATIO),
            "cold_apply_s": target(cold_apply["median_s"], TARGET_COLD_APPLY_S),
            "plugin_check_rounds": target(plugin["rounds"], TARGET_PLUGIN_ROUNDS),
            "plugin_check_cpu_s": target(plugin["check_cpu_s"], TARGET_PLUGIN_CPU_S),
        },
    }


def print_table(doc: dict) -> None:
    harness.print_heading("check", doc)
    header = (
        f"{'':3} {'scenario':<46} {'median s':>8} {'min s':>7} {'calls':>6} {'reads':>6} {'writes':>6} {'sts':>4} "
        f"{'rounds':>6}"
    )
    print(header)
    print("-" * len(header))
    varied = False
    for s in doc["scenarios"]:
        c = s["calls"]
        mark = " " if s["calls_constant"] else "*"
        varied = varied or not s["calls_constant"]
        rounds = "" if not s["rounds"] else str(s["rounds"])
        print(
            f"{s['key']:<3} {s['label']:<46} {s['median_s']:8.3f} {s['min_s']:7.3f} "
            f"{c['total']:5d}{mark} {c['reads']:6d} {c['writes']:6d} {c['sts']:4d} {rounds:>6}"
        )
    print("(6: the process as a whole, its calls and rounds those of one check; each check is timed below)")
    if varied:
        print("* the number of calls varied between repetitions (medians shown; every run is in --json)")
    if any(s["calls"]["other"] for s in doc["scenarios"]):
        print("  (calls include requests whose action the proxy could not tell)")
    ratios, targets, plugin = doc["ratios"], doc["targets"], doc["plugin_check"]
    print()
    print(f"{'':46} {'measured':>10}  {'target':>8}")

    def line(label: str, value: str, goal: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("ok" if met else "MISSED")
        print(f"{label:<46} {value:>10}  {goal:>8}  {verdict}".rstrip())

    print("warm check (1)")
    line(
        "  API calls",
        str(targets["warm_check_calls"]["value"]),
        f"<= {TARGET_MAX_CALLS}",
        targets["warm_check_calls"]["met"],
    )
    line(
        "  write calls",
        str(targets["warm_check_writes"]["value"]),
        f"<= {TARGET_MAX_WRITES}",
        targets["warm_check_writes"]["met"],
    )
    line(
        "  median / its floor (5b) median",
        f"{ratios['warm_check_to_floor']:.2f}",
        f"<= {TARGET_MAX_RATIO}",
        targets["warm_check_to_floor"]["met"],
    )
    line("  median - its floor (5b) median", f"{ratios['warm_check_minus_floor_s'] * 1000:+.0f} ms")
    line("  median / sequential baseline (4) median", f"{ratios['warm_check_to_sequential']:.2f}")
    print("cold apply (3)")
    line(
        "  median",
        f"{targets['cold_apply_s']['value']:.3f} s",
        f"<= {TARGET_COLD_APPLY_S} s",
        targets["cold_apply_s"]["met"],
    )
    line("  median / its floor (3f) median", f"{ratios['cold_apply_to_floor']:.2f}")
    print("plugin's check in a running process (6), per check")
    line("  round trips", str(plugin["rounds"]), f"<= {TARGET_PLUGIN_ROUNDS}", targets["plugin_check_rounds"]["met"])
    line(
        "  CPU",
        f"{plugin['check_cpu_s'] * 1000:.1f} ms",  # tenths: 50.4 ms misses a 50 ms goal, and says so
        f"<= {TARGET_PLUGIN_CPU_S * 1000:.0f} ms",
        targets["plugin_check_cpu_s"]["met"],
    )
    line("  median wall", f"{plugin['check_wall_s'] * 1000:.0f} ms")
    line("  median / its floor median", f"{ratios['plugin_check_to_floor']:.2f}")
    line("  floor: median wall, CPU", f"{plugin['floor_wall_s'] * 1000:.0f} ms, {plugin['floor_cpu_s'] * 1000:.1f} ms")
    print()
    print("critical paths (the last measured run; each round from its first request to its last answer)")
    for s in doc["scenarios"]:
        if s["key"] in ("1", "3", "3f", "6"):
            print(f"  {s['key']}: {s['label']}")
            for text in harness.path_lines(s["critical_path"]):
                print(text)


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_checked(harness.benchmark_parser(__doc__, default_repeat=5), argv)
    env = harness.child_environment("bench-check")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as folder:
        workdir = Path(folder)
        bench = Bench(args.latency, args.quiet, env, workdir)
        all_scenarios = scenarios(workdir, lambda: bench.aws.endpoint_url)
        harness.run_rounds(bench, round_order(all_scenarios), args)
    harness.emit(results_document(args, all_scenarios), args.json, print_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of ``python -m DeadlineSpotIamSetup check`` (and apply) as a whole process.

Starts an in-process moto stand-in and a FaultProxy in front of it that waits ``--latency`` seconds before
answering each request (100 ms by default, like a distant AWS endpoint), then times complete subprocesses:

  1   check on a complete account (the warm check)
  2   check on an empty account (moto reset before each repetition)
  3   cold apply: apply --secret-out FILE on an empty account (moto reset before each repetition)
  4   baseline: a plain boto3 script making the same 20 reads one after the other
  5a  irreducible: python -c "import boto3"
  5b  irreducible: import boto3, one IAM client, the same 20 reads in the fewest rounds they allow: 18 in parallel,
      then the 2 policy versions GetPolicy names (the permission chain reads each attached policy's default
      version, whose id only GetPolicy tells)

API calls are counted by the proxy (reads are IAM Get*/List*, writes every other IAM action, STS apart).
Repetitions are interleaved (one round runs every scenario once) so machine noise hits all scenarios alike.
This script prints figures; it asserts nothing about time.

Usage: python3 benchmarks/bench_check.py [--latency S] [--repeat N] [--warmup N] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import harness  # benchmarks/harness.py; it puts the repository root on sys.path
from harness import KEY_ID, PACKAGE

from tests.support.fault_proxy import reset_endpoint

# Targets for the warm check (scenario 1).
# 12 reads for the identities by name (the Spot user's tags among them: which keys this project made, and a key
# rotation's mark), 8 for the permission chain (the Spot user, its attached, inline and group policies, and each of
# its two attached policies' default version: GetPolicy, GetPolicyVersion).
TARGET_MAX_CALLS = 20
TARGET_MAX_WRITES = 0
TARGET_MAX_RATIO = 1.2
# Target for the cold apply (scenario 3): everything created on an empty account, whole process, at the
# proxy's latency (100 ms per request by default). Its critical path is 9 round trips: observe; create and see
# it; attach; list keys, create the key, list keys; STS accepts the key; observe again.
TARGET_COLD_APPLY_S = 2.5

# The reads a check of the default identities needs, by name: (boto3 method, parameters).
SPOT_USER = "DeadlineSpotEventPluginAdmin"
WORKER_ROLE = "DeadlineSpotWorker"
FLEET_ROLE = "aws-ec2-spot-fleet-tagging-role"
TRACKER_ROLE = "DeadlineResourceTrackerAccessRole"
READS: tuple[tuple[str, dict[str, str]], ...] = (
    ("list_attached_user_policies", {"UserName": SPOT_USER}),
    ("list_access_keys", {"UserName": SPOT_USER}),
    ("list_user_tags", {"UserName": SPOT_USER}),
    ("get_role", {"RoleName": WORKER_ROLE}),
    ("list_attached_role_policies", {"RoleName": WORKER_ROLE}),
    ("get_role", {"RoleName": FLEET_ROLE}),
    ("list_attached_role_policies", {"RoleName": FLEET_ROLE}),
    ("get_role", {"RoleName": TRACKER_ROLE}),
    ("list_attached_role_policies", {"RoleName": TRACKER_ROLE}),
    ("get_instance_profile", {"InstanceProfileName": WORKER_ROLE}),
    ("get_role", {"RoleName": "AWSServiceRoleForEC2Spot"}),
    ("get_role", {"RoleName": "AWSServiceRoleForEC2SpotFleet"}),
    ("get_user", {"UserName": SPOT_USER}),
    ("list_attached_user_policies", {"UserName": SPOT_USER}),
    ("list_user_policies", {"UserName": SPOT_USER}),
    ("list_groups_for_user", {"UserName": SPOT_USER}),
    ("get_policy", {"PolicyArn": "arn:aws:iam::aws:policy/AWSThinkboxDeadlineSpotEventPluginAdminPolicy"}),
    ("get_policy", {"PolicyArn": "arn:aws:iam::aws:policy/AWSThinkboxDeadlineResourceTrackerAdminPolicy"}),
)

SEQUENTIAL_SCRIPT = f"""\
import sys
import boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1])
for method, params in {READS!r}:
    answer = getattr(iam, method)(**params)
    if method == "get_policy":
        iam.get_policy_version(PolicyArn=params["PolicyArn"], VersionId=answer["Policy"]["DefaultVersionId"])
"""

PARALLEL_SCRIPT = f"""\
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
reads = {READS!r}
iam = boto3.client("iam", endpoint_url=sys.argv[1], config=Config(max_pool_connections=24))

def read(method, params):
    answer = getattr(iam, method)(**params)
    if method == "get_policy":
        iam.get_policy_version(PolicyArn=params["PolicyArn"], VersionId=answer["Policy"]["DefaultVersionId"])

with ThreadPoolExecutor(max_workers=len(reads)) as pool:
    for future in [pool.submit(read, method, params) for method, params in reads]:
        future.result()
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

COMPLETE, EMPTY = "complete", "empty"


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

    def summary(self) -> dict:
        counts = {name: int(statistics.median(c[name] for c in self.calls)) for name in self.calls[0]}
        return {
            "key": self.key,
            "label": self.label,
            **harness.wall_summary(self.walls),
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
        if record:
            scenario.walls.append(run.wall)
            scenario.calls.append(classify(actions))
            scenario.actions.append({str(name): n for name, n in sorted(actions.items(), key=str)})
        self.progress(scenario.key, run, sum(actions.values()), record, key_width=3, calls_width=3)


def scenarios(workdir: Path) -> list[Scenario]:
    python = sys.executable
    secret = str(workdir / "apply-secret.json")
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
            "4",
            "baseline: boto3, 20 reads in sequence",
            lambda url: [python, "-c", SEQUENTIAL_SCRIPT, url],
            0,
            COMPLETE,
        ),
        Scenario("5a", "irreducible: python -c 'import boto3'", lambda url: [python, "-c", "import boto3"], 0, None),
        Scenario(
            "5b",
            "irreducible: boto3 + 20 reads in 2 rounds",
            lambda url: [python, "-c", PARALLEL_SCRIPT, url],
            0,
            COMPLETE,
        ),
    ]


def round_order(all_scenarios: list[Scenario]) -> list[Scenario]:
    """Within a round, the scenarios on a complete account come first and apply comes last: apply leaves
    the account complete again, so the account is converged only once, before the first round."""
    by_key = {s.key: s for s in all_scenarios}
    return [by_key[key] for key in ("1", "4", "5b", "5a", "2", "3")]


def results_document(args: argparse.Namespace, all_scenarios: list[Scenario]) -> dict:
    summaries = {s.key: s.summary() for s in all_scenarios}
    warm, irreducible, sequential = summaries["1"], summaries["5b"], summaries["4"]
    cold_apply = summaries["3"]
    ratio_irreducible = warm["median_s"] / irreducible["median_s"]
    ratio_sequential = warm["median_s"] / sequential["median_s"]
    calls = warm["calls"]
    return {
        **harness.versions(),
        "latency_s": args.latency,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "scenarios": [summaries[s.key] for s in all_scenarios],
        "ratios": {
            "warm_check_to_irreducible": ratio_irreducible,
            "warm_check_to_sequential": ratio_sequential,
            "warm_check_minus_irreducible_s": warm["median_s"] - irreducible["median_s"],
            "cold_apply_to_irreducible": cold_apply["median_s"] / irreducible["median_s"],
        },
        "targets": {
            "warm_check_calls": {
                "value": calls["total"],
                "max": TARGET_MAX_CALLS,
                "met": calls["total"] <= TARGET_MAX_CALLS,
            },
            "warm_check_writes": {
                "value": calls["writes"],
                "max": TARGET_MAX_WRITES,
                "met": calls["writes"] <= TARGET_MAX_WRITES,
            },
            "warm_check_to_irreducible": {
                "value": ratio_irreducible,
                "max": TARGET_MAX_RATIO,
                "met": ratio_irreducible <= TARGET_MAX_RATIO,
            },
            "cold_apply_s": {
                "value": cold_apply["median_s"],
                "max": TARGET_COLD_APPLY_S,
                "met": cold_apply["median_s"] <= TARGET_COLD_APPLY_S,
            },
        },
    }


def print_table(doc: dict) -> None:
    harness.print_heading("check", doc)
    header = f"{'':3} {'scenario':<44} {'median s':>8} {'min s':>7} {'calls':>6} {'reads':>6} {'writes':>6} {'sts':>4}"
    print(header)
    print("-" * len(header))
    varied = False
    for s in doc["scenarios"]:
        c = s["calls"]
        mark = " " if s["calls_constant"] else "*"
        varied = varied or not s["calls_constant"]
        print(
            f"{s['key']:<3} {s['label']:<44} {s['median_s']:8.3f} {s['min_s']:7.3f} "
            f"{c['total']:5d}{mark} {c['reads']:6d} {c['writes']:6d} {c['sts']:4d}"
        )
    if varied:
        print("* the number of calls varied between repetitions (medians shown; every run is in --json)")
    if any(s["calls"]["other"] for s in doc["scenarios"]):
        print("  (calls include requests whose action the proxy could not tell)")
    ratios, targets = doc["ratios"], doc["targets"]
    print()
    print(f"{'warm check (1)':<44} {'measured':>10}  {'target':>8}")

    def line(label: str, value: str, target: str, met: bool | None) -> None:
        verdict = "" if met is None else ("ok" if met else "MISSED")
        print(f"{label:<44} {value:>10}  {target:>8}  {verdict}".rstrip())

    line(
        "API calls",
        str(targets["warm_check_calls"]["value"]),
        f"<= {TARGET_MAX_CALLS}",
        targets["warm_check_calls"]["met"],
    )
    line(
        "write calls",
        str(targets["warm_check_writes"]["value"]),
        f"<= {TARGET_MAX_WRITES}",
        targets["warm_check_writes"]["met"],
    )
    line(
        "median / irreducible (5b) median",
        f"{ratios['warm_check_to_irreducible']:.2f}",
        f"<= {TARGET_MAX_RATIO}",
        targets["warm_check_to_irreducible"]["met"],
    )
    extra_ms = ratios["warm_check_minus_irreducible_s"] * 1000
    line("median - irreducible (5b) median", f"{extra_ms:+.0f} ms", "", None)
    line("median / sequential baseline (4) median", f"{ratios['warm_check_to_sequential']:.2f}", "", None)
    print()
    print(f"{'cold apply (3)':<44} {'measured':>10}  {'target':>8}")
    line(
        "median",
        f"{targets['cold_apply_s']['value']:.3f} s",
        f"<= {TARGET_COLD_APPLY_S} s",
        targets["cold_apply_s"]["met"],
    )
    line("median / irreducible (5b) median", f"{ratios['cold_apply_to_irreducible']:.2f}", "", None)


def main(argv: list[str] | None = None) -> int:
    args = harness.parse_checked(harness.benchmark_parser(__doc__, default_repeat=5), argv)
    env = harness.child_environment("bench-check")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as folder:
        workdir = Path(folder)
        all_scenarios = scenarios(workdir)
        harness.run_rounds(Bench(args.latency, args.quiet, env, workdir), round_order(all_scenarios), args)
    harness.emit(results_document(args, all_scenarios), args.json, print_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

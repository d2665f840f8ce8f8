"""Benchmark of the permission chain on large policies: the CPU one judgement of the Spot credentials' policies
takes, and what the whole ``check`` costs when the Spot user has them attached.

The policies: the setup's own (AWSThinkboxDeadlineSpotEventPluginAdminPolicy, AWSThinkboxDeadlineResourceTrackerAdmin
Policy), AWS's ReadOnlyAccess (thousands of actions, as moto ships it) and two customer managed policies as large as
IAM stores (6,144 characters each, statements with wildcards, variables and conditions).

1  in-process: the permission chain's plan (SpotPermissionsHandler.plan: compile the documents, judge every call on
   every resource, look for a grant's end) on those documents, timed with the process's CPU clock; each figure is
   per check (the event plugin plans up to three times per run: before apply, after it, and once more if runs raced).
   ``--package-root PATH`` measures another checkout's package the same way (e.g. the main branch, for a before
   figure).
2  whole process (``--whole``): ``check`` as a child process against the moto stand-in behind a proxy that waits
   ``--latency`` seconds per request, the Spot user holding those policies; and, as its irreducible cost, a plain
   boto3 script making the same reads in the fewest rounds they allow (the lists, then GetPolicy, then
   GetPolicyVersion). Rounds interleave the two.

This script prints figures; it asserts nothing about time.

Usage: python3 benchmarks/bench_permission_chain.py [--repeat N] [--package-root PATH] [--whole] [--latency S] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
USER = "DeadlineSpotEventPluginAdmin"
CUSTOMER_POLICY_LIMIT = 6144  # IAM's limit for a customer managed policy, white space not counted
SERVICES = ("ec2", "logs", "cloudwatch", "sqs", "sns", "dynamodb", "kms", "ssm", "lambda", "ecr", "autoscaling", "glue")
VERBS = ("Describe", "Get", "List", "Put", "Create", "Delete", "Update", "Tag", "Untag", "Start", "Stop")


def customer_policy(seed: int) -> dict[str, Any]:
    """A customer managed policy at IAM's size limit: statements of several actions (some wildcards), resources
    (some with variables or a trailing wildcard), and conditions of several operator families."""
    statements: list[dict[str, Any]] = []
    number = 0
    while True:
        service = SERVICES[(seed + number) % len(SERVICES)]
        verb = VERBS[(seed * 3 + number) % len(VERBS)]
        statement: dict[str, Any] = {
            "Sid": f"S{seed}x{number}",
            "Effect": "Deny" if number % 7 == 3 else "Allow",
            "Action": [f"{service}:{verb}*", f"{service}:{verb}Thing{number}", f"{service}:Batch{verb}?"],
            "Resource": [
                f"arn:aws:{service}:*:{ACCOUNT}:thing/{number}/*",
                f"arn:aws:{service}:us-west-2:*:${{aws:username}}-{number}",
            ],
        }
        if number % 3 == 0:
            statement["Condition"] = {
                "StringEquals": {"aws:RequestedRegion": ["us-west-2", "eu-central-1"]},
                "IpAddressIfExists": {"aws:SourceIp": ["203.0.113.0/24"]},
            }
        elif number % 3 == 1:
            statement["Condition"] = {"DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"}}
        candidate = statements + [statement]
        text = json.dumps({"Version": "2012-10-17", "Statement": candidate}, separators=(",", ":"))
        if len(text) > CUSTOMER_POLICY_LIMIT:
            return {"Version": "2012-10-17", "Statement": statements}
        statements = candidate
        number += 1


def aws_managed(name: str) -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)[name]["Document"]


def documents(large: bool) -> list[tuple[str, dict[str, Any]]]:
    found = [
        (f"AWS managed policy {name}", aws_managed(name))
        for name in ("AWSThinkboxDeadlineSpotEventPluginAdminPolicy", "AWSThinkboxDeadlineResourceTrackerAdminPolicy")
    ]
    if large:
        found += [
            ("AWS managed policy ReadOnlyAccess v120", aws_managed("ReadOnlyAccess")),
            ("policy RenderFarmA v1", customer_policy(1)),
            ("policy RenderFarmB v1", customer_policy(2)),
        ]
    return found


def chain_cpu(large: bool, repeat: int) -> dict[str, Any]:
    """The CPU seconds of the permission chain's plan, per check, over ``repeat`` checks."""
    from DeadlineSpotIamSetup.desired import CreationOptions, Settings, desired_state
    from DeadlineSpotIamSetup.findings import Draft, PlanContext
    from DeadlineSpotIamSetup.handlers import handler_for
    from DeadlineSpotIamSetup.kinds import Kind
    from DeadlineSpotIamSetup.values import Observed, PrincipalPolicies

    identity = next(i for i in desired_state(Settings()) if i.kind is Kind.PERMISSIONS)
    policies = documents(large)
    attached = frozenset(f"arn:aws:iam::aws:policy/{name}" for name in identity.policies)
    grants = PrincipalPolicies(f"arn:aws:iam::{ACCOUNT}:user/{USER}", tuple(policies), None, attached)
    seen = Observed(True, grants=grants)
    handler = handler_for(identity)
    cpu: list[float] = []
    problems: tuple[str, ...] = ()
    for _ in range(repeat):
        draft = Draft(identity, True)
        started = time.process_time()
        handler.plan(identity, seen, draft, PlanContext("aws", CreationOptions(), account=ACCOUNT))
        cpu.append(time.process_time() - started)
        problems = tuple(draft.problems)
    statements = sum(len(d["Statement"]) if isinstance(d["Statement"], list) else 1 for _, d in policies)
    actions = sum(
        len(s.get("Action", [])) if isinstance(s.get("Action"), list) else 1
        for _, d in policies
        for s in (d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]])
    )
    return {
        "policies": [label for label, _ in policies],
        "statements": statements,
        "actions": actions,
        "median_cpu_s": statistics.median(cpu),
        "min_cpu_s": min(cpu),
        "max_cpu_s": max(cpu),
        "problems": len(problems),
    }


# -- the whole check -----------------------------------------------------------------------------------------------

IRREDUCIBLE_SCRIPT = """\
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
iam = boto3.client("iam", endpoint_url=sys.argv[1], config=Config(max_pool_connections=32))
reads, arns = {reads!r}, {arns!r}
with ThreadPoolExecutor(max_workers=32) as pool:
    for future in [pool.submit(getattr(iam, method), **params) for method, params in reads]:
        future.result()
    versions = [pool.submit(iam.get_policy, PolicyArn=arn) for arn in arns]
    versions = [future.result()["Policy"]["DefaultVersionId"] for future in versions]
    for future in [pool.submit(iam.get_policy_version, PolicyArn=a, VersionId=v) for a, v in zip(arns, versions)]:
        future.result()
"""


def whole_check(args: argparse.Namespace) -> dict[str, Any]:
    import boto3
    import harness  # benchmarks/harness.py; it puts the repository root on sys.path
    from bench_check import READS

    env = harness.child_environment("bench-permission-chain")
    bench = harness.ProxiedStandIn(args.latency, args.quiet, env)
    python = sys.executable
    runs: dict[str, list[Any]] = {"check": [], "irreducible": []}
    calls: dict[str, Any] = {}
    try:
        bench.start()
        endpoint = bench.aws.endpoint_url
        secret = Path(tempfile.mkdtemp(prefix="bench-permission-chain-")) / "secret.json"
        bench.run(
            [
                python,
                "-m",
                harness.PACKAGE,
                "apply",
                "--secret-out",
                str(secret),
                "--force",
                "--endpoint-url",
                endpoint,
            ],
            "apply",
        )
        secret.unlink()
        secret.parent.rmdir()
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=harness.KEY_ID,
            aws_secret_access_key=harness.SECRET,
        )
        arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        for number in (1, 2):
            document = json.dumps(customer_policy(number), separators=(",", ":"))
            arns.append(iam.create_policy(PolicyName=f"RenderFarm{number}", PolicyDocument=document)["Policy"]["Arn"])
        for arn in arns:
            iam.attach_user_policy(UserName=USER, PolicyArn=arn)
        expected = [method for method in READS if method[0] != "get_policy"]
        managed = [params["PolicyArn"] for method, params in READS if method == "get_policy"]
        script = IRREDUCIBLE_SCRIPT.format(reads=expected, arns=managed + arns)
        scenarios = {
            "check": (lambda url: [python, "-m", harness.PACKAGE, "check", "--endpoint-url", url]),
            "irreducible": (lambda url: [python, "-c", script, url]),
        }
        for number in range(args.warmup + args.rounds):
            for key, argv in scenarios.items():
                run, actions = bench.run_proxied(argv, key)
                if number >= args.warmup:
                    runs[key].append(run)
                    calls[key] = sum(actions.values())
                if not args.quiet:
                    print(
                        f"  {key:<11} {run.wall:7.3f} s  {run.cpu:6.3f} s CPU  {sum(actions.values())} calls",
                        file=sys.stderr,
                    )
    finally:
        bench.stop()
    summary = {
        key: {
            "median_s": statistics.median(r.wall for r in found),
            "median_cpu_s": statistics.median(r.cpu for r in found),
            "calls": calls[key],
        }
        for key, found in runs.items()
    }
    summary["ratio"] = summary["check"]["median_s"] / summary["irreducible"]["median_s"]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="measured in-process checks (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="--whole: measured rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured --whole rounds first (default 1)")
    parser.add_argument("--package-root", type=Path, help="measure the package of this checkout instead")
    parser.add_argument("--whole", action="store_true", help="also time the whole check against the stand-in")
    parser.add_argument("--latency", type=float, default=0.1, help="--whole: seconds per request (default 0.1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if not 1 <= args.repeat <= 1000:
        parser.error("--repeat must be between 1 and 1000")
    if args.package_root is not None:
        sys.path.insert(0, str(args.package_root.resolve()))
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import DeadlineSpotIamSetup

    results: dict[str, Any] = {
        "package": str(Path(DeadlineSpotIamSetup.__file__).parent),
        "python": sys.version.split()[0],
        "setup_policies_only": chain_cpu(False, args.repeat),
        "with_large_policies": chain_cpu(True, args.repeat),
    }
    if args.whole:
        if args.package_root is not None:
            parser.error("--whole measures this checkout only")
        results["whole_check"] = whole_check(args)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"permission chain, package {results['package']} (Python {results['python']})")
    for key, title in (
        ("setup_policies_only", "the setup's policies"),
        ("with_large_policies", "+ ReadOnlyAccess + 2 customer policies"),
    ):
        r = results[key]
        print(
            f"  {title:<40} {r['statements']:4d} statements {r['actions']:5d} actions: CPU per check "
            f"{r['median_cpu_s'] * 1000:8.1f} ms median ({r['min_cpu_s'] * 1000:.1f}-{r['max_cpu_s'] * 1000:.1f}), "
            f"per plugin run (3 plans) {3 * r['median_cpu_s'] * 1000:8.1f} ms"
        )
    if "whole_check" in results:
        w = results["whole_check"]
        print(f"whole check at {args.latency} s per request, Spot user with ReadOnlyAccess + 2 customer policies:")
        for key in ("check", "irreducible"):
            print(
                f"  {key:<12} {w[key]['median_s']:7.3f} s median, {w[key]['median_cpu_s']:6.3f} s CPU, "
                f"{w[key]['calls']} calls"
            )
        print(f"  check / irreducible: {w['ratio']:.2f} (the warm check's target in bench_check.py: <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

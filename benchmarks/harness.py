"""What the benchmarks share: a moto stand-in behind a FaultProxy that adds latency, children run as whole
processes with dummy credentials, interleaved rounds, the common options, and the printing of the results.

The benchmark scripts import it as ``harness`` (Python puts a script's own folder first on ``sys.path``); it puts
the repository root on ``sys.path`` so that ``DeadlineSpotIamSetup`` and ``tests.support`` are importable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from DeadlineSpotIamSetup.standin import MotoStandIn  # noqa: E402
from tests.support.fault_proxy import FaultProxy  # noqa: E402

PACKAGE = "DeadlineSpotIamSetup"
RUN_TIMEOUT = 180.0  # seconds; a child running longer is killed and the benchmark stops
MAX_REPEAT = 100
MAX_WARMUP = 10
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


# -- options -----------------------------------------------------------------------------------------------------


def benchmark_parser(doc: str, default_repeat: int) -> argparse.ArgumentParser:
    """The options every benchmark takes: --latency, --repeat, --warmup, --json, --quiet. ``doc`` is the script's
    docstring, whose first paragraph describes it."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--latency", type=float, default=0.1, help="seconds the proxy waits before answering each request (default 0.1)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=default_repeat,
        help=f"measured repetitions of each scenario, 1-{MAX_REPEAT} (default {default_repeat})",
    )
    parser.add_argument("--warmup", type=int, default=1, help=f"unmeasured rounds first, 0-{MAX_WARMUP} (default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def parse_checked(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; refuse (exit 2, as argparse does) a latency, repeat or warm-up count out of range."""
    args = parser.parse_args(argv)
    if not 0 <= args.latency <= 10:
        parser.error("--latency must be between 0 and 10 seconds")
    if not 1 <= args.repeat <= MAX_REPEAT:
        parser.error(f"--repeat must be between 1 and {MAX_REPEAT}")
    if not 0 <= args.warmup <= MAX_WARMUP:
        parser.error(f"--warmup must be between 0 and {MAX_WARMUP}")
    return args


# -- children ----------------------------------------------------------------------------------------------------


def child_environment(name: str, **extra: str) -> dict[str, str]:
    """The environment of every child: dummy credentials, no profile, no config or credentials file (in a folder
    named after the benchmark ``name`` that does not exist), loopback traffic never through an HTTP proxy; ``extra``
    on top. Also sets NO_PROXY in this process's own environment, for its own requests to the stand-in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    missing = Path(tempfile.gettempdir()) / f"{name}-no-such-dir"
    env.update(
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(missing / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(missing / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        **extra,
    )
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1", "localhost"]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
    # Let children keep bytecode caches, as an installed package has them; otherwise each run would
    # compile the package's sources again and the figures would measure the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass(frozen=True)
class ChildRun:
    wall: float  # seconds, the whole process from start to exit
    cpu: float  # the child's user + system seconds
    server_cpu: float  # this process's (the stand-in's and the proxy's) user + system seconds meanwhile
    output: str = ""  # what the child printed on stdout


def run_child(command: list[str], env: dict[str, str], expected_exit: int, what: str) -> ChildRun:
    """Run ``command`` from the repository root; stop the benchmark (SystemExit) when it exits otherwise than
    ``expected_exit``, showing the end of its stderr, or runs longer than RUN_TIMEOUT."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: {what} did not finish within {RUN_TIMEOUT:.0f} s") from None
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_after = resource.getrusage(resource.RUSAGE_SELF)
    if done.returncode != expected_exit:
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise SystemExit(f"error: {what} exited {done.returncode}, expected {expected_exit}:\n{detail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server = (server_after.ru_utime - server_before.ru_utime) + (server_after.ru_stime - server_before.ru_stime)
    return ChildRun(wall, cpu, server, done.stdout)


class ProxiedStandIn:
    """A moto stand-in in this process and a FaultProxy in front of it that waits ``latency`` seconds before
    answering each request; children are timed against the proxy, which counts their requests by action."""

    def __init__(self, latency: float, quiet: bool, env: dict[str, str]) -> None:
        self.latency = latency
        self.quiet = quiet
        self.env = env
        self.aws = MotoStandIn()
        self.proxy: FaultProxy | None = None
        self.last_rounds: list[tuple[int, str | None, float, float]] = []  # FaultProxy.rounds of the last run

    def start(self) -> None:
        self.aws.start()
        self.proxy = FaultProxy(self.aws.endpoint_url, latency=self.latency).start()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        self.aws.stop()

    def run(self, command: list[str], what: str, expected_exit: int = 0) -> ChildRun:
        return run_child(command, self.env, expected_exit, what)

    def run_proxied(
        self, argv: Callable[[str], list[str]], what: str, expected_exit: int = 0
    ) -> tuple[ChildRun, Counter]:
        """Run the command ``argv`` makes of the proxy's URL; the run and the requests the proxy saw, by action (their
        rounds: ``last_rounds``)."""
        assert self.proxy is not None
        self.proxy.clear()
        run = self.run(argv(self.proxy.endpoint_url), what, expected_exit)
        self.last_rounds = self.proxy.rounds()
        return run, self.proxy.counts()

    def measure(self, scenario, record: bool) -> None:
        """Run ``scenario`` once, recording its figures when ``record`` (not in a warm-up round)."""
        raise NotImplementedError

    def progress(self, key: str, run: ChildRun, calls: int, record: bool, key_width: int, calls_width: int) -> None:
        """One line on stderr for a run, unless quiet."""
        if not self.quiet:
            tag = "" if record else " (warm-up)"
            print(f"  {key:<{key_width}} {run.wall:7.3f} s  {calls:{calls_width}d} calls{tag}", file=sys.stderr)


def run_rounds(
    bench: ProxiedStandIn, order: Sequence, args: argparse.Namespace, setup: Callable[[], None] | None = None
) -> None:
    """Start ``bench``, run ``setup`` (untimed), then ``args.warmup`` warm-up rounds and ``args.repeat`` measured
    ones, each measuring every scenario of ``order`` once, so that machine noise hits all scenarios alike; stop
    ``bench`` whatever happens (also when it fails to start)."""
    try:
        bench.start()
        if setup is not None:
            setup()
        for number in range(args.warmup + args.repeat):
            record = number >= args.warmup
            if not args.quiet:
                name = f"round {number - args.warmup + 1}/{args.repeat}" if record else "warm-up round"
                print(f"{name}:", file=sys.stderr)
            for scenario in order:
                bench.measure(scenario, record)
    finally:
        bench.stop()


# -- results -----------------------------------------------------------------------------------------------------


def wall_summary(walls: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls)}


def critical_path(rounds: list[tuple[int, str | None, float, float]]) -> list[dict]:
    """The round trips a run waited for, one after the other (FaultProxy.rounds): for each, its calls by action and
    how long it took, from its first request's arrival to its last answer (ms)."""
    path: list[dict] = []
    for number in sorted({found[0] for found in rounds}):
        members = [found for found in rounds if found[0] == number]
        start = min(arrived for _, _, arrived, _ in members)
        end = max(answered for _, _, _, answered in members)
        actions = Counter(str(action) for _, action, _, _ in members)
        path.append({"round": number, "ms": (end - start) * 1000, "calls": dict(sorted(actions.items()))})
    return path


def within(
    rounds: list[tuple[int, str | None, float, float]], start: float, end: float
) -> list[tuple[int, str | None, float, float]]:
    """The requests that arrived between ``start`` and ``end`` (time.monotonic), their rounds counted from 1."""
    chosen = [found for found in rounds if start <= found[2] <= end]
    first = min((found[0] for found in chosen), default=1)
    return [(number - first + 1, action, arrived, answered) for number, action, arrived, answered in chosen]


def path_lines(path: list[dict]) -> list[str]:
    """The critical path as lines: one per round, its duration and its calls."""
    lines = []
    for step in path:
        calls = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in step["calls"].items())
        lines.append(f"    round {step['round']:>2} {step['ms']:6.0f} ms  {calls}")
    return lines


def versions() -> dict[str, str]:
    """The Python, boto3, botocore and moto the figures were taken with."""
    import boto3
    import botocore
    import moto

    return {
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "moto": moto.__version__,
    }


def print_heading(name: str, doc: dict, machine: str = "") -> None:
    """The first line of a table (then a blank line): what was measured with what, how many rounds."""
    print(
        f"{name} benchmark: python {doc['python']}, boto3 {doc['boto3']}, moto {doc['moto']}{machine}; "
        f"{doc['latency_s'] * 1000:.0f} ms latency per request; "
        f"{doc['repeat']} repetition(s) + {doc['warmup']} warm-up round(s), interleaved"
    )
    print()


def emit(doc: dict, as_json: bool, print_table: Callable[[dict], None]) -> None:
    """The results on stdout: as JSON, or as the benchmark's table."""
    if as_json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(doc)

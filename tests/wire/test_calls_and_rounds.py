"""How many calls, and how many round trips one after the other, a warm check and a cold apply cost: an extra read or
an extra round (a call that waits for an earlier answer) fails here, before any benchmark shows it.

The proxy holds every request ``HOLD`` seconds, as a distant endpoint would, and numbers the rounds from what it
saw (FaultProxy.rounds: a request's round is one more than the highest of the requests answered before it arrived).
Nothing here is timed: the hold only keeps calls made together in one round."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from tests.support.command_line import run_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.wire import make_gateway

HOLD = 0.2  # seconds each request is held: far above the time the tool takes to send the calls of one round

# STS's actions (IAM has none of these names): counted apart from IAM's reads and writes.
STS_ACTIONS = frozenset({"GetCallerIdentity", "AssumeRole"})


def tally(proxy: FaultProxy) -> tuple[dict[str, int], list[Counter]]:
    """Reads (IAM Get*/List*), writes (other IAM calls) and STS calls; and the actions of each round, in order."""
    rounds: list[Counter] = []
    calls = {"reads": 0, "writes": 0, "sts": 0}
    for number, action, _, _ in proxy.rounds():
        while len(rounds) < number:
            rounds.append(Counter())
        rounds[number - 1][action] += 1
        kind = "sts" if action in STS_ACTIONS else "reads" if str(action).startswith(("Get", "List")) else "writes"
        calls[kind] += 1
    return calls, rounds


def shown(rounds: list[Counter]) -> str:
    return "\n".join(f"round {n}: {dict(actions)}" for n, actions in enumerate(rounds, 1))


def test_a_warm_check_makes_19_distinct_reads_in_2_rounds(proxy: FaultProxy) -> None:
    """12 reads for the identities by name (the Spot user's tags among them: the records of its keys and a
    rotation's mark), 7 more for the permission chain (the Spot user, its inline and group policies, each attached
    policy's GetPolicy; the list of its attached policies is the one its identity reads), each read once however
    many identities need it; then the 2 attached policies' default versions, whose ids only GetPolicy answers."""
    apply_changes(make_gateway(proxy.endpoint_url), desired_state(Settings()), key_sink=lambda key: None)
    proxy.clear()
    proxy.latency = HOLD
    code, out, _ = run_cli("check", "--endpoint-url", proxy.endpoint_url)
    assert code == 0, out
    calls, rounds = tally(proxy)
    assert calls == {"reads": 19, "writes": 0, "sts": 0}, shown(rounds)
    assert len(rounds) == 2, shown(rounds)
    assert set(rounds[1]) == {"GetPolicyVersion"}, shown(rounds)


def test_a_cold_apply_creates_everything_in_13_rounds(proxy: FaultProxy, tmp_path: Path) -> None:
    """On an empty account: observe (2 rounds); create, see it created, attach, record the attachments; list the
    keys, create the key, list them again (the race protocol); record the key, STS accepts it; observe again (2
    rounds)."""
    run_cli("check", "--endpoint-url", proxy.endpoint_url)  # moto builds its account on the first calls
    proxy.clear()
    proxy.latency = HOLD
    code, _, err = run_cli("apply", "--secret-out", str(tmp_path / "key.json"), "--endpoint-url", proxy.endpoint_url)
    assert code == 0, err
    calls, rounds = tally(proxy)
    assert calls == {"reads": 45, "writes": 16, "sts": 1}, shown(rounds)
    assert len(rounds) == 13, shown(rounds)

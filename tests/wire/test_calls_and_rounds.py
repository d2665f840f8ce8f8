"""How many calls, and how many round trips one after the other, a warm check and a cold apply cost: an extra read or
an extra round (a call that waits for an earlier answer) fails here, before any benchmark shows it.

The proxy holds every request ``HOLD`` seconds, as a distant endpoint would, and numbers the rounds from what it
saw (FaultProxy.rounds: a request's round is one more than the highest of the requests answered before it arrived).
Nothing here is timed: the hold only keeps calls made together in one round."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes
from tests.support.command_line import run_cli
from tests.support.fault_proxy import FaultProxy
from tests.support.wire import make_gateway

pytestmark = pytest.mark.waits  # every request waits out a set latency, to count rounds: run first (tests/conftest.py)

HOLD = 2.0  # seconds each request is held: far above the time the tool takes to send the calls of one round, even on a
# machine whose 2 cores run the three suites at once (at 0.5 s, a read sent from a thread the chain starts was seen
# arriving after the first answers there)

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
    with make_gateway(proxy.endpoint_url) as gateway:  # closed: none of its calls is left to be counted below
        apply_changes(gateway, desired_state(Settings()), key_sink=lambda key: None)
    proxy.clear()
    proxy.latency = HOLD
    code, out, _ = run_cli("check", "--endpoint-url", proxy.endpoint_url)
    assert code == 0, out
    calls, rounds = tally(proxy)
    assert calls == {"reads": 19, "writes": 0, "sts": 0}, shown(rounds)
    assert len(rounds) == 2, shown(rounds)
    assert set(rounds[1]) == {"GetPolicyVersion"}, shown(rounds)


def test_a_cold_apply_creates_everything_in_9_rounds(proxy: FaultProxy, tmp_path: Path) -> None:
    """On an empty account: observe (one round: the chain's policy documents, read alongside, are not waited for
    when the Spot user does not exist); create, see it created, attach; list the keys (beside the record of the
    attachments), create the key, list them again (the race protocol) while STS is asked whether it accepts the
    key; record the key; observe again (one round: the policy versions read before are not read again)."""
    run_cli("check", "--endpoint-url", proxy.endpoint_url)  # moto builds its account on the first calls
    proxy.clear()
    proxy.latency = HOLD
    code, _, err = run_cli("apply", "--secret-out", str(tmp_path / "key.json"), "--endpoint-url", proxy.endpoint_url)
    assert code == 0, err
    calls, rounds = tally(proxy)
    assert calls == {"reads": 43, "writes": 16, "sts": 1}, shown(rounds)
    assert len(rounds) == 9, shown(rounds)
    assert rounds[6] == Counter({"ListAccessKeys": 1, "GetCallerIdentity": 1}), shown(rounds)


def test_a_command_returns_only_once_every_call_it_made_is_answered(proxy: FaultProxy) -> None:
    """The permission chain asks for the AWS managed policies it expects beside the Spot user's lists, and does not
    wait for them when the user does not exist; the command still ends only once they are answered, so no call of
    a finished run is under way after it (in the process that ran it: RCS/Pulse's, or the next part of a script)."""
    proxy.gather("GetPolicy", parties=3, timeout=1.0)  # the 2 expected policies' reads held a second: no third comes
    code, out, _ = run_cli("check", "--endpoint-url", proxy.endpoint_url)
    returned = time.monotonic()
    assert code != 0 and "missing  spot-user" in out, out  # an empty account: the Spot user does not exist
    late = [action for _, action, _, answered in proxy.rounds() if answered > returned]
    assert proxy.counts()["GetPolicy"] == 2 and late == [], late


def test_a_policy_version_is_read_once_but_a_policy_made_again_is_read_again(proxy: FaultProxy, iam) -> None:
    """A version's document never changes (IAM API Reference, CreatePolicyVersion: "To update a managed policy, you
    create a new policy version"), so a gateway reads it once; a policy deleted and made again under its name starts
    at v1 again with a new PolicyId, and is read again."""

    def document(action: str) -> str:
        return json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
        )

    iam.create_policy(PolicyName="Reread", PolicyDocument=document("ec2:DescribeImages"))
    gateway = make_gateway(proxy.endpoint_url)
    first = gateway.customer_policy("Reread", "/")
    assert first is not None and first.document["Statement"][0]["Action"] == "ec2:DescribeImages"
    proxy.clear()
    assert gateway.customer_policy("Reread", "/") == first
    assert proxy.counts() == Counter({"GetPolicy": 1})
    arn = first.arn
    iam.delete_policy(PolicyArn=arn)
    iam.create_policy(PolicyName="Reread", PolicyDocument=document("ec2:DescribeSubnets"))
    again = gateway.customer_policy("Reread", "/")
    assert again is not None and again.default_version == "v1"
    assert again.document["Statement"][0]["Action"] == "ec2:DescribeSubnets"

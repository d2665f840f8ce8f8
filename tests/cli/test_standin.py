"""Tests of the local AWS stand-ins: moto's server (the product's, for the demo, and the suites' own,
tests/support/moto_server.py) and the tests' fault proxy."""

from __future__ import annotations

import http.client
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from DeadlineSpotIamSetup.standin import MotoStandIn
from tests.support import moto_server
from tests.support.fault_proxy import FaultProxy, refused_endpoint, reset_endpoint

REGION = "us-east-1"
ASSUME_EC2 = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def iam_client(endpoint_url: str, **config):
    # In a botocore ``retries`` dict, ``max_attempts`` counts retries (1 = one retry);
    # ``total_max_attempts`` counts attempts (1 = no retry).
    options = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    options.update(config)
    return boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(**options),
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def aws():
    with MotoStandIn() as standin:
        yield standin


@pytest.fixture
def proxy(aws):
    with FaultProxy(aws.endpoint_url) as fault_proxy:
        yield fault_proxy


def test_endpoint_url_is_local(aws):
    assert aws.endpoint_url.startswith("http://127.0.0.1:")
    assert aws.port > 0


def test_proxy_forwards_and_counts_actions(proxy):
    iam = iam_client(proxy.endpoint_url)
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=unique("missing"))
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert proxy.actions() == ["GetRole"]
    assert proxy.counts()["GetRole"] == 1
    assert proxy.injected() == 0

    proxy.clear()
    assert proxy.actions() == []


def test_proxy_forwards_request_bodies(aws, proxy):
    name = unique("forwarded")
    iam_client(proxy.endpoint_url).create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_EC2)
    role = iam_client(aws.endpoint_url).get_role(RoleName=name)["Role"]
    assert role["RoleName"] == name
    assert proxy.counts() == {"CreateRole": 1}


def test_injected_throttling_is_a_client_error(proxy):
    iam = iam_client(proxy.endpoint_url)
    proxy.inject(code="Throttling", message="Rate exceeded")
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=unique("throttled"))
    error = err.value.response
    assert error["Error"]["Code"] == "Throttling"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert proxy.injected() == 1

    # The fault was used up: the next request reaches the stand-in again.
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=unique("throttled"))
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert proxy.counts() == {"GetRole": 2}
    assert [r.outcome for r in proxy.requests()] == ["injected", "forwarded"]


def test_injected_throttling_is_retried_by_botocore(proxy):
    # With ``max_attempts: 1`` botocore makes one retry, and it treats the injected
    # error as a throttling error worth retrying.
    iam = iam_client(proxy.endpoint_url, retries={"mode": "standard", "max_attempts": 1})
    proxy.inject(code="Throttling")
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=unique("retried"))
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [r.outcome for r in proxy.requests()] == ["injected", "forwarded"]


def test_injection_can_target_one_action(proxy):
    iam = iam_client(proxy.endpoint_url)
    proxy.inject(status=403, code="AccessDenied", message="not allowed", action="CreateRole", times=2)
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=unique("other"))
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    for _ in range(2):
        with pytest.raises(ClientError) as err:
            iam.create_role(RoleName=unique("denied"), AssumeRolePolicyDocument=ASSUME_EC2)
        assert err.value.response["Error"]["Code"] == "AccessDenied"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    iam.create_role(RoleName=unique("allowed"), AssumeRolePolicyDocument=ASSUME_EC2)
    assert proxy.injected() == 2


def test_latency_applies_per_request_but_requests_overlap(aws):
    latency = 0.3
    with FaultProxy(aws.endpoint_url, latency=latency) as slow:
        iam = iam_client(slow.endpoint_url, max_pool_connections=16)
        started = time.perf_counter()
        iam.list_roles(MaxItems=1)
        assert time.perf_counter() - started >= latency

        def call(_):
            return iam.list_roles(MaxItems=1)["ResponseMetadata"]["HTTPStatusCode"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(call, range(8)))
        parallel = slow.rounds()[1:]
    assert statuses == [200] * 8
    assert slow.counts()["ListRoles"] == 9
    # Each request waited the latency, and the proxy did not make them wait in turn: served one after the other, each
    # would have arrived only once the one before it was answered, one round each (the proxy's own record, no clock).
    assert all(answered - arrived >= latency for _, _, arrived, answered in parallel)
    assert len({number for number, _, _, _ in parallel}) < len(parallel)


def test_a_request_is_answered_by_the_time_its_client_has_the_answer(aws, monkeypatch):
    """rounds() orders requests by when each was answered: a client that has its answer can send the next request at
    once, so a request is answered from the moment its answer starts out, even when the proxy's thread is slow to run
    again after sending it (held here for half a second)."""
    from tests.support import fault_proxy

    sent = fault_proxy._ProxyHandler._reply

    def slow_after_sending(handler, *args, **kwargs):
        sent(handler, *args, **kwargs)
        time.sleep(0.5)

    monkeypatch.setattr(fault_proxy._ProxyHandler, "_reply", slow_after_sending)
    with FaultProxy(aws.endpoint_url) as proxy:
        iam = iam_client(proxy.endpoint_url)
        iam.list_roles(MaxItems=1)
        had_it = time.monotonic()
        iam.list_users(MaxItems=1)
        (_, _, _, first), (round_of_second, _, arrived, _) = proxy.rounds()
    assert first <= had_it <= arrived and round_of_second == 2


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_hang_then_stop_returns_promptly(aws):
    fault_proxy = FaultProxy(aws.endpoint_url).start()
    fault_proxy.hang()
    iam = iam_client(fault_proxy.endpoint_url, read_timeout=30, connect_timeout=5)
    outcome = {}

    def call():
        try:
            iam.get_role(RoleName=unique("hung"))
        except (BotoCoreError, ClientError) as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    wait_for(lambda: fault_proxy.hung() == 1)

    started = time.perf_counter()
    fault_proxy.stop()
    assert time.perf_counter() - started < 2.0
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert isinstance(outcome.get("error"), BotoCoreError)
    assert fault_proxy.actions() == ["GetRole"]


def test_hang_times_and_unhang(proxy):
    host, port = "127.0.0.1", proxy.port

    def list_roles(timeout):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request(
                "POST",
                "/",
                body="Action=ListRoles&Version=2010-05-08",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/"
                    "us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
                },
            )
            return conn.getresponse().status
        finally:
            conn.close()

    proxy.hang(times=1)
    with pytest.raises(socket.timeout):
        list_roles(timeout=0.3)
    assert list_roles(timeout=5) == 200

    proxy.hang()
    proxy.unhang()
    assert list_roles(timeout=5) == 200
    assert proxy.hung() == 1
    assert proxy.actions() == ["ListRoles"] * 3


def test_unreachable_upstream_gives_bad_gateway():
    with FaultProxy(refused_endpoint()) as fault_proxy:
        with pytest.raises(ClientError) as err:
            iam_client(fault_proxy.endpoint_url).get_role(RoleName="any")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502


def test_refused_endpoint_refuses_connections():
    url = refused_endpoint()
    assert url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
        ("spotfleet.amazonaws.com", "AWSServiceRoleForEC2SpotFleet"),
    ],
)
def test_service_linked_role_names_match_aws(endpoint, service, expected):
    iam = iam_client(endpoint)  # an emptied account: earlier tests may have created these roles
    try:
        role = iam.create_service_linked_role(AWSServiceName=service)["Role"]
        assert role["RoleName"] == expected
        assert role["Path"] == f"/aws-service-role/{service}/"
    finally:
        try:
            iam.delete_role(RoleName=expected)
        except ClientError:
            pass


def test_managed_policies_are_loaded(aws):
    iam = iam_client(aws.endpoint_url)
    arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == "AmazonEC2SpotFleetTaggingRole"


def test_reset_clears_state(aws):
    iam = iam_client(aws.endpoint_url)
    name = unique("reset")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=ASSUME_EC2)
    reset_endpoint(aws.endpoint_url)
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName=name)
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"


def test_gather_holds_requests_until_the_group_is_complete(aws):
    with FaultProxy(aws.endpoint_url) as running:
        running.gather("GetUser", parties=2)
        iam = iam_client(running.endpoint_url)
        answers = []

        def ask():
            try:
                iam.get_user(UserName="nobody-" + unique("g"))
            except ClientError as error:
                answers.append(error.response["Error"]["Code"])

        first = threading.Thread(target=ask)
        first.start()
        first.join(0.5)
        assert first.is_alive() and answers == []  # held: the group is not complete
        ask()  # the second party releases both
        first.join(10)
        assert answers == ["NoSuchEntity", "NoSuchEntity"]
        ask()  # the group was used up: later requests pass freely
        assert len(answers) == 3


# -- the suites' server (tests/support/moto_server.py) -----------------------------------------------------------------

# moto tells the service and the account from the Authorization header's credential scope; it checks no signature.
IAM_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261203/us-east-1/iam/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
GET_NOBODY = b"Action=GetUser&UserName=nobody&Version=2010-05-08"


@pytest.fixture(scope="module")
def suites_server(tmp_path_factory):
    with moto_server.started(sys.executable, tmp_path_factory.mktemp("moto") / "server.log") as url:
        yield url


def ask(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    connection.request("POST", path, body, headers)
    answer = connection.getresponse()
    return answer.status, {name.lower(): value for name, value in answer.getheaders()}, answer.read()


def without_request_id(body: bytes) -> bytes:
    return re.sub(rb"<RequestId>[^<]*</RequestId>", b"", body)


def test_the_suites_server_keeps_connections_open_and_answers_as_moto_does(aws, suites_server):
    """The suites' server answers on connections kept open, as AWS's endpoints do (werkzeug's server, moto's own,
    closes each connection after one answer): several requests on one connection, one whose body moto never reads
    among them, each answered as moto's own server answers it."""
    url = urllib.parse.urlsplit(suites_server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        status, headers, body = ask(connection, "/", GET_NOBODY, IAM_HEADERS)
        first = connection.sock
        assert first is not None and headers.get("connection", "").lower() != "close"
        assert ask(connection, "/moto-api/reset", b"a body the reset never reads", {})[0] == 200
        again = ask(connection, "/", GET_NOBODY, IAM_HEADERS)
        assert connection.sock is first  # the same connection throughout
    finally:
        connection.close()

    own = urllib.parse.urlsplit(aws.endpoint_url)
    plain = http.client.HTTPConnection(own.hostname, own.port, timeout=30)
    try:
        moto_status, moto_headers, moto_body = ask(plain, "/", GET_NOBODY, IAM_HEADERS)
        assert moto_headers.get("connection") == "close"  # what the suites' server changes
    finally:
        plain.close()
    assert status == again[0] == moto_status == 404
    assert without_request_id(body) == without_request_id(again[2]) == without_request_id(moto_body)
    assert b"<Code>NoSuchEntity</Code>" in body
    assert headers["content-type"] == moto_headers["content-type"]
    assert int(headers["content-length"]) == len(body)


def test_the_suites_server_gives_each_reset_account_managed_policies_of_its_own(suites_server):
    """The suites' server prepares the AWS managed policies once and builds them for each account after each reset:
    what one test changed on a policy (its attachment count) is gone after the reset, as in moto's own."""
    iam = iam_client(suites_server)
    arn = "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole"
    before = iam.get_policy(PolicyArn=arn)["Policy"]
    iam.create_role(RoleName="fleet", AssumeRolePolicyDocument=ASSUME_EC2)
    iam.attach_role_policy(RoleName="fleet", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    reset_endpoint(suites_server)
    after = iam.get_policy(PolicyArn=arn)["Policy"]
    assert after["AttachmentCount"] == before["AttachmentCount"] == 0
    assert after == before
    assert [p["Arn"] for p in iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]] == []


def test_every_client_of_a_test_process_renames_events_as_botocore_does_from_one_cache():
    """tests/conftest.py shares botocore's cache of event-name aliases between clients: the names are those a new
    aliaser of botocore's own works out, and a second client finds them already worked out."""
    import botocore.hooks

    first, second = (boto3.client("iam", region_name=REGION) for _ in range(2))
    first_aliaser, second_aliaser = first.meta.events, second.meta.events
    assert isinstance(first_aliaser, botocore.hooks.EventAliaser)
    assert first_aliaser._alias_name_cache is second_aliaser._alias_name_cache
    names = [
        "before-call.iam.ListUsers",
        "before-parameter-build.iam.GetRole",
        "before-call.apigateway.GetExport",
        "provide-client-params.elasticloadbalancing.CreateLoadBalancer",
        "creating-client-class.s3",
    ]
    for name in names:
        worked_out = first_aliaser._alias_event_name(name)
        unshared = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter())
        unshared._alias_name_cache = {}
        assert worked_out == unshared._alias_event_name(name)
        assert second_aliaser._alias_name_cache[name] == worked_out
    assert first_aliaser._alias_event_name("before-call.apigateway.GetExport") == "before-call.api-gateway.GetExport"

"""Lost replies and endpoints that answer oddly: a create whose reply never came is never repeated blindly,
and every odd answer ends in one line that says what to do, within a bounded time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from odd_servers import LostReplyProxy, ScriptedEndpoint

from DeadlineSpotIamSetup.desired import Settings, desired_state
from DeadlineSpotIamSetup.engine import apply_changes, plan_changes
from DeadlineSpotIamSetup.errors import EndpointUnavailable, SetupError
from DeadlineSpotIamSetup.waits import Timeouts
from tests.support.command_line import run_cli_process
from tests.support.wire import FAST, make_gateway

pytestmark = pytest.mark.waits  # default timeouts and held replies: run first (tests/conftest.py)

DESIRED = desired_state(Settings())
USER = "DeadlineSpotEventPluginAdmin"


def test_access_key_whose_create_reply_is_lost_ends_with_exactly_one_delivered_key(endpoint, iam) -> None:
    delivered = []
    with LostReplyProxy(endpoint, "CreateAccessKey", hold=FAST.read + 1.5) as lossy:
        outcome = apply_changes(make_gateway(lossy.endpoint_url), DESIRED, key_sink=delivered.append)
        assert lossy.count("CreateAccessKey") == 2  # the lost one, then one whose reply came
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Active"]
    assert [key.access_key_id for key in delivered] == [keys[0]["AccessKeyId"]]
    assert outcome.ok and outcome.result.key is not None and not outcome.result.key_left_to_another_run
    assert any("reply with its secret was lost" in note for note in outcome.result.notes)


def test_command_line_apply_after_a_lost_key_reply_writes_the_one_key_that_exists(endpoint, iam, tmp_path) -> None:
    secret = tmp_path / "key.json"
    with LostReplyProxy(endpoint, "CreateAccessKey", hold=8.0) as lossy:  # past the command line's 6 s read timeout
        code, out, err, _ = run_cli_process("apply", "--secret-out", str(secret), "--endpoint-url", lossy.endpoint_url)
    assert code == 0, err
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert len(keys) == 1
    assert json.loads(secret.read_text())["AccessKeyId"] == keys[0]["AccessKeyId"]


def test_create_access_key_is_not_retried_after_a_server_error(proxy, iam) -> None:
    """A 500 may come after IAM acted: the run looks at the keys instead of sending the create again blindly."""
    proxy.inject(status=500, code="InternalFailure", action="CreateAccessKey", times=1)
    delivered = []
    outcome = apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=delivered.append)
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert outcome.ok and len(keys) == 1 and [k.access_key_id for k in delivered] == [keys[0]["AccessKeyId"]]
    # The injected 500 never reached moto; after it the run listed the keys before creating again.
    actions = proxy.actions()
    first = actions.index("CreateAccessKey")
    assert actions[first + 1 :].index("ListAccessKeys") < actions[first + 1 :].index("CreateAccessKey")


def test_trickling_reply_is_cut_at_the_call_deadline() -> None:
    timeouts = Timeouts(connect=1.0, read=2.0, call_budget=2.0, call_deadline=3.0, max_attempts=3)
    with ScriptedEndpoint(trickle=0.5) as slow:  # its reply would take 14 hours
        gateway = make_gateway(slow.endpoint_url, timeouts)
        started = time.monotonic()
        with pytest.raises(EndpointUnavailable, match=r"did not finish answering iam:\w+ within 3 s") as caught:
            plan_changes(gateway, DESIRED)
        elapsed = time.monotonic() - started
    assert "\n" not in str(caught.value)
    # The deadline and the time to tear the round of reads down (about 0.3 s on an idle machine, 2.7 s once on a
    # machine busy with every suite), short of a second deadline: no call is attempted again after the cut.
    assert elapsed < 2 * 3.0


def test_command_line_against_a_trickling_endpoint_ends_in_one_line_under_30_seconds() -> None:
    with ScriptedEndpoint(trickle=1.0) as slow:
        code, out, err, elapsed = run_cli_process("check", "--endpoint-url", slow.endpoint_url)
    assert code == 1 and out == ""
    assert err.startswith("error: the AWS endpoint") and err.count("\n") == 1, err
    assert elapsed < 30


@pytest.mark.parametrize(
    "body,content_type",
    [(b"", "text/xml"), (b"<html><body>Proxy login required</body></html>", "text/html")],
    ids=["empty-200", "html-200"],
)
def test_a_200_that_is_not_an_aws_answer_is_one_line(body: bytes, content_type: str) -> None:
    with ScriptedEndpoint(status=200, body=body, content_type=content_type) as odd:
        code, out, err, _ = run_cli_process("check", "--endpoint-url", odd.endpoint_url)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "unexpected" not in err and "Traceback" not in err, err
    assert "is not an AWS answer" in err and "--endpoint-url" in err


def test_an_endpoint_url_with_an_impossible_port_is_refused_in_one_line() -> None:
    code, out, err, _ = run_cli_process("check", "--endpoint-url", "http://127.0.0.1:99999")
    assert code == 1 and err.count("\n") == 1 and "unexpected" not in err, err
    assert "endpoint URL 'http://127.0.0.1:99999' is not valid" in err


def test_a_malformed_aws_config_file_is_one_line(tmp_path: Path, monkeypatch, endpoint) -> None:
    config = tmp_path / "config"
    config.write_text("[default\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "default")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err, _ = run_cli_process("check", "--endpoint-url", endpoint)
    assert code == 1 and err.count("\n") == 1 and "unexpected" not in err, err
    assert "cannot set up AWS access" in err or "config" in err.lower()


def test_an_endpoint_silent_on_the_visibility_wait_after_create_user_is_one_line(proxy) -> None:
    proxy.hang(action="GetUser")
    with pytest.raises(SetupError) as caught:
        apply_changes(make_gateway(proxy.endpoint_url), DESIRED, key_sink=lambda key: None)
    assert isinstance(caught.value, EndpointUnavailable)
    assert "did not answer (iam:GetUser)" in str(caught.value) and "\n" not in str(caught.value)

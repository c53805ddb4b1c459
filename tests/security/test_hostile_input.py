"""Hostile or unlucky input at Slack's edge: a clear 4xx or answer, one log line, nothing
changed, and never a 5xx, a traceback or seconds of CPU."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from adapters.slack import server
from bot.deps import THANKED_AT_ONCE
from tests.security.security_testing import SlackStack, json_logs, snapshot
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ALICE, payload, sign

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def nested(body: dict[str, Any], depth: int) -> str:
    """`body` as JSON with a field `depth` levels deep (json.dumps can't write it)."""
    deep = '{"k":[' * depth + '"x"' + "]}" * depth
    return json.dumps({**body, "extra": "DEEP"}).replace('"DEEP"', deep)


def interactive(body: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(body)})


def shapes() -> dict[str, tuple[str, str]]:
    """Signed payloads of shapes leanon does not handle, as (body, content type)."""
    empty_actions = payload("block_actions")
    empty_actions["actions"] = []
    view_text = payload("view_submission")
    view_text["view"] = "not an object"
    view_untyped = payload("view_submission")
    del view_untyped["view"]["type"]
    view_untyped["view"]["callback_id"] = "another_apps_form"
    legacy = {"type": "interactive_message", "callback_id": "x", "team": {"id": "T0001"},
              "user": {"id": ALICE}, "channel": {"id": "C1"}, "trigger_id": "t.1"}
    step = {"type": "workflow_step_edit", "callback_id": "x", "team": {"id": "T0001"},
            "user": {"id": ALICE}, "trigger_id": "t.2", "workflow_step": {}}
    unknown_command = {**payload("slash_command"), "command": "/payload"}
    press, home = payload("block_actions"), payload("event_app_home_opened")
    return {
        "empty actions": (interactive(empty_actions), FORM),
        "view not an object": (interactive(view_text), FORM),
        "another form without a type": (interactive(view_untyped), FORM),
        "legacy message without actions": (interactive(legacy), FORM),
        "workflow step": (interactive(step), FORM),
        "an unknown command": (urlencode(unknown_command), FORM),
        "nested 1,000 deep (form)": (urlencode({"payload": nested(press, 1_000)}), FORM),
        "nested 100 deep (form)": (urlencode({"payload": nested(press, 100)}), FORM),
        "nested 100,000 deep (JSON)": (nested(home, 100_000), JSON),
        "nested 200 deep (JSON)": (nested(home, 200), JSON),
    }


@pytest.mark.parametrize("shape", list(shapes()))
async def test_payloads_of_odd_shapes_get_a_4xx_and_one_line(slack: SlackStack,
                                                              fake: FakeSlack, shape: str) -> None:
    body, content_type = shapes()[shape]
    before = await snapshot(slack.runtime)
    with json_logs("INFO") as logs:
        reply = await slack.harness.send(body, content_type)
        await slack.harness.settle()
    assert 200 <= reply.status < 500, reply
    assert "Traceback" not in logs.getvalue() and '"level": "error"' not in logs.getvalue()
    assert await snapshot(slack.runtime) == before
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


async def test_payloads_nested_as_deep_as_slacks_own_still_work(slack: SlackStack,
                                                                fake: FakeSlack) -> None:
    home = nested(payload("event_app_home_opened"), 8)
    assert (await slack.harness.send(home, JSON)).status == 200


async def test_a_thanks_naming_thousands_is_refused_without_looking_anyone_up(
        slack: SlackStack, fake: FakeSlack) -> None:
    before = await snapshot(slack.runtime)
    named = " ".join(f"<@U{n:07d}>" for n in range(5_000))
    started = time.process_time()
    reply = await slack.harness.command("/thanks", f"{named} for the launch")
    assert time.process_time() - started < 2.0
    assert reply.status == 200
    assert any(f"up to {THANKED_AT_ONCE} teammates" in t for t in slack.harness.private(ALICE))
    assert [c.method for c in fake.calls if c.method == "users.info"] == []
    assert fake.posts() == []
    assert await snapshot(slack.runtime) == before


async def _post_in_parts(url: str, body: bytes, pause: float) -> tuple[int, bytes]:
    """POST `body` signed, its first half with the headers and the rest `pause` s later;
    the status and body of the answer."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    headers = {"Host": host, "Content-Type": JSON, "Content-Length": str(len(body)),
               "Connection": "close", **sign(body.decode())}
    head = "POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode() + b"\r\n" + body[:len(body) // 2])
        await writer.drain()
        await asyncio.sleep(pause)
        with contextlib.suppress(ConnectionError):
            writer.write(body[len(body) // 2:])
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def test_a_body_that_arrives_in_parts_is_read_whole(slack: SlackStack) -> None:
    """Most bodies arrive with their headers (no timer is set for them); one that comes in
    parts is waited for."""
    body = json.dumps(payload("event_app_home_opened")).encode()
    status, _ = await _post_in_parts(slack.harness.url, body, 0.1)
    assert status == 200


async def test_a_body_too_slow_to_arrive_is_answered_408(
        slack: SlackStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "BODY_READ_SECONDS", 0.2)
    body = json.dumps(payload("event_app_home_opened")).encode()
    before = await snapshot(slack.runtime)
    status, answer = await _post_in_parts(slack.harness.url, body, 1.0)
    assert status == 408 and b"too slow" in answer
    assert await snapshot(slack.runtime) == before

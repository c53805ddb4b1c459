"""Signed Slack requests sent to a running leanon's /slack/events, as Slack sends them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.messages import ActionId
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ALICE, BOB, CHANNEL, payload, sign


async def post(session: aiohttp.ClientSession, base: str, body: str, content_type: str,
               headers: dict[str, str] | None = None) -> int:
    sent = {"Content-Type": content_type, **sign(body), **(headers or {})}
    async with session.post(f"{base}/slack/events", data=body.encode(), headers=sent) as response:
        await response.read()
        return response.status


async def command(session: aiohttp.ClientSession, base: str, fake: FakeSlack, name: str,
                  text: str, user: str = ALICE, channel: str = CHANNEL) -> int:
    body = payload("slash_command")
    body.update(command=name, text=text, user_id=user, channel_id=channel,
                response_url=fake.response_url(f"cmd-{user}"),
                trigger_id=f"trig.{time.monotonic_ns()}")
    return await post(session, base, urlencode(body), "application/x-www-form-urlencoded")


async def interactive(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> int:
    form = urlencode({"payload": json.dumps(body)})
    return await post(session, base, form, "application/x-www-form-urlencoded")


async def press(session: aiohttp.ClientSession, base: str, fake: FakeSlack, action_id: str,
                value: str, user: str = BOB, message_ts: str = "1700000001.000001",
                channel: str = CHANNEL) -> int:
    body = payload("block_actions")
    body["user"]["id"] = user
    body["actions"][0].update(action_id=action_id, value=value)
    body["container"].update(message_ts=message_ts, channel_id=channel)
    body["channel"]["id"] = channel
    body["message"]["ts"] = message_ts
    body["response_url"] = fake.response_url(f"act-{user}")
    body["trigger_id"] = trigger = f"trig.{time.monotonic_ns()}"  # Slack's: one per press
    status = await interactive(session, base, body)
    if action_id == ActionId.RESOLVE and status == 200:
        await _send_resolve_form(session, base, fake, trigger, user)
    return status


async def _send_resolve_form(session: aiohttp.ClientSession, base: str, fake: FakeSlack,
                             trigger: str, user: str, within: float = 5.0) -> None:
    """The member sends the resolve form that the press opened (the press is worked from
    the inbox, so the form may open a moment after the answer), with nothing in it."""
    for _ in range(int(within / 0.02)):
        opened = [c.args["view"] for c in fake.find("views.open")
                  if c.args.get("trigger_id") == trigger]
        if opened:
            form = payload("view_submission")
            form["user"]["id"] = user
            form["view"].update(callback_id=opened[-1]["callback_id"], state={"values": {}},
                                private_metadata=opened[-1]["private_metadata"])
            assert await interactive(session, base, form) == 200
            return
        await asyncio.sleep(0.02)


async def event(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> int:
    return await post(session, base, json.dumps(body), "application/json")

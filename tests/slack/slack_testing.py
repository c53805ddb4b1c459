"""Helpers for the Slack tests: recorded payloads, Slack's signing, and the request harness."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter, build_app
from adapters.slack.auth import SingleWorkspace
from adapters.slack.server import bound_port, serve_http
from adapters.slack.views import RESOLVE_MODAL
from bot.app import Runtime
from bot.domain import Platform, WorkspaceRef
from tests.leanon_testing import MovableClock, database_down  # noqa: F401 - re-exported for the tests
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PAYLOADS = Path(__file__).parent / "payloads"
WS = WorkspaceRef(Platform.SLACK, TEAM)
ALICE, BOB, CAROL, ADMIN = "U2147483697", "U2147483698", "U2147483699", "UADMIN01"
CHANNEL = "C2147483705"


def payload(name: str) -> dict[str, Any]:
    """A recorded example payload (a fresh copy to change)."""
    return copy.deepcopy(json.loads((PAYLOADS / f"{name}.json").read_text()))


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


@dataclass
class Reply:
    status: int
    text: str
    elapsed: float


@dataclass
class Harness:
    """Sends Slack's requests to leanon's HTTP endpoint, the way Slack signs them."""

    url: str
    fake: FakeSlack
    adapter: SlackAdapter
    runtime: Runtime
    session: aiohttp.ClientSession

    async def send(self, body: str, content_type: str, headers: dict[str, str] | None = None,
                   signed: bool = True) -> Reply:
        sent = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        start = time.monotonic()
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            return Reply(response.status, await response.text(), time.monotonic() - start)

    async def command(self, command: str, text: str = "", user: str = ALICE,
                      settle: bool = True, **fields: str) -> Reply:
        body = payload("slash_command")
        body.update(command=command, text=text, user_id=user,
                    response_url=self.fake.response_url(f"cmd-{user}"),
                    trigger_id=f"trig.{time.monotonic_ns()}", **fields)
        reply = await self.send(urlencode(body), "application/x-www-form-urlencoded")
        if settle:
            await self.settle()
        return reply

    async def interactive(self, body: dict[str, Any], settle: bool = True) -> Reply:
        form = urlencode({"payload": json.dumps(body)})
        reply = await self.send(form, "application/x-www-form-urlencoded")
        if settle:
            await self.settle()
        return reply

    async def press(self, action_id: str, value: str, user: str = BOB,
                    message_ts: str = "1700000001.000001", channel: str = CHANNEL,
                    solved: str | None = "", send_form: bool = True) -> Reply:
        """Press a button. When it opens the resolve form, the member sends it with
        `solved` as what solved it (unless `send_form` is False: they closed it)."""
        body = payload("block_actions")
        body["user"]["id"] = user
        body["actions"][0].update(action_id=action_id, value=value)
        body["container"].update(message_ts=message_ts, channel_id=channel)
        body["channel"]["id"] = channel
        body["message"]["ts"] = message_ts
        body["response_url"] = self.fake.response_url(f"act-{user}")
        body["trigger_id"] = trigger = f"trig.{time.monotonic_ns()}"  # Slack's: one per press
        reply = await self.interactive(body)
        opened = [c.args["view"] for c in self.fake.find("views.open")
                  if c.args.get("trigger_id") == trigger]
        if send_form and opened and opened[-1].get("callback_id") == RESOLVE_MODAL:
            return await self.send_resolve_form(opened[-1], user, solved)
        return reply

    async def send_resolve_form(self, view: dict[str, Any], user: str,
                                solved: str | None) -> Reply:
        form = payload("view_submission")
        form["user"]["id"] = user
        form["view"].update(callback_id=RESOLVE_MODAL, private_metadata=view["private_metadata"],
                            state={"values": {"solved": {"value": {
                                "type": "plain_text_input", "value": solved}}}})
        return await self.interactive(form)

    async def event(self, body: dict[str, Any], retry: int | None = None) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} \
            if retry else {}
        reply = await self.send(json.dumps(body), "application/json", headers)
        await self.settle()
        return reply

    async def settle(self) -> None:
        """Wait for the work leanon does after acking."""
        await self.adapter.settle()

    def private(self, user: str = ALICE) -> list[str]:
        """What only `user` was shown: response_url answers, ephemerals and DMs, as text."""
        out = []
        for call in self.fake.calls:
            if (call.method == "response_url" and call.target.endswith(f"-{user}")) or (
                    call.method == "chat.postEphemeral" and call.args.get("user") == user) or (
                    call.method == "chat.postMessage" and call.args.get("channel") == dm(user)):
                out.append(call.text())
        return out


def dm(user: str) -> str:
    """The DM channel the fake opens for `user`."""
    return "D" + user[1:]


@asynccontextmanager
async def serving(fake: FakeSlack, runtime: Runtime) -> AsyncIterator[Harness]:
    """leanon in Slack HTTP mode (one bot token), served by the production aiohttp app."""
    auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
    adapter = build_app(runtime.service, auth, inbox=runtime.inbox, signing_secret=SECRET,
                        api_url=fake.api_url)
    runtime.router.register(Platform.SLACK, adapter.chat, adapter.directory)
    runner = await serve_http(adapter, SECRET, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{bound_port(runner)}/slack/events"
    async with aiohttp.ClientSession() as session:
        yield Harness(url, fake, adapter, runtime, session)
    await runner.cleanup()
    await adapter.settle()


def count_dispatches(adapter: SlackAdapter, monkeypatch: Any) -> list[object]:
    """The requests bolt's app dispatches from now on (the front door answers the rest)."""
    dispatched: list[object] = []
    original = adapter.app.async_dispatch

    async def counted(request: Any) -> Any:
        dispatched.append(request)
        return await original(request)

    monkeypatch.setattr(adapter.app, "async_dispatch", counted)
    return dispatched

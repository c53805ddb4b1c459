"""Socket Mode: the same app over a local WebSocket speaking Slack's envelope format."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from adapters.slack.app import SlackAdapter, build_app
from adapters.slack.auth import SingleWorkspace
from adapters.slack.server import (
    SOCKET_MODE_SLOTS,
    FrontDoorSocketModeHandler,
    close_socket_mode,
    connect_socket_mode,
)
from bot.app import Runtime
from bot.domain import Platform
from storage.models import InboxItemRow
from tests.leanon_testing import AtOnce
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, FakeSocketMode
from tests.slack.slack_testing import ALICE, BOB, CHANNEL, WS, count_dispatches, database_down, payload


@dataclass
class SocketHarness:
    server: FakeSocketMode
    adapter: SlackAdapter
    runtime: Runtime
    handler: FrontDoorSocketModeHandler
    _next: int = 0

    async def deliver(self, kind: str, body: dict[str, Any], retry: int | None = None) -> str:
        self._next += 1
        envelope_id = f"env-{self._next}"
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": body,
                                    "accepts_response_payload": kind != "events_api"}
        if kind == "events_api":
            envelope.update(retry_attempt=retry or 0, retry_reason="timeout" if retry else "")
        await self.server.send(envelope)
        return envelope_id


@contextlib.asynccontextmanager
async def connected(fake: FakeSlack, runtime: Runtime,
                    slots: int = SOCKET_MODE_SLOTS) -> AsyncIterator[SocketHarness]:
    server = await FakeSocketMode(hello=payload("socket_hello")).start()
    fake.ws_url = server.url
    adapter = build_app(runtime.service, SingleWorkspace(BOT_TOKEN, fake.api_url),
                        inbox=runtime.inbox, api_url=fake.api_url)
    runtime.router.register(Platform.SLACK, adapter.chat, adapter.directory)
    handler = await connect_socket_mode(adapter, APP_TOKEN, fake.api_url, slots=slots)
    await server.connected()
    yield SocketHarness(server, adapter, runtime, handler)
    await close_socket_mode(handler)
    await adapter.settle()
    await server.stop()


@pytest.fixture
async def socket(fake: FakeSlack, runtime: Runtime) -> AsyncIterator[SocketHarness]:
    async with connected(fake, runtime) as harness:
        yield harness


async def test_socket_mode_runs_commands_buttons_and_reactions(
        socket: SocketHarness, fake: FakeSlack) -> None:
    [opened] = fake.find("apps.connections.open")
    assert opened.token == APP_TOKEN

    command = payload("slash_command")
    command.update(response_url=fake.response_url(f"cmd-{ALICE}"), trigger_id="sm.1")
    ack = await socket.server.wait_ack(await socket.deliver("slash_commands", command))
    assert "payload" not in ack  # an empty ack: the answer comes through response_url
    [card] = await fake.wait_for("chat.postMessage")
    assert card.args["channel"] == CHANNEL
    await socket.adapter.settle()
    async with socket.runtime.store.unit_of_work() as uow:
        [ask] = await uow.asks.list_open(WS)
    assert ask.message is not None and ask.message.message_id == card.result["ts"]

    press = payload("block_actions")
    press["actions"][0]["value"] = str(ask.id)
    press["container"]["message_ts"] = card.result["ts"]
    press["response_url"] = fake.response_url(f"act-{BOB}")
    await socket.server.wait_ack(await socket.deliver("interactive", press))
    [update] = await fake.wait_for("chat.update")
    assert "1 person offered to help" in update.text()

    reaction = payload("event_reaction_added")
    reaction["event"]["item"]["ts"] = card.result["ts"]
    reaction["event"]["item_user"] = BOB
    await socket.server.wait_ack(await socket.deliver("events_api", reaction))
    async with socket.runtime.store.unit_of_work() as uow:
        [thanks] = await uow.thanks.export(WS)
    assert (thanks.giver_id, thanks.receiver_id, thanks.ask_id) == (ALICE, BOB, ask.id)


async def test_a_reaction_is_not_acked_while_the_database_is_down(
        socket: SocketHarness, fake: FakeSlack) -> None:
    reaction = payload("event_reaction_added")
    with database_down(socket.runtime):
        unacked = await socket.deliver("events_api", reaction)
        await asyncio.sleep(1.0)
    assert unacked not in socket.server.acks  # Slack redelivers an unacknowledged event
    await socket.server.wait_ack(await socket.deliver("events_api", reaction, retry=1))
    async with socket.runtime.store.unit_of_work() as uow:
        [thanks] = await uow.thanks.export(WS)
    assert thanks.receiver_id == BOB



async def test_a_command_is_stored_before_its_ack_and_refused_when_it_cannot_be(
        socket: SocketHarness, fake: FakeSlack) -> None:
    command = payload("slash_command")
    command.update(response_url=fake.response_url(f"cmd-{ALICE}"), trigger_id="sm.2")
    await socket.server.wait_ack(await socket.deliver("slash_commands", command))
    async with socket.runtime.store.engine.connect() as connection:
        keys = (await connection.scalars(select(InboxItemRow.delivery_key)
                                         .where(InboxItemRow.source == "slack"))).all()
    assert keys == [f"slack:{WS.workspace_id}:ask:sm.2"]  # stored by the time of the ack
    await fake.wait_for("chat.postMessage")
    await socket.adapter.settle()

    command.update(trigger_id="sm.3", text="and the second one?")
    with database_down(socket.runtime):
        ack = await socket.server.wait_ack(await socket.deliver("slash_commands", command))
    assert "can't reach its database" in str(ack.get("payload"))
    await socket.adapter.settle()
    assert len(fake.posts(CHANNEL)) == 1


async def test_commands_and_reactions_skip_bolts_dispatch(
        socket: SocketHarness, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    dispatched = count_dispatches(socket.adapter, monkeypatch)
    command = payload("slash_command")
    command.update(response_url=fake.response_url(f"cmd-{ALICE}"), trigger_id="sm.2")
    await socket.server.wait_ack(await socket.deliver("slash_commands", command))
    await socket.server.wait_ack(await socket.deliver("events_api",
                                                      payload("event_reaction_added")))
    await socket.adapter.settle()
    async with socket.runtime.store.unit_of_work() as uow:
        assert len(await uow.asks.list_open(WS)) == 1
        assert len(await uow.thanks.export(WS)) == 1
    assert dispatched == []
    await socket.server.wait_ack(await socket.deliver("events_api",
                                                      payload("event_app_home_opened")))
    assert len(dispatched) == 1  # what leanon does not answer itself goes to bolt


async def test_a_burst_is_handled_a_few_envelopes_at_a_time_and_every_one_is_acked(
        fake: FakeSlack, runtime: Runtime) -> None:
    # Slack does not wait for acks: thousands may arrive at once. slack_sdk would start a
    # handler for each; leanon handles a bounded number, the rest wait in arrival order.
    async with connected(fake, runtime, slots=3) as socket:
        front_door = socket.handler.front_door
        answers = AtOnce(front_door.answer)
        front_door.answer = answers  # type: ignore[method-assign]
        sent = []
        for n in range(30):
            reaction = payload("event_reaction_added")
            reaction["event"]["user"] = f"U{n:04d}"
            reaction["event"]["item"]["ts"] = f"1700000000.{n:06d}"
            reaction["event_id"] = f"Ev{n:04d}"
            sent.append(await socket.deliver("events_api", reaction))
        for envelope_id in sent:
            await socket.server.wait_ack(envelope_id)
        async with runtime.store.unit_of_work() as uow:
            assert len(await uow.thanks.export(WS)) == 30
    assert answers.most == 3

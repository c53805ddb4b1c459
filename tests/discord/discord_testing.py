"""Members, interaction and reaction payloads, and the running leanon the tests talk to."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import discord

from adapters.discord import DiscordSettings, run_discord
from adapters.discord.components import RESOLVE_FORM
from bot.app import Runtime, bootstrap
from bot.config import Config
from bot.domain import Platform, Thanks, WorkspaceRef
from tests.discord.fake_discord import APP_ID, CHANNEL, GUILD, TOKEN, Answer, FakeDiscord, Json
from tests.leanon_testing import MovableClock, database_down  # noqa: F401 - re-exported for the tests

ALICE, BOB, CAROL, OTHER_BOT = ("700000000000000001", "700000000000000002",
                                "700000000000000003", "700000000000000009")
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", OTHER_BOT: "buildbot"}
WS = WorkspaceRef(Platform.DISCORD, GUILD)
MEMBER_PERMISSIONS = 311455501376  # as in the payloads: no Manage Server
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | discord.Permissions(manage_guild=True).value


def user(user_id: str) -> Json:
    name = NAMES.get(user_id, "member")
    return {"id": user_id, "username": name, "global_name": name.title(), "discriminator": "0",
            "avatar": None, "public_flags": 0, "bot": user_id == OTHER_BOT}


def member(user_id: str, admin: bool = False) -> Json:
    data: Json = copy.deepcopy(FakeDiscord.payload("interaction_command")["member"])
    data["user"] = user(user_id)
    data["permissions"] = str(ADMIN_PERMISSIONS if admin else MEMBER_PERMISSIONS)
    return data


def _interaction(template: str, who: str, admin: bool, guild: str, channel: str) -> Json:
    payload = FakeDiscord.payload(template)
    payload["member"] = member(who, admin)
    payload["guild_id"] = payload["guild"]["id"] = guild
    payload["channel_id"] = payload["channel"]["id"] = channel
    payload["channel"]["guild_id"] = guild
    payload["authorizing_integration_owners"] = {"0": guild}
    return payload


def slash(name: str, *options: Json, who: str = ALICE, admin: bool = False, guild: str = GUILD,
          channel: str = CHANNEL, resolved: Json | None = None) -> Json:
    """A chat-input command; a subcommand is an option of type 1 (group: type 2)."""
    payload = _interaction("interaction_command", who, admin, guild, channel)
    payload["data"].update(name=name, options=list(options), guild_id=guild)
    if resolved:
        payload["data"]["resolved"] = resolved
    return payload


def option(name: str, value: Any, kind: int = 3) -> Json:
    return {"name": name, "type": kind, "value": value}


def sub(name: str, *options: Json, group: bool = False) -> Json:
    return {"name": name, "type": 2 if group else 1, "options": list(options)}


def press(message: Json, label: str, who: str = BOB, admin: bool = False,
          guild: str = GUILD) -> Json:
    """A member pressing the button labelled `label` on a message the fake holds."""
    buttons = [c for row in message["components"] for c in row["components"]]
    [button] = [b for b in buttons if b.get("label") == label]
    payload = _interaction("interaction_component", who, admin, guild, message["channel_id"])
    if message.get("guild_id") is None and message["channel_id"] != CHANNEL:
        # A direct message from leanon: no server, the user instead of a member.
        for key in ("guild_id", "guild", "guild_locale", "member"):
            payload.pop(key)
        payload.update(user=user(who), context=1,
                       channel={"id": message["channel_id"], "type": 1, "flags": 0,
                                "last_message_id": None, "recipients": [user(who)]})
    payload["message"] = message
    payload["data"] = {"custom_id": button["custom_id"], "component_type": 2}
    return payload


def submit_form(custom_id: str, values: dict[str, str], who: str = ALICE) -> Json:
    payload = _interaction("interaction_modal_submit", who, False, GUILD, CHANNEL)
    payload["data"] = {"custom_id": custom_id, "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
        for key, value in values.items()]}
    return payload


def thank_author(message: Json, who: str = ALICE) -> Json:
    payload = _interaction("interaction_message_command", who, False, GUILD, CHANNEL)
    payload["data"]["target_id"] = message["id"]
    payload["data"]["resolved"] = {"messages": {message["id"]: message}}
    return payload


def reaction(kind: str = "add", who: str = ALICE, message_id: str = "1200000000000000001",
             author: str | None = BOB, emoji: Json | None = None, channel: str = CHANNEL,
             reactor_is_bot: bool = False) -> Json:
    payload = FakeDiscord.payload(f"reaction_{kind}")
    payload.update(user_id=who, message_id=message_id, channel_id=channel,
                   emoji=emoji or {"id": None, "name": "🙏"})
    if kind == "add":
        payload["member"]["user"] = user(who) | {"bot": reactor_is_bot or who == OTHER_BOT}
        if author is None:
            payload.pop("message_author_id")
        else:
            payload["message_author_id"] = author
    return payload








def settings_for(fake: FakeDiscord, **changes: Any) -> DiscordSettings:
    return replace(DiscordSettings(token=TOKEN, api_url=fake.api_url, gateway_url=fake.gateway_url,
                                   identify_delay=0, guild_ready_timeout=0.05,
                                   retry_first_delay=0.05, retry_max_delay=0.2), **changes)


@dataclass
class Harness:
    """leanon's Discord adapter, run by `run_discord` against the fake, on a real SQLite db."""

    fake: FakeDiscord
    runtime: Runtime
    settings: DiscordSettings
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def start(self, shards: int = 1) -> None:
        self.stop = asyncio.Event()
        before = len(self.fake.gateway.closed)
        self.task = asyncio.create_task(run_discord(self.runtime.service, self.runtime.router,
                                                    self.settings, self.stop,
                                                    inbox=self.runtime.inbox))
        await self.fake.gateway.wait_ready(shards)
        assert len(self.fake.gateway.closed) == before

    async def shut(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)

    async def run(self, payload: Json, solved: str = "", send_form: bool = True) -> list[Answer]:
        """Send an interaction and wait until it is answered. When the answer is the
        resolve form, the member sends it with `solved` (unless `send_form` is False)."""
        answers = await self.fake.answer(await self.fake.interact(payload))
        if send_form and len(answers) == 1 and answers[0].type == 9 and str(
                answers[0].data.get("custom_id", "")).startswith(RESOLVE_FORM):
            who = (payload.get("member") or {}).get("user") or payload.get("user") or {}
            sent = submit_form(answers[0].data["custom_id"], {"solved": solved},
                               who=str(who.get("id", ALICE)))
            if "member" in payload:
                sent["member"] = payload["member"]  # the same member, permissions and all
            return await self.run(sent)
        return answers

    async def react(self, payload: Json, kind: str = "add") -> None:
        event = "MESSAGE_REACTION_ADD" if kind == "add" else "MESSAGE_REACTION_REMOVE"
        await self.fake.gateway.dispatch(payload["guild_id"], event, payload)

    async def thanks(self) -> list[Thanks]:
        async with self.runtime.store.unit_of_work() as uow:
            return await uow.thanks.export(WS)

    async def eventually(self, check: Any, within: float = 5.0) -> Any:
        """Poll an async check (every 10 ms) until it returns something truthy."""
        for _ in range(int(within / 0.01)):
            if value := await check():
                return value
            await asyncio.sleep(0.01)
        raise AssertionError(f"not true within {within} s: {check.__name__}")


@contextlib.asynccontextmanager
async def started(fake: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    """`fake` listening on 127.0.0.1, with alice, bob, carol and another bot as members."""
    await fake.start()
    for user_id in (ALICE, BOB, CAROL, OTHER_BOT):
        fake.users[user_id] = user(user_id)
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def running(tmp_path: Path, fake: FakeDiscord, shards: int = 1,
                  **changes: Any) -> AsyncIterator[Harness]:
    config = Config(database_url=f"sqlite:///{tmp_path}/leanon.db")
    async with bootstrap(config, clock=MovableClock()) as runtime:
        harness = Harness(fake, runtime, settings_for(fake, **changes))
        await harness.start(shards)
        try:
            yield harness
        finally:
            await harness.shut()


def card_of(fake: FakeDiscord) -> Json:
    """The latest ask card leanon posted in the channel."""
    cards = [m for m in fake.channel_messages(CHANNEL)
             if m["author"]["id"] == APP_ID and m["embeds"] and m["components"]]
    return cards[-1]

"""Admin-only commands are refused for members on Slack, Discord and the console, with a
clear private answer and nothing changed in the database; the same command by an admin
does what it says (so each refusal means something).

Admin-only: `config set`, `nudge now`, `export`, resolving someone else's ask. Thank
buttons belong to the asker alone (admins included). `forget-me` acts on the member who
asks, so pressing someone else's forget-me button forgets only the presser. (`nudge here`
and `nudge off` are open to every member by design: docs/weekly-posts.md.)
"""

from __future__ import annotations

import copy
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.console.chat import ConsoleChat, ConsoleClock
from adapters.console.run import ScriptSource
from adapters.console.workspace import ConsoleWorkspace
from bot.app import bootstrap
from bot.config import Config
from bot.domain import AskStatus, Platform, WorkspaceRef
from bot.messages import ActionId
from tests.discord.discord_testing import BOB as D_BOB
from tests.discord.discord_testing import CAROL as D_CAROL
from tests.discord.discord_testing import WS as D_WS
from tests.discord.discord_testing import Harness as DiscordHarness
from tests.discord.discord_testing import card_of, option, press, slash, sub
from tests.discord.discord_testing import member as discord_member
from tests.discord.fake_discord import APP_ID, CHANNEL, GUILD, Answer
from tests.security.security_testing import RecordingDiscord, SlackStack, discord_alone, snapshot
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, WS, dm

QUESTION = "how do I rotate the staging keys without downtime?"
ADMINS_ONLY = "Only workspace admins"


@dataclass(frozen=True)
class AdminCommand:
    """`/leanon <text>`, what a member is told, and what it visibly did for an admin."""

    text: str
    refusal: str


COMMANDS = [
    AdminCommand("config set anonymous-asks off", ADMINS_ONLY + " can change settings"),
    AdminCommand("config set leaderboard on", ADMINS_ONLY + " can change settings"),
    AdminCommand("config set daily-allowance 1", ADMINS_ONLY + " can change settings"),
    AdminCommand("nudge now", "Only workspace admins can send the weekly post now"),
    AdminCommand("export json", ADMINS_ONLY + " can export the workspace's data"),
    AdminCommand("export csv", ADMINS_ONLY + " can export the workspace's data"),
]
IDS = [c.text for c in COMMANDS]


# -- Slack ----------------------------------------------------------------------------------


async def slack_did(stack: SlackStack, fake: FakeSlack, text: str) -> bool:
    """Whether `text` by an admin took effect (a setting, a post, an upload)."""
    async with stack.runtime.store.unit_of_work() as uow:
        settings = await uow.workspaces.settings(WS)
    return {
        "config set anonymous-asks off": not settings.anonymous_asks,
        "config set leaderboard on": settings.leaderboard,
        "config set daily-allowance 1": settings.daily_allowance == 1,
        "nudge now": any("It's okay to ask" in c.text() for c in fake.posts()),
        "export json": len(fake.find("file.upload")) == 1,
        "export csv": len(fake.find("file.upload")) == 3,
    }[text]


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
async def test_slack_members_are_refused_and_admins_obeyed(
        slack: SlackStack, fake: FakeSlack, command: AdminCommand) -> None:
    harness = slack.harness
    await harness.command("/ask", QUESTION, user=ALICE)
    before = await snapshot(slack.runtime)
    fake.calls.clear()
    await harness.command("/leanon", command.text, user=ALICE)
    [refusal] = harness.private(ALICE)
    assert command.refusal in refusal
    assert await snapshot(slack.runtime) == before
    assert fake.posts() == [] and fake.find("file.upload") == []
    assert not await slack_did(slack, fake, command.text)

    await harness.command("/leanon", command.text, user=ADMIN)
    assert await slack_did(slack, fake, command.text)
    assert not any(ADMINS_ONLY in t for t in harness.private(ADMIN))


async def test_slack_resolving_someone_elses_ask_takes_an_admin(
        slack: SlackStack, fake: FakeSlack) -> None:
    harness = slack.harness
    await harness.command("/ask", QUESTION, user=ALICE)
    await harness.press(ActionId.OFFER_HELP, "1", user=BOB)
    before = await snapshot(slack.runtime)
    updates = len(fake.find("chat.update"))
    for member in (BOB, CAROL):
        await harness.press(ActionId.RESOLVE, "1", user=member)
        assert any("Only the person who asked (or a workspace admin)" in t
                   for t in harness.private(member))
    await harness.press(ActionId.THANK_HELPER, f"1:{BOB}", user=CAROL)
    await harness.press(ActionId.THANK_HELPER, f"1:{BOB}", user=ADMIN)
    for member in (CAROL, ADMIN):
        assert any("Only the person who asked can use these thank buttons" in t
                   for t in harness.private(member))
    assert await snapshot(slack.runtime) == before
    assert len(fake.find("chat.update")) == updates

    await harness.press(ActionId.RESOLVE, "1", user=ADMIN)
    async with slack.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.get(WS, 1)
    assert ask is not None and ask.status is AskStatus.RESOLVED
    assert any("Thank" in c.text() for c in fake.posts(dm(ALICE)))  # the asker's buttons


async def test_slack_an_admin_slack_cannot_vouch_for_is_refused(
        slack: SlackStack, fake: FakeSlack) -> None:
    """Admin means Slack said so (users.info): when Slack can't say, nobody is an admin."""
    await slack.harness.command("/ask", QUESTION, user=ALICE)
    fake.failures["users.info"] = "ratelimited"
    before = await snapshot(slack.runtime)
    await slack.harness.command("/leanon", "config set anonymous-asks off", user=ADMIN)
    await slack.harness.press(ActionId.RESOLVE, "1", user=ADMIN)
    answers = slack.harness.private(ADMIN)
    assert any(ADMINS_ONLY in t for t in answers)
    assert any("Only the person who asked (or a workspace admin)" in t for t in answers)
    assert await snapshot(slack.runtime) == before


async def test_slack_someone_elses_forget_me_button_forgets_only_the_presser(
        slack: SlackStack, fake: FakeSlack) -> None:
    harness = slack.harness
    await harness.command("/ask", QUESTION, user=ALICE)
    await harness.command("/thanks", f"<@{BOB}|bob> for the review", user=ALICE)
    await harness.command("/leanon", "forget-me", user=ALICE)  # Alice is offered the choice
    await harness.press(ActionId.FORGET_DELETE_ASKS, "delete", user=CAROL)
    async with slack.runtime.store.unit_of_work() as uow:
        asks = await uow.asks.by_asker(WS, ALICE)
        given = await uow.thanks.export(WS)
    assert len(asks) == 1 and [t.giver_id for t in given] == [ALICE]
    assert any("0 thanks were deleted and your 0 asks" in t for t in harness.private(CAROL))


# -- Discord --------------------------------------------------------------------------------


def config_set(setting: str, value: str, **who: object) -> dict[str, Any]:
    return slash("leanon", sub("config", sub("set", option("setting", setting),
                                             option("value", value)), group=True), **who)


def discord_command(text: str, **who: object) -> dict[str, Any]:
    """The Discord app command for one of COMMANDS."""
    words = text.split()
    if words[0] == "config":
        return config_set(words[2], words[3], **who)
    if words[0] == "nudge":
        return slash("leanon", sub("nudge", option("action", "now")), **who)
    return slash("leanon", sub("export", option("format", words[1])), **who)


async def discord_did(leanon: DiscordHarness, fake: RecordingDiscord, text: str) -> bool:
    async with leanon.runtime.store.unit_of_work() as uow:
        settings = await uow.workspaces.settings(D_WS)
    return {
        "config set anonymous-asks off": not settings.anonymous_asks,
        "config set leaderboard on": settings.leaderboard,
        "config set daily-allowance 1": settings.daily_allowance == 1,
        "nudge now": any("It's okay to ask" in str(m["embeds"])
                         for m in fake.channel_messages(CHANNEL)),
        "export json": len(fake.uploads) == 1,
        "export csv": len(fake.uploads) == 3,
    }[text]


def administrator(payload: dict[str, Any]) -> dict[str, Any]:
    """The interaction by a member with the Administrator permission (not Manage Server)."""
    payload["member"]["permissions"] = str(int(payload["member"]["permissions"])
                                           | discord.Permissions(administrator=True).value)
    return payload


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
async def test_discord_members_are_refused_and_admins_obeyed(
        tmp_path: Path, discord_fake: RecordingDiscord, command: AdminCommand) -> None:
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        await leanon.run(slash("ask", option("question", QUESTION)))
        before = await snapshot(leanon.runtime)
        posts = len(fake.channel_messages(CHANNEL))
        [refusal] = await leanon.run(discord_command(command.text, who=D_BOB))
        assert refusal.ephemeral and command.refusal in refusal.text
        assert await snapshot(leanon.runtime) == before
        assert len(fake.channel_messages(CHANNEL)) == posts and fake.uploads == []
        assert not await discord_did(leanon, fake, command.text)

        admin = discord_command(command.text, who=D_CAROL)
        [done] = await leanon.run(administrator(admin))
        assert ADMINS_ONLY not in done.text
        assert await discord_did(leanon, fake, command.text)


async def test_discord_resolving_someone_elses_ask_takes_manage_server(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        await leanon.run(slash("ask", option("question", QUESTION)))
        card = card_of(fake)
        await leanon.run(press(card, "I can help", who=D_BOB))
        before = await snapshot(leanon.runtime)
        [refused] = await leanon.run(press(card, "Resolved", who=D_CAROL))
        assert "Only the person who asked (or a workspace admin)" in refused.text
        # A Resolved button pressed in a direct message: leanon sends none there, and no
        # server's permissions come with it.
        in_dm = await dm_press(leanon, fake, f"leanon_resolve:1@{GUILD}", who=D_CAROL)
        assert "This button no longer works" in in_dm.text
        assert await snapshot(leanon.runtime) == before

        [resolved] = await leanon.run(press(card, "Resolved", who=D_CAROL, admin=True))
        assert "The person who asked can now thank the helpers" in resolved.text
        async with leanon.runtime.store.unit_of_work() as uow:
            ask = await uow.asks.get(D_WS, 1)
        assert ask is not None and ask.status is AskStatus.RESOLVED
        before = await snapshot(leanon.runtime)
        for who, helper, admin in ((D_BOB, D_CAROL, False), (D_CAROL, D_BOB, True)):
            [refused] = await leanon.run(press_custom(
                card, f"leanon_thank_helper:1:{helper}@{GUILD}", who=who, admin=admin))
            assert "Only the person who asked can use these thank buttons" in refused.text
        assert await snapshot(leanon.runtime) == before


def press_custom(message: dict[str, Any], custom_id: str, who: str, admin: bool = False) -> dict[str, Any]:
    """A press of a button with `custom_id`, as if `message` carried it."""
    message = copy.deepcopy(message)
    message["components"] = [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Pressed", "custom_id": custom_id}]}]
    return press(message, "Pressed", who=who, admin=admin)


async def dm_press(leanon: DiscordHarness, fake: RecordingDiscord, custom_id: str,
                   who: str) -> Answer:
    """`who` presses a button with `custom_id` on a direct message from leanon."""
    channel = str(int(who) + 5_000_000_000_000_000)
    fake.channels.setdefault(channel, {"id": channel, "type": 1, "last_message_id": None,
                                       "flags": 0, "recipients": [fake.users[who]]})
    message = fake._message(channel, {"content": "hi"}, fake.users[APP_ID])
    payload = press_custom(message, custom_id, who=who)
    assert "member" not in payload  # a direct message: a user, no member permissions
    [answer] = await leanon.run(payload)
    return answer


async def test_discord_permissions_come_from_discord_not_from_the_member(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    """Only the interaction's resolved permissions count: roles named in the member data or
    an admin-looking nickname change nothing."""
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        payload = config_set("anonymous-asks", "off", who=D_BOB)
        payload["member"] = discord_member(D_BOB) | {"nick": "Admin", "roles": [GUILD]}
        before = await snapshot(leanon.runtime)
        [refused] = await leanon.run(payload)
        assert ADMINS_ONLY in refused.text
        assert await snapshot(leanon.runtime) == before


# -- the console ----------------------------------------------------------------------------


async def test_console_members_are_refused_and_admins_obeyed(tmp_path: Path) -> None:
    config = Config(database_url=f"sqlite:///{tmp_path / 'console.db'}")
    clock = ConsoleClock()
    async with bootstrap(config, clock) as runtime:
        out = io.StringIO()
        chat = ConsoleChat(out=out)
        console = ConsoleWorkspace(service=runtime.service, chat=chat, clock=clock, out=out,
                                   admins={"alice"}, export_dir=tmp_path)
        runtime.router.register(Platform.CONSOLE, chat, console.directory)
        workspace = WorkspaceRef(Platform.CONSOLE, "console")
        source = ScriptSource(io.StringIO(""))

        async def say(line: str) -> str:
            start = len(out.getvalue())
            assert await console.execute(line, source)
            return out.getvalue()[start:]

        await say(f"carol> /ask {QUESTION}")  # m1, the card; m2, carol's answer
        await say("bob> press m1 1")  # bob offers
        before = await snapshot(runtime)
        checks: list[tuple[str, str, Callable[[], Awaitable[bool]]]] = []

        async def setting_off() -> bool:
            async with runtime.store.unit_of_work() as uow:
                return not (await uow.workspaces.settings(workspace)).anonymous_asks

        async def posted() -> bool:
            return "It's okay to ask" in out.getvalue()

        async def exported() -> bool:
            return any(tmp_path.glob("leanon-*.json"))

        async def resolved() -> bool:
            async with runtime.store.unit_of_work() as uow:
                ask = await uow.asks.get(workspace, 1)
            return ask is not None and ask.status is AskStatus.RESOLVED

        checks = [("/leanon config set anonymous-asks off", ADMINS_ONLY, setting_off),
                  ("/leanon nudge now", "Only workspace admins can send the weekly post", posted),
                  ("/leanon export json", ADMINS_ONLY, exported),
                  ("press m1 2", "Only the person who asked (or a workspace admin)", resolved)]
        for line, refusal, did in checks:
            answer = await say(f"bob> {line}")
            assert "(🔒 private to bob)" in answer and refusal in answer, answer
            assert await snapshot(runtime) == before
            assert not await did()
        assert not list(tmp_path.glob("leanon-*"))

        for line, refusal, did in checks:
            answer = await say(f"alice> {line}")
            assert refusal not in answer, answer
            assert await did(), line

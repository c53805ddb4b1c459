"""The front door: every command has a handler, and the chat router forwards by platform."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable

import pytest

from bot import commands
from bot.commands import (
    ChangeConfig,
    Command,
    ExportData,
    ReactionAdded,
    ReactionRemoved,
    ShowHelp,
)
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.errors import ChatError
from bot.messages import error
from bot.service import HANDLERS, ChatRouter
from tests.unit.fakes import CHANNEL, WS, FakeChat, World, member


def command_classes() -> set[type]:
    return set(typing.get_args(Command))


def test_every_command_has_a_handler_and_every_handler_a_command() -> None:
    """Reactions are recorded in batches (`thanks.record_reactions`), never one by one."""
    assert command_classes() == set(HANDLERS) | {ReactionAdded, ReactionRemoved}
    assert not set(HANDLERS) & {ReactionAdded, ReactionRemoved}


def test_every_command_dataclass_in_the_module_is_a_command() -> None:
    defined = {obj for _, obj in inspect.getmembers(commands, inspect.isclass)
               if obj.__module__ == commands.__name__ and obj is not commands.Person}
    assert defined == command_classes()


def test_handlers_are_coroutine_functions_taking_command_and_deps() -> None:
    for command, handler in HANDLERS.items():
        assert inspect.iscoroutinefunction(handler), command
        assert list(inspect.signature(handler).parameters) == ["cmd", "deps"], command


async def test_leanon_runs_the_handler_of_the_command(world: World) -> None:
    reply = await world.handle(ShowHelp(WS, member("U1")))
    assert reply.ok and reply.private[0].title and "/ask" in reply.private[0].plain_text()


async def test_chat_router_forwards_to_the_platform_of_the_workspace() -> None:
    slack, discord = FakeChat(), FakeChat()
    router = ChatRouter()
    router.register(Platform.SLACK, slack)
    router.register(Platform.DISCORD, discord)
    guild = WorkspaceRef(Platform.DISCORD, "G1")
    note = error("hello")

    ref = await router.post(WS, CHANNEL, note)
    await router.update(WS, ref, note)
    await router.reply(guild, MessageRef("C9", "1"), note)
    await router.tell(guild, "C9", "U1", note)

    assert [p.ref for p in slack.posted] == [ref] and [u.ref for u in slack.updated] == [ref]
    assert slack.replies == [] and slack.told == []
    assert len(discord.replies) == 1 and len(discord.told) == 1 and discord.posted == []


async def test_chat_router_without_an_adapter_for_the_platform_raises_chat_error() -> None:
    router = ChatRouter()
    with pytest.raises(ChatError):
        await router.post(WorkspaceRef(Platform.CONSOLE, "console"), CHANNEL, error("x"))


def test_no_handler_reads_the_admin_flag_itself() -> None:
    """Whether a member is an admin is asked through `Deps.is_admin` (the delivery's flag,
    else the platform's directory): a handler that read `actor.is_admin` would take a
    flag Slack never sets (None) for a no."""
    for command, handler in HANDLERS.items():
        assert "actor.is_admin" not in inspect.getsource(handler), command


@pytest.mark.parametrize("make", [
    lambda actor: ChangeConfig(WS, actor, "leaderboard", "on"),
    lambda actor: ExportData(WS, actor, "json"),
], ids=["config set", "export"])
async def test_an_admin_command_asks_the_directory_when_the_delivery_did_not_say(
        world: World, make: Callable[[Actor], Command]) -> None:
    refused = await world.handle(make(Actor("U1")))
    assert not refused.ok and ("is_admin", "U1") in world.chat.asked
    world.chat.admins.add("U1")
    assert (await world.handle(make(Actor("U1")))).ok
    world.chat.asked.clear()
    assert (await world.handle(make(Actor("U2", is_admin=True)))).ok  # said: not asked
    assert world.chat.asked == []

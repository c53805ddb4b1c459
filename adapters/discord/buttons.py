"""Button presses and the ask form, translated into core commands."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol, cast

import discord

from adapters.discord.chat import DiscordChat
from adapters.discord.components import ButtonRef, Host, host
from adapters.discord.interactions import (
    NOT_IN_A_SERVER,
    actor_of,
    answer,
    tell,
    workspace_of,
)
from bot.buttons import pressed
from bot.commands import Command, CreateAsk
from bot.domain import Actor, Platform, WorkspaceRef
from bot.messages import ActionId, error

log = logging.getLogger(__name__)


class ChatHost(Host, Protocol):
    chat: DiscordChat  # where cards' questions are kept, to name their threads


BUTTON_GONE = error("This button no longer works. Try the command again.")
THREAD_LOOKUP_SECONDS = 1.0


async def thread_authors(interaction: discord.Interaction[Any], workspace: WorkspaceRef) -> tuple[str, ...]:
    """Members who wrote in the card's thread (its id is the card's id), bots left out."""
    if interaction.message is None:
        return ()
    thread = interaction.client.get_partial_messageable(interaction.message.id,
                                            guild_id=int(workspace.workspace_id))

    async def authors() -> tuple[str, ...]:
        found = [m.author async for m in thread.history(limit=100)]
        return tuple(dict.fromkeys(str(a.id) for a in found if not a.bot))

    try:
        return await asyncio.wait_for(authors(), THREAD_LOOKUP_SECONDS)
    except discord.NotFound:
        return ()  # nobody started the thread
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("thread authors unavailable at resolve: %s", type(exc).__name__)
        return ()


async def command_for(interaction: discord.Interaction[Any], ref: ButtonRef,
                      workspace: WorkspaceRef, actor: Actor) -> Command | None:
    """The core command a button stands for; None when its value is not understood."""
    press = pressed(workspace.platform, ref.action, ref.value)
    if press is None:
        return None
    authors = await thread_authors(interaction, workspace) if press.needs_thread else ()
    return press.command(workspace, actor, authors)


def _remember_card(interaction: discord.Interaction[Any]) -> None:
    """Keep the card's question, to name its thread if leanon starts one."""
    message = interaction.message
    if message is not None and message.embeds and message.embeds[0].description:
        question = message.embeds[0].description.splitlines()[0]
        cast(ChatHost, interaction.client).chat.remember_card(str(message.id), question)


async def press(interaction: discord.Interaction[Any], ref: ButtonRef) -> None:
    """A leanon button was pressed (in a server, or in a direct message from leanon)."""
    host(interaction).names.remember(interaction.user)
    workspace = workspace_of(interaction)
    if workspace is None:
        # Leanon sends only thank buttons by direct message (they act for the asker alone):
        # any other button there names a server in a custom id that no server vouches for.
        if ref.action is not ActionId.THANK_HELPER:
            await tell(interaction, None, [BUTTON_GONE])
            return
        workspace = WorkspaceRef(Platform.DISCORD, ref.guild_id)
    if ref.action in {ActionId.OFFER_HELP, ActionId.RESOLVE}:
        _remember_card(interaction)
    cmd = await command_for(interaction, ref, workspace, actor_of(interaction))
    if cmd is None:
        await tell(interaction, workspace, [BUTTON_GONE])
        return
    await answer(interaction, cmd, workspace)


async def submit_form(interaction: discord.Interaction[Any], question: str, tried: str,
                      anonymous: bool) -> None:
    """The ask form was sent: ask, exactly like `/ask <question>`."""
    workspace = workspace_of(interaction)
    if workspace is None or interaction.channel_id is None:
        await tell(interaction, None, [NOT_IN_A_SERVER])
        return
    host(interaction).names.remember(interaction.user)
    cmd = CreateAsk(workspace, actor_of(interaction), str(interaction.channel_id), question,
                    tried.strip() or None, anonymous)
    await answer(interaction, cmd, workspace)

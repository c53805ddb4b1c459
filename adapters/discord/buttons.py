"""Button presses, the ask form and the resolve form, translated into core commands."""

from __future__ import annotations

import asyncio
from typing import Any

import discord

from adapters.discord.components import ButtonRef, ResolveForm, host
from adapters.discord.interactions import (
    NOT_IN_A_SERVER,
    actor_of,
    answer,
    tell,
    workspace_of,
)
from bot.buttons import DIRECT_ACTIONS, pressed
from bot.commands import Command, CreateAsk, ResolveAsk
from bot.domain import Actor, Platform, WorkspaceRef
from bot.errors import StorageError
from bot.messages import error

BUTTON_GONE = error("This button no longer works. Try the command again.")
FORM_CHECK_SECONDS = 1.5  # then the press is deferred and worked as it is


def command_for(ref: ButtonRef, workspace: WorkspaceRef, actor: Actor) -> Command | None:
    """The core command a button stands for; None when its value is not understood."""
    press = pressed(workspace.platform, ref.action, ref.value)
    return None if press is None else press.command(workspace, actor)


async def press(interaction: discord.Interaction[Any], ref: ButtonRef) -> None:
    """A leanon button was pressed (in a server, or in a direct message from leanon)."""
    host(interaction).names.remember(interaction.user)
    workspace = workspace_of(interaction)
    if workspace is None:
        # By direct message leanon sends only buttons that act for the member alone (thank
        # buttons; a helper's request: I can help, Not now, Stop asking me): any other
        # button there names a server in a custom id that no server vouches for.
        if ref.action not in DIRECT_ACTIONS:
            await tell(interaction, None, [BUTTON_GONE])
            return
        workspace = WorkspaceRef(Platform.DISCORD, ref.guild_id)
    cmd = command_for(ref, workspace, actor_of(interaction))
    if cmd is None:
        await tell(interaction, workspace, [BUTTON_GONE])
        return
    if isinstance(cmd, ResolveAsk) and await _asks_what_solved_it(interaction, cmd):
        await interaction.response.send_modal(ResolveForm(workspace, cmd.ask_id))
        return  # resolved when the form is sent
    await answer(interaction, cmd, workspace)


async def _asks_what_solved_it(interaction: discord.Interaction[Any], cmd: ResolveAsk) -> bool:
    """Whether the core says this member resolves this open ask (then the press opens the
    resolve form); with the database unreachable or slow (the form must be Discord's
    answer within 3 s), the press goes on as it is and resolves without a note."""
    try:
        return await asyncio.wait_for(host(interaction).service.asks_what_solved_it(
            cmd.workspace, cmd.actor, cmd.ask_id), FORM_CHECK_SECONDS)
    except (StorageError, TimeoutError):
        return False


async def submit_resolve(interaction: discord.Interaction[Any], workspace: WorkspaceRef,
                         ask_id: int, solved: str) -> None:
    """The resolve form was sent: resolve, with what solved it when it says."""
    cmd = ResolveAsk(workspace, actor_of(interaction), ask_id, solved.strip() or None)
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

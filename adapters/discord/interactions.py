"""From an interaction to the core and back: who acted, where, and the private answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import discord

from adapters.discord.render import label_mentions, render
from adapters.ops.logs import bind
from bot.commands import Command
from bot.domain import Actor, Platform, WorkspaceRef
from bot.errors import StorageError
from bot.messages import Message, Reply, error, line, notice
from bot.service import STORAGE_TROUBLE

if TYPE_CHECKING:
    from adapters.discord.client import LeanonClient

log = logging.getLogger(__name__)

NOT_IN_A_SERVER = error("leanon works in servers: use it in a channel of your server.")
SOMETHING_WENT_WRONG = error("Something went wrong in leanon, so this may not have worked. "
                             "Please try again in a minute.")
DONE = notice(line("Done."))


def leanon_client(interaction: discord.Interaction[Any]) -> LeanonClient:
    return cast("LeanonClient", interaction.client)


def workspace_of(interaction: discord.Interaction[Any]) -> WorkspaceRef | None:
    """The server the interaction happened in; None in a direct message."""
    if interaction.guild_id is None:
        return None
    return WorkspaceRef(Platform.DISCORD, str(interaction.guild_id))


def actor_of(interaction: discord.Interaction[Any]) -> Actor:
    """The member who acted; an admin is a member with Manage Server (or Administrator)."""
    perms = interaction.permissions
    return Actor(user_id=str(interaction.user.id),
                 is_admin=perms.administrator or perms.manage_guild,
                 is_bot=interaction.user.bot)


async def answer(interaction: discord.Interaction[Any], cmd: Command,
                 workspace: WorkspaceRef) -> None:
    """Run `cmd` and answer privately; defer first when the work runs past the deadline."""
    bind(event_id=str(interaction.id))  # this interaction's own task: its log lines carry the id
    client = leanon_client(interaction)
    work = asyncio.ensure_future(client.service.handle(cmd))
    done, _ = await asyncio.wait({work}, timeout=client.settings.defer_after)
    if not done and not interaction.response.is_done():
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as exc:
            log.warning("could not defer a %s interaction: HTTP %s", type(cmd).__name__, exc.status)
    try:
        reply = await work
    except StorageError:
        log.warning("database unreachable for %s: the member was told nothing changed",
                    type(cmd).__name__)
        reply = Reply.of(STORAGE_TROUBLE)
    except Exception:
        log.exception("%s failed", type(cmd).__name__)
        reply = Reply.of(SOMETHING_WENT_WRONG)
    await tell(interaction, workspace, reply.private)


async def tell(interaction: discord.Interaction[Any], workspace: WorkspaceRef | None,
               messages: Sequence[Message]) -> None:
    """Show `messages` to the member who acted, and only to them (ephemeral)."""
    response = interaction.response
    try:
        if not messages:
            if response.is_done():
                await interaction.delete_original_response()
            elif interaction.type is discord.InteractionType.component:
                await response.defer()
            else:
                await response.send_message(**_kwargs(interaction, workspace, [DONE], {}),
                                            ephemeral=True)
            return
        names = await leanon_client(interaction).names.names(label_mentions(messages))
        kwargs = _kwargs(interaction, workspace, messages, names)
        if response.is_done():
            await interaction.followup.send(**kwargs, ephemeral=True)
        else:
            await response.send_message(**kwargs, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not answer an interaction: HTTP %s (code %s)", exc.status, exc.code)


def _kwargs(interaction: discord.Interaction[Any], workspace: WorkspaceRef | None,
            messages: Sequence[Message], names: dict[str, str]) -> dict[str, Any]:
    guild_id = workspace.workspace_id if workspace else str(interaction.guild_id or 0)
    return render(messages, guild_id).send_kwargs(names)

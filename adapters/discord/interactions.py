"""From an interaction to the core and back: who acted, where, and the private answer."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import discord

from adapters.discord.components import Host, host
from adapters.discord.render import label_mentions, render
from adapters.ops.logs import bind
from bot.codec import decode_command, encode_command
from bot.commands import Command
from bot.domain import Actor, InboxItem, Platform, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.inbox import GIVEN_UP, Inbox
from bot.messages import Message, Reply, error, line, notice
from bot.service import STORAGE_TROUBLE

log = logging.getLogger(__name__)

SOURCE = "discord"

NOT_IN_A_SERVER = error("leanon works in servers: use it in a channel of your server.")
SOMETHING_WENT_WRONG = error("Something went wrong in leanon, so this may not have worked. "
                             "Please try again in a minute.")
DONE = notice(line("Done."))


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
    """Store `cmd` in the inbox, run it, answer privately; defer first when the work runs
    past the deadline. What the member was acknowledged is stored before it is worked: if
    this process dies, another takes it over and answers through the interaction's webhook.
    """
    bind(event_id=str(interaction.id))  # this interaction's own task: its log lines carry the id
    client = host(interaction)
    if client.inbox is None:  # no inbox (some tests): run it here and now
        await _run_and_tell(interaction, cmd, workspace)
        return
    key = f"{SOURCE}:{workspace.workspace_id}:{interaction.id}"
    payload = json.dumps({"command": encode_command(cmd), "token": interaction.token,
                          "application_id": str(interaction.application_id)})
    try:
        stored = await client.inbox.put_here(SOURCE, key, workspace, type(cmd).__name__,
                                             payload)
    except StorageError:
        log.warning("database unreachable for %s: the member was told nothing changed",
                    type(cmd).__name__)
        await tell(interaction, workspace, [STORAGE_TROUBLE])
        return
    if stored is None:
        return  # the same interaction delivered twice: answered once
    client.live[stored.key] = interaction
    try:
        work = asyncio.ensure_future(_in_turn(client, client.inbox, stored))
        done, _ = await asyncio.wait({work}, timeout=client.settings.defer_after)
        if not done:
            await _defer(interaction, cmd)
        await work
    except StorageError as exc:  # stored: the workers take it from here
        log.warning("%s stored, not worked now: %s", type(cmd).__name__, exc)
    finally:
        client.live.pop(stored.key, None)
    # Not answered here (it will be tried again): acknowledged, answered by the webhook later.
    await _defer(interaction, cmd)


async def _in_turn(client: Host, inbox: Inbox, stored: InboxItem) -> None:
    async with client.working:
        await inbox.run_now([stored])


async def _defer(interaction: discord.Interaction[Any], cmd: Command) -> None:
    if interaction.response.is_done():
        return
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.HTTPException as exc:
        log.warning("could not defer a %s interaction: HTTP %s", type(cmd).__name__, exc.status)


async def work_stored(client: Host, item: InboxItem) -> None:
    """An inbox worker's part: run the stored command and answer the member, in the
    interaction itself when it is still here, otherwise through its webhook. StorageError
    and ChatError pass (tried again later)."""
    data = json.loads(item.payload)
    cmd = decode_command(data["command"])
    interaction = client.live.get(item.key)
    try:
        reply = await client.service.handle(cmd)
    except (StorageError, ChatError):
        raise
    except Exception:
        if interaction is None:
            raise  # a bug: given up, and the member told through the webhook
        log.exception("%s failed", type(cmd).__name__)
        reply = Reply.of(SOMETHING_WENT_WRONG)
    if interaction is not None:
        await tell(interaction, item.workspace, reply.private)
    else:
        await _tell_later(client, data, item.workspace, reply.private)


async def tell_given_up(client: Host, item: InboxItem) -> None:
    await _tell_later(client, json.loads(item.payload), item.workspace, [error(GIVEN_UP)])


async def _tell_later(client: Host, data: dict[str, Any], workspace: WorkspaceRef,
                      messages: Sequence[Message]) -> None:
    """Answer through the interaction's webhook (valid 15 minutes after it was made)."""
    webhook = discord.Webhook.from_state(
        {"id": data["application_id"], "type": 3, "token": data["token"]},
        state=client._connection)
    try:
        if not messages:
            await webhook.delete_message("@original")  # type: ignore[arg-type]
            return
        names = await client.names.names(label_mentions(messages))
        kwargs = render(messages, workspace.workspace_id).send_kwargs(names)
        await webhook.send(**kwargs, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not answer an interaction later: HTTP %s (code %s)", exc.status,
                    exc.code)


async def _run_and_tell(interaction: discord.Interaction[Any], cmd: Command,
                        workspace: WorkspaceRef) -> None:
    client = host(interaction)
    work = asyncio.ensure_future(client.service.handle(cmd))
    done, _ = await asyncio.wait({work}, timeout=client.settings.defer_after)
    if not done:
        await _defer(interaction, cmd)
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
        names = await host(interaction).names.names(label_mentions(messages))
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

"""The discord.py client for leanon, and `run_discord`, the entry point the composition root calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import discord
import yarl
from discord import app_commands

from adapters.discord import buttons, interactions
from adapters.discord.chat import DiscordChat
from adapters.discord.components import ButtonRef, Host, LeanonButton
from adapters.discord.directory import DiscordDirectory
from adapters.discord.interactions import tell, workspace_of
from adapters.discord.names import NameBook
from adapters.discord.reactions import Intake, ReactionQueue, reaction_command, reaction_key
from adapters.discord.settings import DiscordSettings, discord_endpoints
from adapters.discord.slash import register_commands
from adapters.ops.logs import bind, new_id
from bot.domain import Platform, WorkspaceRef
from bot.errors import ChatError, ConfigError
from bot.inbox import Inbox
from bot.messages import error
from bot.service import ChatRouter, Leanon

log = logging.getLogger(__name__)

COMMAND_FAILED = error("leanon could not run that command (it may have changed since your "
                       "app loaded it). Try /leanon help.")
# discord.py's reaction events, and whether each adds a reaction.
REACTION_EVENTS = {"raw_reaction_add": True, "raw_reaction_remove": False}
# How long closing waits for the reaction events already taken in.
CLOSE_GRACE_SECONDS = 5.0
# Gateway events from members. discord.py parses them in the connection's own loop, where
# one it can't parse would end the connection: leanon drops that one event instead.
MEMBER_EVENTS = ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "INTERACTION_CREATE")


def intents() -> discord.Intents:
    """Servers and their reactions; no privileged intent (no message content, no members)."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_reactions = True
    return wanted


class LeanonClient(discord.AutoShardedClient):
    """Gateway events and interactions in, core commands out; `chat` is the Chat port."""

    def __init__(self, service: Leanon, settings: DiscordSettings,
                 inbox: Inbox | None = None) -> None:
        sharding: dict[str, Any] = {"shard_count": settings.shard_count}
        if settings.shard_ids is not None:
            sharding["shard_ids"] = list(settings.shard_ids)
        super().__init__(intents=intents(), allowed_mentions=discord.AllowedMentions.none(),
                         guild_ready_timeout=settings.guild_ready_timeout, **sharding)
        self.service = service
        self.settings = settings
        # Interactions are stored here before they are acknowledged (`interactions.answer`);
        # those being answered by this process, by inbox key.
        self.inbox = inbox
        self.live: dict[str, discord.Interaction[Any]] = {}
        if inbox is not None:
            inbox.register(interactions.SOURCE, partial(interactions.work_stored, self),
                           partial(interactions.tell_given_up, self))
        self.names = NameBook(self)
        self.chat = DiscordChat(self, self.names)
        self.directory = DiscordDirectory(self)
        self.reactions = ReactionQueue(service, settings.retry_capacity,
                                       settings.retry_first_delay, settings.retry_max_delay,
                                       settings.reaction_spool)
        self.intake = Intake(self._reaction, settings.reactions_at_once)
        self.working = asyncio.Semaphore(settings.interactions_at_once)
        self.tree: app_commands.CommandTree[LeanonClient] = app_commands.CommandTree(self)
        self.tree.error(self.command_failed)
        register_commands(self.tree)
        parsers = self._connection.parsers
        for event in MEMBER_EVENTS:
            parsers[event] = _dropping_malformed(event, parsers[event])

    async def setup_hook(self) -> None:
        # Buttons are rebuilt from their custom ids, so cards posted before a restart work.
        self.add_dynamic_items(LeanonButton)
        self.reactions.recover()  # what a run during a database outage left
        if self.settings.shard_ids is None or 0 in self.settings.shard_ids:
            await self.sync_commands()  # one process syncs when shards are split up

    async def sync_commands(self) -> None:
        """Publish the commands: to the dev server at once, or globally."""
        try:
            if self.settings.dev_guild_id is not None:
                guild = discord.Object(self.settings.dev_guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException as exc:
            log.error("Discord refused the command list (HTTP %s: %s); commands stay as they "
                      "were. Was leanon invited with the applications.commands scope?",
                      exc.status, exc.text[:200])
            return
        where = "the dev server" if self.settings.dev_guild_id else "all servers"
        log.info("%d commands synced to %s", len(synced), where)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.settings.identify_delay)

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *, initial: bool = False) -> None:
        # DISCORD_GATEWAY_URL wins over the URL Discord's /gateway/bot names.
        if self.settings.gateway_url:
            gateway = yarl.URL(self.settings.gateway_url)
        await super().launch_shard(gateway, shard_id, initial=initial)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Reactions go to leanon's intake (a bounded number handled at once), not to a
        # task each as discord.py's listeners do.
        added = REACTION_EVENTS.get(event)
        if added is not None:
            self.intake.put(args[0], added)
        super().dispatch(event, *args, **kwargs)

    def connection_problem(self) -> str | None:
        """Why this client can't serve right now (for readiness); None when every shard is up."""
        if self.is_closed():
            return "closed"
        if not self.is_ready():
            return "connecting to the gateway"
        down = sorted(shard_id for shard_id, shard in self.shards.items() if shard.is_closed())
        if down:
            return "gateway disconnected (shard " + ", ".join(map(str, down)) + ")"
        return None

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        bind(event_id=new_id())  # never a member id: the reactor may be an anonymous asker
        if self.inbox is not None:  # recorded at once, like an answer: workers step back
            self.inbox.pressure.note()
        async with self.reactions.in_order(reaction_key(payload)):
            cmd = await reaction_command(self, payload, added)
            if cmd is not None:
                await self.reactions.submit(cmd)

    async def command_failed(self, interaction: discord.Interaction[Any],
                             failure: app_commands.AppCommandError) -> None:
        """A command discord.py could not run (unknown to leanon, options it can't read, or a
        failure): the member is told privately, instead of "the application did not respond"."""
        if isinstance(failure, app_commands.CommandNotFound | app_commands.TransformerError):
            log.warning("an app command leanon can't run: %s", type(failure).__name__)
        else:
            log.error("an app command failed: %s", type(failure).__name__, exc_info=failure)
        if not interaction.response.is_done():
            await tell(interaction, workspace_of(interaction), [COMMAND_FAILED])

    async def button_pressed(self, interaction: discord.Interaction[Any], ref: ButtonRef) -> None:
        await buttons.press(interaction, ref)

    async def form_submitted(self, interaction: discord.Interaction[Any], question: str,
                             tried: str, anonymous: bool) -> None:
        await buttons.submit_form(interaction, question, tried, anonymous)

    async def resolve_submitted(self, interaction: discord.Interaction[Any],
                                workspace: WorkspaceRef, ask_id: int, solved: str) -> None:
        await buttons.submit_resolve(interaction, workspace, ask_id, solved)

    async def close(self) -> None:
        await self.intake.drain(CLOSE_GRACE_SECONDS)
        await self.reactions.close()
        await super().close()


def _dropping_malformed(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def parse_or_drop(data: Any) -> None:
        try:
            parse(data)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            log.warning("a malformed %s gateway event was dropped (%s)", event, type(exc).__name__)
    return parse_or_drop


def _as_host(client: LeanonClient) -> Host:
    """Type-checked, never called: the client is what its buttons and interactions need."""
    return client


async def run_discord(service: Leanon, router: ChatRouter, settings: DiscordSettings,
                      stop: asyncio.Event,
                      on_login: Callable[[LeanonClient], None] | None = None,
                      inbox: Inbox | None = None) -> None:
    """Run the Discord adapter until `stop` is set (or the connection ends for good).

    Registers the Discord Chat in `router` and hands the logged-in client to `on_login`
    (readiness watches it); ConfigError when Discord refuses the token, ChatError when
    Discord can't be reached at start.
    """
    # discord.py logs whole gateway payloads at DEBUG, the member behind an anonymous
    # /ask included: leanon's logs never name an anonymous asker, so it stays at INFO.
    library_log = logging.getLogger("discord")
    if library_log.getEffectiveLevel() < logging.INFO:
        library_log.setLevel(logging.INFO)
    with discord_endpoints(settings.api_url, settings.gateway_url):
        client = LeanonClient(service, settings, inbox)
        async with client:
            try:
                await client.login(settings.token)
            except discord.LoginFailure:
                raise ConfigError("DISCORD_TOKEN: Discord refused the token; copy the bot "
                                  "token again from the Developer Portal") from None
            except (discord.HTTPException, OSError) as exc:
                raise ChatError(f"Discord could not be reached at start: {exc}") from None
            # Only a logged-in client can post: before this, the router answers ChatError.
            router.register(Platform.DISCORD, client.chat, client.directory)
            if on_login is not None:
                on_login(client)
            connection = asyncio.create_task(client.connect(), name="leanon-discord")
            stopping = asyncio.create_task(stop.wait(), name="leanon-discord-stop")
            done, _ = await asyncio.wait({connection, stopping},
                                         return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            await client.close()
            if connection in done:
                try:
                    connection.result()
                except (discord.ConnectionClosed, discord.GatewayNotFound,
                        discord.PrivilegedIntentsRequired) as exc:
                    raise ChatError(f"the Discord gateway connection ended: {exc}") from None
            else:
                with contextlib.suppress(asyncio.CancelledError):
                    await connection

"""The composition root: builds the store, the core and the platform adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from adapters.console.chat import ConsoleChat, ConsoleClock
from adapters.console.run import run_console
from adapters.console.workspace import ConsoleWorkspace
from adapters.discord import DiscordSettings, run_discord
from adapters.scheduler import Scheduler
from adapters.slack.app import build_app
from adapters.slack.auth import SingleWorkspace
from adapters.slack.server import close_socket_mode, connect_socket_mode, serve_http
from bot.config import Config
from bot.deps import Deps, SystemClock
from bot.domain import Platform
from bot.ports import Clock
from bot.service import ChatRouter, Leanon
from storage.engine import create_engine
from storage.leader import leader_lock
from storage.migrate import upgrade
from storage.uow import SqlStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running leanon holds: the store, the chat router and the core service."""

    store: SqlStore
    router: ChatRouter
    service: Leanon


@asynccontextmanager
async def bootstrap(config: Config, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Migrate the database, open the store and build the core; close everything after."""
    await upgrade(config.database_url)
    store = SqlStore(create_engine(config.database_url))
    router = ChatRouter()
    deps = Deps(uow=store.unit_of_work, chat=router, clock=clock or SystemClock(),
                timezone=config.timezone)
    try:
        yield Runtime(store=store, router=router, service=Leanon(deps))
    finally:
        await store.close()


async def run_console_workspace(config: Config, stream: TextIO = sys.stdin,
                                out: TextIO = sys.stdout, export_dir: Path | None = None) -> None:
    """The console workspace on the configured database."""
    clock = ConsoleClock()
    async with bootstrap(config, clock) as runtime:
        chat = ConsoleChat(out=out)
        runtime.router.register(Platform.CONSOLE, chat)
        workspace = ConsoleWorkspace(service=runtime.service, chat=chat, clock=clock, out=out,
                                     admins=config.console_admins,
                                     export_dir=export_dir or Path.cwd())
        await run_console(workspace, stream)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _discord_settings(config: Config) -> DiscordSettings:
    return DiscordSettings.from_env(
        token=_secret(config.discord_token), api_url=config.discord_api_url,
        gateway_url=config.discord_gateway_url, shard_count=config.discord_shard_count,
        shard_ids=config.discord_shard_ids, dev_guild_id=config.discord_dev_guild_id)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not available off the main thread or on some platforms: then the caller stops us.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)


@asynccontextmanager
async def _slack(config: Config, runtime: Runtime) -> AsyncIterator[None]:
    """The Slack adapter in Socket Mode or HTTP mode, from the configuration."""
    mode = config.slack_mode()
    auth = SingleWorkspace(_secret(config.slack_bot_token), config.slack_api_url)
    await auth.verify()
    secret = _secret(config.slack_signing_secret)
    slack = build_app(runtime.service, auth, signing_secret=secret, api_url=config.slack_api_url)
    runtime.router.register(Platform.SLACK, slack.chat)
    if mode == "socket":
        handler = await connect_socket_mode(slack, _secret(config.slack_app_token),
                                            config.slack_api_url)
    else:
        runner = await serve_http(slack, secret, config.leanon_host, config.leanon_port)
    try:
        yield
    finally:
        if mode == "socket":
            await close_socket_mode(handler)
        else:
            await runner.cleanup()
        await slack.lazy.drain()


async def run_bots(config: Config, stop: asyncio.Event | None = None) -> None:
    """Slack and/or Discord (as configured) and the scheduler, until `stop` is set.

    SIGTERM and SIGINT set `stop` too; in-flight work gets a few seconds to finish.
    """
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    discord = _discord_settings(config) if config.has_discord else None
    use_slack = config.slack_mode() is not None
    async with bootstrap(config) as runtime, contextlib.AsyncExitStack() as stack:
        if use_slack:
            await stack.enter_async_context(_slack(config, runtime))
        scheduler = Scheduler(runtime.service, leader_lock(runtime.store.engine))
        await scheduler.start()
        stack.push_async_callback(scheduler.stop)
        if discord is not None:
            await run_discord(runtime.service, runtime.router, discord, stop)
        await stop.wait()

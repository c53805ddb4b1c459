"""The composition root: builds the store, the core and the platform adapters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow

from adapters.console.chat import ConsoleChat, ConsoleClock
from adapters.console.run import run_console
from adapters.console.workspace import ConsoleWorkspace
from adapters.discord import LeanonClient, run_discord
from adapters.ops import server as ops_server
from adapters.ops.metrics import MeteredChat, MeteredLeanon, Metrics
from adapters.ops.readiness import Check, Readiness
from adapters.ops.shutdown import Deadline, within
from adapters.scheduler import Scheduler
from adapters.similarity import answer_search
from adapters.slack.app import SlackAdapter, build_app
from adapters.slack.auth import SingleWorkspace, WorkspaceAuth, close_shared_session
from adapters.slack.installs import InstalledWorkspaces
from adapters.slack.oauth import STATE_SECONDS, oauth_flow
from adapters.slack.server import close_socket_mode, connect_socket_mode, web_app
from adapters.web import insights as web_insights
from bot import answers as answers_mod
from bot import cards as cards_mod
from bot.config import Config
from bot.config_check import CLEAR_TOKENS, discord_settings, secret_text, validate
from bot.deps import Deps, SystemClock
from bot.domain import Platform, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.ports import Chat, Clock
from bot.service import ChatRouter, Leanon
from storage.engine import create_engine
from storage.leader import leader_lock
from storage.migrate import upgrade
from storage.sealing import TokenCipher
from storage.slack_installations import SqlInstallationStore, SqlOAuthStateStore
from storage.uow import SqlStore

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 8.5
"""SIGTERM to exit: at most this long, which leaves time to close up within the 10 s promised."""


@dataclass
class Runtime:
    """What a running leanon holds: the store, the chat router and the core service."""

    store: SqlStore
    router: ChatRouter
    service: Leanon
    inbox: Inbox


@asynccontextmanager
async def bootstrap(config: Config, clock: Clock | None = None, metrics: Metrics | None = None,
                    send_in_background: bool = True,
                    insights_url: str | None = None) -> AsyncIterator[Runtime]:
    """Migrate the database, open the store and build the core; close everything after.

    With `metrics`, the core's commands and its calls to the platforms are counted. Without
    `send_in_background`, the outbox has no workers: its owner drains it (the console).
    """
    await upgrade(config.database_url)
    store = SqlStore(create_engine(config.database_url))
    router = ChatRouter()
    chat: Chat = MeteredChat(router, metrics) if metrics else router
    deps = Deps(uow=store.unit_of_work, chat=chat, directory=router, clock=clock or SystemClock(),
                timezone=config.timezone, answer_uow=store.urgent_unit_of_work,
                reading_uow=store.reading_unit_of_work,
                note_window=timedelta(seconds=config.leanon_note_window),
                thanks_max_members=config.leanon_thanks_max_members,
                search=answer_search() if config.leanon_answer_search else None,
                insights_url=insights_url)
    service = MeteredLeanon(deps, metrics) if metrics else Leanon(deps)
    inbox = Inbox(store.unit_of_work, deps.clock, busy_at=config.leanon_busy_backlog,
                  urgent_uow=store.urgent_unit_of_work)
    service.outbox.queue.pressure = inbox.pressure  # both step back for the answers
    await inbox.start()
    if send_in_background:
        await service.outbox.start()
    try:
        yield Runtime(store=store, router=router, service=service, inbox=inbox)
    finally:
        await inbox.stop(grace=0)
        await service.outbox.stop(grace=0)
        await store.close()


@asynccontextmanager
async def _store(config: Config) -> AsyncIterator[SqlStore]:
    """The configured database, migrated, for a command that does not run leanon."""
    await upgrade(config.database_url)
    store = SqlStore(create_engine(config.database_url))
    try:
        yield store
    finally:
        await store.close()


async def import_answers_file(config: Config, path: Path,
                              workspace: WorkspaceRef) -> tuple[int, int]:
    """`leanon answers import`: the file's known answers into the workspace's memory (all
    or none); the number added and the number it had already. AnswersFileError, OSError."""
    if (await asyncio.to_thread(path.stat)).st_size > answers_mod.FILE_MAX_BYTES:
        raise answers_mod.AnswersFileError(
            f"nothing was imported: the file is over {answers_mod.FILE_MAX_BYTES // 2**20} MB")
    # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark.
    text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    known = answers_mod.read_answers(text, path.name)
    async with _store(config) as store:
        added, had = await answers_mod.import_answers(store.unit_of_work, workspace, known,
                                                      SystemClock().now())
        if added:  # searched at once, without waiting for autovacuum to see the new rows
            await store.gather_statistics("answers")
        return added, had


async def export_answers_file(config: Config, workspace: WorkspaceRef, name: str) -> str:
    """`leanon answers export`: the workspace's memory as the text of a file called `name`."""
    async with _store(config) as store:
        return await answers_mod.export_answers(store.unit_of_work, workspace, name)


async def run_console_workspace(config: Config, stream: TextIO = sys.stdin,
                                out: TextIO = sys.stdout, export_dir: Path | None = None,
                                serve_insights: bool = True) -> None:
    """The console workspace on the configured database, with the insights page served on
    127.0.0.1:LEANON_PORT when that port is free (`serve_insights`)."""
    clock = ConsoleClock()
    listening = _console_socket(config) if serve_insights else None
    url = f"http://127.0.0.1:{listening.getsockname()[1]}" if listening else None
    # What the console's commands say is shown in turn, after each command.
    async with bootstrap(config, clock, send_in_background=False, insights_url=url) as runtime:
        chat = ConsoleChat(out=out)
        workspace = ConsoleWorkspace(service=runtime.service, chat=chat, clock=clock, out=out,
                                     admins=config.console_admins,
                                     export_dir=export_dir or Path.cwd())
        runtime.router.register(Platform.CONSOLE, chat, workspace.directory)
        await _resume_console(runtime, workspace)
        serving = None
        if listening is not None:
            application = ops_server.application()
            web_insights.install(application, runtime.service.deps)
            serving = ops_server.runner(application)
            await serving.setup()
            await web.SockSite(serving, listening).start()
        try:
            await run_console(workspace, stream)
        finally:
            if serving is not None:
                await serving.cleanup()


def _console_socket(config: Config) -> socket.socket | None:
    """A socket on 127.0.0.1:LEANON_PORT for the console's insights page; None (and a log
    line) when the port is taken: the console works without the page."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(("127.0.0.1", config.leanon_port))
    except OSError as exc:
        listening.close()
        log.warning("the insights page is off in this console: 127.0.0.1:%d is taken (%s)",
                    config.leanon_port, exc.strerror)
        return None
    listening.listen(64)
    return listening


_CONSOLE_ID = re.compile(r"m([0-9]{1,9})")


async def _resume_console(runtime: Runtime, console: ConsoleWorkspace) -> None:
    """What the console remembers of earlier runs on this database: its members, where its
    message ids go on from (an ask's card keeps its id), and the cards of open asks."""
    async with runtime.store.unit_of_work() as uow:
        asks, offers = await uow.asks.export(console.workspace)
        thanks = await uow.thanks.export(console.workspace)
    refs = [a.message for a in asks] + [t.message for t in thanks]
    numbers = [int(m.group(1)) for ref in refs
               if ref is not None and (m := _CONSOLE_ID.fullmatch(ref.message_id))]
    helpers: dict[int, list[str]] = {}
    for offer in offers:
        helpers.setdefault(offer.ask_id, []).append(offer.helper_id)
    cards = {a.message.message_id: cards_mod.ask_card(a, helpers.get(a.id, []))
             for a in asks if a.is_open and a.message is not None}
    console.chat.resume(max(numbers, default=0), cards)
    console.members.update(
        {a.asker_id for a in asks if a.asker_id} | {o.helper_id for o in offers}
        | {t.giver_id for t in thanks} | {t.receiver_id for t in thanks})


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not available off the main thread or on some platforms: then the caller stops us.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)


@dataclass
class SlackRunning:
    """The Slack adapter while it runs: its Socket Mode connection, if any, and its work."""

    adapter: SlackAdapter
    socket: AsyncSocketModeHandler | None = None

    async def close(self) -> None:
        """Stop taking Slack's events (Socket Mode; HTTP mode stops with the server)."""
        socket, self.socket = self.socket, None
        if socket is not None:
            await close_socket_mode(socket)


async def _slack_auth(config: Config,
                      runtime: Runtime) -> tuple[WorkspaceAuth, AsyncOAuthFlow | None]:
    """One bot token (checked with Slack now), or OAuth installs kept in the database."""
    if not config.slack_oauth:
        single = SingleWorkspace(secret_text(config.slack_bot_token), config.slack_api_url)
        await single.verify()
        return single, None
    cipher = TokenCipher.from_setting(secret_text(config.leanon_secret_keys))
    installations = SqlInstallationStore(runtime.store.engine, cipher=cipher)
    if cipher is None:
        log.warning(CLEAR_TOKENS.removeprefix("warning: "))
    elif sealed := await installations.seal_stored():
        log.info("sealed %d stored bot tokens with the newest of LEANON_SECRET_KEYS", sealed)
    states = SqlOAuthStateStore(runtime.store.engine, expiration_seconds=STATE_SECONDS)
    flow = oauth_flow(config.slack_client_id or "", secret_text(config.slack_client_secret),
                      installations, states, config.slack_api_url)
    return InstalledWorkspaces(installations, config.slack_api_url), flow


async def _slack(config: Config, runtime: Runtime, readiness: Readiness) -> SlackRunning:
    """The Slack adapter in Socket Mode or HTTP mode (its routes: `web_app`), from the configuration."""
    mode = config.slack_mode()
    auth, oauth = await _slack_auth(config, runtime)
    secret = secret_text(config.slack_signing_secret)
    slack = build_app(runtime.service, auth, inbox=runtime.inbox, signing_secret=secret,
                      api_url=config.slack_api_url, oauth=oauth)
    runtime.router.register(Platform.SLACK, slack.chat, slack.directory)
    running = SlackRunning(slack)
    if mode == "socket":
        running.socket = await connect_socket_mode(slack, secret_text(config.slack_app_token),
                                                   config.slack_api_url)

        async def socket_check() -> str | None:
            socket = running.socket
            connected = socket is not None and await socket.client.is_connected()
            return None if connected else "Socket Mode disconnected"

        readiness.add("slack", socket_check)
    return running


def _database_check(store: SqlStore) -> Check:
    async def check() -> str | None:
        try:
            await store.ping()
        except StorageError as exc:
            return f"unreachable ({exc})"
        return None

    return check


def _discord_check(client: LeanonClient) -> Check:
    async def check() -> str | None:
        return client.connection_problem()

    return check


def _waiting(reason: str) -> Check:
    async def check() -> str | None:
        return reason

    return check


def settle_heap() -> None:
    """Take what start-up made (modules, models, the app) out of the garbage collector's
    sight (`gc.freeze`): a full collection then walks only what requests make, so a
    request that makes many objects (the insights page of a large workspace) does not
    pause for tens of milliseconds, nor pause the requests beside it."""
    gc.collect()
    gc.freeze()


async def run_bots(config: Config, stop: asyncio.Event | None = None) -> None:
    """Slack and/or Discord (as configured), the HTTP server and the scheduler, until `stop`.

    SIGTERM and SIGINT set `stop` too. Shutdown takes at most SHUTDOWN_SECONDS: /readyz
    turns 503, the server finishes its requests, Socket Mode and the Discord gateway close
    and the scheduler stops together; then Slack's pending work gets what time is left.
    """
    try:
        await _run_bots(config, stop)
    finally:
        await close_shared_session()  # the Slack Web API's pooled connections


async def _run_bots(config: Config, stop: asyncio.Event | None) -> None:
    validate(config)
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    discord = discord_settings(config) if config.has_discord else None
    slack_mode = config.slack_mode()
    metrics, readiness = Metrics(), Readiness()
    async with bootstrap(config, metrics=metrics, insights_url=config.insights_url()) as runtime:
        readiness.add("database", _database_check(runtime.store))
        if discord is not None:
            readiness.add("discord", _waiting("logging in"))
        slack = await _slack(config, runtime, readiness) if slack_mode is not None else None
        if slack is not None and slack_mode == "http":
            application = web_app(slack.adapter, secret_text(config.slack_signing_secret))
        else:
            application = ops_server.application()
        ops_server.install(application, readiness, metrics)
        web_insights.install(application, runtime.service.deps)
        try:
            runner = await ops_server.serve(application, config.leanon_host, config.leanon_port)
        except BaseException:
            if slack is not None:
                await slack.close()
            raise
        scheduler = Scheduler(runtime.service, leader_lock(runtime.store.engine))
        metrics.watch_leader(lambda: scheduler.leader)
        connection: asyncio.Task[None] | None = None
        asked_to_stop = False
        try:
            await scheduler.start()
            settle_heap()
            if discord is not None:
                connection = asyncio.create_task(run_discord(
                    runtime.service, runtime.router, discord, stop,
                    on_login=lambda client: readiness.add("discord", _discord_check(client)),
                    inbox=runtime.inbox))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({stopping, *([connection] if connection else [])},
                               return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            asked_to_stop = stop.is_set()
        finally:
            readiness.stopping = True
            stop.set()
            await _shut_down(runner, scheduler, slack, connection, runtime.inbox,
                             runtime.service.outbox)
        if connection is not None and connection.done() and not connection.cancelled():
            connection.result()  # ConfigError or ChatError from Discord, as one line
            if not asked_to_stop:
                raise ChatError("the Discord gateway connection ended")


async def _shut_down(runner: web.AppRunner, scheduler: Scheduler, slack: SlackRunning | None,
                     discord: asyncio.Task[None] | None, inbox: Inbox, outbox: Outbox) -> None:
    """Stop taking work and finish what is in flight, all within SHUTDOWN_SECONDS."""
    log.info("leanon is shutting down")
    deadline = Deadline(SHUTDOWN_SECONDS)
    steps = [within(deadline, "the HTTP server", runner.cleanup()),
             # A second left to give the leader lock back before the deadline.
             within(deadline, "the scheduler", scheduler.stop(grace=deadline.left() - 1))]
    if slack is not None:
        steps.append(within(deadline, "Slack Socket Mode", slack.close()))
    if discord is not None:
        steps.append(within(deadline, "the Discord gateway", discord))
    await asyncio.gather(*steps)
    # What was stored and not yet worked stays in the inbox for the next start (or another
    # replica); work in progress gets the time that is left.
    await inbox.stop(grace=deadline.left())
    if slack is not None:
        await slack.adapter.lazy.drain(grace=deadline.left())
    # What is being sent gets what is left; the rest stays in the outbox.
    await outbox.stop(grace=deadline.left())
    log.info("leanon stopped")

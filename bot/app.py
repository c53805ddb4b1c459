"""The composition root: builds the store, the core and the platform adapters."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from adapters.console.chat import ConsoleChat, ConsoleClock
from adapters.console.run import run_console
from adapters.console.workspace import ConsoleWorkspace
from bot.config import Config
from bot.deps import Deps, SystemClock
from bot.domain import Platform
from bot.ports import Clock
from bot.service import ChatRouter, Leanon
from storage.engine import create_engine
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

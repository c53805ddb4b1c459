"""A leanon serving the insights page on 127.0.0.1, on a real SQLite database, with a
workspace of seeded numbers and a settable clock."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from adapters.ops import server as ops_server
from adapters.web import insights as web_insights
from bot.app import Runtime, bootstrap
from bot.commands import CreateAsk, OfferHelp, OpenInsights, ResolveAsk, ThankMembers
from bot.commands import Person as Named
from bot.config import Config
from bot.deps import NoDirectory
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from tests.nudges.nudge_testing import RecordingChat, SettableClock, utc
from tests.ops.leanon_process import free_port

WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER = WorkspaceRef(Platform.SLACK, "T2")
ADMIN = Actor("U_ADMIN", is_admin=True)
NOW = utc(2026, 12, 2, 12, 0)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class LinkedDirectory(NoDirectory):
    """Knows nothing, but where a message is on the web."""

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        return channel_id == "C-secret"

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return f"https://example.slack.com/archives/{ref.channel_id}/p{ref.message_id.replace('.', '')}"


@dataclass
class Served:
    runtime: Runtime
    clock: SettableClock
    base: str

    async def link(self, workspace: WorkspaceRef = WS) -> str:
        """A sign-in link, as `/leanon insights` gives it to an admin."""
        reply = await self.runtime.service.handle(OpenInsights(workspace, ADMIN))
        text = reply.private[0].plain_text()
        return text.split("insights: ", 1)[1].split()[0]


async def seed(runtime: Runtime, clock: SettableClock) -> None:
    """This week in T1: 6 asks in #C-help by 6 members (one anonymous), each offered on by a
    different helper after 30 minutes, 4 resolved, 3 thanks; 2 asks in #C-tiny by 2
    members and 1 in the private #C-secret, still open. Three weeks ago: 5 asks in #C-help. T2 has one ask."""
    handle = runtime.service.handle
    clock.set(NOW - timedelta(days=20))
    for n in range(5):
        await handle(CreateAsk(WS, Actor(f"U_OLD{n}"), "C-help", f"An older question number {n}?"))
    clock.set(NOW - timedelta(days=3))
    first = 6
    for n in range(6):
        await handle(CreateAsk(WS, Actor(f"U_ASK{n}"), "C-help",
                               f"How do I renew the staging certificate, take {n}?",
                               anonymous=n == 0))
    clock.advance(timedelta(minutes=30))
    for n in range(6):
        await handle(OfferHelp(WS, Actor(f"U_HELP{n}"), first + n))
    for n in range(1, 5):
        await handle(ResolveAsk(WS, Actor(f"U_ASK{n}"), first + n))
    for n in range(3):
        await handle(ThankMembers(WS, Actor(f"U_ASK{n + 1}"), "C-help", (Named(f"U_HELP{n}"),),
                                  "for the help"))
    await handle(CreateAsk(WS, Actor("U_TINY0"), "C-tiny", "Where is the tiny channel's wiki?"))
    await handle(CreateAsk(WS, Actor("U_TINY1"), "C-tiny", "Who owns the tiny channel?"))
    await handle(CreateAsk(WS, Actor("U_SECRET"), "C-secret", "A question in a private channel?"))
    await handle(CreateAsk(OTHER, Actor("U_ELSE"), "C-else", "A question in another workspace?"))
    clock.set(NOW)


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = SettableClock(NOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = Config(database_url=f"sqlite:///{tmp_path / 'leanon.db'}", leanon_answer_search=False)
    async with bootstrap(config, clock, insights_url=base) as runtime:
        runtime.router.register(Platform.SLACK, RecordingChat(clock), LinkedDirectory())
        await seed(runtime, clock)
        application: web.Application = ops_server.application()
        web_insights.install(application, runtime.service.deps)
        runner = await ops_server.serve(application, "127.0.0.1", port)
        try:
            yield Served(runtime, clock, base)
        finally:
            await runner.cleanup()


def browser_or_skip() -> None:
    """Chromium and its driver from Debian's packages (scripts/test installs them where it
    can): without them the browser tests fail in CI and are skipped elsewhere."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if not missing:
        return
    reason = (f"{' and '.join(missing)} not found: install Debian's chromium and "
              "chromium-driver packages (scripts/test does so when run as root)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)

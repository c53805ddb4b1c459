"""Fixtures for the bad-input suite: leanon's real Slack, Discord and console adapters on
SQLite, against the local fakes (127.0.0.1 only), with ERROR log records collected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from io import StringIO
from pathlib import Path

import pytest

from adapters.console.chat import ConsoleChat
from adapters.console.workspace import ConsoleWorkspace
from bot.app import Runtime, bootstrap
from bot.config import Config
from bot.domain import Platform
from tests.discord.discord_testing import Harness as DiscordHarness
from tests.discord.discord_testing import running, started
from tests.discord.fake_discord import FakeDiscord
from tests.leanon_testing import MovableClock
from tests.robustness.robustness_testing import LogWatch, watching_logs
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import Harness, serving


@pytest.fixture
def logs() -> Iterator[LogWatch]:
    with watching_logs() as watch:
        yield watch


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    config = Config(database_url=f"sqlite:///{tmp_path}/leanon.db")
    async with bootstrap(config, clock=MovableClock()) as rt:
        yield rt


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    yield slack
    await slack.stop()


@pytest.fixture
async def slack(fake_slack: FakeSlack, runtime: Runtime) -> AsyncIterator[Harness]:
    """leanon in Slack HTTP mode (one bot token), served by the production aiohttp app."""
    async with serving(fake_slack, runtime) as harness:
        yield harness


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with started(FakeDiscord()) as discord_:
        yield discord_


@pytest.fixture
async def discord(tmp_path: Path, fake_discord: FakeDiscord) -> AsyncIterator[DiscordHarness]:
    async with running(tmp_path, fake_discord) as harness:
        yield harness


@pytest.fixture
def console(runtime: Runtime, tmp_path: Path) -> ConsoleWorkspace:
    """The console workspace on the same core and database; its output in `console.out`."""
    out = StringIO()
    chat = ConsoleChat(out=out)
    clock = runtime.service.deps.clock
    assert isinstance(clock, MovableClock)
    console = ConsoleWorkspace(service=runtime.service, chat=chat, clock=clock, out=out,
                               export_dir=tmp_path)
    runtime.router.register(Platform.CONSOLE, chat, console.directory)
    return console

"""Fixtures: a real leanon (SQLite, bolt app, production aiohttp server) and a fake Slack,
with one bot token (`slack`) or with OAuth installs (`installs`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.slack.app import build_app
from adapters.slack.installs import InstalledWorkspaces
from adapters.slack.oauth import oauth_flow
from adapters.slack.server import bound_port, serve_http
from bot.app import Runtime, bootstrap
from bot.config import Config
from bot.domain import Platform
from storage.slack_installations import SqlInstallationStore, SqlOAuthStateStore
from tests.slack.fake_slack import CLIENT_ID, CLIENT_SECRET, FakeSlack
from tests.slack.oauth_testing import Installs
from tests.slack.slack_testing import SECRET, Harness, MovableClock, serving


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    yield slack
    await slack.stop()


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    config = Config(database_url=f"sqlite:///{tmp_path}/leanon.db")
    async with bootstrap(config, clock=MovableClock()) as rt:
        yield rt


@pytest.fixture
async def slack(fake: FakeSlack, runtime: Runtime) -> AsyncIterator[Harness]:
    """leanon in Slack HTTP mode, served by the production aiohttp app on 127.0.0.1."""
    async with serving(fake, runtime) as harness:
        yield harness


@pytest.fixture
async def installs(fake: FakeSlack, runtime: Runtime) -> AsyncIterator[Installs]:
    """leanon in HTTP mode with OAuth installs (no bot token), stores in its SQLite database."""
    clock = MovableClock()
    installations = SqlInstallationStore(runtime.store.engine)
    states = SqlOAuthStateStore(runtime.store.engine, clock=clock.now)
    flow = oauth_flow(CLIENT_ID, CLIENT_SECRET, installations, states, fake.api_url)
    adapter = build_app(runtime.service, InstalledWorkspaces(installations, fake.api_url),
                        inbox=runtime.inbox, signing_secret=SECRET, api_url=fake.api_url, oauth=flow)
    runtime.router.register(Platform.SLACK, adapter.chat, adapter.directory)
    runner = await serve_http(adapter, SECRET, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{bound_port(runner)}"
    fake.redirect_url = base + "/slack/oauth_redirect"
    async with aiohttp.ClientSession() as session:
        harness = Harness(base + "/slack/events", fake, adapter, runtime, session)
        yield Installs(session, base, harness, clock, installations)
    await runner.cleanup()
    await adapter.settle()

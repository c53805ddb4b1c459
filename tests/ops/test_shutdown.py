"""SIGTERM: a real `leanon run` (Slack HTTP mode and Discord) stops cleanly within 10 s."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.discord.fake_discord import TOKEN, FakeDiscord
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.ops.slack_requests import command, event
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import CHANNEL, SECRET, payload


async def test_sigterm_finishes_requests_and_pending_work_and_closes_the_gateway(
        fake: FakeSlack, tmp_path: Path) -> None:
    discord = await FakeDiscord().start()
    env = leanon_env(f"sqlite:///{tmp_path / 'run.db'}", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                     LEANON_PORT=str(free_port()), DISCORD_TOKEN=TOKEN,
                     DISCORD_API_URL=discord.api_url, DISCORD_GATEWAY_URL=discord.gateway_url)
    leanon = await LeanonProcess(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as session:
            await leanon.wait_ready(session)
            assert (await leanon.readyz(session))[1]["checks"] == {"database": "ok", "discord": "ok"}
            assert len(discord.gateway.sessions) == 1
            # Work still running at SIGTERM: an ask card whose post takes 2 s (after the ack),
            # and a reaction whose request is in flight (its member lookup takes 1 s).
            fake.delays.update({"chat.postMessage": 2.0})
            assert await command(session, leanon.base, fake, "/ask",
                                 "How do I rotate the staging TLS certificate safely?") == 200
            await fake.wait_for("chat.postMessage", within=10)
            del fake.delays["chat.postMessage"]  # the card's post is slow, later ones are not
            fake.delays["users.info"] = 1.0
            lookups = len(fake.find("users.info"))
            reaction = asyncio.create_task(event(session, leanon.base,
                                                 payload("event_reaction_added")))
            await fake.wait_for("users.info", count=lookups + 1, within=10)
            started = time.monotonic()
            leanon.signal(signal.SIGTERM)
            assert await reaction == 200  # the request in flight was finished, not dropped
            code = await leanon.wait(within=12)
            elapsed = time.monotonic() - started
    finally:
        await leanon.stop()
        await discord.stop()
    assert code == 0, leanon.stderr()
    assert elapsed < 10
    assert len(fake.posts(CHANNEL)) == 1
    assert fake.find("response_url"), "the asker's private answer went out before exit"
    assert discord.gateway.sessions == [] and len(discord.gateway.closed) == 1
    with sqlite3.connect(tmp_path / "run.db") as db:
        assert db.execute("SELECT count(*) FROM thanks").fetchone() == (1,)
        # The card's post was answered after SIGTERM, and leanon waited to record it.
        assert db.execute("SELECT count(*) FROM asks WHERE message_id IS NOT NULL").fetchone() == (1,)
    events = [entry["event"] for entry in leanon.logs()]
    assert events.index("leanon stopped") > events.index("leanon is shutting down")


class HangingSlack(FakeSlack):
    """The fake Slack, but chat.postMessage hangs until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage":
            self.arrived.set()
            await self.release.wait()
        return await super()._api(request)


async def test_work_that_never_ends_does_not_hold_shutdown_past_10_seconds(tmp_path: Path) -> None:
    fake = await HangingSlack().start()
    env = leanon_env(f"sqlite:///{tmp_path / 'run.db'}", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                     LEANON_PORT=str(free_port()))
    leanon = await LeanonProcess(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as session:
            await leanon.wait_ready(session)
            assert await command(session, leanon.base, fake, "/ask",
                                 "Can someone review the billing migration?") == 200
            await asyncio.wait_for(fake.arrived.wait(), 10)
            started = time.monotonic()
            code = await leanon.terminate(within=15)
            elapsed = time.monotonic() - started
    finally:
        fake.release.set()
        await leanon.stop()
        await fake.stop()
    assert code == 0 and elapsed < 10, (elapsed, leanon.stderr())
    assert any("still running at shutdown" in e["event"] for e in leanon.logs())

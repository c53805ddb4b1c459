"""Readiness follows the Discord gateway: not ready until every shard is connected."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.discord import LeanonClient, run_discord
from bot.app import bootstrap
from bot.config import Config
from tests.discord.discord_testing import settings_for
from tests.discord.fake_discord import FakeDiscord
from tests.slack.slack_testing import MovableClock


async def test_the_discord_check_says_connecting_then_ok_then_closed(tmp_path: Path) -> None:
    fake = await FakeDiscord().start()
    seen: list[str | None] = []
    clients: list[LeanonClient] = []

    def on_login(client: LeanonClient) -> None:
        clients.append(client)
        seen.append(client.connection_problem())  # logged in, gateway not yet connected

    config = Config(_env_file=None, database_url=f"sqlite:///{tmp_path}/leanon.db")  # type: ignore[call-arg]
    try:
        async with bootstrap(config, clock=MovableClock()) as runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(run_discord(runtime.service, runtime.router,
                                                   settings_for(fake), stop, on_login=on_login))
            await fake.gateway.wait_ready(1)
            [client] = clients
            for _ in range(300):
                if client.connection_problem() is None:
                    break
                await asyncio.sleep(0.01)
            seen.append(client.connection_problem())
            stop.set()
            await asyncio.wait_for(task, 5)
            seen.append(client.connection_problem())
    finally:
        await fake.stop()
    assert seen == ["connecting to the gateway", None, "closed"]

"""Fixtures: a fake Discord on 127.0.0.1 and leanon's Discord adapter running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord_testing import ALICE, BOB, CAROL, OTHER_BOT, Harness, running, user
from fake_discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    discord_ = await FakeDiscord().start()
    for user_id in (ALICE, BOB, CAROL, OTHER_BOT):
        discord_.users[user_id] = user(user_id)
    yield discord_
    await discord_.stop()


@pytest.fixture
async def leanon(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Harness]:
    async with running(tmp_path, fake) as harness:
        yield harness

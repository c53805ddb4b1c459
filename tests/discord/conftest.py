"""Fixtures: a fake Discord on 127.0.0.1 and leanon's Discord adapter running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord.discord_testing import Harness, running, started
from tests.discord.fake_discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with started(FakeDiscord()) as discord_:
        yield discord_


@pytest.fixture
async def leanon(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Harness]:
    async with running(tmp_path, fake) as harness:
        yield harness

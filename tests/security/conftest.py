"""Fixtures for the security suite: leanon's real Slack and Discord adapters against the
local fakes (127.0.0.1 only), on SQLite, with every outbound payload recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord.discord_testing import started
from tests.security.security_testing import (
    GUILD_B,
    RecordingDiscord,
    RecordingSlack,
    SlackStack,
    slack_stack,
)
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await RecordingSlack().start()
    yield slack
    await slack.stop()


@pytest.fixture
async def slack(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[SlackStack]:
    """leanon in Slack HTTP mode with one bot token (the production aiohttp app)."""
    async with slack_stack(fake, tmp_path) as stack:
        yield stack


@pytest.fixture
async def installs(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[SlackStack]:
    """leanon in Slack HTTP mode with OAuth installs (no bot token)."""
    async with slack_stack(fake, tmp_path, oauth=True) as stack:
        yield stack


@pytest.fixture
async def discord_fake() -> AsyncIterator[RecordingDiscord]:
    """A fake Discord with two servers (the second one: GUILD_B)."""
    from tests.discord.fake_discord import GUILD

    async with started(RecordingDiscord(guild_ids=(GUILD, GUILD_B))) as fake_:
        yield fake_

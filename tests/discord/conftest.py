"""Fixtures: a fake Discord on 127.0.0.1 and leanon's Discord adapter running against it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from discord_testing import ALICE, BOB, CAROL, OTHER_BOT, Harness, running, user
from fake_discord import FakeDiscord

LOCAL = {"127.0.0.1", "localhost", "::1", None}


@pytest.fixture(autouse=True)
def only_local_traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to resolve a real host (discord.com, a gateway) fails the test."""
    resolve = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOCAL:
            raise AssertionError(f"a test tried to reach {host!r}; only 127.0.0.1 is allowed")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    yield


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

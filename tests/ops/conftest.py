"""Fixtures for the operations tests: the fake Slack (and the fake Discord's helpers) on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for helpers in ("slack", "discord", "ops"):
    if str(TESTS / helpers) not in sys.path:
        sys.path.append(str(TESTS / helpers))

from fake_slack import FakeSlack  # noqa: E402 - the path above first


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    yield slack
    await slack.stop()

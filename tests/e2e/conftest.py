"""End-to-end tests: real `leanon run` processes, the fake Slack, the test PostgreSQL server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for helpers in ("slack", "ops"):
    if str(TESTS / helpers) not in sys.path:
        sys.path.append(str(TESTS / helpers))

from replica_testing import ReplicaSlack  # noqa: E402 - the path above first


@pytest.fixture
async def fake() -> AsyncIterator[ReplicaSlack]:
    slack = await ReplicaSlack().start()
    yield slack
    await slack.stop()

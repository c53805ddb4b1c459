"""End-to-end tests: real `leanon run` processes, the fake Slack, the test PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.replica_testing import ReplicaSlack


@pytest.fixture
async def fake() -> AsyncIterator[ReplicaSlack]:
    slack = await ReplicaSlack().start()
    yield slack
    await slack.stop()

"""Fixtures shared by every test directory: a PostgreSQL server for the tests that need one.

A fresh database `leanon_test_<hex>` is created through the server named by
`LEANON_TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/test) and dropped
at the end of the run. When the server is unreachable the PostgreSQL tests are skipped
with the reason, except when `CI=true`: then they fail.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from adapters.slack.auth import close_shared_session
from tests.pg_testing import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV, PostgresServer, asyncpg_dsn, unreachable

LOCAL = {"127.0.0.1", "localhost", "::1", None}


@pytest.fixture(autouse=True)
def only_local_traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Resolving any real host (slack.com, discord.com, a gateway, a response_url at
    hooks.slack.com) fails the test: every test talks to 127.0.0.1 only."""
    resolve = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOCAL:
            raise AssertionError(f"a test tried to reach {host!r}; only 127.0.0.1 is allowed")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    yield


@pytest_asyncio.fixture(autouse=True)
async def _slack_connections_closed() -> AsyncIterator[None]:
    """Each test closes the Slack Web API's pooled connections it opened (as `leanon run`
    does at exit), so that no test leaves an open session behind."""
    yield
    await close_shared_session()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_server() -> AsyncIterator[PostgresServer]:
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
        await connection.close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        unreachable(url, error)
    server = PostgresServer(url)
    try:
        yield server
    finally:
        await server.drop_databases()


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty PostgreSQL database (not migrated) for one test."""
    return await postgres_server.create_database()

"""Fixtures for the storage tests: every test runs on SQLite and on PostgreSQL.

The PostgreSQL server fixture (`postgres_server`) lives in tests/conftest.py.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage import SqlStore, create_engine, upgrade
from storage.models import Base
from tests.pg_testing import PostgresServer

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_migrated(postgres_server: PostgresServer) -> str:
    """The URL of the run's PostgreSQL database, migrated to head."""
    url = await postgres_server.create_database()
    await upgrade(url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for every test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "leanon.db"
    await upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database a test runs on: sqlite, or postgresql (marked `postgres`)."""
    return str(request.param)


@pytest.fixture
def migrated_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated database; its rows may be left from another test."""
    if backend == "sqlite":
        path = tmp_path / "leanon.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return str(request.getfixturevalue("postgres_migrated"))


@pytest_asyncio.fixture
async def database_url(migrated_database: str) -> str:
    """The URL of a migrated, empty database."""
    if migrated_database.startswith("postgresql"):
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        engine = create_engine(migrated_database)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()
    return migrated_database


@pytest.fixture
def blank_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database with no tables at all (for the migration tests)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(request.getfixturevalue("postgres_scratch_name"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_scratch_name(postgres_server: PostgresServer) -> str:
    url = await postgres_server.create_database()
    return str(make_url(url).database)


@pytest_asyncio.fixture
async def blank_database_url(blank_database: str) -> str:
    """`blank_database`, emptied of whatever an earlier test left."""
    if blank_database.startswith("postgresql"):
        engine = create_engine(blank_database)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()
    return blank_database


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    async with SqlStore.from_url(database_url) as opened:
        yield opened


@pytest_asyncio.fixture
async def other_store(database_url: str) -> AsyncIterator[SqlStore]:
    """A second store on the same database: another process, as far as the database knows."""
    async with SqlStore.from_url(database_url) as opened:
        yield opened

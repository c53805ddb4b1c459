"""The PostgreSQL server the tests use (see tests/conftest.py for the fixtures)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL_ENV = "LEANON_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"



@dataclass
class PostgresServer:
    """The server the tests use, and the databases they created on it."""

    admin_url: str
    created: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(False)

    async def create_database(self) -> str:
        """A new, empty database; its URL. Dropped at the end of the run."""
        name = f"leanon_test_{secrets.token_hex(6)}"
        connection = await asyncpg.connect(asyncpg_dsn(self.admin_url), timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return self.url(name)

    async def drop_databases(self) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.admin_url), timeout=10)
        try:
            for name in self.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def unreachable(url: str, error: BaseException) -> None:
    where = make_url(url)
    message = (
        f"PostgreSQL at {where.host}:{where.port or 5432} unreachable "
        f"({type(error).__name__}: {error}); set {POSTGRES_URL_ENV} or start it"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)

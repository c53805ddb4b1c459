"""Alembic's environment for leanon.

`storage.migrate` passes an open connection in `config.attributes["connection"]`;
the `alembic` command line gets one from `DATABASE_URL` (or `sqlalchemy.url`).
Either way the whole upgrade is one transaction, PostgreSQL replicas take an advisory
lock so that only one migrates at a time, and SQLite runs with foreign keys off
(batch table rebuilds must not cascade) and checks them before committing.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import create_engine, database_url
from storage.models import Base, in_models

MIGRATION_LOCK = 0x6C65616E6F6E  # "leanon"

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations inside the connection's transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=in_models,  # the full-text search is the migrations' alone
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration broke {len(broken)} foreign keys: {broken[:5]}")


def _url() -> str:
    return database_url(os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url", ""))


async def _run_from_command_line() -> None:
    engine = create_engine(_url(), foreign_keys=False)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given_connection = config.attributes.get("connection")
if given_connection is not None:
    run_migrations(given_connection)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        _run_offline()
    else:
        asyncio.run(_run_from_command_line())

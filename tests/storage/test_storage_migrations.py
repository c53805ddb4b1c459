"""Alembic migrations on SQLite and PostgreSQL: stairway, schema = models, replicas."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

import storage
from bot.domain import Platform, WorkspaceRef
from storage import SqlStore, create_engine, current_revision, downgrade, head_revision, upgrade
from storage.migrate import HEAD, alembic_config
from storage.models import Base, in_models, is_full_text

REPO_ROOT = Path(storage.__file__).resolve().parent.parent


def _revisions_oldest_first() -> list[Script]:
    script = ScriptDirectory.from_config(alembic_config())
    return list(reversed(list(script.walk_revisions("base", "heads"))))


async def _inspect(url: str, look: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    names = await _inspect(url, lambda connection: inspect(connection).get_table_names())
    return {name for name in names if not is_full_text(name)}


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": in_models})
    return list(compare_metadata(context, Base.metadata))


def test_revisions_form_one_line() -> None:
    revisions = _revisions_oldest_first()
    assert revisions, "no migrations found"
    assert revisions[0].down_revision is None
    for previous, revision in itertools.pairwise(revisions):
        assert revision.down_revision == previous.revision
    assert revisions[-1].revision == head_revision()
    assert head_revision() == HEAD, "a new migration: set storage.migrate.HEAD to its revision"


async def test_the_default_upgrade_brings_a_database_behind_to_head(blank_database_url: str) -> None:
    """A start reads the revision without Alembic; one behind still gets migrated."""
    await upgrade(blank_database_url, "0015")
    await upgrade(blank_database_url)
    assert await current_revision(blank_database_url) == HEAD
    assert await _inspect(blank_database_url, _schema_diff) == []


async def test_stairway_every_revision_up_down_and_up_again(blank_database_url: str) -> None:
    url = blank_database_url
    for revision in _revisions_oldest_first():
        await upgrade(url, revision.revision)
        assert await current_revision(url) == revision.revision
        await downgrade(url, "-1")
        assert await current_revision(url) == revision.down_revision
        await upgrade(url, revision.revision)
        assert await current_revision(url) == revision.revision
    await downgrade(url, "base")
    assert await _tables(url) <= {"alembic_version"}


async def test_the_migrated_schema_is_the_models(blank_database_url: str) -> None:
    await upgrade(blank_database_url)
    assert await _inspect(blank_database_url, _schema_diff) == []
    assert await _tables(blank_database_url) == set(Base.metadata.tables) | {"alembic_version"}


async def test_upgrade_twice_is_harmless(blank_database_url: str) -> None:
    assert await current_revision(blank_database_url) is None
    await upgrade(blank_database_url)
    await upgrade(blank_database_url)
    assert await current_revision(blank_database_url) == head_revision()


async def test_concurrent_upgrades_in_one_process_take_turns(blank_database_url: str) -> None:
    await asyncio.gather(*(upgrade(blank_database_url) for _ in range(3)))
    assert await current_revision(blank_database_url) == head_revision()


async def test_replicas_starting_together_migrate_once(blank_database_url: str) -> None:
    """Separate processes, as replicas are: the database's lock makes them take turns."""
    code = "import asyncio, sys, storage; asyncio.run(storage.upgrade(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, blank_database_url, env=env, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    results = [await replica.communicate() for replica in replicas]
    errors = [
        stderr.decode() for (_, stderr), replica in zip(results, replicas, strict=True) if replica.returncode
    ]
    assert errors == []
    assert await current_revision(blank_database_url) == head_revision()
    assert await _inspect(blank_database_url, _schema_diff) == []


async def test_migrations_do_not_depend_on_the_working_directory(
    blank_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    await upgrade(blank_database_url)
    assert await current_revision(blank_database_url) == head_revision()


async def test_held_asks_keep_every_other_rule_of_the_asks_table(blank_database_url: str) -> None:
    """0014 lets `asks.status` be `held` (SQLite rebuilds the table for it): any other
    status is still refused, and an ask's id is still never reused."""
    url = blank_database_url
    await upgrade(url, "0013")
    ask = ("INSERT INTO asks (platform, workspace_id, channel_id, asker_id, text, anonymous, "
           "status, created_at) VALUES ('slack', 'T1', 'C1', 'U1', '?', false, :status, "
           "'2026-12-01 09:00:00+00')")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for _ in range(5):
                await connection.execute(text(ask), {"status": "open"})
            await connection.execute(text("DELETE FROM asks WHERE id >= 4"))
        await upgrade(url)
        async with engine.begin() as connection:
            await connection.execute(text(ask), {"status": "held"})
            assert (await connection.execute(text("SELECT max(id) FROM asks"))).scalar() == 6
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text(ask), {"status": "waiting"})
    finally:
        await engine.dispose()


async def test_answers_remembered_before_0016_are_found_by_their_stored_words(
        blank_database_url: str) -> None:
    """0016 keeps PostgreSQL's words of each answer in a generated column: answers already
    there get theirs, and a changed note changes them."""
    url = blank_database_url
    await upgrade(url, "0015")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO answers (platform, workspace_id, question, note, private, created_at, "
                "updated_at) "
                "VALUES ('slack', 'T1', 'The VPN keeps disconnecting', 'Update the client', false, "
                "'2026-12-01 09:00:00+00', '2026-12-01 09:00:00+00')"))
        await upgrade(url)
        store = SqlStore.from_url(url)
        try:
            workspace = WorkspaceRef(Platform.SLACK, "T1")
            async with store.unit_of_work() as uow:
                [found] = await uow.answers.keyword_search(workspace, "disconnects", None, 5)
                assert await uow.answers.keyword_search(workspace, "client", None, 5) == [found]
                await uow.answers.set_note(found, "Ask the helpdesk", None,
                                           datetime(2026, 12, 2, tzinfo=UTC))
                await uow.commit()
            async with store.unit_of_work() as uow:
                assert await uow.answers.keyword_search(workspace, "helpdesk", None, 5) == [found]
                assert await uow.answers.keyword_search(workspace, "client", None, 5) == []
        finally:
            await store.close()
        await downgrade(url, "0015")
        await upgrade(url)
    finally:
        await engine.dispose()

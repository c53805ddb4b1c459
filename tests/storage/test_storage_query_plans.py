"""The weekly numbers read a channel's slice of an index, never a table or a whole workspace.

They must stay fast with a million thanks (see storage/README.md for the timings and
plans on a seeded database). Here a smaller database is seeded and analysed, every
statement `channel_week` and `thanked` send is captured and explained with the same
parameters, and every access to asks, help_offers and thanks must be an index search
narrowed to the channel, the ask or the asker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from bot.app import import_answers_file
from bot.config import Config
from bot.domain import InsightWindow, NewAnswer, NewInboxItem, Platform, WorkspaceRef
from storage import SqlStore
from storage.engine import create_engine
from storage.models import AskRow, HelpOfferRow, ThanksRow
from tests.storage.storage_testing import T0, WORKSPACE, a_schedule, selects_sent

TABLES = ("asks", "help_offers", "thanks")
NARROWED = re.compile(r"(channel_id|ask_id|asker_id)\b")  # message_channel_id too
WORKSPACES, CHANNELS, ASKS, THANKS = 4, 7, 3_000, 12_000


async def _seed(store: SqlStore) -> None:
    def workspace(n: int) -> dict[str, str]:
        return {"platform": "slack", "workspace_id": f"T{n % WORKSPACES}"}

    asks = [
        {
            **workspace(n),
            "channel_id": f"C{n % CHANNELS}",
            "asker_id": f"U{n % 97}",
            "text": "?",
            "anonymous": False,
            "status": "resolved" if n % 3 == 0 else "open",
            "created_at": T0 - timedelta(minutes=37 * n),
            "closed_at": T0 - timedelta(minutes=37 * n - 120) if n % 3 == 0 else None,
        }
        for n in range(1, ASKS + 1)
    ]
    thanks = [
        {
            **workspace(n),
            "giver_id": f"U{n % 97}",
            "receiver_id": f"U{n % 89}",
            "source": "command",
            "message_channel_id": f"C{n % CHANNELS}",
            "created_at": T0 - timedelta(minutes=7 * n),
        }
        for n in range(1, THANKS + 1)
    ]
    async with store.engine.begin() as connection:
        await connection.execute(insert(AskRow), asks)
        ask_ids = (await connection.execute(text("SELECT id, created_at FROM asks"))).all()
        offers = [
            {"ask_id": ask_id, "helper_id": f"U{ask_id % 89}", "created_at": T0 - timedelta(days=400)}
            for ask_id, _ in ask_ids
        ]
        await connection.execute(insert(HelpOfferRow), offers)
        await connection.execute(insert(ThanksRow), thanks)
    async with store.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def _statements(store: SqlStore) -> list[tuple[str, Any]]:
    workspace = WorkspaceRef(Platform.SLACK, "T1")
    since, until = T0 - timedelta(days=7), T0
    with selects_sent(store) as captured:
        async with store.unit_of_work() as uow:
            numbers = await uow.stats.channel_week(workspace, "C3", since, until)
            thanked = await uow.stats.thanked(workspace, "C3", since, until)
    assert numbers.asks_opened > 0 and numbers.thanks_given > 0 and thanked  # real work was planned
    return captured


def _sqlite_accesses(plan: list[str]) -> Iterator[tuple[str, str]]:
    """(table access, its condition) per SQLite EXPLAIN QUERY PLAN line reading a table."""
    for line in plan:
        found = re.match(r"(SCAN|SEARCH) (\w+)", line)
        if found and found.group(2).startswith(TABLES):
            yield line, line if found.group(1) == "SEARCH" else ""


def _postgres_accesses(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(table access, its index condition) per node of a PostgreSQL JSON plan reading a table."""
    if node.get("Relation Name") in TABLES:
        condition = node.get("Index Cond", "")
        if node["Node Type"] == "Bitmap Heap Scan":
            condition = " ".join(child.get("Index Cond", "") for child in node.get("Plans", []))
        yield f"{node['Node Type']} on {node['Relation Name']} {node.get('Index Name', '')}", condition
    for child in node.get("Plans", []):
        yield from _postgres_accesses(child)


async def _accesses(store: SqlStore, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    sqlite = store.engine.dialect.name == "sqlite"
    accesses: list[tuple[str, str]] = []
    async with store.engine.connect() as connection:
        for statement, parameters in statements:
            if sqlite:
                rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                accesses += _sqlite_accesses([str(row[-1]) for row in rows])
            else:
                rows = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
                [[plan]] = rows.all()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                accesses += _postgres_accesses(plan[0]["Plan"])
    return accesses


async def test_the_weekly_numbers_search_a_channels_slice_of_an_index(store: SqlStore) -> None:
    await _seed(store)
    accesses = await _accesses(store, await _statements(store))
    assert {table for table in TABLES if any(table in access for access, _ in accesses)} == set(TABLES)
    wide = [access for access, condition in accesses if not NARROWED.search(condition)]
    assert wide == [], accesses


async def plans_of(store: SqlStore, statements: list[tuple[str, Any]], *,
                   only_indexes: bool = False) -> list[str]:
    """Each statement's plan as text, with PostgreSQL told to price scans out (the tables
    here are tiny, so it would rightly scan them); `only_indexes`: bitmap scans and joins
    that read a whole side too, so that it shows whether an index-only scan can answer."""
    sqlite = store.engine.dialect.name == "sqlite"
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (COSTS OFF) "
    plans = []
    async with store.engine.connect() as connection:
        if not sqlite:
            await connection.execute(text("SET enable_seqscan = off"))
            if only_indexes:
                for kind in ("bitmapscan", "mergejoin", "hashjoin"):
                    await connection.execute(text(f"SET enable_{kind} = off"))
        for statement, parameters in statements:
            rows = await connection.exec_driver_sql(explain + statement, parameters)
            plans.append("\n".join(str(row[-1]) for row in rows))
    return plans


async def test_deliveries_and_schedules_are_found_by_key(store: SqlStore) -> None:
    schedule = await a_schedule(store)
    with selects_sent(store) as selects:
        async with store.unit_of_work() as uow:
            await uow.deliveries.get(schedule.id, "2026-W10")
            await uow.schedules.get(WORKSPACE, "C-help")
    for plan in await plans_of(store, selects):
        assert "Seq Scan" not in plan and not re.search(r"^SCAN \w+$", plan, re.M), plan


async def test_a_claim_reads_only_the_queue_index_of_items_not_done(store: SqlStore) -> None:
    """With thousands of items waiting, reading rows for their source and lease made each
    claim ~25 ms on SQLite's one writer; the partial queue index answers it alone."""
    items = [NewInboxItem(source="slack" if n % 4 else "outbox", key=f"k{n}",
                          workspace=WorkspaceRef(Platform.SLACK, f"T{n % 3}"), kind="ask",
                          payload="{}", received_at=T0) for n in range(400)]
    async with store.unit_of_work() as uow:
        await uow.inbox.put_many(items)
        await uow.inbox.complete(list(range(1, 101)), T0)
        await uow.commit()
    with selects_sent(store) as selects, selects_sent(store, "UPDATE") as updates:
        async with store.unit_of_work() as uow:
            assert len(await uow.inbox.claim(["slack"], "me", T0, T0 + timedelta(seconds=30), 8)) == 8
            assert await uow.inbox.waiting(["outbox"]) > 0
    assert len(selects) >= 3  # the workspaces, one workspace's items, the count
    for plan in await plans_of(store, selects):
        assert "ix_inbox_items_queue" in plan, plan
    # The chosen items are taken by their ids (with a source condition PostgreSQL read the
    # whole queue for each chosen id: 3 s a claim with 3,700 items waiting).
    [plan] = await plans_of(store, updates)
    assert ("PRIMARY KEY" in plan or "pk_inbox_items" in plan) and "Semi Join" not in plan, plan


async def test_a_gathering_note_is_rewritten_by_its_id(store: SqlStore) -> None:
    """The conditional rewrite of thanks notes (the answer's path of a batch of reactions)
    finds and locks its items by primary key, however many items wait."""
    items = [NewInboxItem(source="outbox", key=f"k{n}", workspace=WORKSPACE, kind="note",
                          payload="{}", received_at=T0, group=f"note:U{n % 50}")
             for n in range(2000)]
    async with store.unit_of_work() as uow:
        ids = await uow.inbox.put_many(items)
        await uow.commit()
    async with store.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    with selects_sent(store, "UPDATE") as updates:
        async with store.unit_of_work() as uow:
            assert await uow.inbox.replace_payloads(
                {i: ("{}", '{"lines": []}') for i in ids[:3] if i is not None}) == set(ids[:3])
    [plan] = await plans_of(store, updates)
    by_id = ("USING INTEGER PRIMARY KEY", "Index Cond: (id = ANY", "Index Cond: (id = \"ANY")
    assert sum(plan.count(k) for k in by_id) == 2, plan  # the items locked, the items changed


async def test_the_search_counts_and_catches_up_from_its_index_never_the_blobs(
        store: SqlStore) -> None:
    """Counting a workspace's vectors read every row's blob (some 2.4 KB each): 20 ms at
    10,000 answers on SQLite, each search. The (workspace, model, time) index answers it."""
    async with store.unit_of_work() as uow:
        for n in range(300):
            made = await uow.answers.add(NewAnswer(WORKSPACE, f"question {n}", T0, note="note"))
            await uow.answers.set_vector(made.id, "m1", b"\x00" * 2400, T0,
                                         T0 + timedelta(seconds=n))
        await uow.commit()
    async with store.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    with selects_sent(store) as selects:
        async with store.unit_of_work() as uow:
            assert await uow.answers.vector_state(WORKSPACE, "m1") == (
                300, T0 + timedelta(seconds=299))
            page = await uow.answers.vectors(WORKSPACE, "m1", T0 + timedelta(seconds=290), 0, 500)
            assert len(page) == 9
    if store.engine.dialect.name != "sqlite":
        return  # PostgreSQL plans a 300-row table as it likes; its pages hold no blobs inline
    [count_plan, catch_up_plan] = await plans_of(store, selects)
    index = "ix_answers_platform_workspace_id_vector_model_vector_at"
    assert f"COVERING INDEX {index}" in count_plan, count_plan  # the rows are never read
    assert f"INDEX {index}" in catch_up_plan, catch_up_plan
    assert not re.search(r"^SCAN \w+$", catch_up_plan, re.M), catch_up_plan


async def test_full_text_search_on_postgresql_ranks_stored_words_and_parses_no_answer(
        store: SqlStore) -> None:
    """Ranking by the indexed expression parsed every answer found again (some 20 us each),
    and every answer of the workspace where the planner took the workspace's index: 190 ms
    a search at 10,000 answers. The words are a stored column (migration 0016), indexed
    without a pending list (0017)."""
    if store.engine.dialect.name == "sqlite":
        return  # FTS5 keeps its own index and ranks in it
    async with store.unit_of_work() as uow:
        for n in range(50):
            await uow.answers.add(NewAnswer(WORKSPACE, f"staging deploy {n} fails", T0,
                                            note=f"rotate the token {n}"))
        await uow.commit()
    with selects_sent(store) as selects:
        async with store.unit_of_work() as uow:
            found = await uow.answers.keyword_search(WORKSPACE, "deploys token", None, 10)
    assert len(found) == 10
    [plan] = await plans_of(store, selects)
    assert "words @@" in plan and "to_tsvector" not in plan, plan
    # Through the words' GIN index, or the workspace's (a table this small): no parsing.
    [(statement, parameters)] = selects
    async with store.engine.connect() as connection:
        plans = []
        for off in ("enable_indexscan", "enable_bitmapscan"):
            await connection.execute(text(f"SET {off} = off"))
            rows = await connection.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters)
            plans.append("\n".join(str(row[0]) for row in rows))
            await connection.execute(text(f"RESET {off}"))
        index = await connection.scalar(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_answers_words'"))
        options = await connection.scalar(text(
            "SELECT reloptions FROM pg_class WHERE relname = 'ix_answers_words'"))
    assert all("to_tsvector" not in p for p in plans), plans
    assert index is not None and "gin (words)" in index, index
    # New answers go into the index at once (migration 0017): a pending list is read whole
    # at every search, and the planner, seeing one, scans the table instead.
    assert options == ["fastupdate=off"], options


async def test_an_import_has_postgresql_read_the_answers_statistics_at_once(
        database_url: str, tmp_path: Path) -> None:
    """Until autovacuum analyzes a table that grew from nothing, the planner takes it for a
    small one and reads the whole workspace for a full-text search (174 ms at 10,000
    answers just written, 30 ms analyzed): `leanon answers import` has it analyzed."""
    faq = tmp_path / "faq.jsonl"
    faq.write_text(json.dumps({"question": "How do I rotate the staging keys?",
                               "answer": "Run the rotate job"}) + "\n", encoding="utf-8")

    async def analyzed() -> Any:
        if not database_url.startswith("postgresql"):
            return None
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.scalar(text(
                    "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'answers'"))
        finally:
            await engine.dispose()

    before = await analyzed()
    assert await import_answers_file(Config(database_url=database_url), faq, WORKSPACE) == (1, 0)
    after = await analyzed()
    if database_url.startswith("postgresql"):
        assert after is not None and (before is None or after > before), (before, after)
    # Nothing new to add: nothing to analyze, and nothing else changes.
    assert await import_answers_file(Config(database_url=database_url), faq, WORKSPACE) == (0, 1)
    assert await analyzed() == after
    async with SqlStore.from_url(database_url) as store:
        with pytest.raises(ValueError, match="no table"):
            await store.gather_statistics("answers; DROP TABLE asks")


async def test_the_insights_page_reads_asks_offers_and_thanks_from_indexes_alone(
        store: SqlStore) -> None:
    """A workspace's 12 weeks may hold 23,000 asks, as many offers and 230,000 thanks: the
    page's pass over asks with their offers, and its counts of thanks and of asks resolved,
    read covering indexes and never visit a table (visiting asks and offers per row took a
    third of the page's time on SQLite; asks resolved, read for their channel, 10 ms).
    PostgreSQL may still visit offers (its planner weighs the visibility map), so there
    only asks and thanks are held to it."""
    await _seed(store)
    if store.engine.dialect.name != "sqlite":  # as autovacuum would: the visibility map
        async with store.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    workspace = WorkspaceRef(Platform.SLACK, "T1")
    with selects_sent(store, ("SELECT", "WITH")) as selects:  # WITH: counts channel by channel
        async with store.unit_of_work() as uow:
            tallies = await uow.insights.tallies(workspace, InsightWindow(T0, 12))
    assert tallies.asks and tallies.thanks and tallies.resolved  # real work was planned
    read = [(statement, parameters) for statement, parameters in selects
            if "help_offers" in statement or re.search(r"FROM thanks\b", statement)
            or "closed_at" in statement]
    plans = await plans_of(store, read, only_indexes=True)
    assert len(plans) >= 4 and any("help_offers" in plan for plan in plans), plans
    assert any("WITH RECURSIVE" in statement and "closed_at" in statement
               for statement, _ in read), read
    sqlite = store.engine.dialect.name == "sqlite"
    for plan in plans:
        for line in plan.splitlines():
            if sqlite and re.match(r"\s*(SCAN|SEARCH) (asks|help_offers|thanks)\b", line):
                assert "COVERING INDEX" in line, plan
            if not sqlite and re.search(r"Scan .*\bon (asks|thanks)\b", line):
                assert "Index Only Scan" in line, plan

"""What one batch of reactions costs the process: leanon's transaction beside the bare driver.

A reaction is recorded before its answer, in a batch with those beside it (`bot.groupcommit`):
one transaction that inserts the thanks and gathers the receiver's note in the outbox. Its
CPU is the answer path's largest share that grows with the number of batches, not of
reactions. This times, in one process, on a fresh PostgreSQL database (and a SQLite file):

- leanon: `bot.thanks.record_reactions` through the real store, batches of `--sizes`
  reactions (one giver, one receiver, a new message each: the shape of `slack_http.py
  --mix reactions`), so each batch inserts thanks and adds lines to the note gathering;
- SQLAlchemy alone: the same round trips (BEGIN, an INSERT … ON CONFLICT DO NOTHING
  RETURNING of one row per reaction, a SELECT … FOR UPDATE, an UPDATE … RETURNING, COMMIT)
  as text statements on a bare table, through SQLAlchemy's asyncpg dialect;
- asyncpg alone: the same statements, prepared, on the bare driver (PostgreSQL only).

CPU is the process's (`time.process_time`); wall includes the database's time.

    PYTHONPATH=. python benchmarks/reaction_batch.py [--sizes 1,16,32] [--batches 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from common import ScratchPostgres, machine
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import thanks
from bot.commands import Person, ReactionAdded
from bot.deps import Deps, NoDirectory, SystemClock
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from storage import SqlStore
from storage.engine import create_engine, database_url
from storage.migrate import upgrade

WARM_UP = 20
WORKSPACE = WorkspaceRef(Platform.SLACK, "T0001")
BARE_TABLE = "CREATE TABLE bench_rows (id SERIAL PRIMARY KEY, k TEXT UNIQUE, p TEXT)"
INSERT = "INSERT INTO bench_rows (k, p) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING k"
SELECT = "SELECT id, p FROM bench_rows WHERE k = 'note' FOR UPDATE"
UPDATE = "UPDATE bench_rows SET p = $1 WHERE id = $2 RETURNING id"


async def timed(batches: int, one: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    """(CPU ms, wall ms) per batch, after a warm-up."""
    for n in range(WARM_UP):
        await one(-1 - n)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(batches):
        await one(n)
    return ((time.process_time() - cpu) * 1000 / batches,
            (time.perf_counter() - wall) * 1000 / batches)


async def leanon(url: str, size: int, batches: int) -> tuple[float, float]:
    await upgrade(url)
    store = SqlStore(create_engine(url))
    deps = Deps(uow=store.urgent_unit_of_work, chat=None, directory=NoDirectory(),  # type: ignore[arg-type]
                clock=SystemClock(), timezone=ZoneInfo("UTC"), note_window=timedelta(seconds=60))
    serial = iter(range(10**9))

    async def one(_: int) -> None:
        await thanks.record_reactions([
            ReactionAdded(WORKSPACE, Actor("U0000GIVER", is_bot=False),
                          Person("U00RECEIVER", is_bot=False),
                          MessageRef("C0000000001", f"{1700000000 + next(serial)}.000100"),
                          "pray", thread_known=False)
            for _ in range(size)], deps)

    try:
        return await timed(batches, one)
    finally:
        await store.close()


async def sqlalchemy_alone(url: str, size: int, batches: int) -> tuple[float, float]:
    engine: AsyncEngine = create_async_engine(database_url(url))
    insert, select, update = (text(s.replace("$1", ":a").replace("$2", ":b"))
                              for s in (INSERT, SELECT, UPDATE))
    async with engine.begin() as conn:
        await conn.execute(text(BARE_TABLE))
        await conn.execute(text("INSERT INTO bench_rows (k, p) VALUES ('note', '')"))

    async def one(n: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(insert, [{"a": f"s{n}.{i}", "b": "v"} for i in range(size)])
            note = (await conn.execute(select)).one()
            await conn.execute(update, {"a": f"lines {n}", "b": note.id})

    try:
        return await timed(batches, one)
    finally:
        await engine.dispose()


async def asyncpg_alone(url: str, size: int, batches: int) -> tuple[float, float]:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(BARE_TABLE.replace("bench_rows", "bench_raw"))
        await connection.execute("INSERT INTO bench_raw (k, p) VALUES ('note', '')")
        insert, select, update = [await connection.prepare(s.replace("bench_rows", "bench_raw"))
                                  for s in (INSERT, SELECT, UPDATE)]

        async def one(n: int) -> None:
            async with connection.transaction():
                await insert.executemany([(f"r{n}.{i}", "v") for i in range(size)])
                note = await select.fetchrow()
                await update.fetch(f"lines {n}", note["id"])

        return await timed(batches, one)
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,16,32")
    parser.add_argument("--batches", type=int, default=500)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"# One batch of reactions ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC) "
          f"on {machine()}; {args.batches} batches each")
    print("\n| database | batch | leanon: CPU / wall ms a batch | CPU ms a reaction "
          "| SQLAlchemy alone: CPU / wall | asyncpg alone: CPU / wall |")
    print("|---|---:|---|---:|---|---|")
    for size in sizes:
        async with ScratchPostgres() as url:
            mine = await leanon(url, size, args.batches)
            library = await sqlalchemy_alone(url, size, args.batches)
            driver = await asyncpg_alone(url, size, args.batches)
        print(f"| PostgreSQL | {size} | {mine[0]:.2f} / {mine[1]:.2f} | {mine[0] / size:.3f} "
              f"| {library[0]:.2f} / {library[1]:.2f} | {driver[0]:.2f} / {driver[1]:.2f} |")
        with tempfile.TemporaryDirectory() as scratch:
            mine = await leanon(f"sqlite:///{Path(scratch) / 'leanon.db'}", size, args.batches)
        print(f"| SQLite | {size} | {mine[0]:.2f} / {mine[1]:.2f} | {mine[0] / size:.3f} | | |")


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark 4 of issue 7: members' stats, the leaderboard and the weekly post's numbers at scale.

Seeds 1,000,000 thanks, 100,000 asks and ~100,000 help offers over a year in 50 workspaces
(5 channels and 200 members each) into a fresh SQLite file and a fresh PostgreSQL database,
then times the real repositories (`storage.SqlStore` → `uow.stats`) with the arguments the
bot uses. `--scale 0.05` seeds 5 % of that for a quick run.

    PYTHONPATH=. python benchmarks/stats_at_scale.py [--scale 1] [--runs 200] [--db sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ScratchPostgres, machine, median, percentile
from sqlalchemy import insert, text

from bot.domain import Platform, WorkspaceRef
from bot.nudges import WINDOW
from bot.stats import LEADERBOARD_DAYS
from storage import SqlStore, upgrade
from storage.models import AskRow, HelpOfferRow, ThanksRow

WORKSPACES, CHANNELS, MEMBERS = 50, 5, 200
FULL_THANKS, FULL_ASKS = 1_000_000, 100_000
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
YEAR_MINUTES = 365 * 24 * 60
CHUNK = 20_000


def _ws(n: int) -> dict[str, str]:
    return {"platform": "slack", "workspace_id": f"T{n % WORKSPACES:04d}"}


async def seed(store: SqlStore, thanks: int, asks: int) -> float:
    """Bulk-insert the data with SQLAlchemy core (executemany); the seconds it took."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    started = time.perf_counter()
    async with store.engine.begin() as connection:
        for first in range(1, asks + 1, CHUNK):
            ask_rows, offer_rows = [], []
            for n in range(first, min(first + CHUNK, asks + 1)):
                created = T0 - timedelta(minutes=rng.randrange(YEAR_MINUTES))
                resolved = n % 3 == 0
                offered = created + timedelta(minutes=rng.randrange(1, 240))
                ask_rows.append({
                    "id": n, **_ws(n), "channel_id": f"C{rng.randrange(CHANNELS)}",
                    "asker_id": f"U{rng.randrange(MEMBERS):04d}", "text": "How do I …?",
                    "tried": None, "anonymous": n % 10 == 0, "status": "resolved" if resolved else "open",
                    "created_at": created, "closed_at": created + timedelta(hours=3) if resolved else None,
                    "close_reason": None,
                    "message_channel_id": None, "message_id": None, "follow_up_at": None,
                    "first_offer_at": offered,
                })
                offer_rows.append({"ask_id": n, "helper_id": f"U{rng.randrange(MEMBERS):04d}",
                                   "created_at": offered})
            await connection.execute(insert(AskRow), ask_rows)
            await connection.execute(insert(HelpOfferRow), offer_rows)
        for first in range(1, thanks + 1, CHUNK):
            thanks_rows = []
            for n in range(first, min(first + CHUNK, thanks + 1)):
                channel = f"C{rng.randrange(CHANNELS)}"
                thanks_rows.append({
                    **_ws(n), "giver_id": f"U{rng.randrange(MEMBERS):04d}",
                    "receiver_id": f"U{rng.randrange(MEMBERS):04d}", "source": "reaction", "reason": None,
                    "message_channel_id": channel, "message_id": f"{1700000000 + n}.000100",
                    "emoji": "pray", "ask_id": None,
                    "created_at": T0 - timedelta(minutes=rng.randrange(YEAR_MINUTES)),
                    "retracted_at": T0 if n % 50 == 0 else None, "dedupe_key": f"r:{n}",
                })
            await connection.execute(insert(ThanksRow), thanks_rows)
    # What autovacuum does after a bulk load: statistics, and on PostgreSQL the visibility
    # map that lets a covering index be read alone.
    async with store.engine.connect() as connection:
        if store.engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
        else:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    return time.perf_counter() - started


Query = Callable[[SqlStore, random.Random], Awaitable[float]]


def _pick(rng: random.Random) -> tuple[WorkspaceRef, str, str]:
    workspace = WorkspaceRef(Platform.SLACK, f"T{rng.randrange(WORKSPACES):04d}")
    return workspace, f"U{rng.randrange(MEMBERS):04d}", f"C{rng.randrange(CHANNELS)}"


async def member_stats(store: SqlStore, rng: random.Random) -> float:
    workspace, user, _ = _pick(rng)
    async with store.unit_of_work() as uow:
        started = time.perf_counter()
        await uow.stats.member_stats(workspace, user, T0 - timedelta(days=T0.weekday()))
        return time.perf_counter() - started


async def leaderboard(store: SqlStore, rng: random.Random) -> float:
    workspace, _, _ = _pick(rng)
    async with store.unit_of_work() as uow:
        started = time.perf_counter()
        await uow.stats.leaderboard(workspace, T0 - timedelta(days=LEADERBOARD_DAYS), set())
        return time.perf_counter() - started


async def channel_week(store: SqlStore, rng: random.Random) -> float:
    workspace, _, channel = _pick(rng)
    async with store.unit_of_work() as uow:
        started = time.perf_counter()
        await uow.stats.channel_week(workspace, channel, T0 - WINDOW, T0)
        return time.perf_counter() - started


async def thanked(store: SqlStore, rng: random.Random) -> float:
    workspace, _, channel = _pick(rng)
    async with store.unit_of_work() as uow:
        started = time.perf_counter()
        await uow.stats.thanked(workspace, channel, T0 - WINDOW, T0)
        return time.perf_counter() - started


async def weekly_post_numbers(store: SqlStore, rng: random.Random) -> float:
    """What one weekly post reads for its numbers: channel_week then thanked, one transaction."""
    workspace, _, channel = _pick(rng)
    async with store.unit_of_work() as uow:
        started = time.perf_counter()
        await uow.stats.channel_week(workspace, channel, T0 - WINDOW, T0)
        await uow.stats.thanked(workspace, channel, T0 - WINDOW, T0)
        return time.perf_counter() - started


QUERIES: dict[str, Query] = {
    "member_stats": member_stats,
    "leaderboard (30 days)": leaderboard,
    "channel_week": channel_week,
    "thanked": thanked,
    "weekly post numbers (channel_week + thanked)": weekly_post_numbers,
}


async def measure(store: SqlStore, runs: int) -> dict[str, list[float]]:
    rng = random.Random(11)  # noqa: S311 - which workspace/member to ask about
    results = {}
    for name, query in QUERIES.items():
        for _ in range(min(10, runs)):  # warm the caches and the pool
            await query(store, rng)
        results[name] = [await query(store, rng) for _ in range(runs)]
    return results


async def run_one(label: str, url: str, thanks: int, asks: int, runs: int) -> None:
    await upgrade(url)
    store = SqlStore.from_url(url)
    try:
        seconds = await seed(store, thanks, asks)
        print(f"\n## {label}: seeded {thanks:,} thanks, {asks:,} asks, {asks:,} offers in {seconds:.1f} s")
        results = await measure(store, runs)
    finally:
        await store.close()
    print("| query | median ms | p95 ms | max ms | runs | target < 20 ms median |")
    print("|---|---:|---:|---:|---:|---|")
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        met = "met" if median(ms) < 20 else "MISSED"
        print(f"| {name} | {median(ms):.2f} | {percentile(ms, 95):.2f} | {max(ms):.2f} | {len(ms)} | {met} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1M thanks / 100k asks")
    parser.add_argument("--runs", type=int, default=200, help="timed calls per query")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    args = parser.parse_args()
    thanks, asks = max(1, int(FULL_THANKS * args.scale)), max(1, int(FULL_ASKS * args.scale))
    runs = max(1, min(args.runs, 10_000))
    print(f"# stats at scale ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    await on_databases(args.db, lambda label, url: run_one(label, url, thanks, asks, runs))


async def on_databases(chosen: str, run: Callable[[str, str], Awaitable[None]]) -> None:
    """`run(label, url)` on a fresh SQLite file and/or a scratch PostgreSQL database, as
    `chosen` ("sqlite", "postgres" or both, comma-separated) says."""
    databases = [d.strip() for d in chosen.split(",")]
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory(prefix="leanon-bench-") as tmp:
            await run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    if "postgres" in databases:
        async with ScratchPostgres() as url:
            await run("PostgreSQL", url)


if __name__ == "__main__":
    asyncio.run(main())

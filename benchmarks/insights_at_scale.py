"""Issue 16's speed target: the insights page's server time with 1,000,000 thanks and
100,000 asks in the database.

Seeds the data of `stats_at_scale.py` (a year of asks, offers and thanks; `--workspaces`
of them, 50 by default, or 1 to put everything in one workspace) into a fresh SQLite file
and a fresh PostgreSQL database, then times what a page view costs the server: the core's
numbers (`bot.insights.insights`, through the real repositories) and the HTML with its
SVG charts (`adapters.web.insights.render`), for the default view (12 weeks, all
channels), one channel, and a year. Side by side: the weekly post's numbers of one channel
(`channel_week`), the cheapest page-like read leanon already had.

    PYTHONPATH=. python benchmarks/insights_at_scale.py [--scale 1] [--runs 30] [--workspaces 50]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

import stats_at_scale
from common import machine, median, percentile

from adapters.web.insights import render
from bot import insights
from bot.app import settle_heap
from bot.deps import Deps
from bot.domain import Platform, WorkspaceRef
from storage import SqlStore, upgrade

TARGET_MS = 300


class FixedClock:
    def now(self) -> datetime:
        return stats_at_scale.T0


class NoChat:
    """The page sends nothing."""


async def page(deps: Deps, workspace: WorkspaceRef, weeks: int, channel: str | None) -> float:
    started = time.perf_counter()
    numbers = await insights.insights(deps, workspace, weeks, channel)
    render(numbers)
    return time.perf_counter() - started


async def weekly(store: SqlStore, workspace: WorkspaceRef, channel: str) -> float:
    started = time.perf_counter()
    async with store.unit_of_work() as uow:
        await uow.stats.channel_week(workspace, channel, stats_at_scale.T0 - timedelta(days=7),
                                     stats_at_scale.T0)
    return time.perf_counter() - started


async def run_one(label: str, url: str, thanks: int, asks: int, runs: int) -> None:
    await upgrade(url)
    store = SqlStore.from_url(url)
    try:
        seconds = await stats_at_scale.seed(store, thanks, asks)
        print(f"\n## {label}: seeded {thanks:,} thanks, {asks:,} asks, {asks:,} offers in "
              f"{stats_at_scale.WORKSPACES} workspace(s) in {seconds:.1f} s")
        deps = Deps(uow=store.unit_of_work, reading_uow=store.reading_unit_of_work,  # as the server
                    chat=NoChat(), clock=FixedClock())  # type: ignore[arg-type]
        settle_heap()  # as `leanon run` does once it has started
        workspace = WorkspaceRef(Platform.SLACK, "T0000")
        views = {"12 weeks, all channels (the default)": (12, None),
                 "12 weeks, one channel": (12, "C1"), "52 weeks, all channels": (52, None)}
        results: dict[str, list[float]] = {}
        for name, (weeks, channel) in views.items():
            for _ in range(3):  # warm the caches and the pool
                await page(deps, workspace, weeks, channel)
            results[name] = [await page(deps, workspace, weeks, channel) for _ in range(runs)]
        for _ in range(3):
            await weekly(store, workspace, "C1")
        results["beside it: the weekly post's channel_week"] = [
            await weekly(store, workspace, "C1") for _ in range(runs)]
    finally:
        await store.close()
    print(f"| view | median ms | p95 ms | max ms | runs | target < {TARGET_MS} ms |")
    print("|---|---:|---:|---:|---:|---|")
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        met = ("" if name.startswith("beside") else
               "met" if percentile(ms, 95) < TARGET_MS else "MISSED")
        print(f"| {name} | {median(ms):.1f} | {percentile(ms, 95):.1f} | {max(ms):.1f} | "
              f"{len(ms)} | {met} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1M thanks / 100k asks")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    args = parser.parse_args()
    stats_at_scale.WORKSPACES = max(1, args.workspaces)
    thanks = max(1, int(stats_at_scale.FULL_THANKS * args.scale))
    asks = max(1, int(stats_at_scale.FULL_ASKS * args.scale))
    runs = max(1, min(args.runs, 1000))
    print(f"# insights at scale ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC) on {machine()}")
    await stats_at_scale.on_databases(
        args.db, lambda label, url: run_one(label, url, thanks, asks, runs))


if __name__ == "__main__":
    asyncio.run(main())

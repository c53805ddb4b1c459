"""`leanon run` killed (SIGKILL) in the middle of posting 200 weekly posts (on SQLite twice,
early and midway; on PostgreSQL midway) and started again on the same database: every
channel still gets its post exactly once.

The fake Slack keeps each weekly post at once but answers 0.2 s later, so at every kill
some posts are out in the channel while leanon has not recorded them. A restarted leanon's
outbox takes those posts over once their lease has run out (moved back here instead of
waiting its 30 seconds) and finds them in the channel's history instead of posting again.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import SqlStore
from storage.models import DeliveryRow, InboxItemRow, ScheduleRow
from tests.e2e.replica_testing import ReplicaSlack, seed_due_schedules
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.slack_testing import SECRET

CHANNELS = [f"CKILL{n:04d}" for n in range(200)]
EARLY, MIDWAY = 20, 100  # weekly posts Slack has received when leanon is killed
RECOVERING = "recovering the weekly post"


@pytest.fixture
async def fake() -> AsyncIterator[ReplicaSlack]:
    slack = ReplicaSlack()
    await slack.start()
    slack.post_delay = 0.2
    yield slack
    await slack.stop()


def leanon(database_url: str, fake: ReplicaSlack, cwd: Path) -> LeanonProcess:
    env = leanon_env(database_url, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_API_URL=fake.api_url, LEANON_PORT=str(free_port()))
    return LeanonProcess(env, cwd)


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll `check()` every 20 ms until it is true."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.02)


async def deliveries(database_url: str) -> dict[str, tuple[str, str | None]]:
    """Each channel's delivery: (status, Slack message ts)."""
    store = SqlStore.from_url(database_url)
    try:
        async with AsyncSession(store.engine) as session:
            rows = await session.execute(
                select(ScheduleRow.channel_id, DeliveryRow.status, DeliveryRow.message_id)
                .join(DeliveryRow, DeliveryRow.schedule_id == ScheduleRow.id))
            return {channel: (status, ts) for channel, status, ts in rows}
    finally:
        await store.close()


async def lease_run_out(database_url: str) -> int:
    """Move the lease of every weekly post the killed process was sending back past its
    end; how many there were."""
    store = SqlStore.from_url(database_url)
    try:
        async with AsyncSession(store.engine) as session:
            sending = (await session.scalars(
                select(InboxItemRow).where(InboxItemRow.kind == "weekly_post",
                                           InboxItemRow.done_at.is_(None),
                                           InboxItemRow.owner.is_not(None)))).all()
            for item in sending:
                assert item.lease_until is not None
                item.lease_until -= timedelta(minutes=5)
            await session.commit()
            return len(sending)
    finally:
        await store.close()


async def test_weekly_posts_killed_twice_mid_fan_out_go_out_once_per_channel_on_sqlite(
        fake: ReplicaSlack, tmp_path: Path) -> None:
    await killed(f"sqlite:///{tmp_path}/leanon.db", fake, tmp_path, (EARLY, MIDWAY))


@pytest.mark.postgres
async def test_weekly_posts_killed_mid_fan_out_go_out_once_per_channel_on_postgresql(
        postgres_url: str, fake: ReplicaSlack, tmp_path: Path) -> None:
    await killed(postgres_url, fake, tmp_path, (MIDWAY,))


async def killed(database_url: str, fake: ReplicaSlack, tmp_path: Path,
                 kill_after: tuple[int, ...]) -> None:
    """Kill leanon once Slack has each number of `kill_after` posts, start it again each
    time, then let it finish; check every channel's post and delivery."""
    await seed_due_schedules(database_url, CHANNELS)
    runs: list[LeanonProcess] = []
    in_flight: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            for posts in kill_after:
                runs.append(process := leanon(database_url, fake, tmp_path))
                await process.start()
                await until(lambda n=posts: len(fake.weekly_posts()) >= n,  # type: ignore[misc]
                            60, f"{posts} weekly posts")
                process.signal(signal.SIGKILL)
                assert await process.wait() == -signal.SIGKILL
                assert len(fake.weekly_posts()) < len(CHANNELS), "the fan-out ended before the kill"
                in_flight.append(await lease_run_out(database_url))
            runs.append(last := leanon(database_url, fake, tmp_path))
            await last.start()
            await last.wait_ready(session)
            await until(lambda: len({p["channel"] for p in fake.weekly_posts()}) == len(CHANNELS), 60,
                        "a post in every channel")
            for _ in range(600):  # the last posts are recorded once Slack has answered them
                if {s for s, _ in (await deliveries(database_url)).values()} == {"posted"}:
                    break
                await asyncio.sleep(0.05)
            assert await last.terminate() == 0
    finally:
        for process in runs:
            await process.stop()

    per_channel = Counter(p["channel"] for p in fake.weekly_posts())
    assert per_channel == dict.fromkeys(CHANNELS, 1)  # each exactly once: none twice, none lost
    in_history = {m["channel"]: m["ts"] for m in fake.messages.values() if m.get("metadata")}
    assert await deliveries(database_url) == {c: ("posted", in_history[c]) for c in CHANNELS}
    # Posts out at each kill but unrecorded were found in the channel, not posted again.
    assert all(n >= 1 for n in in_flight), in_flight
    recovered = [e for run in runs[1:] for e in run.logs() if e["event"].startswith(RECOVERING)]
    assert len(recovered) == sum(in_flight)
    assert len(fake.find("conversations.history")) >= sum(in_flight)
    backend = database_url.partition(":")[0]
    print(f"\nsigkill ({backend}): {len(CHANNELS)} channels, killed after {kill_after} posts with "
          f"{in_flight} posts in flight, {len(fake.weekly_posts())} posts, 0 twice, 0 lost")

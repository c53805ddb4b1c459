"""Three `leanon run` replicas on one PostgreSQL database, behind one "load balancer" (us).

Slack's requests are spread over the three and all served; the weekly posts go out exactly
once per channel, even when the scheduler's leader is killed (SIGKILL) in the middle of
posting them: another replica takes over at its next election and finishes the rest.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import re
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.messages import ActionId
from storage.leader import LEADER_LOCK_NAME, lock_key
from tests.e2e.replica_testing import ReplicaSlack, TcpProxy, seed_due_schedules
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.ops.slack_requests import command, press
from tests.pg_testing import asyncpg_dsn
from tests.slack.fake_slack import BOT_TOKEN, Call
from tests.slack.slack_testing import CHANNEL, SECRET

pytestmark = pytest.mark.postgres

# Three replicas' outboxes send 24 posts at once (2 s each): 60 channels are more than two
# waves, so the kill always falls in the middle of the fan-out.
CHANNELS = [f"C{index:08d}" for index in range(60)]
LEADS = "this process now runs the scheduled work (weekly posts, follow-ups)"


def replica(database_url: str, fake: ReplicaSlack, cwd: Path) -> LeanonProcess:
    env = leanon_env(database_url, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_API_URL=fake.api_url, LEANON_PORT=str(free_port()))
    return LeanonProcess(env, cwd)


async def slack_requests_served(session: aiohttp.ClientSession, process: LeanonProcess) -> float:
    """How many Slack requests the process answered, as its latency histogram counts them
    (a request answered well is logged at DEBUG only)."""
    async with session.get(f"{process.base}/metrics") as response:
        text = await response.text()
    counts = re.findall(r'^leanon_http_request_duration_seconds_count\{[^}]*route="/slack/events"'
                        r'[^}]*\} (\S+)$', text, re.MULTILINE)
    return sum(float(n) for n in counts)


def leads(process: LeanonProcess) -> bool:
    return any(entry["event"] == LEADS for entry in process.logs())


async def wait_until(check: Callable[[], bool | Awaitable[bool]], within: float, what: str) -> None:
    """Poll `check` (sync or async) every 20 ms until it is true."""
    for _ in range(int(within / 0.02)):
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within} s: {what}")


async def test_three_replicas_serve_slack_and_post_each_weekly_post_once_across_a_kill(
        postgres_url: str, fake: ReplicaSlack, tmp_path: Path) -> None:
    await seed_due_schedules(postgres_url, CHANNELS)
    fake.post_delay = 2.0  # each weekly post is answered 2 s after Slack got it
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    key = lock_key(LEADER_LOCK_NAME)
    # The test holds the scheduler's lock while two replicas start: they are followers.
    assert await admin.fetchval("SELECT pg_try_advisory_lock($1)", key)
    b, c = replica(postgres_url, fake, tmp_path), replica(postgres_url, fake, tmp_path)
    a = replica(postgres_url, fake, tmp_path)
    everyone = [a, b, c]
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(b.start(), c.start())
            await asyncio.gather(b.wait_ready(session), c.wait_ready(session))
            await admin.fetchval("SELECT pg_advisory_unlock($1)", key)
            # A starts now and elects at once: it leads and writes every post to the outbox,
            # whose workers (in every replica) send them.
            await a.start()
            await a.wait_ready(session)
            await wait_until(lambda: any(leads(p) for p in everyone), 10, "a replica leads")
            [leader] = [p for p in everyone if leads(p)]  # A, unless B or C elected first
            survivors = [p for p in everyone if p is not leader]

            # Slack's requests, spread round-robin over the three, are all served.
            texts = [f"Question number {n}: how do I rotate the staging key?" for n in range(6)]
            for process, text in zip(itertools.cycle(everyone), texts, strict=False):
                assert await command(session, process.base, fake, "/ask", text) == 200
            await fake.wait_for("response_url", count=6, within=10)

            def cards() -> list[Call]:
                return [p for p in fake.posts(CHANNEL) if "Question number" in p.text()]

            await wait_until(lambda: len(cards()) >= 6, 10, "six cards")
            assert len(cards()) == 6
            # Ask 1 came in through A: its card is updated through C.
            assert await press(session, c.base, fake, ActionId.OFFER_HELP, "1") == 200
            await fake.wait_for("chat.update", within=10)
            for process in everyone:
                assert await slack_requests_served(session, process) >= 2

            # Kill the leader mid-fan-out (some posted, some in flight, some not started).
            await wait_until(lambda: len(fake.weekly_posts()) > 10, 10, "a second wave of posts")
            # Queue for the lock first, so it passes to the test, not to a replica, when A dies.
            waiter = await asyncpg.connect(asyncpg_dsn(postgres_url))
            taken = asyncio.create_task(waiter.fetchval("SELECT pg_advisory_lock($1)", key))
            await wait_until(lambda: admin.fetchval("SELECT count(*) > 0 FROM pg_locks WHERE "
                                                    "locktype = 'advisory' AND NOT granted"),
                             5, "the test queued for the lock")
            leader.signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await asyncio.wait_for(taken, 5)
            before_kill = len(fake.weekly_posts())
            assert before_kill < len(CHANNELS), "the fan-out ended before the kill"
            await leader.wait()
            # The posts A was sending: their 30-second lease is made to have passed (instead
            # of waiting for it), so another replica's outbox takes them over at once.
            await waiter.execute("UPDATE inbox_items SET lease_until = lease_until - interval "
                                 "'5 minutes' WHERE kind = 'weekly_post' AND done_at IS NULL "
                                 "AND owner IS NOT NULL")
            await waiter.close()  # the lock goes: B or C takes over at its next election

            await wait_until(lambda: any(leads(p) for p in survivors), 12, "another replica leads")
            takeover = time.monotonic() - killed_at
            assert sum(leads(p) for p in survivors) == 1
            await wait_until(lambda: len(fake.weekly_posts()) >= len(CHANNELS), 30,
                             "every channel posted")
            await wait_until(lambda: admin.fetchval("SELECT count(*) = $1 FROM deliveries WHERE "
                                                    "status = 'posted'", len(CHANNELS)),
                             10, "every delivery recorded as posted")
            sent_by_survivors = 0
            for process in survivors:
                async with session.get(f"{process.base}/metrics") as response:
                    sent = re.search(r'leanon_weekly_posts_total\{outcome="sent",platform='
                                     r'"slack",trigger="schedule"\} (\d+)', await response.text())
                sent_by_survivors += int(sent.group(1)) if sent else 0
            for process in survivors:  # and still serve Slack
                assert await command(session, process.base, fake, "/ask",
                                     "Who can pair on the flaky test today?") == 200
            await fake.wait_for("response_url", count=8, within=10)
        assert [await p.terminate() for p in survivors] == [0, 0]
    finally:
        await admin.close()
        for process in everyone:
            await process.stop()

    per_channel = {channel: 0 for channel in CHANNELS}
    for post in fake.weekly_posts():
        per_channel[post["channel"]] += 1
    assert per_channel == dict.fromkeys(CHANNELS, 1)  # exactly once, none re-posted
    # Whatever was not posted at the kill was posted by the others (each counted once) ...
    assert len(CHANNELS) - before_kill <= sent_by_survivors <= len(CHANNELS)
    # ... and the posts in flight at the kill were found in the channel's history.
    assert fake.find("conversations.history")
    assert takeover < 15


async def test_readyz_is_503_while_postgresql_is_unreachable_and_200_after(
        postgres_url: str, fake: ReplicaSlack, tmp_path: Path) -> None:
    where = make_url(postgres_url)
    proxy = await TcpProxy(where.host or "127.0.0.1", where.port or 5432).start()
    through_proxy = where.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    leanon = replica(through_proxy, fake, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await leanon.start()
            await leanon.wait_ready(session)
            proxy.cut()
            status, body = await leanon.readyz(session)
            assert status == 503
            assert body["status"] == "not ready"
            assert body["reason"].startswith("database: unreachable")
            assert body["checks"]["database"] != "ok"
            async with session.get(f"{leanon.base}/healthz") as response:
                assert response.status == 200  # alive: nothing to restart
            proxy.restore()
            await leanon.wait_ready(session, within=10)
        assert await leanon.terminate() == 0
    finally:
        await leanon.stop()
        await proxy.stop()

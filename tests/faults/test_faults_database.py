"""PostgreSQL unreachable for 20 s in the middle of a stream of 1,000 thanks reactions.

The database sits behind a TCP proxy the test cuts (every connection dropped, new ones
refused) and restores. Slack: a real `leanon run` process, sent the events the way Slack
sends them, retries included. Discord: the real discord.py client against the fake
gateway, which never redelivers; leanon keeps what met the outage and applies it later.
Either way every thanks ends up stored exactly once, and leanon never stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest

from adapters.discord import LeanonClient, run_discord
from bot.app import bootstrap
from bot.config import Config
from tests.discord.discord_testing import Harness, reaction, settings_for
from tests.discord.fake_discord import FakeDiscord
from tests.faults.fault_testing import Outage, Probe, SlackRedelivery, proxied
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.pg_testing import asyncpg_dsn
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import SECRET, payload

pytestmark = pytest.mark.postgres

T = TypeVar("T")
Row = tuple[str, str, str, str, bool]

EVENTS = 1000
RATE = 40.0  # events per second: 25 s of stream, the outage (from the 2nd to the 22nd s) inside
CUT_AFTER = 80  # events sent before the database goes away
SLACK_GIVERS = [f"U1{n:08d}" for n in range(40)]
SLACK_AUTHORS = [f"U2{n:08d}" for n in range(25)]
DISCORD_GIVERS = [str(710000000000000000 + n) for n in range(40)]
DISCORD_AUTHORS = [str(720000000000000000 + n) for n in range(25)]
SLACK_EMOJI = ("pray", "raised_hands")
DISCORD_EMOJI = {"🙏": "pray", "🙌": "raised_hands"}


async def paced(count: int, send: Callable[[int], Coroutine[Any, Any, T]], outage: Outage) -> list[T]:
    """`send(n)` for n in 0..count-1, started at a steady RATE; the outage starts after
    CUT_AFTER of them. Every result, once all are done."""
    start = time.monotonic()
    tasks: list[asyncio.Task[T]] = []
    for n in range(count):
        if n == CUT_AFTER:
            outage.started.set()
        delay = start + n / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(n)))
    return await asyncio.gather(*tasks)


async def stored_thanks(database_url: str) -> list[Row]:
    """Every thanks row, (giver, receiver, message, emoji, retracted), read past the proxy."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch("SELECT giver_id, receiver_id, message_id, emoji, "
                                      "retracted_at IS NOT NULL AS retracted FROM thanks")
    finally:
        await connection.close()
    return [(r["giver_id"], r["receiver_id"], r["message_id"], r["emoji"], r["retracted"])
            for r in rows]


async def until_stored(database_url: str, count: int, within: float) -> list[Row]:
    """Poll the thanks table until it holds at least `count` rows; them."""
    deadline = time.monotonic() + within
    while len(rows := await stored_thanks(database_url)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(rows)} of {count} thanks stored within {within} s")
        await asyncio.sleep(0.25)
    return rows


# Slack


def slack_reaction(n: int) -> dict[str, Any]:
    """The n-th reaction: its own giver/message/emoji combination, on a teammate's message."""
    body = payload("event_reaction_added")
    body["event"].update(user=SLACK_GIVERS[n % len(SLACK_GIVERS)],
                         item_user=SLACK_AUTHORS[n % len(SLACK_AUTHORS)],
                         reaction=SLACK_EMOJI[n % 2], event_ts=f"1700002{n:03d}.000100")
    body["event"]["item"]["ts"] = f"1700001{n:03d}.{n:06d}"
    body["event_id"] = f"Ev0FAULT{n:05d}"
    return body


def slack_row(body: dict[str, Any]) -> Row:
    event = body["event"]
    return event["user"], event["item_user"], event["item"]["ts"], event["reaction"], False


async def test_slack_reactions_through_a_20_s_postgresql_outage_are_each_stored_once(
        postgres_url: str, tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    for user_id in SLACK_GIVERS + SLACK_AUTHORS:
        fake.users[user_id] = {"id": user_id, "name": user_id.lower(), "is_bot": False,
                               "profile": {"display_name": user_id.lower()}}
    bodies = [slack_reaction(n) for n in range(EVENTS)]
    background: list[asyncio.Task[None]] = []
    try:
        async with proxied(postgres_url) as (proxy, through_proxy), aiohttp.ClientSession() as session:
            env = leanon_env(through_proxy, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_API_URL=fake.api_url, LEANON_PORT=str(free_port()))
            leanon = LeanonProcess(env, tmp_path)
            try:
                await leanon.start()
                await leanon.wait_ready(session)
                pid = leanon.pid
                slack = SlackRedelivery(session, leanon.base)
                outage, probe = Outage(proxy), Probe(leanon, session)
                background += [asyncio.create_task(outage.run()), asyncio.create_task(probe.run())]
                deliveries = await paced(EVENTS, lambda n: slack.deliver(bodies[n]), outage)
                await background[0]  # the outage is over
                await leanon.wait_ready(session, within=30)
                # Slack sends some again, later (a retry that crossed leanon's answer).
                replays = [await slack.attempt(json.dumps(bodies[n]), 3, "http_timeout")
                           for n in (0, CUT_AFTER, EVENTS // 2, EVENTS - 1)]
                background[1].cancel()
                ready_after, _ = await leanon.readyz(session)
                still_running = leanon.process is not None and leanon.process.returncode is None
                assert await leanon.terminate() == 0
            finally:
                for task in background:
                    task.cancel()
                await leanon.stop()
    finally:
        await fake.stop()

    undelivered = [d.body["event_id"] for d in deliveries if not d.delivered]
    assert undelivered == []
    rows = await stored_thanks(postgres_url)
    assert sorted(rows) == sorted(slack_row(b) for b in bodies)  # each once: none lost, none twice
    met_outage = [d for d in deliveries if len(d.answers) > 1]
    assert len(met_outage) >= 500, "the outage met too few events to prove anything"
    refusals = {answer for d in met_outage for answer in d.answers[:-1]}
    assert refusals <= {503, "timeout"}, refusals  # "try again later", never a 500 or 4xx
    assert replays == [200] * 4
    # The process never went away, and was not ready while its database was unreachable.
    assert still_running and leanon.pid == pid
    assert set(probe.statuses("/healthz")) == {200}
    assert 503 in probe.statuses("/readyz", outage, during=True)
    assert probe.statuses("/readyz", outage, during=False)[-1] == 200
    assert ready_after == 200
    print(f"\nslack: {EVENTS} reactions, {len(met_outage)} met the outage, "
          f"{sum(len(d.answers) for d in deliveries)} deliveries ({slack.extra_attempts} beyond "
          f"Slack's 3 retries), {len(rows)} stored, {EVENTS - len(set(rows))} lost")


# Discord


def discord_reaction(n: int) -> dict[str, Any]:
    emoji = list(DISCORD_EMOJI)[n % 2]
    return reaction(who=DISCORD_GIVERS[n % len(DISCORD_GIVERS)], message_id=str(1300000000000000000 + n),
                    author=DISCORD_AUTHORS[n % len(DISCORD_AUTHORS)], emoji={"id": None, "name": emoji})


def discord_row(event: dict[str, Any]) -> Row:
    return (event["user_id"], event["message_author_id"], event["message_id"],
            DISCORD_EMOJI[event["emoji"]["name"]], False)


async def test_discord_reactions_through_a_20_s_postgresql_outage_are_each_stored_once(
        postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord")
    fake = await FakeDiscord().start()
    events = [discord_reaction(n) for n in range(EVENTS)]
    clients: list[LeanonClient] = []
    try:
        async with proxied(postgres_url) as (proxy, through_proxy):
            config = Config(_env_file=None, database_url=through_proxy)  # type: ignore[call-arg]
            async with bootstrap(config) as runtime:
                # leanon's retries back off from 0.5 s, doubling up to 2 s (a minute in production).
                settings = settings_for(fake, retry_first_delay=0.5, retry_max_delay=2.0)
                leanon = Harness(fake, runtime, settings)
                leanon.task = asyncio.create_task(run_discord(
                    runtime.service, runtime.router, settings, leanon.stop, on_login=clients.append))
                try:
                    await fake.gateway.wait_ready(1, within=15)
                    [client] = clients
                    outage, most_waiting = Outage(proxy), 0

                    async def watch_waiting() -> None:
                        nonlocal most_waiting
                        while True:
                            most_waiting = max(most_waiting, client.reactions.waiting)
                            await asyncio.sleep(0.05)

                    cut, watch = asyncio.create_task(outage.run()), asyncio.create_task(watch_waiting())
                    try:
                        await paced(EVENTS, lambda n: leanon.react(events[n]), outage)
                        await cut
                        rows = await until_stored(postgres_url, EVENTS, within=90)
                    finally:
                        cut.cancel()
                        watch.cancel()
                    # The gateway may replay events: a few again, then one new as a marker.
                    for n in (0, CUT_AFTER, EVENTS // 2, EVENTS - 1):
                        await leanon.react(events[n])
                    marker = discord_reaction(EVENTS)
                    await leanon.react(marker)
                    after_replays = await until_stored(postgres_url, EVENTS + 1, within=30)
                    running = not leanon.task.done() and client.connection_problem() is None
                    dropped, waiting = client.reactions.dropped, client.reactions.waiting
                finally:
                    await leanon.shut()
    finally:
        await fake.stop()

    assert running and (dropped, waiting) == (0, 0)
    assert most_waiting >= 500, "the outage met too few reactions to prove anything"
    assert "waiting reactions applied" in caplog.text
    assert sorted(rows) == sorted(discord_row(e) for e in events)  # each once: none lost, none twice
    assert sorted(after_replays) == sorted(discord_row(e) for e in [*events, marker])
    print(f"\ndiscord: {EVENTS} reactions, up to {most_waiting} kept while it was down, "
          f"{len(rows)} stored, {EVENTS - len(set(rows))} lost, {dropped} dropped")

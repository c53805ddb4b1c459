"""Slack's Web API in a storm of 5xx and 429 answers: every post still goes out exactly once.

chat.postMessage calls meet a seeded mix of 429 (Retry-After), 500/502/503/504 and dropped
connections, some of them after Slack had posted the message (the caller sees only the
failure). leanon runs in this process (real bolt app, real Web API clients with their
retry handlers, real database), its weekly posts driven by scheduler ticks (a minute apart
on its clock) and sent by its outbox. An ask card that met a 5xx after Slack posted it is
found again by its nonce, not posted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from adapters.slack.app import build_app
from adapters.slack.auth import SingleWorkspace
from adapters.slack.server import bound_port, serve_http
from bot.app import bootstrap
from bot.commands import RunDueNudges
from bot.config import Config
from bot.domain import Platform
from tests.e2e.replica_testing import seed_due_schedules
from tests.faults.fault_testing import Failure, StormSlack, storm_plan
from tests.leanon_testing import MovableClock
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.slack_testing import ALICE, BOB, CAROL, CHANNEL, SECRET, WS, Harness, dm, payload

CHANNELS = [f"CSTORM{n:04d}" for n in range(30)]
TICKS = 15  # scheduler ticks at most (one a minute in production; back to back here)


@pytest.fixture
async def fake() -> AsyncIterator[StormSlack]:
    slack = StormSlack()
    await slack.start()
    yield slack
    await slack.stop()


@contextlib.asynccontextmanager
async def leanon(database_url: str, fake: StormSlack,
                 clock: MovableClock | None = None) -> AsyncIterator[Harness]:
    """leanon in Slack HTTP mode in this process, on the real clock (or `clock`), against
    the fake."""
    config = Config(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    async with bootstrap(config, clock=clock) as runtime:
        auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
        adapter = build_app(runtime.service, auth, inbox=runtime.inbox, signing_secret=SECRET,
                            api_url=fake.api_url)
        runtime.router.register(Platform.SLACK, adapter.chat, adapter.directory)
        runner = await serve_http(adapter, SECRET, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{bound_port(runner)}/slack/events"
        try:
            async with aiohttp.ClientSession() as session:
                yield Harness(url, fake, adapter, runtime, session)
        finally:
            await runner.cleanup()
            await adapter.settle()


def tagged(fake: StormSlack, channel: str) -> list[str]:
    """The nonces of the weekly posts that are in a channel."""
    return [m["metadata"]["event_payload"]["nonce"] for m in fake.posted(channel) if m.get("metadata")]


async def test_weekly_posts_through_a_5xx_and_429_storm_are_each_posted_once(
        tmp_path: Path, fake: StormSlack) -> None:
    database_url = f"sqlite:///{tmp_path}/leanon.db"
    await seed_due_schedules(database_url, CHANNELS)
    plan = storm_plan(CHANNELS, seed=48)
    fake.storm = {channel: list(failures) for channel, failures in plan.items()}
    clock = MovableClock()
    async with leanon(database_url, fake, clock) as slack:
        engine, outbox = slack.runtime.store.engine, slack.runtime.service.outbox
        ticks = 0
        while ticks < TICKS:
            await slack.runtime.service.handle(RunDueNudges())
            ticks += 1
            clock.offset += timedelta(minutes=1)  # a minute to the next tick: retries are due
            await outbox.drain()
            async with engine.connect() as db:
                rows = (await db.execute(text(
                    "SELECT s.channel_id, d.status, d.message_id FROM deliveries d "
                    "JOIN schedules s ON s.id = d.schedule_id"))).all()
            if len(rows) == len(CHANNELS) and {r.status for r in rows} == {"posted"}:
                break

    per_channel = {channel: tagged(fake, channel) for channel in CHANNELS}
    assert {c: len(nonces) for c, nonces in per_channel.items()} == dict.fromkeys(CHANNELS, 1)
    assert {r.channel_id: (r.status, r.message_id) for r in rows} == {
        channel: ("posted", fake.posted(channel)[0]["ts"]) for channel in CHANNELS}
    # Each channel met its planned failures in order, up to the one after which the post
    # was in the channel (then leanon found it there and stopped posting), or all of them.
    for channel, failures in plan.items():
        met = [f for c, f in fake.met if c == channel]
        assert met == failures[:len(met)] and (met == failures or met[-1].acted), channel
    assert {f.status for _, f in fake.met} == {0, 429, 500, 502, 503, 504}
    assert any(f.acted for _, f in fake.met) and not all(f.acted for _, f in fake.met)
    kinds = Counter(f"{f.status}{'+posted' if f.acted else ''}" for _, f in fake.met)
    print(f"\nweekly posts: {len(CHANNELS)} channels, {len(fake.met)} failures "
          f"({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))}), {ticks} ticks, "
          f"{sum(len(n) for n in per_channel.values())} posts, 0 twice, 0 lost")


async def ask_and_thank(slack: Harness) -> None:
    """Alice asks in the channel; Carol thanks Bob with a reaction (Bob gets a note)."""
    reply = await slack.command("/ask", "How do I rotate the staging database password safely?")
    assert reply.status == 200
    body = payload("event_reaction_added")
    body["event"].update(user=CAROL, item_user=BOB)
    assert (await slack.event(body)).status == 200


async def test_an_ask_card_and_a_thanks_note_through_a_storm_go_out_exactly_once(
        tmp_path: Path, fake: StormSlack) -> None:
    fake.storm = {CHANNEL: [Failure(503), Failure(429)],  # the card: both retried by the client
                  dm(BOB): [Failure(500), Failure(429)]}  # the note to Bob
    async with leanon(f"sqlite:///{tmp_path}/leanon.db", fake) as slack:
        await ask_and_thank(slack)
        async with slack.runtime.store.unit_of_work() as uow:
            [ask] = await uow.asks.list_open(WS)
    [card] = fake.posted(CHANNEL)
    assert ask.message is not None and ask.message.message_id == card["ts"]
    assert any("Your ask is posted" in answer for answer in slack.private(ALICE))
    assert len(fake.posted(dm(BOB))) == 1 and fake.find("chat.postEphemeral") == []
    assert [f.status for _, f in fake.met] == [503, 429, 500, 429]


async def test_past_the_clients_retries_the_card_waits_and_the_note_goes_another_way(
        tmp_path: Path, fake: StormSlack) -> None:
    fake.storm = {CHANNEL: [Failure(429)] * 4,  # more 429s than two tries of the client wait out
                  dm(BOB): [Failure(502)]}  # a gateway error: not retried
    async with leanon(f"sqlite:///{tmp_path}/leanon.db", fake) as slack:
        await ask_and_thank(slack)
        assert any("Your ask is posted" in answer for answer in slack.private(ALICE))
        # The card stays in the outbox and goes out once the storm is over, once.
        for _ in range(300):
            if fake.posted(CHANNEL):
                break
            await asyncio.sleep(0.1)
        await slack.adapter.settle()
        assert [f.status for c, f in fake.met if c == CHANNEL] == [429] * 4
    assert len(fake.posted(CHANNEL)) == 1
    assert not any("Nothing was posted" in answer for answer in slack.private(ALICE))
    # Bob's note: not as a DM, as a message only he sees in the channel instead; once.
    assert fake.posted(dm(BOB)) == []
    [note] = fake.find("chat.postEphemeral")
    assert note.args["user"] == BOB and note.args["channel"] == CHANNEL


async def test_an_ask_card_whose_post_met_a_500_after_slack_posted_it_is_in_the_channel_once(
        tmp_path: Path, fake: StormSlack) -> None:
    fake.storm = {CHANNEL: [Failure(500, acted=True)]}
    async with leanon(f"sqlite:///{tmp_path}/leanon.db", fake) as slack:
        await slack.command("/ask", "How do I rotate the staging database password safely?")
    assert len(fake.posted(CHANNEL)) == 1

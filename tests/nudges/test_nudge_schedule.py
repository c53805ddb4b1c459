"""Weekly posts: fire times, DST, grace window, exactly once, failures, rotation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.app import Runtime
from bot.commands import NudgeNow, RunDueNudges, SetNudge
from bot.content import THEMES, load_content
from bot.domain import MessageRef, Schedule, WorkspaceRef
from bot.messages import Message
from bot.nudges import week_fire
from tests.nudges.nudge_testing import ADMIN, MEMBER, WS, RecordingChat, SettableClock, leanon, utc

# Monday 2026-11-30 is in ISO week 2026-W49.
MONDAY = utc(2026, 11, 30, 8, 0)


def schedule(weekday: int = 0, at: time = time(9, 30), tz: str = "UTC") -> Schedule:
    return Schedule(id=1, workspace=WS, channel_id="C1", weekday=weekday, at=at, timezone=tz,
                    paused=False, updated_at=utc(2020, 1, 1))


@pytest.mark.parametrize(("tz", "before", "after"), [
    # Europe/Berlin: CEST (UTC+2) until 2026-10-25, then CET (UTC+1).
    ("Europe/Berlin", utc(2026, 10, 19, 7, 30), utc(2026, 10, 26, 8, 30)),
    # America/New_York: EDT (UTC-4) until 2026-11-01, then EST (UTC-5).
    ("America/New_York", utc(2026, 10, 26, 13, 30), utc(2026, 11, 2, 14, 30)),
    # Spring forward: Berlin switches to CEST on 2026-03-29.
    ("Europe/Berlin", utc(2026, 3, 23, 8, 30), utc(2026, 3, 30, 7, 30)),
])
def test_the_local_wall_clock_time_survives_daylight_saving(tz: str, before, after) -> None:
    s = schedule(tz=tz)
    for fire_utc in (before, after):
        fire, _period, today = week_fire(s, fire_utc)
        assert fire == fire_utc
        assert fire.astimezone(ZoneInfo(tz)).time() == time(9, 30)
        assert today
    assert week_fire(s, after)[1] != week_fire(s, before)[1]


def test_the_period_is_the_iso_week_of_the_local_fire_date() -> None:
    # Sunday 23:30 in Tokyo is still Sunday there while it is Sunday 14:30 UTC.
    s = schedule(weekday=6, at=time(23, 30), tz="Asia/Tokyo")
    fire, period, _ = week_fire(s, utc(2026, 12, 27, 10, 0))
    assert period == "2026-W52"
    assert fire == utc(2026, 12, 27, 14, 30)


async def set_monday_nudge(runtime, tz: str = "Europe/Berlin") -> None:
    reply = await runtime.service.handle(SetNudge(WS, MEMBER, "C1", 0, time(9, 30), tz))
    assert reply.ok, reply


async def monday_schedule(tmp_path: Path) -> tuple[Path, SettableClock, RecordingChat]:
    """A database with a Monday 09:30 UTC schedule, set on the Wednesday before."""
    db = tmp_path / "db.sqlite"
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = RecordingChat(clock)
    async with leanon(db, clock, chat) as runtime:
        await set_monday_nudge(runtime, "UTC")
    return db, clock, chat


async def test_fires_at_0930_local_and_only_once(tmp_path: Path) -> None:
    clock = SettableClock(utc(2026, 10, 22, 12, 0))  # the Thursday before
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await set_monday_nudge(runtime)
        clock.set(utc(2026, 10, 26, 8, 29))  # 09:29 CET, the first Monday after DST ended
        await runtime.service.handle(RunDueNudges())
        assert chat.posts == []
        clock.set(utc(2026, 10, 26, 8, 30))
        await runtime.service.handle(RunDueNudges())
        clock.advance(timedelta(minutes=1))
        await runtime.service.handle(RunDueNudges())
        assert len(chat.posts) == 1
        assert chat.posts[0].nonce is not None


async def test_restart_inside_the_same_day_posts_once(tmp_path: Path) -> None:
    db, clock, chat = await monday_schedule(tmp_path)
    # leanon was down over 09:30 and comes back at 15:00 the same Monday.
    clock.set(utc(2026, 11, 30, 15, 0))
    async with leanon(db, clock, chat) as runtime:
        await runtime.service.handle(RunDueNudges())
    async with leanon(db, clock, chat) as runtime:  # and restarts once more
        await runtime.service.handle(RunDueNudges())
    assert len(chat.posts) == 1


async def test_a_post_missed_on_an_earlier_day_is_skipped_and_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db, clock, chat = await monday_schedule(tmp_path)
    clock.set(utc(2026, 12, 1, 10, 0))  # back on Tuesday
    with caplog.at_level(logging.WARNING):
        async with leanon(db, clock, chat) as runtime:
            await runtime.service.handle(RunDueNudges())
            await runtime.service.handle(RunDueNudges())
    assert chat.posts == []
    assert sum("was missed" in r.getMessage() for r in caplog.records) == 1
    clock.set(utc(2026, 12, 7, 9, 30))  # the next Monday posts as usual
    async with leanon(db, clock, chat) as runtime:
        await runtime.service.handle(RunDueNudges())
    assert len(chat.posts) == 1


async def test_setting_a_schedule_after_its_time_waits_for_next_week(tmp_path: Path) -> None:
    clock = SettableClock(utc(2026, 11, 30, 11, 0))  # Monday 11:00, after 09:30
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await set_monday_nudge(runtime, "UTC")
        await runtime.service.handle(RunDueNudges())
        assert chat.posts == []
        clock.set(utc(2026, 12, 7, 9, 30))
        await runtime.service.handle(RunDueNudges())
        assert len(chat.posts) == 1


async def test_a_crash_between_claim_and_post_posts_once_after_restart(tmp_path: Path) -> None:
    db, clock, chat = await monday_schedule(tmp_path)
    clock.set(utc(2026, 11, 30, 9, 30))
    # The claim is made, then the process dies.
    async with leanon(db, clock, chat) as runtime, runtime.store.unit_of_work() as uow:
        [s] = await uow.schedules.active()
        assert await uow.deliveries.claim(s.id, "2026-W49", f"leanon-{s.id}-2026-W49",
                                          clock.now())
        await uow.commit()
    clock.advance(timedelta(seconds=30))  # restarted at once: the claim may still be live
    async with leanon(db, clock, chat) as runtime:
        await runtime.service.handle(RunDueNudges())
        assert chat.posts == []
        clock.advance(timedelta(minutes=3))  # the lease ran out: it was a crash
        await runtime.service.handle(RunDueNudges())
        await runtime.service.handle(RunDueNudges())
    assert len(chat.posts) == 1


async def test_a_crash_after_posting_is_completed_without_a_second_post(tmp_path: Path) -> None:
    db, clock, chat = await monday_schedule(tmp_path)
    clock.set(utc(2026, 11, 30, 9, 30))
    async with leanon(db, clock, chat) as runtime:
        async with runtime.store.unit_of_work() as uow:
            [s] = await uow.schedules.active()
            nonce = f"leanon-{s.id}-2026-W49"
            await uow.deliveries.claim(s.id, "2026-W49", nonce, clock.now())
            await uow.commit()
        # The post went out, and the process died before recording it.
        from bot.messages import notice
        await chat.post_once(WS, "C1", notice(("the post",)), nonce)
    clock.advance(timedelta(minutes=5))
    async with leanon(db, clock, chat) as runtime:
        await runtime.service.handle(RunDueNudges())
        async with runtime.store.unit_of_work() as uow:
            delivery = await uow.deliveries.get(s.id, "2026-W49")
    assert len(chat.posts) == 1
    assert delivery is not None and delivery.message_id == chat.posts[0].ref.message_id


async def test_a_transient_failure_is_tried_again_and_posted_once(tmp_path: Path) -> None:
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        await set_monday_nudge(runtime, "UTC")
        chat.fail("C1", times=1)  # e.g. still rate limited after the platform's own retries
        clock.set(utc(2026, 11, 30, 9, 30))
        await runtime.service.handle(RunDueNudges())
        assert chat.posts == []
        clock.advance(timedelta(minutes=1))
        await runtime.service.handle(RunDueNudges())
        clock.advance(timedelta(minutes=1))
        await runtime.service.handle(RunDueNudges())
        await runtime.service.outbox.settled()  # the outbox tries again
    assert len(chat.posts) == 1


async def test_a_post_the_outbox_gave_up_on_is_taken_over_by_a_later_tick(
        tmp_path: Path) -> None:
    db, clock, chat = await monday_schedule(tmp_path)
    clock.set(utc(2026, 11, 30, 9, 30))
    async with leanon(db, clock, chat) as runtime:
        chat.fail("C1", times=6)  # every attempt the outbox makes (1 + 5 retries)
        await runtime.service.handle(RunDueNudges())
        for _ in range(6):
            clock.advance(timedelta(minutes=1))
            await runtime.service.outbox.drain()
        assert chat.posts == []
        async with runtime.store.unit_of_work() as uow:
            [s] = await uow.schedules.active()
            assert s.failures == 1  # one failed week's post, not one per attempt
        await runtime.service.handle(RunDueNudges())  # the next tick writes it again
        await runtime.service.handle(RunDueNudges())
        await runtime.service.outbox.settled()
        async with runtime.store.unit_of_work() as uow:
            delivery = await uow.deliveries.get(s.id, "2026-W49")
            [s] = await uow.schedules.active()
    assert len(chat.posts) == 1
    assert delivery is not None and delivery.message_id == chat.posts[0].ref.message_id
    assert s.failures == 0 and s.posts_sent == 1


class HangingChat(RecordingChat):
    """Posts never return while `hanging`: the process is killed in the middle of one."""

    hanging = True

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str | None) -> MessageRef:
        if self.hanging:
            await asyncio.Event().wait()
        return await super().post_once(workspace, channel_id, message, nonce)


async def weekly_items(runtime: Runtime) -> int:
    async with runtime.store.engine.connect() as connection:
        return int((await connection.execute(text(
            "SELECT count(*) FROM inbox_items WHERE kind = 'weekly_post'"))).scalar_one())


async def test_a_post_cut_off_by_a_crash_is_sent_by_the_outbox_once_and_not_written_again(
        tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = HangingChat(clock)
    async with leanon(db, clock, chat) as runtime:
        await set_monday_nudge(runtime, "UTC")
        clock.set(utc(2026, 11, 30, 9, 30))
        tick = asyncio.create_task(runtime.service.handle(RunDueNudges()))
        await asyncio.sleep(0.5)
        tick.cancel()  # the claim and its post are written; the process dies posting it
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    assert chat.posts == []
    chat.hanging = False
    clock.advance(timedelta(minutes=3))  # past the outbox's lease and the claim's
    async with leanon(db, clock, chat) as runtime:
        await runtime.service.handle(RunDueNudges())  # the claim's post is still in the outbox
        await runtime.service.outbox.settled()
        await runtime.service.handle(RunDueNudges())
        assert await weekly_items(runtime) == 1
    assert len(chat.posts) == 1


async def test_one_failing_channel_never_stops_twenty_others(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = RecordingChat(clock)
    channels = [f"C{i:02d}" for i in range(21)]
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        for channel in channels:
            await runtime.service.handle(SetNudge(WS, MEMBER, channel, 0, time(9, 30), "UTC"))
        chat.fail("C07", permanent=True)  # archived channel
        clock.set(utc(2026, 11, 30, 9, 30))
        with caplog.at_level(logging.WARNING):
            for _ in range(4):
                await runtime.service.handle(RunDueNudges())
                clock.advance(timedelta(minutes=1))
        async with runtime.store.unit_of_work() as uow:
            broken = await uow.schedules.get(WS, "C07")
            active = await uow.schedules.active()
    assert sorted(p.channel_id for p in chat.posts) == [c for c in channels if c != "C07"]
    assert broken is not None and broken.paused
    assert len(active) == 20
    assert any("paused after 3 failures" in r.getMessage() for r in caplog.records)


async def test_rotation_goes_through_every_theme_and_survives_restarts(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    clock = SettableClock(utc(2026, 11, 25, 12, 0))
    chat = RecordingChat(clock)
    content = load_content()
    titles = []
    for _ in range(len(THEMES) + 1):
        async with leanon(db, clock, chat) as runtime:  # a restart before every post
            reply = await runtime.service.handle(NudgeNow(WS, ADMIN, "C1"))
            assert reply.ok
        titles.append(chat.posts[-1].message.title)
    expected = [f"It's okay to ask · {content.themes[t].title}" for t in THEMES]
    assert titles[:len(THEMES)] == expected
    assert titles[len(THEMES)] == expected[0]
    # The second cycle uses the next message of the theme.
    first, again = chat.posts[0].message.lines[0], chat.posts[len(THEMES)].message.lines[0]
    assert first != again


async def test_nudge_now_is_for_admins_only(tmp_path: Path) -> None:
    clock = SettableClock(MONDAY)
    chat = RecordingChat(clock)
    async with leanon(tmp_path / "db.sqlite", clock, chat) as runtime:
        reply = await runtime.service.handle(NudgeNow(WS, MEMBER, "C1"))
    assert not reply.ok
    assert chat.posts == []

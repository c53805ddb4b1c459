"""Issue 15's simulation: one busy week of a team, through leanon's own core and database.

200 members, 30 of them opted-in helpers in 3 time zones (Europe/Berlin, America/New_York,
Asia/Kolkata; 09:00-17:00 on weekdays, except a few with other days or hours), each with a
few topics or none; 500 asks over the week on realistic topics, most in someone's working
hours, some at night or at the weekend. A settable clock moves in 5-minute steps, and at
each step the scheduler's ask maintenance runs (`RunAskMaintenance`), as `leanon run` does.

Teammates behave: most asks get an offer from someone on their own after a while (the
ladder must stop then); a helper who gets a request says I can help (60 %), Not now (15 %)
or nothing, some minutes later and only in their working hours; asks with an offer are
resolved with what solved it, so the answered-before index fills and the helpers' records
grow (the real search runs, as in `leanon run`).

Printed against the targets:

- asks that reached a suitable helper within one working hour (of that helper's), of those
  that could have: reached in time, or waited that long with no offer while a suitable
  helper was free (an ask whose suitable helpers were all busy, resting or at their daily
  maximum through its first working hour reaches one later, and is counted apart);
- asks that waited an hour of a suitable, available helper's working time without anyone
  being asked (target 0), checked independently at every step: a helper of the ask's topic
  (or of any topic), at work, below the daily maximum, not resting after Not now;
- the most requests any helper got on one day of theirs (target ≤ daily-requests, 2);
- requests sent outside the receiving helper's working hours (target 0).

    PYTHONPATH=. python benchmarks/help_arrives.py [--asks 500] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from common import machine

from bot.app import Runtime, bootstrap
from bot.buttons import pressed
from bot.commands import (
    Command,
    CreateAsk,
    OfferHelp,
    ResolveAsk,
    RunAnswerIndexing,
    RunAskMaintenance,
    SetHelper,
    SetHours,
)
from bot.config import Config
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.hours import WORKDAYS, HoursSaid, WorkingHours
from bot.messages import ActionId, Message, MessageKind, Reply

WS = WorkspaceRef(Platform.SLACK, "TSIM")
CHANNELS = ["CHELP", "CPLATFORM", "CDATA"]
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
STEP = timedelta(minutes=5)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata")
DAILY_MAX = 2

TOPICS = {
    "kubernetes": ["Our kubernetes pods restart every few minutes with OOMKilled, what limits "
                   "should we set?", "How do I get a shell in a kubernetes pod that has no bash?",
                   "kubernetes ingress returns 502 after the certificate renewal, any idea?"],
    "terraform": ["terraform plan wants to recreate the whole VPC after the provider upgrade",
                  "How do we split one big terraform state into modules without downtime?",
                  "terraform apply hangs on the RDS parameter group, who has seen this?"],
    "postgres": ["A postgres query got ten times slower after the VACUUM, where do I look?",
                 "How do I give read-only postgres access to the analytics team safely?",
                 "postgres replication lag keeps growing on the reporting replica"],
    "react": ["My react component renders twice in development, is that expected?",
              "What is the cleanest way to share state between two react pages?",
              "react build fails on CI with an out-of-memory error since yesterday"],
    "python": ["Why does my python script leak memory when it reads big CSV files?",
               "How do we pin python dependencies so the lambda builds stay reproducible?",
               "python asyncio task never finishes when the socket closes, how to debug?"],
    "ci": ["The ci pipeline takes 40 minutes now, how do I find the slow step?",
           "ci cache misses on every run since we moved runners, what changed?",
           "Flaky integration tests in ci only on Mondays, any ideas?"],
    "vpn": ["The vpn drops every hour when I am on the office wifi",
            "How do I reach the staging database through the vpn from home?",
            "vpn client asks for a certificate I never got, where do I request one?"],
    "billing": ["Which billing report shows the refunds of last quarter?",
                "A customer was charged twice, how do I check the billing logs?",
                "How are billing credits applied when a plan changes mid-month?"],
    "design": ["Where are the latest design tokens for the dark theme?",
               "How should error states look in the new design system?",
               "Who can review a design for the onboarding flow this week?"],
    "oncall": ["How do I hand over oncall when I am sick?",
               "The oncall alert for disk space fires every night, can we tune it?",
               "Where is the oncall runbook for the payment outage?"],
}
DETAILS = ["", " I tried restarting it.", " Happens since this morning.", " Any pointer helps!",
           " Logs are in the thread.", " I searched the wiki first."]


@dataclass
class SimHelper:
    user_id: str
    hours: WorkingHours
    topics: tuple[str, ...]


@dataclass
class SimAsk:
    id: int
    asker: str
    topic: str
    created_at: datetime
    organic_offer_at: datetime | None  # someone offers on their own (if nobody did before)
    offered_at: datetime | None = None
    resolved: bool = False
    requested: list[tuple[str, datetime]] = field(default_factory=list)


class SimChat:
    """A chat platform that records what leanon sends, with the time it was sent."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.ids = iter(range(1, 10**9))
        self.told: list[tuple[datetime, str, Message]] = []
        self.posts = 0

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        self.posts += 1
        return MessageRef(channel_id, f"{next(self.ids)}.0001")

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        return None

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        return MessageRef(parent.channel_id, f"{next(self.ids)}.0002")

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                   message: Message) -> None:
        self.told.append((self.clock.now(), user_id, message))


class SimClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def make_helpers(rng: random.Random, members: list[str]) -> list[SimHelper]:
    helpers = []
    topics = list(TOPICS)
    for i, user in enumerate(rng.sample(members, 30)):
        zone = ZONES[i % 3]
        days, start, end = WORKDAYS, clock_time(9), clock_time(17)
        if i % 10 == 7:  # a part-timer
            days = frozenset({0, 1, 2})
        if i % 10 == 8:  # an early bird
            start, end = clock_time(7), clock_time(15)
        chosen = () if i % 6 == 0 else tuple(rng.sample(topics, rng.randint(1, 3)))
        helpers.append(SimHelper(user, WorkingHours(start, end, days, zone), chosen))
    return helpers


def ask_times(rng: random.Random, count: int) -> list[datetime]:
    """Most asks in some zone's working hours on a weekday; a fifth at any time."""
    times = []
    for _ in range(count):
        if rng.random() < 0.8:
            zone = WorkingHours(clock_time(9), clock_time(17), WORKDAYS, rng.choice(ZONES))
            windows = list(zone.windows(MONDAY, MONDAY + timedelta(days=5)))
            opens, closes = rng.choice(windows)
            times.append(opens + (closes - opens) * rng.random())
        else:
            times.append(MONDAY + timedelta(days=7) * rng.random() * 0.95)
    return sorted(times)


def suitable(helper: SimHelper, topic: str) -> bool:
    return not helper.topics or topic in helper.topics


async def simulate(asks_count: int, seed: int) -> Figures:
    rng = random.Random(seed)  # noqa: S311 - a repeatable week, not a secret
    members = [f"USIM{n:04d}" for n in range(200)]
    helpers = make_helpers(rng, members)
    by_id = {h.user_id: h for h in helpers}
    clock = SimClock(MONDAY - timedelta(hours=1))
    chat = SimChat(clock)
    times = ask_times(rng, asks_count)
    plan = []
    for at in times:
        topic = rng.choice(list(TOPICS))
        text = rng.choice(TOPICS[topic]) + rng.choice(DETAILS)
        organic = (at + timedelta(minutes=rng.expovariate(1 / 25))
                   if rng.random() < 0.65 else None)
        plan.append((at, rng.choice(members), topic, text, organic))

    with tempfile.TemporaryDirectory() as scratch:
        config = Config(database_url=f"sqlite:///{Path(scratch) / 'sim.sqlite'}")
        async with bootstrap(config, clock, send_in_background=False) as runtime:
            runtime.router.register(Platform.SLACK, chat)
            handle = runtime.service.handle
            for helper in helpers:
                hours = helper.hours
                await handle(SetHours(WS, Actor(helper.user_id),
                                      HoursSaid(hours.start, hours.end, hours.days, hours.zone)))
                await handle(SetHelper(WS, Actor(helper.user_id), True, helper.topics or None))
            asks: dict[int, SimAsk] = {}
            pending = list(plan)
            answers: list[tuple[datetime, str, Message]] = []  # helper replies to come
            seen_told = 0
            misses: set[int] = set()
            end = MONDAY + timedelta(days=7)
            started = time.perf_counter()
            while clock.now() < end:
                clock.advance(STEP)
                now = clock.now()
                while pending and pending[0][0] <= now:
                    at, asker, topic, text, organic = pending.pop(0)
                    reply = await handle(CreateAsk(WS, Actor(asker), rng.choice(CHANNELS), text))
                    if not reply.ok:
                        continue
                    ask_id = max(asks, default=0) + 1
                    asks[ask_id] = SimAsk(ask_id, asker, topic, at, organic)
                for ask in asks.values():  # offers made on their own
                    if (ask.offered_at is None and ask.organic_offer_at is not None
                            and ask.organic_offer_at <= now):
                        offerer = rng.choice([m for m in members if m != ask.asker])
                        await handle(OfferHelp(WS, Actor(offerer), ask.id))
                        ask.offered_at = now
                    if ask.offered_at and not ask.resolved and now - ask.offered_at > timedelta(hours=2):
                        await handle(ResolveAsk(WS, Actor(ask.asker), ask.id,
                                                f"{ask.topic}: what fixed it, written down"))
                        ask.resolved = True
                due_answers = [a for a in answers if a[0] <= now]
                answers = [a for a in answers if a[0] > now]
                for _, user, message in due_answers:
                    await _answer(handle, user, message, rng, asks, now, by_id[user])
                await handle(RunAskMaintenance())
                if now.minute == 0:
                    await handle(RunAnswerIndexing())
                for told_at, user, message in chat.told[seen_told:]:
                    if message.kind is MessageKind.HELP_REQUEST:
                        ask_id = _ask_of(message)
                        asks[ask_id].requested.append((user, told_at))
                        answers.append((told_at + timedelta(minutes=rng.uniform(3, 25)), user,
                                        message))
                seen_told = len(chat.told)
                misses |= await _missed(runtime, asks, helpers, now)
            elapsed = time.perf_counter() - started
    return _figures(asks, helpers, misses, elapsed)


def _ask_of(message: Message) -> int:
    [offer] = [b for b in message.buttons if b.action is ActionId.REQUEST_OFFER]
    return int(offer.value)


async def _answer(handle: Callable[[Command], Awaitable[Reply]], user: str, message: Message,
                  rng: random.Random, asks: dict[int, SimAsk], now: datetime,
                  helper: SimHelper) -> None:
    """A helper answers a request: I can help (60 %), Not now (15 %), or nothing; only at work."""
    if not helper.hours.is_working(now):
        return
    roll = rng.random()
    action = (ActionId.REQUEST_OFFER if roll < 0.6 else ActionId.REQUEST_NOT_NOW if roll < 0.75
              else None)
    if action is None:
        return
    [button] = [b for b in message.buttons if b.action is action]
    press = pressed(WS.platform, button.action.value, button.value)
    if press is None:
        raise RuntimeError(f"leanon's own button was not understood: {button}")
    await handle(press.command(WS, Actor(user)))
    ask = asks[_ask_of(message)]
    if action is ActionId.REQUEST_OFFER and ask.offered_at is None:
        ask.offered_at = now


async def _missed(runtime: Runtime, asks: dict[int, SimAsk], helpers: list[SimHelper],
                  now: datetime) -> set[int]:
    """Asks that waited, with no offer and nobody asked, an hour of working time of a
    suitable helper who could be asked now (at work, below the maximum, not resting)."""
    waiting = [a for a in asks.values() if a.offered_at is None and not a.requested]
    if not waiting:
        return set()
    async with runtime.store.unit_of_work() as uow:
        recent = await uow.requests.since(WS, now - timedelta(days=2))
        stored = {h.user_id: h for h in await uow.members.helpers(WS)}
    missed = set()
    for ask in waiting:
        for helper in helpers:
            entry = stored.get(helper.user_id)
            if entry is None or not entry.active or helper.user_id == ask.asker:
                continue
            today = helper.hours.today(now)
            count = sum(1 for r in recent if r.helper_id == helper.user_id and r.local_date == today)
            if (suitable(helper, ask.topic) and helper.hours.is_working(now)
                    and count < DAILY_MAX and entry.quiet_on != today
                    and helper.hours.working_time(ask.created_at, now) >= timedelta(hours=1)):
                missed.add(ask.id)
                break
    return missed


@dataclass
class Figures:
    asks: int
    on_their_own: int  # got an offer before any request
    requested: int  # asks that got requests
    within: int  # of those, reached a helper within one working hour of theirs
    could: int  # asks a suitable helper could have been asked about within that hour
    later: int  # reached later: no suitable helper was free in the ask's first working hour
    missed: int  # waited an hour of a free suitable helper's time with nobody asked
    requests: int
    most_in_a_day: int
    outside_hours: int
    late: list[int]
    seconds: float


def _figures(asks: dict[int, SimAsk], helpers: list[SimHelper], misses: set[int],
             elapsed: float) -> Figures:
    by_id = {h.user_id: h for h in helpers}
    per_day: Counter[tuple[str, date]] = Counter()
    outside = within = 0
    late = []
    for ask in asks.values():
        for user, at in ask.requested:
            hours = by_id[user].hours
            per_day[(user, hours.today(at))] += 1
            outside += not hours.is_working(at)
        if ask.requested:
            first_user, first_at = min(ask.requested, key=lambda r: r[1])
            if by_id[first_user].hours.working_time(ask.created_at, first_at) <= timedelta(hours=1):
                within += 1
            else:
                late.append(ask.id)
    requested = {a.id for a in asks.values() if a.requested}
    return Figures(
        asks=len(asks),
        on_their_own=sum(1 for a in asks.values() if a.offered_at and not a.requested),
        requested=len(requested), within=within, could=within + len(misses),
        later=len(set(late) - misses),
        missed=len(misses), requests=sum(len(a.requested) for a in asks.values()),
        most_in_a_day=max(per_day.values(), default=0), outside_hours=outside, late=late,
        seconds=elapsed)


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--asks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    f = asyncio.run(simulate(args.asks, args.seed))
    print("\n| figure | value | target |\n|---|---|---|")
    print(f"| asks over the week | {f.asks} | 500 |")
    print(f"| got an offer on their own before any request | {f.on_their_own} | |")
    print(f"| asks that got requests | {f.requested} | |")
    print(f"| reached a suitable helper within one working hour | {f.within} of {f.could} | "
          f"all ({_met(f.within == f.could)}) |")
    print(f"| waited an hour of a free suitable helper's time, nobody asked | {f.missed} | "
          f"0 ({_met(f.missed == 0)}) |")
    print(f"| reached later: no suitable helper free in the ask's first working hour | "
          f"{f.later} | |")
    print(f"| requests sent | {f.requests} | |")
    print(f"| most requests to one helper on one day of theirs | {f.most_in_a_day} | "
          f"≤ {DAILY_MAX} ({_met(f.most_in_a_day <= DAILY_MAX)}) |")
    print(f"| requests outside the helper's working hours | {f.outside_hours} | "
          f"0 ({_met(f.outside_hours == 0)}) |")
    print(f"\nsimulated in {f.seconds:.0f} s; asks reached late: {f.late or 'none'}")


if __name__ == "__main__":
    main()

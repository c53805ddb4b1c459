"""The insights page for team leads (docs/insights.md): who may see it, and what it shows.

Sign-in: `/leanon insights` gives an admin a private link with a one-time token (10
minutes, one use; only its SHA-256 is stored). Opening it starts a session of
`SESSION_HOURS` whose token goes in an HttpOnly cookie; both are bound to the workspace
and the admin, so a link or a session of one workspace never shows another's numbers.
The web adapter (`adapters/web`) serves the page; the core decides who is signed in.
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import memory
from bot.admin import ADMIN_ONLY
from bot.commands import OpenInsights
from bot.deps import Deps
from bot.domain import Ask, InsightWindow, Signed, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Reply, error, line, notice
from bot.text import preview

LINK_MINUTES = 10
SESSION_HOURS = 8


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def open_insights(cmd: OpenInsights, deps: Deps) -> Reply:
    if not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error(ADMIN_ONLY.format(what="open the insights page")))
    if deps.insights_url is None:
        return Reply.of(error("The insights page is served by leanon run's web server, which "
                              "this leanon does not run."))
    now = deps.clock.now()
    token = new_token()
    signed = Signed(cmd.workspace, cmd.actor.user_id, now + timedelta(minutes=LINK_MINUTES))
    async with deps.uow() as uow:
        await uow.insights.prune(now - timedelta(days=1))
        await uow.insights.add_link(token_hash(token), signed, now)
        await uow.commit()
    url = f"{deps.insights_url.rstrip('/')}/insights/login/{token}"
    return Reply.of(notice(
        line(f"Your link to this workspace's insights: {url}"),
        line(f"It works once, for the next {LINK_MINUTES} minutes, and only for you: don't "
             "share it. The page shows trends, never a ranking of people.")))


async def sign_in(deps: Deps, token: str) -> tuple[str, Signed] | None:
    """A session for the link's admin (its token and who it is for); None when the link is
    unknown, used or expired."""
    now = deps.clock.now()
    session = new_token()
    async with deps.uow() as uow:
        link = await uow.insights.use_link(token_hash(token), now)
        if link is None:
            return None
        signed = Signed(link.workspace, link.admin_id, now + timedelta(hours=SESSION_HOURS))
        await uow.insights.add_session(token_hash(session), signed, now)
        await uow.commit()
    return session, signed


async def signed_in(deps: Deps, session: str) -> Signed | None:
    async with deps.uow() as uow:
        return await uow.insights.session(token_hash(session), deps.clock.now())


async def sign_out(deps: Deps, session: str) -> bool:
    async with deps.uow() as uow:
        ended = await uow.insights.end_session(token_hash(session), deps.clock.now())
        await uow.commit()
    return ended



# --- what the page shows ------------------------------------------------------------------

FEWEST = 5  # a group of fewer people is never shown: "fewer than 5"
PERIODS = (4, 12, 26, 52)  # weeks a lead may choose; 12 by default
DEFAULT_WEEKS = 12
UNANSWERED_AFTER = timedelta(hours=24)
WAITING_SHOWN = 20
RECURRING_SHOWN = 5


@dataclass(frozen=True, slots=True)
class WeekNumbers:
    """One week of the chosen period. None: not shown (no asks to judge, or fewer than
    `FEWEST` people behind the number)."""

    start: datetime
    opened: int
    resolved: int
    median_first_offer: timedelta | None
    unanswered_share: float | None  # asks with no offer within 24 hours, of those 24 h old
    thanks: int
    first_time_askers: int | None
    top_three_share: float | None  # share of offers by the week's 3 busiest helpers
    from_memory: int  # asks answered from memory ("This solved it")


@dataclass(frozen=True, slots=True)
class ChannelNumbers:
    """A channel over the period; its numbers are None when fewer than `FEWEST` people
    asked or helped in it."""

    channel_id: str
    opened: int | None
    resolved: int | None
    median_first_offer: timedelta | None
    unanswered_share: float | None
    thanks: int | None


@dataclass(frozen=True, slots=True)
class WaitingAsk:
    id: int
    channel_id: str
    text: str
    waited: timedelta
    url: str | None


@dataclass(frozen=True, slots=True)
class Ladder:
    """What the escalation ladder did for the period's asks."""

    requested: int  # asks whose helpers were asked to look
    offered_after: int  # of those, asks that then got an offer
    escalated: int  # asks posted in the escalation channel


@dataclass(frozen=True, slots=True)
class Insights:
    workspace: WorkspaceRef
    weeks_count: int
    channel: str | None  # None: all channels
    since: datetime
    until: datetime
    weeks: list[WeekNumbers]
    channels: list[ChannelNumbers]
    all_channels: list[str]
    waiting: list[WaitingAsk]
    recurring: list[str]  # questions suggested again and again with nothing noted as solving them
    ladder: Ladder
    # Fewer than `FEWEST` people asked or helped in the selection: no weekly numbers at all.
    withheld: bool = False


def _median(seconds: list[float]) -> timedelta | None:
    """The middle wait (the mean of the two middle ones for an even count), as
    `median_span` takes it, of waits in seconds."""
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _top_three(by_helper: Counter[str]) -> float | None:
    if len(by_helper) < FEWEST:
        return None
    return sum(n for _, n in by_helper.most_common(3)) / by_helper.total()


async def insights(deps: Deps, workspace: WorkspaceRef, weeks_count: int = DEFAULT_WEEKS,
                   channel: str | None = None) -> Insights:
    """The page's numbers for the last `weeks_count` weeks (each the 7 days up to now, as
    the weekly post counts them), of one channel or all."""
    now = deps.clock.now()
    window = InsightWindow(now, weeks_count if weeks_count in PERIODS else DEFAULT_WEEKS,
                           UNANSWERED_AFTER)
    async with deps.reading() as uow:  # counts only: writers never wait behind the page
        t = await uow.insights.tallies(workspace, window)
        waiting = await uow.asks.list_open(workspace, channel, limit=WAITING_SHOWN)
        suggested: Counter[int] = Counter()
        for (answer_id, channel_id), times in t.unnoted_suggestions.items():
            if channel is None or channel_id == channel:
                suggested[answer_id] += times
        again = sorted((answer_id for answer_id, times in suggested.items() if times > 1),
                       key=lambda answer_id: (-suggested[answer_id], answer_id))
        recurring = await uow.answers.get_many(workspace, again[:RECURRING_SHOWN])
    all_channels = sorted({a.channel_id for a in t.asks}
                          | {c for _, c in t.thanks if c is not None})

    def here(channel_id: str | None) -> bool:
        return channel is None or channel_id == channel

    asks = [a for a in t.asks if here(a.channel_id)]
    waits: dict[int, list[float]] = {}
    channel_waits: dict[str, list[float]] = {}
    for (week, channel_id), seconds in t.first_offer_seconds.items():
        channel_waits.setdefault(channel_id, []).extend(seconds)
        if here(channel_id):
            waits.setdefault(week, []).extend(seconds)
    helping: defaultdict[int, Counter[str]] = defaultdict(Counter)
    helpers: defaultdict[str, set[str]] = defaultdict(set)
    for (week, channel_id, helper), offers in t.offers.items():
        helpers[channel_id].add(helper)
        if here(channel_id):
            helping[week][helper] += offers
    askers: defaultdict[str, set[str]] = defaultdict(set)
    first_timers: defaultdict[int, set[str]] = defaultdict(set)
    first_week = {asker: window.week_of(at) for asker, at in t.first_asked.items()}
    for week, channel_id, asker in t.askers:
        askers[channel_id].add(asker)
        if first_week.get(asker) == week and here(channel_id):
            first_timers[week].add(asker)
    weeks = []
    for week, start in enumerate(window.starts):
        mine = [a for a in asks if a.week == week]
        first_time = len(first_timers.get(week, ()))
        weeks.append(WeekNumbers(
            start=start,
            opened=sum(a.opened for a in mine),
            resolved=sum(n for (w, c), n in t.resolved.items() if w == week and here(c)),
            median_first_offer=_median(waits.get(week, [])),
            unanswered_share=_share(sum(a.late for a in mine), sum(a.judged for a in mine)),
            thanks=sum(n for (w, c), n in t.thanks.items() if w == week and here(c)),
            first_time_askers=first_time if first_time >= FEWEST else None,
            top_three_share=_top_three(helping.get(week, Counter())),
            from_memory=sum(n for (w, c), n in t.from_memory.items() if w == week and here(c))))
    channels = []
    for channel_id in filter(here, all_channels):
        people = askers.get(channel_id, set()) | helpers.get(channel_id, set())
        if len(people) < FEWEST:
            channels.append(ChannelNumbers(channel_id, None, None, None, None, None))
            continue
        mine = [a for a in t.asks if a.channel_id == channel_id]
        channels.append(ChannelNumbers(
            channel_id, sum(a.opened for a in mine),
            sum(n for (_, c), n in t.resolved.items() if c == channel_id),
            _median(channel_waits.get(channel_id, [])),
            _share(sum(a.late for a in mine), sum(a.judged for a in mine)),
            sum(n for (_, c), n in t.thanks.items() if c == channel_id)))
    people = set().union(*(askers.get(c, set()) | helpers.get(c, set())
                           for c in all_channels if here(c)))
    withheld = len(people) < FEWEST
    shown_asks = [a for a in waiting
                  if not await memory.channel_is_private(deps, workspace, a.channel_id)]
    return Insights(
        workspace=workspace, weeks_count=window.weeks, channel=channel, since=window.since,
        until=now, weeks=[] if withheld else weeks, channels=channels, all_channels=all_channels,
        waiting=[WaitingAsk(a.id, a.channel_id, preview(a.text, 120), now - a.created_at,
                            await _url(deps, a)) for a in shown_asks],
        recurring=[preview(a.question, 100) for a in recurring],
        ladder=Ladder(0, 0, 0) if withheld else Ladder(
            requested=sum(a.requested for a in asks),
            offered_after=sum(a.offered_after_request for a in asks),
            escalated=sum(a.escalated for a in asks)),
        withheld=withheld)


async def _url(deps: Deps, ask: Ask) -> str | None:
    if ask.message is None:
        return None
    try:
        return await deps.directory.message_url(ask.workspace, ask.message)
    except ChatError:
        return None

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
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import memory
from bot.admin import ADMIN_ONLY
from bot.commands import OpenInsights
from bot.deps import Deps
from bot.domain import (
    Ask,
    AskFacts,
    LadderStep,
    OfferFacts,
    Signed,
    SuggestionOutcome,
    WorkspaceRef,
    median_span,
)
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


def _unanswered(asks: list[AskFacts], now: datetime) -> float | None:
    judged = [a for a in asks if now - a.created_at >= UNANSWERED_AFTER]
    if not judged:
        return None
    late = sum(1 for a in judged if a.first_offer_at is None
               or a.first_offer_at - a.created_at > UNANSWERED_AFTER)
    return late / len(judged)


def _top_three(offers: list[OfferFacts]) -> float | None:
    by_helper = Counter(o.helper_id for o in offers)
    if len(by_helper) < FEWEST:
        return None
    return sum(n for _, n in by_helper.most_common(3)) / len(offers)


async def insights(deps: Deps, workspace: WorkspaceRef, weeks_count: int = DEFAULT_WEEKS,
                   channel: str | None = None) -> Insights:
    """The page's numbers for the last `weeks_count` weeks (each the 7 days up to now, as
    the weekly post counts them), of one channel or all."""
    now = deps.clock.now()
    weeks_count = weeks_count if weeks_count in PERIODS else DEFAULT_WEEKS
    since = now - timedelta(days=7 * weeks_count)
    starts = [since + timedelta(days=7 * i) for i in range(weeks_count)]
    async with deps.uow() as uow:
        opened_all = await uow.insights.asks_opened(workspace, since, now)
        resolved_all = await uow.insights.asks_resolved(workspace, since, now)
        offers_all = await uow.insights.offers(workspace, since, now)
        askers = {a.asker_id for a in opened_all if a.asker_id is not None}
        first_asks = await uow.insights.first_asks(workspace, askers)
        thanks_weeks = [await uow.insights.thanks_by_channel(workspace, start,
                                                             start + timedelta(days=7))
                        for start in starts]
        shown = await uow.answers.shown_since(workspace, since)
        waiting = await uow.asks.list_open(workspace, channel, limit=WAITING_SHOWN)
        noted = {a.id: a for a in await uow.answers.get_many(
            workspace, list({s.answer_id for s in shown}))}
    all_channels = sorted({a.channel_id for a in opened_all}
                          | {c for week in thanks_weeks for c in week if c is not None})

    def here(channel_id: str | None) -> bool:
        return channel is None or channel_id == channel

    opened = [a for a in opened_all if here(a.channel_id)]
    resolved = [at for c, at in resolved_all if here(c)]
    offers = [o for o in offers_all if here(o.channel_id)]
    ask_channel = {a.id: a.channel_id for a in opened_all}
    solved = [s for s in shown if s.outcome is SuggestionOutcome.SOLVED and s.decided_at
              and here(ask_channel.get(s.ask_id))]
    weeks = []
    for start, thanks in zip(starts, thanks_weeks, strict=True):
        end = start + timedelta(days=7)
        mine = [a for a in opened if start <= a.created_at < end]
        first_timers = {a.asker_id for a in mine if a.asker_id is not None
                        and start <= first_asks.get(a.asker_id, now) < end}
        weeks.append(WeekNumbers(
            start=start,
            opened=len(mine),
            resolved=sum(1 for at in resolved if start <= at < end),
            median_first_offer=median_span([a.first_offer_at - a.created_at for a in mine
                                        if a.first_offer_at is not None]),
            unanswered_share=_unanswered(mine, now),
            thanks=sum(n for c, n in thanks.items() if here(c)),
            first_time_askers=len(first_timers) if len(first_timers) >= FEWEST else None,
            top_three_share=_top_three([o for o in offers if start <= o.created_at < end]),
            from_memory=sum(1 for s in solved if s.decided_at and start <= s.decided_at < end)))
    channels = []
    for channel_id in all_channels:
        if not here(channel_id):
            continue
        asks_here = [a for a in opened_all if a.channel_id == channel_id]
        people = ({a.asker_id for a in asks_here if a.asker_id}
                  | {o.helper_id for o in offers_all if o.channel_id == channel_id})
        if len(people) < FEWEST:
            channels.append(ChannelNumbers(channel_id, None, None, None, None, None))
            continue
        channels.append(ChannelNumbers(
            channel_id, len(asks_here), sum(1 for c, _ in resolved_all if c == channel_id),
            median_span([a.first_offer_at - a.created_at for a in asks_here if a.first_offer_at]),
            _unanswered(asks_here, now), sum(week.get(channel_id, 0) for week in thanks_weeks)))
    recurring = Counter(s.answer_id for s in shown if here(ask_channel.get(s.ask_id))
                        and (a := noted.get(s.answer_id)) is not None and not a.note)
    requested = [a for a in opened if a.ladder_step >= LadderStep.REQUEST and a.asked_helpers]
    people = {a.asker_id for a in opened if a.asker_id} | {o.helper_id for o in offers}
    withheld = len(people) < FEWEST
    if withheld:
        weeks, requested = [], []
    shown_asks = [a for a in waiting
                  if not await memory.channel_is_private(deps, workspace, a.channel_id)]
    return Insights(
        workspace=workspace, weeks_count=weeks_count, channel=channel, since=since, until=now,
        weeks=weeks, channels=channels, all_channels=all_channels,
        waiting=[WaitingAsk(a.id, a.channel_id, preview(a.text, 120), now - a.created_at,
                            await _url(deps, a)) for a in shown_asks],
        recurring=[preview(noted[answer_id].question, 100)
                   for answer_id, count in recurring.most_common(RECURRING_SHOWN) if count > 1],
        ladder=Ladder(requested=len(requested),
                      offered_after=sum(1 for a in requested if a.first_offer_at is not None),
                      escalated=0 if withheld else sum(
                          1 for a in opened if a.ladder_step >= LadderStep.ESCALATION)),
        withheld=withheld)


async def _url(deps: Deps, ask: Ask) -> str | None:
    if ask.message is None:
        return None
    try:
        return await deps.directory.message_url(ask.workspace, ask.message)
    except ChatError:
        return None

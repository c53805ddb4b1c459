"""The escalation ladder of an ask nobody has offered on (docs/help-arrives.md).

Each step is taken once per ask, across workers and replicas: the step is claimed with a
conditional update of the ask (`AskRepository.claim_step`: only an open ask with no offer
whose ladder is below the step) in the same unit of work that writes what the step says
into the outbox, so a crash before the commit takes the step again later and one after
it never twice. The ladder stops at the first offer, and when the ask is resolved or
withdrawn, since the claim then fails.

The steps:

1. **Tips** (`tips-after`, default 15 minutes after the ask, by the wall clock): the asker
   privately gets tips to sharpen the ask, written for what the ask lacks.
2. **Requests** (`request-after`, default 45 minutes of each helper's own working time since
   the ask): up to 3 likely helpers (`likely_helpers`), in their working hours and below
   their daily maximum (`daily-requests`), each get a private request with I can help, Not
   now and Stop asking me. The card says how many were asked, never who.
3. **Escalation** (`escalate-after`, default 4 hours of the team's working time: when at
   least one helper is working, or the wall clock when no helper has hours): a post in
   the channel an admin chose with `/leanon escalate here`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import cards, memory, outbox
from bot.buttons import Press
from bot.deps import Deps
from bot.domain import (
    Ask,
    Helper,
    HelpRecord,
    HelpRequest,
    LadderStep,
    Settings,
    WorkspaceRef,
)
from bot.hours import working_time_of_any
from bot.messages import (
    ActionId,
    ButtonStyle,
    Line,
    Link,
    Message,
    MessageKind,
    UserText,
    line,
    notice,
)
from bot.ports import UnitOfWork
from bot.text import format_duration, needs_specific_tip, plural, preview, word_count

log = logging.getLogger(__name__)

# What an error message, a log line, a version or a command looks like in an ask.
_SPECIFICS = re.compile(r"""["'`“”‘’]|\b\d{3}\b|\berror\b|exception|failed|v?\d+\.\d+|/\w+""",
                        re.IGNORECASE)
SHORT_ASK_WORDS = 12


def tips_for(ask: Ask, waited: str) -> Message:
    """The tips for one ask: what it lacks first, then where to add it."""
    tips = []
    if needs_specific_tip(ask.text) or word_count(ask.text) < SHORT_ASK_WORDS:
        tips.append("Say what you are trying to do and what happens instead: a short ask "
                    "leaves helpers guessing whether they can help.")
    if not ask.tried:
        tips.append("Say what you have tried already, even if it was only a search: "
                    "it saves helpers suggesting it again.")
    if not _SPECIFICS.search(ask.text) and not (ask.tried and _SPECIFICS.search(ask.tried)):
        tips.append("Paste the exact error message, the command you ran or the version: "
                    "the words people search for.")
    if not tips:
        tips.append("Add what you found since you asked, or what would already help "
                    "(a pointer, a name, a guess): a reply brings the ask back to mind.")
    lines = [line(f"Your ask has waited {waited} without an offer: ", UserText(preview(ask.text)))]
    lines.append(line("It might get an answer sooner if you add to it in its thread:"))
    lines.extend(line(f"• {tip}") for tip in tips)
    lines.append(line("Asking is a strength: a clearer ask is a kindness to whoever helps."))
    return notice(*lines, kind=MessageKind.TIP, title="Tips for your ask")


async def due_for_tips(uow: UnitOfWork, workspace: WorkspaceRef, settings: Settings,
                       now: datetime) -> list[Ask]:
    """The workspace's asks whose tips are due (none when tips are off)."""
    if settings.tips_after is None:
        return []
    return await uow.asks.waiting_below_step(workspace, LadderStep.TIPS, now - settings.tips_after)


async def send_tips(deps: Deps, due: list[Ask], now: datetime) -> int:
    """Send the tips of `due` asks, each once; how many were sent."""
    sent = 0
    for ask in due:
        if ask.asker_id is None:  # forgotten: nobody to tell
            continue
        async with deps.uow() as uow:
            if await uow.asks.claim_step(ask.id, LadderStep.TIPS):
                await outbox.tell(uow, now, ask.workspace, ask.channel_id, ask.asker_id,
                                  tips_for(ask, format_duration(now - ask.created_at)))
                await uow.commit()
                sent += 1
    return sent


RECENT_HELP = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Pick:
    helper: Helper
    reason: str  # told to the helper: why them ("you helped with 2 similar asks")


_TOPIC_WORD = re.compile(r"[\w+#./-]+")


def _topics_in(helper: Helper, text: str) -> list[str]:
    """The helper's topics said in text, as whole words (a topic of several words as they
    stand together)."""
    words = " " + " ".join(w.strip("./-") for w in _TOPIC_WORD.findall(text.lower())) + " "
    return [t for t in helper.topics if f" {t} " in words]


def available(helper: Helper, ask: Ask, requested_today: Mapping[str, int], daily_max: int,
              now: datetime) -> bool:
    """Whether the helper may be asked about `ask` at `now`: active, in their working hours,
    not the asker, below the daily maximum and not resting after "Not now" on their date."""
    return (helper.active and helper.hours is not None and helper.user_id != ask.asker_id
            and requested_today.get(helper.user_id, 0) < daily_max
            and helper.quiet_on != helper.hours.today(now)
            and helper.hours.is_working(now))


def likely_helpers(ask: Ask, helpers: Sequence[Helper], records: Mapping[str, HelpRecord],
                   requested_today: Mapping[str, int], daily_max: int, now: datetime,
                   limit: int = 3) -> list[Pick]:
    """Up to `limit` opted-in helpers to ask about `ask`, best first.

    Only helpers `available` at `now` (`requested_today`: requests on their own date), and
    only who is suited: they helped with similar asks, one of their topics is in the ask,
    or they chose no topics (anything goes). Ranked by similar asks helped with, then
    topics matched, then help in the last 30 days, then fewer requests today; ties by
    member id.
    """
    scored = []
    for helper in helpers:
        if not available(helper, ask, requested_today, daily_max, now):
            continue
        record = records.get(helper.user_id, HelpRecord())
        topics = _topics_in(helper, f"{ask.text} {ask.tried or ''}")
        if not (record.similar or topics or not helper.topics):
            continue
        recent = record.last_helped is not None and now - record.last_helped <= RECENT_HELP
        if record.similar:
            reason = f"you helped with {plural(record.similar, 'similar ask')}"
        elif topics:
            reason = f"it is about {topics[0]}, one of your topics"
        else:
            reason = "you offered to help with any topic"
        key = (-record.similar, -len(topics), not recent, requested_today.get(helper.user_id, 0),
               helper.user_id)
        scored.append((key, Pick(helper, reason)))
    return [pick for _, pick in sorted(scored, key=lambda pair: pair[0])[:limit]]


# --- step 2: requests to likely helpers ----------------------------------------------------

# Requests are read back this far to count each helper's requests on their own date.
_COUNTED = timedelta(days=2)
# An ask nobody suits now is tried again at every run: its related asks (a search) are
# kept this long, for this many asks, rather than searched for again each time.
RELATED_KEPT = timedelta(hours=1)


async def _related(deps: Deps, ask: Ask, now: datetime) -> list[int]:
    key = (ask.workspace, ask.id)
    kept = deps.related_asks.get(key)
    if kept is not None and timedelta(0) <= now - kept[0] < RELATED_KEPT:
        return kept[1]
    related = await memory.related_asks(deps, ask)
    deps.related_asks[key] = (now, related)
    return related


def _ask_lines(ask: Ask, waited: str, after: str) -> list[Line]:
    """The ask as a request or an escalation shows it: its text, what was tried, who asked
    (never an anonymous asker) how long ago, and a link to the card."""
    lines: list[Line] = [line(UserText(ask.text))]
    if ask.tried:
        lines.append(line("What they tried: ", UserText(ask.tried)))
    where: Line = (Link(ask.message, "See the ask and its thread"),) if ask.message else ()
    lines.append(line("Asked by ", cards.asker_part(ask), f" {waited} ago; {after} ", *where))
    return lines


def request_for(ask: Ask, reason: str, waited: str) -> Message:
    """The private request to one helper: the ask, why them, and the buttons."""
    lines = _ask_lines(ask, waited, "no offer yet.")
    lines.append(line(f"leanon asks you because {reason}. Only you know you were asked: the "
                      "card says how many teammates were asked, never who."))
    lines.append(line("Not now: no more requests today. Stop asking me: you stop being a "
                      "helper (/leanon helper on brings you back)."))
    buttons = (Press(ActionId.REQUEST_OFFER, ask.id).button(line("I can help"), ButtonStyle.PRIMARY),
               Press(ActionId.REQUEST_NOT_NOW, ask.id).button(line("Not now")),
               Press(ActionId.REQUEST_STOP, ask.id).button(line("Stop asking me")))
    return Message(MessageKind.HELP_REQUEST, tuple(lines),
                   title="Could you look at a teammate's ask?", buttons=buttons)


async def due_for_requests(uow: UnitOfWork, workspace: WorkspaceRef, settings: Settings,
                           now: datetime) -> list[Ask]:
    """The workspace's asks that may be due for requests: by the wall clock, since working
    time is never more (none when requests are off)."""
    if settings.request_after is None:
        return []
    return await uow.asks.waiting_below_step(workspace, LadderStep.REQUEST,
                                             now - settings.request_after)


def requests_today(helpers: Sequence[Helper], requests: Sequence[HelpRequest],
                   now: datetime) -> dict[str, int]:
    """How many requests each helper got on their own date of `now`."""
    today = {h.user_id: h.hours.today(now) for h in helpers if h.hours is not None}
    return dict(Counter(r.helper_id for r in requests if today.get(r.helper_id) == r.local_date))


async def send_requests(deps: Deps, workspace: WorkspaceRef, settings: Settings, due: list[Ask],
                        roster: Sequence[Helper], now: datetime) -> int:
    """Ask likely helpers (of the workspace's `roster`) to look at the `due` asks, each
    ask's step once; how many asks got requests. An ask no helper suits now waits for the
    next run."""
    if not due or settings.request_after is None:
        return 0
    helpers = [h for h in roster if h.active and h.hours]
    async with deps.uow() as uow:
        recent = await uow.requests.since(workspace, now - _COUNTED)
    sent = 0
    for ask in due:
        ready = [h for h in helpers if h.hours is not None
                 and h.hours.working_time(ask.created_at, now) >= settings.request_after]
        counts = requests_today(ready, recent, now)
        if not any(available(h, ask, counts, settings.daily_requests, now) for h in ready):
            continue  # nobody could be asked now: no search, no records
        related = await _related(deps, ask, now)
        async with deps.uow() as uow:
            records = await uow.requests.records(workspace, related, [h.user_id for h in ready])
        made = await _request(deps, ask, ready, records, settings, now)
        recent.extend(made)
        sent += bool(made)
    return sent


async def _request(deps: Deps, ask: Ask, ready: list[Helper], records: Mapping[str, HelpRecord],
                   settings: Settings, now: datetime) -> list[HelpRequest]:
    """Take the ask's request step with the helpers picked now: in one unit of work that
    holds the picked helpers' locks, reads their entries and counts again (another
    process's requests, a Stop asking me just pressed), so that nobody goes above the
    daily maximum or is asked after opting out."""
    workspace = ask.workspace
    async with deps.uow() as uow:
        picks = likely_helpers(ask, ready, records, {}, settings.daily_requests, now)
        for user_id in sorted(p.helper.user_id for p in picks):
            await uow.members.lock(workspace, user_id)
        current = {h.user_id: h for h in await uow.members.helpers(workspace)}
        fresh = [current.get(h.user_id, Helper(h.user_id)) for h in ready]
        counts = requests_today(fresh, await uow.requests.since(workspace, now - _COUNTED), now)
        picks = likely_helpers(ask, fresh, records, counts, settings.daily_requests, now)
        if not picks or not await uow.asks.claim_step(ask.id, LadderStep.REQUEST, len(picks)):
            return []
        made = [HelpRequest(ask.id, p.helper.user_id, now, p.helper.hours.today(now))
                for p in picks if p.helper.hours is not None]
        await uow.requests.add(workspace, made)
        waited = format_duration(now - ask.created_at)
        for pick in picks:
            await outbox.tell(uow, now, workspace, ask.channel_id, pick.helper.user_id,
                              request_for(ask, pick.reason, waited))
        await outbox.refresh_card(uow, now, ask)
        await uow.commit()
    log.info("ask %d: %s asked to look", ask.id, plural(len(made), "helper"))
    return made


# --- step 3: the escalation post -----------------------------------------------------------


def escalation_for(ask: Ask, waited: str) -> Message:
    """The post in the escalation channel: the ask, and I can help."""
    lines = _ask_lines(ask, waited, "nobody has offered yet.")
    lines.append(line("Could someone here help, or point to who can? A pointer counts."))
    buttons = (Press(ActionId.OFFER_HELP, ask.id).button(line("I can help"), ButtonStyle.PRIMARY),)
    return Message(MessageKind.ESCALATION, tuple(lines), title="An ask is still waiting",
                   buttons=buttons)


async def due_for_escalation(uow: UnitOfWork, workspace: WorkspaceRef, settings: Settings,
                             now: datetime) -> list[Ask]:
    """The asks that may be due for the escalation post, by the wall clock (none when
    escalation is off or no channel was chosen)."""
    if settings.escalate_after is None or settings.escalation_channel is None:
        return []
    return await uow.asks.waiting_below_step(workspace, LadderStep.ESCALATION,
                                             now - settings.escalate_after)


async def send_escalations(deps: Deps, workspace: WorkspaceRef, settings: Settings,
                           due: list[Ask], roster: Sequence[Helper], now: datetime) -> int:
    """Post the `due` asks whose wait reached `escalate-after` of the team's working time in
    the escalation channel, each once; how many were posted. An ask of a private channel
    is posted only when the escalation channel is that channel."""
    channel = settings.escalation_channel
    if not due or settings.escalate_after is None or channel is None:
        return 0
    hours = [h.hours for h in roster if h.active and h.hours]
    posted = 0
    for ask in due:
        if working_time_of_any(hours, ask.created_at, now) < settings.escalate_after:
            continue
        if ask.channel_id != channel and await memory.channel_is_private(deps, workspace,
                                                                         ask.channel_id):
            continue
        async with deps.uow() as uow:
            if await uow.asks.claim_step(ask.id, LadderStep.ESCALATION):
                await outbox.post(uow, now, workspace, channel,
                                  escalation_for(ask, format_duration(now - ask.created_at)))
                await uow.commit()
                posted += 1
    return posted

"""The escalation ladder of an ask nobody has offered on (docs/help-arrives.md).

Each step is taken once per ask, across workers and replicas: the step is claimed with a
conditional update of the ask (`AskRepository.claim_step`: only an open ask with no offer
whose ladder is below the step) in the same unit of work that writes what the step says
into the outbox, so a crash before the commit takes the step again later and one after
it never twice. The ladder stops at the first offer, and when the ask is resolved or
withdrawn, since the claim then fails.

Steps so far:

1. **Tips** (`tips-after`, default 15 minutes after the ask, by the wall clock): the asker
   privately gets tips to sharpen the ask, written for what the ask lacks.

`likely_helpers` picks whom the next step (a private request) will ask.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import outbox
from bot.deps import Deps
from bot.domain import Ask, Helper, LadderStep, Settings, WorkspaceRef
from bot.messages import Message, MessageKind, UserText, line, notice
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
class HelpRecord:
    """What leanon's records say of one member and asks like a waiting one: how many
    similar asks they offered on or were thanked for, and when they last helped at all."""

    similar: int = 0
    last_helped: datetime | None = None


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


def likely_helpers(ask: Ask, helpers: Sequence[Helper], records: Mapping[str, HelpRecord],
                   requested_today: Mapping[str, int], daily_max: int, now: datetime,
                   limit: int = 3) -> list[Pick]:
    """Up to `limit` opted-in helpers to ask about `ask`, best first.

    Only active helpers in their working hours at `now`, below `daily_max` requests on
    their own date (`requested_today`), never the asker, and only who is suited: they
    helped with similar asks, one of their topics is in the ask, or they chose no topics
    (anything goes). Ranked by similar asks helped with, then topics matched, then help
    in the last 30 days, then fewer requests today; ties by member id.
    """
    scored = []
    for helper in helpers:
        if (not helper.active or helper.hours is None or helper.user_id == ask.asker_id
                or requested_today.get(helper.user_id, 0) >= daily_max
                or not helper.hours.is_working(now)):
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

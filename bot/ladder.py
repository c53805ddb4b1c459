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
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from bot import outbox
from bot.deps import Deps
from bot.domain import Ask, LadderStep, Settings, WorkspaceRef
from bot.messages import Message, MessageKind, UserText, line, notice
from bot.text import format_duration, needs_specific_tip, preview, word_count

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


async def take_tips(deps: Deps, workspace: WorkspaceRef, settings: Settings, now: datetime) -> int:
    """Send the tips of every ask due for them in the workspace; how many were sent."""
    if settings.tips_after is None:
        return 0
    async with deps.uow() as uow:
        due = await uow.asks.waiting_below_step(workspace, LadderStep.TIPS, now - settings.tips_after)
    sent = 0
    for ask in due:
        if ask.asker_id is None:  # forgotten: nobody to tell
            continue
        async with deps.uow() as uow:
            if await uow.asks.claim_step(ask.id, LadderStep.TIPS):
                await outbox.tell(uow, now, workspace, ask.channel_id, ask.asker_id,
                                  tips_for(ask, format_duration(now - ask.created_at)))
                await uow.commit()
                sent += 1
    return sent

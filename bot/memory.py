"""Answered before: what solved earlier asks is suggested when someone asks the same again.

The search itself is a port (`AnswerSearch`, adapters/similarity): this module decides
when to ask it, what the asker may be shown, and what "This solved it" and "Not it" do.

- A new ask is posted first; then the search looks for what it repeats (given up after
  SEARCH_SECONDS: the ask never waits on it), and the private answer to the asker lists
  up to 3 remembered answers from places the asker can see, each with what solved it, who
  helped (those who chose not to be named are left out; an asker never is shown) and a
  link to the earlier ask.
- With `suggestions ask-first` the search comes first: when it finds something the asker
  may see, the ask is kept unposted (held) and the asker gets the list with Post my ask
  anyway (`post_ask`); "This solved it" then resolves it without a card ever posted.
- "This solved it" resolves the new ask as answered before: its wording is remembered as
  another way of asking the old question (`same_as`), and the old ask's helpers are thanked
  again by the asker. "Not it" records that the match was wrong.
- Vectors are made in the background (`index_answers`, scheduled), for the workspaces whose
  suggestions are on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime

from bot import outbox
from bot.buttons import Press
from bot.cards import ASK_GONE, people
from bot.commands import RejectAnswer, ReuseAnswer, RunAnswerIndexing
from bot.deps import Deps
from bot.domain import (
    Answer,
    AnswerVector,
    Ask,
    AskStatus,
    NewAnswer,
    NewThanks,
    SuggestionMode,
    SuggestionOutcome,
    ThanksSource,
    WorkspaceRef,
)
from bot.errors import ChatError
from bot.messages import (
    ActionId,
    ButtonStyle,
    Line,
    Link,
    Mention,
    Message,
    Part,
    Reply,
    UserText,
    error,
    line,
    notice,
)
from bot.ports import AnswerSearch, Match, UnitOfWork
from bot.text import preview

log = logging.getLogger(__name__)

SUGGESTED = 3
# A search slower than this is given up: the ask is posted and confirmed without it.
SEARCH_SECONDS = 3.0
# Background vectors: answers per unit of work, and the most one run spends.
INDEXING_BATCH = 16
INDEXING_SECONDS = 20.0

NOT_SUGGESTED = ("That earlier answer is no longer remembered (it may have been removed). "
               "Nothing was changed.")


class _Library:
    """One workspace's answers, read for the search, each read in a unit of work of its own
    that only reads (on SQLite outside the process's turn at the write lock: a search never
    waits behind the inbox's writers)."""

    def __init__(self, deps: Deps, workspace: WorkspaceRef, model: str) -> None:
        self._deps = deps
        self._workspace = workspace
        self._model = model

    async def vectors(self, after: datetime | None, from_id: int = 0,
                      limit: int | None = None) -> tuple[int, list[AnswerVector]]:
        async with self._deps.reading() as uow:
            count, newest = await uow.answers.vector_state(self._workspace, self._model)
            if limit == 0 or (after is not None and (newest is None or newest <= after)):
                return count, []
            page = await uow.answers.vectors(self._workspace, self._model, after, from_id, limit)
            return count, page

    async def keyword(self, text: str, channel_id: str | None, limit: int) -> list[int]:
        async with self._deps.reading() as uow:
            return await uow.answers.keyword_search(self._workspace, text, channel_id, limit)


async def channel_is_private(deps: Deps, workspace: WorkspaceRef, channel_id: str) -> bool:
    """Whether only some members see the channel (then what was asked there is suggested
    there alone); private when the platform can't say now."""
    try:
        return await deps.directory.is_private(workspace, channel_id)
    except ChatError as exc:
        log.info("channel privacy unknown: %s", exc)
        return True


async def index_answers(cmd: RunAnswerIndexing, deps: Deps) -> Reply:
    """Make the vectors of answers that have none (a bounded run; the next one goes on)."""
    search = deps.search
    if search is None:
        return Reply.of()
    deadline = time.monotonic() + INDEXING_SECONDS
    made = 0
    while time.monotonic() < deadline:
        async with deps.uow() as uow:
            pending = await uow.answers.needing_vectors(search.model, INDEXING_BATCH)
        if not pending:
            break
        blobs = [(answer, await search.vectorize(answer.question, answer.note)) for answer in pending]
        async with deps.uow() as uow:
            for answer, blob in blobs:
                # refused when the note changed meanwhile: the next run makes it again
                await uow.answers.set_vector(answer.id, search.model, blob, answer.updated_at,
                                             deps.clock.now())
            await uow.commit()
        made += len(blobs)
    if made:
        log.info("made the search's vectors of %d answers", made)
    return Reply.of()


@dataclass(frozen=True, slots=True)
class _Suggested:
    answer: Answer
    chance: float
    earlier: Ask | None  # the ask it answered (None: imported)
    helpers: tuple[str, ...]


async def suggestion_mode(deps: Deps, workspace: WorkspaceRef) -> SuggestionMode:
    """Whether and when a new ask is offered remembered answers: the workspace's setting,
    or off without a search (then nothing is read)."""
    if deps.search is None:
        return SuggestionMode.OFF
    async with deps.uow() as uow:
        return (await uow.workspaces.settings(workspace)).suggestions


async def suggest_answers(deps: Deps, ask: Ask, mode: SuggestionMode) -> tuple[Message, ...]:
    """The remembered answers a new ask (posted already) likely repeats, recorded as
    suggested to it, as the messages that go with the asker's confirmation (none when
    there are none, suggestions are not on, or the search fails or is slow)."""
    search = deps.search
    if search is None or ask.asker_id is None or mode is not SuggestionMode.ON:
        return ()
    found = await _search(deps, search, ask)
    return tuple(_suggestion_message(ask, s, first=i == 0) for i, s in enumerate(found))


async def likely_repeats(deps: Deps, search: AnswerSearch, workspace: WorkspaceRef,
                         question: str, channel_id: str | None) -> list[Match]:
    """What the search finds a question (asked in channel_id) likely repeats."""
    library = _Library(deps, workspace, search.model)
    return await search.similar(workspace, question, channel_id, library)


async def related_asks(deps: Deps, ask: Ask) -> list[int]:
    """The earlier asks about what `ask` is about, from the answered-before index (looser
    than a suggestion: whose help they got says who might help now); none without the
    search, or when it fails or is slow."""
    search = deps.search
    if search is None:
        return []
    library = _Library(deps, ask.workspace, search.model)
    try:
        matches = await asyncio.wait_for(
            search.related(ask.workspace, ask.text, ask.channel_id, library), SEARCH_SECONDS)
    except Exception:
        log.exception("the search for asks like ask %d failed; helpers are chosen without it",
                      ask.id)
        return []
    if not matches:
        return []
    async with deps.uow() as uow:
        found = await uow.answers.get_many(ask.workspace, [m.answer_id for m in matches])
        originals = await uow.answers.get_many(
            ask.workspace, [a.same_as for a in found if a.same_as is not None])
    ids = [a.ask_id for a in (*found, *originals) if a.ask_id is not None and a.ask_id != ask.id]
    return list(dict.fromkeys(ids))


async def _chances(deps: Deps, search: AnswerSearch, workspace: WorkspaceRef, text: str,
                   channel_id: str, what: str) -> dict[int, float]:
    """{answer id: chance} of what the question likely repeats; none when the search fails
    or is slow (`what` it was for goes without)."""
    try:
        matches = await asyncio.wait_for(
            likely_repeats(deps, search, workspace, text, channel_id), SEARCH_SECONDS)
    except TimeoutError:
        log.warning("the answered-before search took over %.0f s; %s goes without",
                    SEARCH_SECONDS, what)
        return {}
    except Exception:
        log.exception("the answered-before search failed; %s goes without", what)
        return {}
    return {m.answer_id: m.chance for m in matches}


async def _search(deps: Deps, search: AnswerSearch, ask: Ask) -> list[_Suggested]:
    chances = await _chances(deps, search, ask.workspace, ask.text, ask.channel_id,
                             f"ask {ask.id}")
    if not chances:
        return []
    async with deps.uow() as uow:
        found = await _record(uow, deps, ask, chances)
        await uow.commit()
    return found


async def _record(uow: UnitOfWork, deps: Deps, ask: Ask,
                  chances: dict[int, float]) -> list[_Suggested]:
    """The answers matched that the asker may see, recorded as suggested to the ask."""
    found = await _suggested(uow, ask, chances)
    if found:
        await uow.answers.suggest(ask.workspace, ask.id,
                                  [(s.answer.id, s.chance) for s in found], deps.clock.now())
    return found


# --- ask-first: the suggestions before the ask is posted ---------------------------------


async def search_first(deps: Deps, mode: SuggestionMode, workspace: WorkspaceRef, text: str,
                       channel_id: str) -> dict[int, float]:
    """Where suggestions come first (`suggestions ask-first`): what a new question likely
    repeats, searched before the ask is stored ({}: not ask-first, no search, nothing
    found, or the search failed or was slow; then the ask is posted at once)."""
    search = deps.search
    if search is None or mode is not SuggestionMode.ASK_FIRST:
        return {}
    return await _chances(deps, search, workspace, text, channel_id, "a held ask")


async def hold(uow: UnitOfWork, deps: Deps, ask: Ask,
               chances: dict[int, float]) -> tuple[Message, ...]:
    """The suggestions shown to a held ask's asker, recorded, with Post my ask anyway;
    none when the asker may see none of them (then the ask is posted)."""
    found = await _record(uow, deps, ask, chances)
    if not found:
        return ()
    return (*(_suggestion_message(ask, s, first=i == 0) for i, s in enumerate(found)),
            post_anyway(ask))


def post_anyway(ask: Ask) -> Message:
    """The button that posts a held ask, with why it is not posted yet."""
    return replace(
        notice(line("Your ask isn't posted yet: if none of these answers it, post it and "
                    "teammates will see it.")),
        buttons=(Press(ActionId.POST_ASK, ask.id).button(line("Post my ask anyway"),
                                                           ButtonStyle.PRIMARY),))


async def _suggested(uow: UnitOfWork, ask: Ask, chances: dict[int, float]) -> list[_Suggested]:
    """The answers matched, each as the answer it repeats (an ask resolved by "This solved
    it" suggests the answer it reused), once each, where the asker may see them."""
    workspace = ask.workspace
    found = await uow.answers.get_many(workspace, list(chances))
    originals = {a.id: a for a in await uow.answers.get_many(
        workspace, [a.same_as for a in found if a.same_as is not None])}
    best: dict[int, tuple[Answer, float]] = {}
    for answer in found:
        original = originals.get(answer.same_as, answer) if answer.same_as else answer
        if original.ask_id == ask.id or (original.private and original.channel_id != ask.channel_id):
            continue
        chance = chances[answer.id]
        if original.id not in best or best[original.id][1] < chance:
            best[original.id] = (original, chance)
    hidden = await uow.members.opted_out(workspace)
    suggested = []
    for answer, chance in sorted(best.values(), key=lambda pair: -pair[1])[:SUGGESTED]:
        earlier = await uow.asks.get(workspace, answer.ask_id) if answer.ask_id else None
        helpers = [o.helper_id for o in await uow.asks.offers(answer.ask_id)] if answer.ask_id else []
        shown = tuple(h for h in dict.fromkeys(helpers) if h not in hidden and h != ask.asker_id)
        suggested.append(_Suggested(answer, chance, earlier, shown))
    return suggested


def _suggestion_message(ask: Ask, suggested: _Suggested, *, first: bool) -> Message:
    answer = suggested.answer
    asked: Line = line("“", UserText(preview(answer.question, 140)), "”")
    if suggested.earlier is not None and suggested.earlier.message is not None:
        asked = (*asked, " (", Link(suggested.earlier.message, "the earlier ask"), ")")
    lines = [asked]
    if answer.note:
        lines.append(line("What solved it: ", UserText(answer.note)))
    else:
        lines.append(line("It was resolved; nobody wrote down what solved it."))
    if suggested.helpers:
        lines.append(line("Helped: ", *people(list(suggested.helpers))))
    if answer.link:
        lines.append(line("More: ", UserText(answer.link)))
    buttons = (
        Press(ActionId.REUSE_ANSWER, ask.id, answer_id=answer.id).button(
            line("This solved it"), ButtonStyle.PRIMARY),
        Press(ActionId.REJECT_ANSWER, ask.id, answer_id=answer.id).button(line("Not it")),
    )
    title = "Asked before? This may answer it" if first else None
    return replace(notice(*lines, title=title), buttons=buttons)


async def _suggested_to(uow: UnitOfWork, cmd: ReuseAnswer | RejectAnswer) -> Ask | Reply:
    """The ask the button is about, when the member who pressed it asked it and the answer
    was suggested to it; else the refusal."""
    ask = await uow.asks.get(cmd.workspace, cmd.ask_id)
    if ask is None:
        return Reply.of(error(ASK_GONE))
    if ask.asker_id != cmd.actor.user_id:
        return Reply.of(error("Only the person who asked can say whether an earlier answer "
                              "solved it."))
    if await uow.answers.suggestion(cmd.workspace, ask.id, cmd.answer_id) is None:
        return Reply.of(error(NOT_SUGGESTED))
    return ask


async def reuse_answer(cmd: ReuseAnswer, deps: Deps) -> Reply:
    """"This solved it": resolve the ask as answered before and thank the helpers again."""
    async with deps.uow() as uow:
        ask = await _suggested_to(uow, cmd)
    if isinstance(ask, Reply):
        return ask
    if ask.status not in (AskStatus.OPEN, AskStatus.HELD):
        return Reply.of(notice(line("This ask is already resolved or closed.")))
    private = await channel_is_private(deps, ask.workspace, ask.channel_id)
    now = deps.clock.now()
    async with deps.uow() as uow:
        found = await uow.answers.get_many(cmd.workspace, [cmd.answer_id])
        if not found:
            return Reply.of(error(NOT_SUGGESTED))
        answer = found[0]
        resolved = replace(ask, status=AskStatus.RESOLVED, closed_at=now)
        if not await uow.asks.close(resolved):
            return Reply.of(notice(line("This ask is already resolved or closed.")))
        await uow.answers.decide(ask.workspace, ask.id, answer.id, SuggestionOutcome.SOLVED, now)
        await uow.answers.add(NewAnswer(
            ask.workspace, ask.text, now, note=answer.note, note_author=answer.note_author,
            ask_id=ask.id, channel_id=ask.channel_id, private=private, link=answer.link,
            same_as=answer.id))
        earlier = await uow.asks.get(ask.workspace, answer.ask_id) if answer.ask_id else None
        helpers = await _thank_again(uow, deps, ask, answer, earlier, now)
        await outbox.refresh_card(uow, now, resolved)
        if ask.message is not None:
            where: Part = (Link(earlier.message, "an earlier ask")
                           if earlier is not None and earlier.message is not None
                           else "an earlier answer")
            await outbox.reply(uow, now, ask.workspace, ask.message, notice(line(
                "Resolved: answered before, by ", where, ".")), topic=ask.text)
        await uow.commit()
    said = line("Glad it helped! Your ask is resolved as answered before"
                + (" (it was not posted)" if ask.status is AskStatus.HELD else ""))
    if helpers:
        said = (*said, ", and ", *people(list(helpers)), " thanked again")
    return Reply.of(notice((*said, ".")))


async def _thank_again(uow: UnitOfWork, deps: Deps, ask: Ask, answer: Answer,
                       earlier: Ask | None, now: datetime) -> tuple[str, ...]:
    """The asker thanks the helpers of the earlier ask (credit for reuse, in their numbers);
    the helpers thanked."""
    if answer.ask_id is None or ask.asker_id is None:
        return ()
    helpers = [o.helper_id for o in await uow.asks.offers(answer.ask_id)]
    settings = await uow.workspaces.settings(ask.workspace)
    topic = preview(earlier.text if earlier is not None else answer.question)
    thanked = []
    for helper in dict.fromkeys(helpers):
        if helper == ask.asker_id:
            continue
        made = await uow.thanks.add(NewThanks(
            workspace=ask.workspace, giver_id=ask.asker_id, receiver_id=helper,
            source=ThanksSource.RESOLVE, created_at=now, ask_id=ask.id, message=ask.message,
            dedupe_key=f"reuse:{ask.id}:{helper}", channel_id=ask.channel_id))
        if made is None:
            continue
        thanked.append(helper)
        if settings.receiver_dm:
            # An anonymous asker stays anonymous, even to the person they thank.
            giver: Line = ("A teammate",) if ask.anonymous else (Mention(ask.asker_id),)
            await outbox.note(uow, now, deps.note_window, ask.workspace, ask.channel_id, helper,
                              (*giver, " was helped again by your earlier answer to: ",
                               UserText(topic)))
    return tuple(thanked)


async def reject_answer(cmd: RejectAnswer, deps: Deps) -> Reply:
    """"Not it": the match was wrong; the ask stays as it is."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        ask = await _suggested_to(uow, cmd)
        if isinstance(ask, Reply):
            return ask
        if not await uow.answers.decide(cmd.workspace, ask.id, cmd.answer_id,
                                        SuggestionOutcome.NOT_IT, now):
            return Reply.of(notice(line("You already answered this one.")))
        await uow.commit()
    if ask.status is AskStatus.HELD:
        return Reply.of(notice(line("Thanks, noted: that earlier answer is not it.")),
                        post_anyway(ask))
    return Reply.of(notice(line("Thanks, noted: that earlier answer is not it. Your ask stays "
                                "posted for teammates.")))

"""Use cases for asks: create, offer help, resolve, thank a helper, list, follow up, expire."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot import cards, ladder, memory, outbox
from bot.commands import (
    CreateAsk,
    ListAsks,
    MarkAnswer,
    OfferHelp,
    PostAsk,
    ResolveAsk,
    RunAskMaintenance,
    WithdrawAsk,
)
from bot.deps import ASK_MAX_CHARS, ASKS_PER_HOUR, NOTE_MAX_CHARS, TRIED_MAX_CHARS, Deps
from bot.domain import (
    Actor,
    Ask,
    AskStatus,
    CloseReason,
    NewAnswer,
    NewAsk,
    RequestAnswer,
    WorkspaceRef,
)
from bot.errors import ChatError, StorageError
from bot.messages import Mention, MessageKind, Reply, UserText, error, line, notice
from bot.ports import UnitOfWork
from bot.text import (
    NFC_MAX_SHRINK,
    clean_user_text,
    needs_specific_tip,
    neutralise_mentions,
    plural,
    preview,
    too_long,
)

log = logging.getLogger(__name__)


HELD_FOR = timedelta(days=1)  # a held ask its asker does not post is closed after this


def _ask_too_long(length: int) -> Reply:
    return Reply.of(error(f"Your ask is {length:,} characters; the limit is "
                          f"{ASK_MAX_CHARS:,}. Shorten it and put details in the thread. "
                          "Nothing was posted."))


def _tried_too_long(length: int) -> Reply:
    return Reply.of(error(f"\"What I tried\" is {length:,} characters; the limit is "
                          f"{TRIED_MAX_CHARS:,}. Nothing was posted."))


async def create_ask(cmd: CreateAsk, deps: Deps) -> Reply:
    """Post an ask card in the channel and tell the asker privately."""
    if too_long(cmd.text, ASK_MAX_CHARS):  # refused before any other work on the text
        return _ask_too_long(len(cmd.text))
    if cmd.tried and too_long(cmd.tried, TRIED_MAX_CHARS):
        return _tried_too_long(len(cmd.tried))
    text = clean_user_text(cmd.text)
    tried = clean_user_text(cmd.tried or "") or None
    if not text:
        return Reply.of(error("What do you need help with? Write it after the command: "
                              "/ask how do I rotate the staging keys?"))
    if len(text) > ASK_MAX_CHARS:
        return _ask_too_long(len(text))
    if tried and len(tried) > TRIED_MAX_CHARS:
        return _tried_too_long(len(tried))
    # Where suggestions come first, the search runs before the ask is stored.
    mode = await memory.suggestion_mode(deps, cmd.workspace)
    first = await memory.search_first(deps, mode, cmd.workspace, text, cmd.channel_id)
    now = deps.clock.now()
    async with deps.uow() as uow:
        made = await uow.asks.by_request(cmd.workspace, cmd.request_id) if cmd.request_id else None
        if made is not None:  # the same delivery worked again (after a crash)
            if made.status is AskStatus.HELD:
                return Reply.of(memory.post_anyway(made))
            if made.status is AskStatus.RESOLVED and made.message is None:
                return Reply.of(ANSWERED_BEFORE_UNPOSTED)  # held, then "This solved it"
            card_refused = made.message is None and made.status is AskStatus.CLOSED
            return Reply.of(outbox.CARD_NOT_POSTED) if card_refused else _posted(text)
        refusal = await _refusal(uow, cmd, now)
        if refusal is not None:
            return refusal
        ask = await uow.asks.add(NewAsk(
            workspace=cmd.workspace, channel_id=cmd.channel_id, asker_id=cmd.actor.user_id,
            text=neutralise_mentions(text), tried=neutralise_mentions(tried) if tried else None,
            anonymous=cmd.anonymous, created_at=now, request_key=cmd.request_id,
            held=bool(first)))
        shown = await memory.hold(uow, deps, ask, first) if first else ()
        if first and not shown:  # nothing the asker may see: posted after all
            await uow.asks.post_held(ask.id, now)
            ask = replace(ask, status=AskStatus.OPEN)
        if not shown:
            await outbox.post_card(uow, now, ask)
        await uow.commit()
    if shown:
        return Reply.of(notice(line("Before your ask is posted: this was asked and answered "
                                    "before.")), *shown)
    # Once the ask is safe: what it likely repeats, from leanon's memory.
    suggested = await memory.suggest_answers(deps, ask, mode)
    posted = _posted(text)
    return Reply.of(*posted.private, *suggested)


async def post_ask(cmd: PostAsk, deps: Deps) -> Reply:
    """"Post my ask anyway": the asker posts their held ask; it is open from now on."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
        if ask is None:
            return Reply.of(error(cards.ASK_GONE))
        if ask.asker_id != cmd.actor.user_id:
            return Reply.of(error("Only the person who asked can post this ask."))
        if not await uow.asks.post_held(ask.id, now):
            now_is = await _load(uow, cmd.workspace, cmd.ask_id)
            if now_is is not None and now_is.status is AskStatus.OPEN:
                return Reply.of(notice(line("Your ask is posted already.")))
            return Reply.of(notice(line("This ask is resolved or closed already, so it was "
                                        "not posted.")))
        await outbox.post_card(uow, now, replace(ask, status=AskStatus.OPEN, created_at=now))
        await uow.commit()
    return _posted(ask.text)


async def _refusal(uow: UnitOfWork, cmd: CreateAsk, now: datetime) -> Reply | None:
    """Why the workspace's settings or the hourly limit refuse this ask, if they do."""
    settings = await uow.workspaces.settings(cmd.workspace)
    await uow.members.lock(cmd.workspace, cmd.actor.user_id)  # the hourly count holds under races
    if cmd.anonymous and not settings.anonymous_asks:
        return Reply.of(error("Anonymous asks are turned off in this workspace, so nothing "
                              "was posted. Ask with your name, or talk to an admin."))
    recent = await uow.asks.count_by_asker_since(
        cmd.workspace, cmd.actor.user_id, now - timedelta(hours=1))
    if recent >= ASKS_PER_HOUR:
        return Reply.of(error(f"You have opened {ASKS_PER_HOUR} asks in the last hour, the "
                              "most leanon takes. Nothing was posted; try again a bit later."))
    return None


ANSWERED_BEFORE_UNPOSTED = notice(line("Your ask was answered before and is resolved, so it "
                                       "was not posted."))


def _posted(text: str) -> Reply:
    answer = notice(line("Your ask is posted. Teammates can press ", "I can help",
                         " on it; you press ", "Resolved", " when you're sorted."))
    if needs_specific_tip(text):
        return Reply.of(answer, cards.SPECIFIC_TIP)
    return Reply.of(answer)


async def _load(uow: UnitOfWork, workspace: WorkspaceRef, ask_id: int) -> Ask | None:
    return await uow.asks.get(workspace, ask_id)


NOT_ASKED = ("This button no longer works: leanon did not ask you about that ask. "
             "Nothing was changed.")


async def offer_help(cmd: OfferHelp, deps: Deps) -> Reply:
    """Record an "I can help", update the card, tell the asker, open the thread."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
        if ask is None:
            return Reply.of(error(cards.ASK_GONE))
        if not ask.is_open:
            return Reply.of(error("This ask is already resolved or closed. Thanks for offering!"))
        if ask.asker_id == cmd.actor.user_id:
            return Reply.of(error("That's your own ask. When someone helps, press Resolved."))
        asked = await uow.requests.answer(ask.workspace, ask.id, cmd.actor.user_id,
                                          RequestAnswer.OFFERED, now)
        if cmd.requested and not asked:
            return Reply.of(error(NOT_ASKED))
        if not await uow.asks.add_offer(ask.id, cmd.actor.user_id, now):
            return Reply.of(notice(line("You already offered to help with this ask. "
                                        "Say hi in its thread.")))
        await outbox.refresh_card(uow, now, ask)
        if ask.message is not None:
            await outbox.reply(uow, now, ask.workspace, ask.message, notice(
                line(Mention(cmd.actor.user_id), " can help. Talk it through in this thread.")),
                topic=ask.text)
        if ask.asker_id is not None:
            await outbox.tell(uow, now, ask.workspace, ask.channel_id, ask.asker_id, notice(
                line(Mention(cmd.actor.user_id), " offered to help with your ask: ",
                     UserText(preview(ask.text)))))
        await uow.commit()
    return Reply.of(notice(line("Thank you for offering to help! The person who asked knows; "
                                "carry on in the card's thread.")))


async def resolve_ask(cmd: ResolveAsk, deps: Deps) -> Reply:
    """Mark an ask resolved (asker or admin) and offer the asker thank buttons: for those
    who offered and those who wrote in the card's thread. What solved it, when said, is
    kept in leanon's memory (and replaces the note of an ask resolved already)."""
    note = _note(cmd.note)
    if isinstance(note, Reply):
        return note
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
    if ask is None:
        return Reply.of(error(cards.ASK_GONE))
    # The platform is asked outside any unit of work (a look-up may take a while).
    if not await may_resolve(deps, ask, cmd.actor):
        return Reply.of(error("Only the person who asked (or a workspace admin) can mark "
                              "this ask resolved. If you can help, press I can help."))
    return await _resolve(deps, ask, cmd.actor, note, cmd.actor.user_id)


async def mark_answer(cmd: MarkAnswer, deps: Deps) -> Reply:
    """A reply in an ask's thread marked as the answer (asker or admin): its text is what
    solved the ask, its author is credited as a helper; an open ask is resolved."""
    thread = cmd.thread
    if thread is None:
        try:
            thread = await deps.directory.thread_of(cmd.workspace, cmd.message)
        except ChatError as exc:
            log.info("thread unknown for a marked answer: %s", exc)
            return Reply.of(error("leanon can't tell which ask this reply belongs to right "
                                  "now. Please try again in a moment."))
    async with deps.uow() as uow:
        ask = await uow.asks.find_by_message(cmd.workspace, thread) if thread else None
    if ask is None:
        return Reply.of(error("Mark as the answer works on a reply in an ask's thread. "
                              "Nothing was changed."))
    if not await may_resolve(deps, ask, cmd.actor):
        return Reply.of(error("Only the person who asked (or a workspace admin) can mark "
                              "the answer to this ask."))
    if await deps.is_bot(cmd.workspace, cmd.author):
        return Reply.of(error("That message is a bot's: mark the teammate's reply that "
                              "solved it."))
    if ask.status is AskStatus.CLOSED:
        return Reply.of(error("This ask was closed without being resolved. Nothing was "
                              "changed."))
    # The reply's text, however long: the note keeps its first lines.
    raw = clean_user_text(cmd.text[: NFC_MAX_SHRINK * NOTE_MAX_CHARS])
    note = raw if len(raw) <= NOTE_MAX_CHARS else raw[: NOTE_MAX_CHARS - 1].rstrip() + "…"
    if not note:
        return Reply.of(error("That reply has no text to keep as the answer."))
    return await _resolve(deps, ask, cmd.actor, neutralise_mentions(note), cmd.author.user_id,
                          credited=cmd.author.user_id)


async def _resolve(deps: Deps, ask: Ask, actor: Actor, note: str | None, note_author: str,
                   credited: str | None = None) -> Reply:
    """Resolve `ask` for `actor` (who may), keeping what solved it (written by
    `note_author`); `credited` (the author of a reply marked as the answer) counts as a
    helper."""
    now = deps.clock.now()
    is_asker = ask.asker_id is not None and ask.asker_id == actor.user_id
    if credited == ask.asker_id:
        credited = None  # the asker solved it: nobody to credit
    if not ask.is_open:
        return await _note_resolved(deps, ask, note, note_author, credited)
    writers = await _thread_authors(deps, ask)
    private = await _private(deps, ask)
    meanwhile: Ask | None = None
    async with deps.uow() as uow:
        resolved = replace(ask, status=AskStatus.RESOLVED, closed_at=now)
        closed = await uow.asks.close(resolved)
        if not closed:
            meanwhile = await _load(uow, ask.workspace, ask.id)
        else:
            await uow.answers.add(_remembered(ask, now, note, note_author, private))
            if credited is not None:
                await uow.asks.add_offer(ask.id, credited, now)
            helper_ids = [o.helper_id for o in await uow.asks.offers(ask.id)]
            await outbox.refresh_card(uow, now, resolved)
            thankable = [h for h in dict.fromkeys([*helper_ids, *writers]) if h != ask.asker_id]
            buttons = cards.thank_buttons(resolved, thankable)
            if not is_asker and ask.asker_id is not None:
                await outbox.tell(uow, now, ask.workspace, ask.channel_id, ask.asker_id, buttons)
            await uow.commit()
    if not closed:  # resolved by someone else meanwhile: what this one says still counts
        return await _note_resolved(deps, meanwhile, note, note_author, credited) if meanwhile \
            else Reply.of(error(cards.ASK_GONE))
    kept = (notice(line("Saved what solved it: leanon offers it when someone asks this "
                        "again.")),) if note else ()
    if is_asker:
        return Reply.of(buttons, *kept)
    return Reply.of(notice(line("Resolved. The person who asked can now thank the helpers.")),
                    *kept)


def _remembered(ask: Ask, now: datetime, note: str | None, note_author: str,
                private: bool) -> NewAnswer:
    return NewAnswer(ask.workspace, ask.text, now, note=note,
                     note_author=note_author if note else None, ask_id=ask.id,
                     channel_id=ask.channel_id, private=private)


async def withdraw_ask(cmd: WithdrawAsk, deps: Deps) -> Reply:
    """The asker (or an admin) takes an open ask back: closed as withdrawn, its card says
    so, and nothing more happens for it (no tips, follow-up or request)."""
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
    if ask is None:
        return Reply.of(error(cards.ASK_GONE))
    if not await may_resolve(deps, ask, cmd.actor):
        return Reply.of(error("Only the person who asked (or a workspace admin) can withdraw "
                              "this ask."))
    if not ask.is_open:
        return Reply.of(notice(line(f"Ask #{ask.id} is {_closed_as(ask)} already; nothing "
                                    "was changed.")))
    now = deps.clock.now()
    closed = replace(ask, status=AskStatus.CLOSED, closed_at=now,
                     close_reason=CloseReason.WITHDRAWN)
    async with deps.uow() as uow:
        if not await uow.asks.close(closed):
            return Reply.of(notice(line(f"Ask #{ask.id} was closed meanwhile; nothing was "
                                        "changed.")))
        await outbox.refresh_card(uow, now, closed)
        await uow.commit()
    return Reply.of(notice(line(f"Withdrawn: ask #{ask.id}, ", UserText(preview(ask.text)),
                                ". Its card says so, and nobody will be asked about it.")))


def _closed_as(ask: Ask) -> str:
    if ask.status is AskStatus.RESOLVED:
        return "resolved"
    return "withdrawn" if ask.close_reason is CloseReason.WITHDRAWN else "closed"


async def may_resolve(deps: Deps, ask: Ask, actor: Actor) -> bool:
    """Who may resolve an ask, and say what solved it: its asker, or a workspace admin."""
    if ask.asker_id is not None and ask.asker_id == actor.user_id:
        return True
    return await deps.is_admin(ask.workspace, actor)


def _note(raw: str | None) -> str | Reply | None:
    """What solved it, cleaned and mention-neutralised; None when not said; a refusal
    when it is too long (nothing is changed then)."""
    if raw is None or too_long(raw, NOTE_MAX_CHARS):
        return None if raw is None else _note_too_long(len(raw))
    note = clean_user_text(raw)
    if len(note) > NOTE_MAX_CHARS:
        return _note_too_long(len(note))
    return neutralise_mentions(note) or None


def _note_too_long(length: int) -> Reply:
    return Reply.of(error(f"\"What solved it\" is {length:,} characters; the limit is "
                          f"{NOTE_MAX_CHARS:,}. Nothing was changed."))


async def _note_resolved(deps: Deps, ask: Ask, note: str | None, note_author: str,
                         credited: str | None = None) -> Reply:
    """The asker or an admin says what solved an ask that is closed already."""
    if note is None or ask.status is not AskStatus.RESOLVED:
        return Reply.of(notice(line("This ask is already resolved or closed.")))
    now = deps.clock.now()
    private = await _private(deps, ask)
    for attempt in (1, 2):
        try:
            async with deps.uow() as uow:
                kept = await uow.answers.for_ask(ask.workspace, ask.id)
                if kept is None:  # resolved before leanon kept answers, or just now
                    await uow.answers.add(_remembered(ask, now, note, note_author, private))
                else:
                    await uow.answers.set_note(kept.id, note, note_author, now)
                if credited is not None:
                    await uow.asks.add_offer(ask.id, credited, now)
                await uow.commit()
            break
        except StorageError:
            if attempt == 2:
                raise  # the second time it is not a concurrent first note
            log.info("a note for ask %d met a concurrent one; trying again", ask.id)
    return Reply.of(notice(line("This ask was resolved already; what solved it is saved.")))


async def _private(deps: Deps, ask: Ask) -> bool:
    """Whether the ask's channel is private (then its answer is offered there alone)."""
    return await memory.channel_is_private(deps, ask.workspace, ask.channel_id)


async def _thread_authors(deps: Deps, ask: Ask) -> tuple[str, ...]:
    """Who wrote in the card's thread; none when the platform can't say now (the asker
    still thanks those who offered, and anyone with /thanks)."""
    if ask.message is None:
        return ()
    try:
        return await deps.directory.thread_authors(ask.workspace, ask.message)
    except ChatError as exc:
        log.info("thread authors unknown at resolve: %s", exc)
        return ()


async def list_asks(cmd: ListAsks, deps: Deps) -> Reply:
    """The open asks of a channel (or the workspace), oldest first, privately."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        asks = await uow.asks.list_open(cmd.workspace, cmd.channel_id)
        counts = [len(await uow.asks.offers(a.id)) for a in asks]
    where = "this channel" if cmd.channel_id else "this workspace"
    if not asks:
        return Reply.of(notice(line(f"No open asks in {where}. Need a hand? /ask your question.")))
    lines = [cards.ask_list_line(a, n, now) for a, n in zip(asks, counts, strict=True)]
    return Reply.of(notice(*lines, kind=MessageKind.LIST,
                           title=f"Open asks in {where}, oldest first"))


async def run_ask_maintenance(cmd: RunAskMaintenance, deps: Deps) -> Reply:
    """The escalation ladder of waiting asks (tips, requests to helpers, the escalation
    post), one follow-up on waiting asks, and expired asks closed, in every workspace."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        # Asks held for their askers (suggestions ask-first) and never posted.
        dropped = await uow.asks.close_held(now - HELD_FOR, now)
        await uow.commit()
    async with deps.uow() as uow:
        workspaces = await uow.asks.workspaces_with_open_asks()
    followed = expired = tipped = requested = escalated = 0
    for workspace in workspaces:
        async with deps.uow() as uow:
            settings = await uow.workspaces.settings(workspace)
            due_tips = await ladder.due_for_tips(uow, workspace, settings, now)
            due_requests = await ladder.due_for_requests(uow, workspace, settings, now)
            due_escalations = await ladder.due_for_escalation(uow, workspace, settings, now)
            roster = (await uow.members.helpers(workspace)
                      if due_requests or due_escalations else [])
            waiting = await uow.asks.waiting_without_offer(workspace, now - settings.stale_after)
            old = await uow.asks.open_created_before(workspace, now - settings.expire_after)
        for ask in old:
            closed = replace(ask, status=AskStatus.CLOSED, closed_at=now,
                             close_reason=CloseReason.EXPIRED)
            async with deps.uow() as uow:
                if await uow.asks.close(closed):
                    await outbox.refresh_card(uow, now, closed)
                    await uow.commit()
                    expired += 1
        tipped += await ladder.send_tips(deps, due_tips, now)
        requested += await ladder.send_requests(deps, workspace, settings, due_requests, roster,
                                                now)
        escalated += await ladder.send_escalations(deps, workspace, settings, due_escalations,
                                                   roster, now)
        old_ids = {a.id for a in old}
        for ask in waiting:
            if ask.id in old_ids or ask.message is None:
                continue
            async with deps.uow() as uow:
                if await uow.asks.claim_follow_up(ask.id, now):
                    await outbox.reply(uow, now, workspace, ask.message, cards.FOLLOW_UP,
                                       topic=ask.text)
                    await uow.commit()
                    followed += 1
    log.info("ask maintenance: %s, %d expired, tips to %s, helpers asked about %s, %d escalated, "
             "%d held and never posted closed", plural(followed, "follow-up"), expired,
             plural(tipped, "asker"), plural(requested, "ask"), escalated, dropped)
    return Reply()

"""Use cases for asks: create, offer help, resolve, thank a helper, list, follow up, expire."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot import cards
from bot.commands import CreateAsk, ListAsks, OfferHelp, ResolveAsk, RunAskMaintenance
from bot.deps import ASK_MAX_CHARS, ASKS_PER_HOUR, TRIED_MAX_CHARS, Deps
from bot.domain import Ask, AskStatus, CloseReason, NewAsk, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Mention, Message, MessageKind, Reply, UserText, error, line, notice
from bot.ports import OncePoster, UnitOfWork
from bot.text import clean_user_text, needs_specific_tip, neutralise_mentions, preview

log = logging.getLogger(__name__)


async def create_ask(cmd: CreateAsk, deps: Deps) -> Reply:
    """Post an ask card in the channel and tell the asker privately."""
    text = clean_user_text(cmd.text)
    tried = clean_user_text(cmd.tried or "") or None
    if not text:
        return Reply.of(error("What do you need help with? Write it after the command: "
                              "/ask how do I rotate the staging keys?"))
    if len(text) > ASK_MAX_CHARS:
        return Reply.of(error(f"Your ask is {len(text):,} characters; the limit is "
                              f"{ASK_MAX_CHARS:,}. Shorten it and put details in the thread. "
                              "Nothing was posted."))
    if tried and len(tried) > TRIED_MAX_CHARS:
        return Reply.of(error(f"\"What I tried\" is {len(tried):,} characters; the limit is "
                              f"{TRIED_MAX_CHARS:,}. Nothing was posted."))
    now = deps.clock.now()
    async with deps.uow() as uow:
        made = await uow.asks.by_request(cmd.workspace, cmd.request_id) if cmd.request_id else None
        if made is None:
            refusal = await _refusal(uow, cmd, now)
            if refusal is not None:
                return refusal
            ask = await uow.asks.add(NewAsk(
                workspace=cmd.workspace, channel_id=cmd.channel_id, asker_id=cmd.actor.user_id,
                text=neutralise_mentions(text), tried=neutralise_mentions(tried) if tried else None,
                anonymous=cmd.anonymous, created_at=now, request_key=cmd.request_id))
            await uow.commit()
    if made is not None:
        return await _finish_made_ask(deps, made, text)
    return await _post_card(deps, ask, text, made_before=False)


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


CARD_NOT_POSTED = error("leanon could not post your ask in this channel (is the bot a member "
                        "of it?). Nothing was posted.")


async def _finish_made_ask(deps: Deps, ask: Ask, text: str) -> Reply:
    """The same delivery worked again (after a crash): post its card if it has none yet."""
    if ask.message is not None:
        return _posted(text)
    if ask.status is AskStatus.CLOSED:
        return Reply.of(CARD_NOT_POSTED)
    return await _post_card(deps, ask, text, made_before=True)


async def _post_card(deps: Deps, ask: Ask, text: str, *, made_before: bool) -> Reply:
    """Post the ask's card once: tagged with the ask's nonce, and when an earlier attempt
    may have posted it, looked for in the channel first."""
    nonce = f"ask:{ask.id}"
    card = cards.ask_card(ask, [])
    try:
        ref = None
        if made_before and isinstance(deps.chat, OncePoster):
            ref = await deps.chat.find_post(ask.workspace, ask.channel_id, nonce,
                                            ask.created_at - timedelta(minutes=5))
        if ref is None:
            ref = await deps.chat.post(ask.workspace, ask.channel_id, card, nonce=nonce)
    except ChatError as exc:
        if not exc.permanent and made_before:
            raise  # the inbox tries the delivery again later
        log.warning("ask card could not be posted: %s", exc)
        await _close(deps, ask, CloseReason.WITHDRAWN)
        return Reply.of(CARD_NOT_POSTED)
    async with deps.uow() as uow:
        await uow.asks.set_message(ask.id, ref)
        await uow.commit()
    return _posted(text)


def _posted(text: str) -> Reply:
    answer = notice(line("Your ask is posted. Teammates can press ", "I can help",
                         " on it; you press ", "Resolved", " when you're sorted."))
    if needs_specific_tip(text):
        return Reply.of(answer, cards.SPECIFIC_TIP)
    return Reply.of(answer)


async def _close(deps: Deps, ask: Ask, reason: CloseReason) -> bool:
    closed = replace(ask, status=AskStatus.CLOSED, closed_at=deps.clock.now(), close_reason=reason)
    async with deps.uow() as uow:
        done = await uow.asks.close(closed)
        await uow.commit()
    return done


async def _load(uow: UnitOfWork, workspace: WorkspaceRef, ask_id: int) -> Ask | None:
    return await uow.asks.get(workspace, ask_id)


ASK_GONE = "That ask no longer exists (it may have been removed)."


async def _refresh_card(deps: Deps, ask: Ask, helper_ids: list[str]) -> None:
    if ask.message is None:
        return
    try:
        await deps.chat.update(ask.workspace, ask.message, cards.ask_card(ask, helper_ids))
    except ChatError as exc:
        log.warning("ask card %s could not be updated: %s", ask.id, exc)


async def offer_help(cmd: OfferHelp, deps: Deps) -> Reply:
    """Record an "I can help", update the card, tell the asker, open the thread."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
        if ask is None:
            return Reply.of(error(ASK_GONE))
        if not ask.is_open:
            return Reply.of(error("This ask is already resolved or closed. Thanks for offering!"))
        if ask.asker_id == cmd.actor.user_id:
            return Reply.of(error("That's your own ask. When someone helps, press Resolved."))
        added = await uow.asks.add_offer(ask.id, cmd.actor.user_id, now)
        helper_ids = [o.helper_id for o in await uow.asks.offers(ask.id)]
        await uow.commit()
    if not added:
        return Reply.of(notice(line("You already offered to help with this ask. "
                                    "Say hi in its thread.")))
    await _refresh_card(deps, ask, helper_ids)
    if ask.message is not None:
        try:
            await deps.chat.reply(ask.workspace, ask.message, notice(
                line(Mention(cmd.actor.user_id), " can help. Talk it through in this thread.")))
        except ChatError as exc:
            log.warning("thread reply for ask %s failed: %s", ask.id, exc)
    if ask.asker_id is not None:
        await _whisper(deps, ask, ask.asker_id, notice(line(
            Mention(cmd.actor.user_id), " offered to help with your ask: ",
            UserText(preview(ask.text)))))
    return Reply.of(notice(line("Thank you for offering to help! The person who asked knows; "
                                "carry on in the card's thread.")))


async def _whisper(deps: Deps, ask: Ask, user_id: str, message: Message) -> None:
    try:
        await deps.chat.whisper(ask.workspace, ask.channel_id, user_id, message)
    except ChatError as exc:
        log.warning("private note about ask %s failed: %s", ask.id, exc)


async def resolve_ask(cmd: ResolveAsk, deps: Deps) -> Reply:
    """Mark an ask resolved (asker or admin) and offer the asker thank buttons."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        ask = await _load(uow, cmd.workspace, cmd.ask_id)
        if ask is None:
            return Reply.of(error(ASK_GONE))
        is_asker = ask.asker_id is not None and ask.asker_id == cmd.actor.user_id
        if not (is_asker or cmd.actor.is_admin):
            return Reply.of(error("Only the person who asked (or a workspace admin) can mark "
                                  "this ask resolved. If you can help, press I can help."))
        if not ask.is_open:
            return Reply.of(notice(line("This ask is already resolved or closed.")))
        resolved = replace(ask, status=AskStatus.RESOLVED, closed_at=now)
        if not await uow.asks.close(resolved):
            return Reply.of(notice(line("This ask is already resolved or closed.")))
        helper_ids = [o.helper_id for o in await uow.asks.offers(ask.id)]
        await uow.commit()
    await _refresh_card(deps, resolved, helper_ids)
    thankable = [h for h in dict.fromkeys([*helper_ids, *cmd.thread_participants])
                 if h != ask.asker_id]
    buttons = cards.thank_buttons(resolved, thankable)
    if is_asker:
        return Reply.of(buttons)
    if ask.asker_id is not None:
        await _whisper(deps, resolved, ask.asker_id, buttons)
    return Reply.of(notice(line("Resolved. The person who asked can now thank the helpers.")))


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
    """Follow up once on waiting asks and close expired ones, in every workspace."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        workspaces = await uow.asks.workspaces_with_open_asks()
    followed = expired = 0
    for workspace in workspaces:
        async with deps.uow() as uow:
            settings = await uow.workspaces.settings(workspace)
            waiting = await uow.asks.waiting_without_offer(workspace, now - settings.stale_after)
            old = await uow.asks.open_created_before(workspace, now - settings.expire_after)
        for ask in old:
            if await _close(deps, ask, CloseReason.EXPIRED):
                expired += 1
                async with deps.uow() as uow:
                    helper_ids = [o.helper_id for o in await uow.asks.offers(ask.id)]
                closed = replace(ask, status=AskStatus.CLOSED, close_reason=CloseReason.EXPIRED)
                await _refresh_card(deps, closed, helper_ids)
        old_ids = {a.id for a in old}
        for ask in waiting:
            if ask.id in old_ids or ask.message is None:
                continue
            async with deps.uow() as uow:
                claimed = await uow.asks.claim_follow_up(ask.id, now)
                await uow.commit()
            if not claimed:
                continue
            try:
                await deps.chat.reply(workspace, ask.message, cards.FOLLOW_UP)
                followed += 1
            except ChatError as exc:
                log.warning("follow-up for ask %s failed: %s", ask.id, exc)
    log.info("ask maintenance: %d follow-ups, %d expired", followed, expired)
    return Reply()

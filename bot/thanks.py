"""Use cases for thanks: reactions, /thanks, and the thank buttons after a resolve."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from bot import outbox
from bot.cards import ASK_GONE, people
from bot.commands import ReactionAdded, ReactionRemoved, ThankHelper, ThankMembers
from bot.deps import REASON_MAX_CHARS, Deps
from bot.domain import Ask, NewThanks, Settings, ThanksSource, WorkspaceRef
from bot.emoji import is_thanks_emoji
from bot.messages import Line, Mention, MessageKind, Reply, UserText, error, line, notice
from bot.ports import UnitOfWork
from bot.text import clean_user_text, neutralise_mentions, preview, too_long

log = logging.getLogger(__name__)


def reaction_key(cmd: ReactionAdded | ReactionRemoved) -> str:
    m = cmd.message
    return f"reaction:{m.channel_id}:{m.message_id}:{cmd.actor.user_id}:{cmd.emoji}"


def _over_allowance_text(settings: Settings) -> str:
    return (f"You have used today's {settings.daily_allowance} thanks, the daily allowance in "
            "this workspace, so this one was not recorded. It renews tomorrow.")


async def _over_allowance(uow: UnitOfWork, deps: Deps, workspace: WorkspaceRef, giver_id: str,
                          settings: Settings) -> bool:
    """True when the giver's active thanks today, counting new ones, exceed the allowance.

    Callers take the giver's lock (`_lock_giver`) before adding the new ones.
    """
    if settings.daily_allowance is None:
        return False
    since = deps.day_start(deps.clock.now())
    given = await uow.thanks.count_given_since(workspace, giver_id, since)
    return given > settings.daily_allowance


async def _lock_giver(uow: UnitOfWork, workspace: WorkspaceRef, giver_id: str,
                      settings: Settings) -> None:
    """With a daily allowance, the giver's concurrent thanks are counted one after the other."""
    if settings.daily_allowance is not None:
        await uow.members.lock(workspace, giver_id)


async def _note_receiver(uow: UnitOfWork, deps: Deps, workspace: WorkspaceRef,
                         channel_id: str, receiver_id: str, text: Line) -> None:
    await outbox.note(uow, deps.clock.now(), deps.note_window, workspace, channel_id,
                      receiver_id, text)


def between_teammates(cmd: ReactionAdded) -> bool:
    """Whether a reaction is one member's on another's message: one on your own message, a
    bot's, or one on a bot's message never thanks anyone (see `identified`)."""
    return not (cmd.actor.is_bot or cmd.author.is_bot or cmd.actor.user_id == cmd.author.user_id)


async def identified(cmd: ReactionAdded, deps: Deps) -> ReactionAdded:
    """`cmd` with whether its reactor and its message's author are bots, asked of the
    platform where the event did not say (the author only when the reactor is not one)."""
    actor = replace(cmd.actor, is_bot=await deps.is_bot(cmd.workspace, cmd.actor))
    if actor.is_bot or actor.user_id == cmd.author.user_id:
        return replace(cmd, actor=actor)
    author = replace(cmd.author, is_bot=await deps.is_bot(cmd.workspace, cmd.author))
    return replace(cmd, actor=actor, author=author)


def _counts(cmd: ReactionAdded, settings: Settings) -> bool:
    """Yourself, bots and emoji that are not thanks are ignored."""
    return between_teammates(cmd) and is_thanks_emoji(cmd.emoji, settings.thanks_emoji)


def _new_thanks(cmd: ReactionAdded, deps: Deps, ask: Ask | None) -> NewThanks:
    return NewThanks(
        workspace=cmd.workspace, giver_id=cmd.actor.user_id, receiver_id=cmd.author.user_id,
        source=ThanksSource.REACTION, created_at=deps.clock.now(), message=cmd.message,
        emoji=cmd.emoji, ask_id=ask.id if ask else None, dedupe_key=reaction_key(cmd))


def _may_be_in_a_thread(cmd: ReactionAdded, ask: Ask | None) -> bool:
    """Whether the platform should be asked for the message's thread (`Directory.thread_of`)."""
    return ask is None and cmd.thread is None and not cmd.thread_known


async def _recorded(uow: UnitOfWork, deps: Deps, recorded: Sequence[tuple[ReactionAdded, bool]],
                    settings: Settings) -> None:
    """What follows newly recorded reaction thanks of one workspace, written with them to
    the outbox: the receivers' notes and, for a reply in a thread (where the bool says to
    look it up), linking the thanks to the thread's ask."""
    if not recorded:
        return
    now, workspace = deps.clock.now(), recorded[0][0].workspace
    for cmd, look_up_thread in recorded:
        if look_up_thread:
            await outbox.link_thread(uow, now, workspace, cmd.message, reaction_key(cmd))
    if settings.receiver_dm:
        await outbox.notes(uow, now, deps.note_window, workspace, [
            (cmd.message.channel_id, cmd.author.user_id,
             line(Mention(cmd.actor.user_id),
                  f" thanked you with :{cmd.emoji}: for a message you wrote."))
            for cmd, _ in recorded])


Reaction = ReactionAdded | ReactionRemoved


async def record_reactions(cmds: Sequence[Reaction], deps: Deps) -> list[Reply]:
    """Reactions, in arrival order, in one transaction (`bot.groupcommit`; a single reaction
    is a batch of one): a thanks emoji on a teammate's message thanks its author, removing
    it retracts that thanks (kept, no longer counted); other reactions are ignored. Who is
    a bot is known already (`identified`).

    The thanks are recorded before this returns; their notes and thread lookups are written
    to the outbox with them, so that a platform waiting for its answer waits for the
    database alone.
    """
    async with deps.uow() as uow:
        settings = {ws: await uow.workspaces.recent_settings(ws)
                    for ws in dict.fromkeys(cmd.workspace for cmd in cmds)}
        replies = await _record_batch(uow, deps, cmds, settings)
        await uow.commit()
    return replies


async def _record_batch(uow: UnitOfWork, deps: Deps, cmds: Sequence[Reaction],
                        settings: dict[WorkspaceRef, Settings]) -> list[Reply]:
    adds: list[int] = []  # reactions waiting to be written, by index

    async def write_adds() -> None:
        by_workspace: dict[WorkspaceRef, list[int]] = {}
        for i in adds:
            by_workspace.setdefault(cmds[i].workspace, []).append(i)
        for workspace, indexes in by_workspace.items():
            await _add_reactions(uow, deps, [(i, cast(ReactionAdded, cmds[i])) for i in indexes],
                                 settings[workspace])
        adds.clear()

    replies = [Reply()] * len(cmds)
    for i, cmd in enumerate(cmds):
        if isinstance(cmd, ReactionRemoved):
            await write_adds()  # an add, then its removal: in that order
            if not cmd.actor.is_bot:  # unsaid: a bot's reaction was never recorded anyway
                await uow.thanks.retract(cmd.workspace, reaction_key(cmd), deps.clock.now())
        elif _counts(cmd, settings[cmd.workspace]):
            adds.append(i)
        else:
            replies[i] = Reply(ignored=True)
    await write_adds()
    return replies


async def _add_reactions(uow: UnitOfWork, deps: Deps, adds: list[tuple[int, ReactionAdded]],
                         settings: Settings) -> None:
    """Record one workspace's reaction thanks; a repeated delivery in the batch is one."""
    workspace = adds[0][1].workspace
    first: dict[str, int] = {}
    unique = [(i, cmd) for i, cmd in adds if first.setdefault(reaction_key(cmd), i) == i]
    if settings.daily_allowance is not None:
        unique = await _within_allowance(uow, deps, unique, settings.daily_allowance, settings)
        if not unique:
            return
    refs = {cmd.message for _, cmd in unique} | {cmd.thread for _, cmd in unique if cmd.thread}
    # A card, or the start of a card's thread, is in a channel with cards: most reactions
    # are elsewhere, and which channels have cards is known without a statement mostly.
    with_cards = {channel: await uow.asks.has_cards_in_channel(workspace, channel)
                  for channel in sorted({ref.channel_id for ref in refs})}
    asks = await uow.asks.by_messages(workspace, [ref for ref in refs
                                                  if with_cards[ref.channel_id]])
    found = [asks.get(cmd.message) or (asks.get(cmd.thread) if cmd.thread else None)
             for _, cmd in unique]
    added = await uow.thanks.add_many([_new_thanks(cmd, deps, ask)
                                       for (_, cmd), ask in zip(unique, found, strict=True)])
    await _recorded(uow, deps, [
        (cmd, _may_be_in_a_thread(cmd, ask) and with_cards[cmd.message.channel_id])
        for (_, cmd), ask, recorded in zip(unique, found, added, strict=True)
        if recorded], settings)


async def _within_allowance(uow: UnitOfWork, deps: Deps, adds: list[tuple[int, ReactionAdded]],
                            allowance: int, settings: Settings) -> list[tuple[int, ReactionAdded]]:
    """The reactions whose thanks fit each giver's daily allowance, in arrival order; each
    giver of one that does not is told so privately (nothing of it is recorded).

    The givers are locked first (in one order, so that two replicas' batches never wait for
    each other), then counted: what is already active, or was given before today (a revived
    thanks keeps its day), takes nothing from today's allowance.
    """
    workspace, now = adds[0][1].workspace, deps.clock.now()
    givers = sorted({cmd.actor.user_id for _, cmd in adds})
    for giver in givers:
        await uow.members.lock(workspace, giver)
    today = deps.day_start(now)
    given = {giver: await uow.thanks.count_given_since(workspace, giver, today)
             for giver in givers}
    known = await uow.thanks.with_keys(workspace, [reaction_key(cmd) for _, cmd in adds])
    fitting = []
    for i, cmd in adds:
        old = known.get(reaction_key(cmd))
        if old is not None and (old.retracted_at is None or old.created_at < today):
            fitting.append((i, cmd))  # nothing new today: a repeat, or yesterday's revived
        elif given[cmd.actor.user_id] < allowance:
            given[cmd.actor.user_id] += 1
            fitting.append((i, cmd))
        else:
            await outbox.tell(uow, now, workspace, cmd.message.channel_id, cmd.actor.user_id,
                                 error(_over_allowance_text(settings)))
    return fitting


async def thank_members(cmd: ThankMembers, deps: Deps) -> Reply:
    """`/thanks @a @b reason`: record a thanks for each and post a public note."""
    named = len(dict.fromkeys(p.user_id for p in cmd.receivers))
    if named > deps.thanks_max_members:
        return Reply.of(error(f"One /thanks can name up to {deps.thanks_max_members} "
                              "teammates. Thank the others in another /thanks. "
                              "Nothing was recorded."))
    raw = cmd.reason or ""
    reason = None if too_long(raw, REASON_MAX_CHARS) else clean_user_text(raw) or None
    if too_long(raw, REASON_MAX_CHARS) or (reason and len(reason) > REASON_MAX_CHARS):
        length = len(reason) if reason else len(raw)  # refused before any other work on it
        return Reply.of(error(f"The reason is {length:,} characters; the limit is "
                              f"{REASON_MAX_CHARS:,}. Nothing was recorded."))
    named_bots = await asyncio.gather(*(deps.is_bot(cmd.workspace, p) for p in cmd.receivers))
    bots = {p.user_id for p, bot in zip(cmd.receivers, named_bots, strict=True) if bot}
    receivers = [r for r in dict.fromkeys(p.user_id for p in cmd.receivers)
                 if r not in bots and r != cmd.actor.user_id]
    if not receivers:
        if cmd.receivers:
            return Reply.of(error("You can thank teammates, but not yourself or a bot. "
                                  "Nothing was recorded."))
        return Reply.of(error("Who are you thanking? Name them: /thanks @alex for the review"))
    if cmd.actor.is_bot:  # members type commands: only a platform that says so has a bot here
        return Reply()
    reason = neutralise_mentions(reason) if reason else None
    now = deps.clock.now()
    async with deps.uow() as uow:
        settings = await uow.workspaces.settings(cmd.workspace)
        await _lock_giver(uow, cmd.workspace, cmd.actor.user_id, settings)
        recorded = []
        for receiver in receivers:
            key = f"command:{cmd.event_id}:{receiver}" if cmd.event_id else None
            thanks = await uow.thanks.add(NewThanks(
                workspace=cmd.workspace, giver_id=cmd.actor.user_id, receiver_id=receiver,
                source=ThanksSource.COMMAND, created_at=now, reason=reason, dedupe_key=key,
                channel_id=cmd.channel_id))
            if thanks is not None:
                recorded.append(receiver)
        if not recorded:
            return Reply()
        if await _over_allowance(uow, deps, cmd.workspace, cmd.actor.user_id, settings):
            return Reply.of(error(_over_allowance_text(settings).replace("this one was",
                                                                         "these were")))
        note = [Mention(cmd.actor.user_id), " thanked ", *people(recorded)]
        if reason:
            note += [": ", UserText(reason)]
        await outbox.post(uow, now, cmd.workspace, cmd.channel_id,
                          notice(tuple(note), kind=MessageKind.THANKS_NOTE))
        if settings.receiver_dm:
            for receiver in recorded:
                text: Line = (Mention(cmd.actor.user_id), " thanked you")
                text += (" for: ", UserText(reason)) if reason else (".",)
                await _note_receiver(uow, deps, cmd.workspace, cmd.channel_id, receiver, text)
        await uow.commit()
    done = line("Thanks recorded for ", *people(recorded), ". 🙏")
    left_out = [who for who, named in (
        ("yourself", any(p.user_id == cmd.actor.user_id for p in cmd.receivers)),
        ("bots", bool(bots - {cmd.actor.user_id})))
        if named]
    if left_out:  # said, so that nobody wonders where a name went
        return Reply.of(notice(done, line(f"Left out: {' and '.join(left_out)} "
                                          "(a thanks is for a teammate).")))
    return Reply.of(notice(done))


async def thank_helper(cmd: ThankHelper, deps: Deps) -> Reply:
    """The asker's "Thank @helper" button after a resolve."""
    if cmd.helper_id == cmd.actor.user_id:
        return Reply.of(error("You can't thank yourself, but well done for sorting it out."))
    async with deps.uow() as uow:
        ask = await uow.asks.get(cmd.workspace, cmd.ask_id)
        if ask is None:
            return Reply.of(error(ASK_GONE))
        if ask.asker_id != cmd.actor.user_id:
            return Reply.of(error("Only the person who asked can use these thank buttons. "
                                  "You can thank anyone with /thanks @name."))
        settings = await uow.workspaces.settings(cmd.workspace)
        await _lock_giver(uow, cmd.workspace, cmd.actor.user_id, settings)
        thanks = await uow.thanks.add(NewThanks(
            workspace=cmd.workspace, giver_id=cmd.actor.user_id, receiver_id=cmd.helper_id,
            source=ThanksSource.RESOLVE, created_at=deps.clock.now(), ask_id=ask.id,
            message=ask.message, dedupe_key=f"resolve:{ask.id}:{cmd.helper_id}",
            channel_id=ask.channel_id))
        if thanks is None:
            return Reply.of(notice(line("You already thanked ", Mention(cmd.helper_id),
                                        " for this ask.")))
        if await _over_allowance(uow, deps, cmd.workspace, cmd.actor.user_id, settings):
            return Reply.of(error(_over_allowance_text(settings)))
        if settings.receiver_dm:
            # An anonymous asker stays anonymous, even to the person they thank.
            giver: Line = (("The person you helped",) if ask.anonymous
                           else (Mention(ask.asker_id or ""),))
            await _note_receiver(uow, deps, cmd.workspace, ask.channel_id, cmd.helper_id, (
                *giver, " thanked you for helping with: ", UserText(preview(ask.text))))
        await uow.commit()
    return Reply.of(notice(line("Thank-you sent to ", Mention(cmd.helper_id), ". 🙏")))

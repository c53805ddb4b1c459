"""A member's own numbers, the opt-in leaderboard, and being named or not."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import SetNamed, ShowLeaderboard, ShowStats
from bot.deps import Deps
from bot.messages import Mention, MessageKind, Reply, line, notice
from bot.text import plural

LEADERBOARD_DAYS = 30


async def show_stats(cmd: ShowStats, deps: Deps) -> Reply:
    now = deps.clock.now()
    async with deps.uow() as uow:
        s = await uow.stats.member_stats(cmd.workspace, cmd.actor.user_id, deps.week_ago(now))
    return Reply.of(notice(
        line(f"Asks opened: {s.asks_opened} ({s.asks_resolved} resolved)"),
        line(f"Help offered: {plural(s.help_offers, 'time')}"),
        line(f"Thanks received: {s.thanks_received} ({s.thanks_received_week} in the last 7 days)"),
        line(f"Thanks given: {s.thanks_given}"),
        kind=MessageKind.LIST,
        title="Your leanon numbers",
    ))


async def show_leaderboard(cmd: ShowLeaderboard, deps: Deps) -> Reply:
    now = deps.clock.now()
    async with deps.uow() as uow:
        settings = await uow.workspaces.settings(cmd.workspace)
        if not settings.leaderboard:
            return Reply.of(notice(line(
                "The leaderboard is off in this workspace. An admin can turn it on with "
                "/leanon config set leaderboard on.")))
        hidden = await uow.members.opted_out(cmd.workspace)
        entries = await uow.stats.leaderboard(
            cmd.workspace, now - timedelta(days=LEADERBOARD_DAYS), hidden)
    if not entries:
        return Reply.of(notice(line(f"No thanks in the last {LEADERBOARD_DAYS} days yet. "
                                    "React 🙏 to a helpful message to start.")))
    lines = [line(f"{i}. ", Mention(e.user_id), f": {e.thanks_received} thanks")
             for i, e in enumerate(entries, 1)]
    return Reply.of(notice(*lines, kind=MessageKind.LIST,
                           title=f"Most thanked in the last {LEADERBOARD_DAYS} days"))


async def set_named(cmd: SetNamed, deps: Deps) -> Reply:
    async with deps.uow() as uow:
        await uow.members.set_opted_out(cmd.workspace, cmd.actor.user_id, not cmd.named)
        await uow.commit()
    if cmd.named:
        return Reply.of(notice(line("You may be named in weekly posts and the leaderboard.")))
    return Reply.of(notice(line("You won't be named in weekly posts or the leaderboard. "
                                "Your thanks still count.")))

"""Helpers opt in: `/leanon helper`, `/leanon hours`, and the roster admins see
(`/leanon helpers`). What leanon does with them (asking likely helpers to look at a
waiting ask, in their working hours) builds on these entries."""

from __future__ import annotations

import dataclasses

from bot.admin import ADMIN_ONLY
from bot.asks import NOT_ASKED
from bot.commands import AnswerRequest, ListHelpers, SetEscalation, SetHelper, SetHours
from bot.deps import Deps
from bot.domain import Helper, RequestAnswer
from bot.errors import ChatError
from bot.hours import HoursError
from bot.messages import Line, Mention, MessageKind, Reply, UserText, error, line, notice
from bot.text import format_duration, plural

HOURS_EXAMPLE = "/leanon hours 09:00-17:30 mon-fri Europe/Berlin"


def _topics(helper: Helper) -> Line:
    if not helper.topics:
        return line("any topic")
    return line(UserText(", ".join(helper.topics)))


def status(helper: Helper | None) -> tuple[Line, ...]:
    """Where the member stands, in two lines: helper or not (and topics), and hours."""
    if helper is None or not helper.active:
        first = line("You're not a helper: leanon never asks you to look at a waiting ask. "
                     "To become one: /leanon helper on [topics].")
    else:
        first = line("You're a helper (", *_topics(helper), "): when an ask waits with no offer, "
                     "leanon may privately ask you to look. /leanon helper off stops it.")
    if helper is not None and helper.hours is not None:
        second = line(f"Your working hours: {helper.hours.describe()}. leanon asks you only then.")
    else:
        second = line(f"Your working hours aren't set, so leanon never asks you. Set them: {HOURS_EXAMPLE}")
    return first, second


async def set_helper(cmd: SetHelper, deps: Deps) -> Reply:
    user_id = cmd.actor.user_id
    async with deps.uow() as uow:
        current = await uow.members.helper(cmd.workspace, user_id) or Helper(user_id)
        if cmd.active is None and cmd.topics is None:
            return Reply.of(notice(*status(current)))
        changed = dataclasses.replace(
            current,
            active=current.active if cmd.active is None else cmd.active,
            topics=current.topics if cmd.topics is None else cmd.topics,
        )
        await uow.members.save_helper(cmd.workspace, changed, deps.clock.now())
        await uow.commit()
    return Reply.of(notice(*status(changed)))


async def set_hours(cmd: SetHours, deps: Deps) -> Reply:
    user_id = cmd.actor.user_id
    zone = cmd.hours.zone
    if zone is None:  # the member's own, where the platform knows it (Slack's profile)
        try:
            zone = await deps.directory.time_zone(cmd.workspace, user_id)
        except ChatError:
            zone = None
    try:
        hours = cmd.hours.at(zone)
    except HoursError as exc:
        return Reply.of(error(str(exc)))
    async with deps.uow() as uow:
        current = await uow.members.helper(cmd.workspace, user_id) or Helper(user_id)
        changed = dataclasses.replace(current, hours=hours)
        await uow.members.save_helper(cmd.workspace, changed, deps.clock.now())
        await uow.commit()
    return Reply.of(notice(*status(changed)))


async def list_helpers(cmd: ListHelpers, deps: Deps) -> Reply:
    if not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error(ADMIN_ONLY.format(what="see the helpers")))
    async with deps.uow() as uow:
        roster = [h for h in await uow.members.helpers(cmd.workspace) if h.active]
    if not roster:
        return Reply.of(notice(line("Nobody is a helper yet. Members opt in with "
                                    "/leanon helper on [topics] and set their hours with "
                                    f"{HOURS_EXAMPLE}.")))
    unreachable = sum(1 for h in roster if h.hours is None)
    lines = [line(f"{plural(len(roster), 'helper')}"
                  + (f", {unreachable} without working hours (never asked until they set them)"
                     if unreachable else "") + ":")]
    for helper in roster:
        hours = helper.hours.describe() if helper.hours else "no working hours set"
        lines.append(line(Mention(helper.user_id), ": ", *_topics(helper), f"; {hours}"))
    return Reply.of(notice(*lines, kind=MessageKind.LIST, title="Helpers"))


async def answer_request(cmd: AnswerRequest, deps: Deps) -> Reply:
    """A helper's "Not now" (no more requests on this day of theirs) or "Stop asking me"
    (no longer a helper): at once, for every request still to come."""
    user_id, now = cmd.actor.user_id, deps.clock.now()
    answer = RequestAnswer.STOPPED if cmd.stop else RequestAnswer.NOT_NOW
    async with deps.uow() as uow:
        await uow.members.lock(cmd.workspace, user_id)
        helper = await uow.members.helper(cmd.workspace, user_id)
        if helper is None or not await uow.requests.answer(cmd.workspace, cmd.ask_id, user_id,
                                                           answer, now):
            return Reply.of(error(NOT_ASKED))
        if cmd.stop:
            changed = dataclasses.replace(helper, active=False)
        else:
            changed = dataclasses.replace(
                helper, quiet_on=helper.hours.today(now) if helper.hours else now.date())
        await uow.members.save_helper(cmd.workspace, changed, now)
        await uow.commit()
    if cmd.stop:
        return Reply.of(notice(line("Done: leanon won't ask you to look at asks any more. "
                                    "Thank you for the help you gave. /leanon helper on brings "
                                    "you back whenever you like.")))
    return Reply.of(notice(line("No problem: no more requests today. Thank you for being a "
                                "helper; asking for help works because people like you say "
                                "yes when they can.")))


async def set_escalation(cmd: SetEscalation, deps: Deps) -> Reply:
    """Where asks that nobody took after `escalate-after` are posted (admins choose)."""
    if cmd.choice is not None and not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error(ADMIN_ONLY.format(what="choose the escalation channel")))
    async with deps.uow() as uow:
        settings = await uow.workspaces.settings(cmd.workspace)
        if cmd.choice is not None:
            chosen = cmd.here if cmd.choice == "here" else None
            settings = dataclasses.replace(settings, escalation_channel=chosen)
            await uow.workspaces.save_settings(cmd.workspace, settings)
            await uow.commit()
    channel, after = settings.escalation_channel, settings.escalate_after
    if channel is None:
        return Reply.of(notice(line("No escalation channel: asks nobody took stay where they "
                                    "are. An admin chooses one with /leanon escalate here.")))
    where = "this channel" if channel == cmd.here else "the channel an admin chose"
    when = (f"after {format_duration(after)} of working time without an offer" if after
            else "never: escalate-after is off (/leanon config set escalate-after 4h)")
    return Reply.of(notice(line(f"Asks nobody took are posted in {where} {when}. "
                                "/leanon escalate here (in another channel) moves them; "
                                "/leanon escalate off stops them.")))

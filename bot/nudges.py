"""The weekly post: the `/leanon nudge` commands that schedule it, and the post itself."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import outbox
from bot.cards import asker_part, people
from bot.commands import NudgeNow, NudgeOff, NudgePreview, SetNudge
from bot.deps import Deps
from bot.domain import Schedule, SuggestionOutcome, WeeklyNumbers, WorkspaceRef
from bot.messages import Line, Link, Message, MessageKind, Reply, UserText, error, line, notice
from bot.ports import UnitOfWork
from bot.text import format_duration, plural, preview, zone_name

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = time(9, 30)
WINDOW = timedelta(days=7)
WAITING_SHOWN = 5


def describe_schedule(schedule: Schedule) -> str:
    return (f"{WEEKDAYS[schedule.weekday]}s at {schedule.at:%H:%M} ({schedule.timezone})")


def week_fire(schedule: Schedule, now: datetime) -> tuple[datetime, str, bool]:
    """This local week's fire time (UTC), its ISO-week period, and whether it is today.

    The wall-clock time is kept in the schedule's timezone, so daylight-saving changes
    move the UTC instant, never the local time.
    """
    tz = ZoneInfo(schedule.timezone)
    today = now.astimezone(tz).date()
    fire_date = today + timedelta(days=schedule.weekday - today.weekday())
    fire = datetime.combine(fire_date, schedule.at, tzinfo=tz).astimezone(UTC)
    iso = fire_date.isocalendar()
    return fire, f"{iso.year}-W{iso.week:02d}", fire_date == today


def next_fire(schedule: Schedule, now: datetime) -> datetime:
    fire, _, _ = week_fire(schedule, now)
    return fire if fire > now else week_fire(schedule, now + timedelta(days=7))[0]


def _numbers(n: WeeklyNumbers) -> list[Line]:
    if n.asks_opened == 0 and n.thanks_given == 0:
        return [line("A quiet week here: no asks yet. The first one is the bravest, "
                     "and /ask is right there.")]
    lines = [line(f"📊 The last 7 days here: {plural(n.asks_opened, 'ask')} opened, "
                  f"{n.asks_resolved} resolved.")]
    if n.median_first_offer is not None:
        median = n.median_first_offer
        after = ("under a minute" if median < timedelta(minutes=1)
                 else format_duration(median))
        lines.append(line(f"⏱️ A first offer of help came after a median of {after}."))
    lines.append(line(f"🙏 {n.thanks_given} thanks given; {n.helpers} "
                      f"{'person' if n.helpers == 1 else 'people'} helped."))
    if n.first_time_askers:
        who = "person" if n.first_time_askers == 1 else "people"
        lines.append(line(f"🌱 {n.first_time_askers} {who} asked for the first time. "
                          "Welcome, and well done!"))
    return lines


async def build_post(uow: UnitOfWork, deps: Deps, workspace: WorkspaceRef, channel_id: str,
                     themes_used: tuple[str, ...], posts_sent: int,
                     now: datetime) -> tuple[Message, tuple[str, ...]]:
    """The weekly post for a channel, and the theme rotation after posting it."""
    content = deps.content
    theme, rotation = content.next_theme(themes_used)
    since = now - WINDOW
    numbers = await uow.stats.channel_week(workspace, channel_id, since, now)
    waiting = await uow.asks.list_open(workspace, channel_id, limit=WAITING_SHOWN)
    hidden = await uow.members.opted_out(workspace)
    thanked = [u for u in await uow.stats.thanked(workspace, channel_id, since, now)
               if u not in hidden]
    lines: list[Line] = [line(content.theme_message(theme, posts_sent)), *_numbers(numbers)]
    if waiting:
        lines.append(line("Still waiting for a hand:"))
        for ask in waiting:
            label = preview(ask.text, 70)
            link = Link(ask.message, label) if ask.message else UserText(label)
            lines.append(line("• ", link, " (asked by ", asker_part(ask), ")"))
    if thanked:
        lines.append(line("Thanked this week: ", *people(thanked), ". Thank you for helping!"))
    answered = [u for u in await uow.requests.answered(workspace, channel_id, since, now)
                if u not in hidden]
    if answered:  # in member id order: a thank-you, never a ranking
        lines.append(line("🤝 When leanon asked them to look at a waiting ask, ", *people(answered),
                          " said yes. Thank you!"))
    lines += await _asked_again(uow, workspace, channel_id, since, hidden)
    tip = content.tip(posts_sent)
    lines.append(line(f"💡 {tip.title}. ", content.tip_message(posts_sent)))
    title = f"It's okay to ask · {content.themes[theme].title}"
    return Message(MessageKind.WEEKLY_POST, tuple(lines), title=title), rotation


# Topics that keep coming back without a note on what solved them, named at most.
RECURRING_SHOWN = 3


async def _asked_again(uow: UnitOfWork, workspace: WorkspaceRef, channel_id: str,
                       since: datetime, hidden: set[str]) -> list[Line]:
    """Answered before, this week in this channel: the asks answered from leanon's memory
    (with the helpers whose earlier answers did it), and the remembered asks that keep being
    suggested while nobody wrote down what solved them."""
    shown = await uow.answers.shown_since(workspace, since)
    asks = {ask_id: await uow.asks.get(workspace, ask_id) for ask_id in {s.ask_id for s in shown}}
    here = [s for s in shown
            if (ask := asks.get(s.ask_id)) is not None and ask.channel_id == channel_id]
    if not here:
        return []
    answers = {a.id: a for a in await uow.answers.get_many(
        workspace, list(dict.fromkeys(s.answer_id for s in here)))}
    lines: list[Line] = []
    solved = [s for s in here if s.outcome is SuggestionOutcome.SOLVED]
    if solved:
        helpers: list[str] = []
        for s in solved:
            answer = answers.get(s.answer_id)
            if answer is not None and answer.ask_id is not None:
                helpers += [o.helper_id for o in await uow.asks.offers(answer.ask_id)]
        credited = [h for h in dict.fromkeys(helpers) if h not in hidden]
        said = line(f"🔁 Asked again: {plural(len(solved), 'ask')} answered from memory")
        if credited:
            said = (*said, ", thanks again to ", *people(credited))
        lines.append((*said, "."))
    suggested = Counter(s.answer_id for s in here
                      if (a := answers.get(s.answer_id)) is not None and not a.note)
    if suggested:
        lines.append(line("Keeps coming back, and nobody has written down what solved it:"))
        for answer_id, _ in suggested.most_common(RECURRING_SHOWN):
            lines.append(line("• ", UserText(preview(answers[answer_id].question, 70))))
        lines.append(line("Resolve the next one with what solved it, and leanon will suggest it."))
    return lines


def _parse_timezone(name: str | None, deps: Deps) -> str | None:
    if name is None:
        return deps.timezone.key
    return zone_name(name)


async def set_nudge(cmd: SetNudge, deps: Deps) -> Reply:
    timezone = _parse_timezone(cmd.timezone, deps)
    if timezone is None:
        return Reply.of(error(f"I don't know the timezone '{(cmd.timezone or '')[:60]}'. Use an "
                              "IANA name like Europe/Berlin or America/New_York. Nothing changed."))
    now = deps.clock.now()
    async with deps.uow() as uow:
        schedule = await uow.schedules.upsert(
            cmd.workspace, cmd.channel_id,
            DEFAULT_WEEKDAY if cmd.weekday is None else cmd.weekday,
            cmd.at or DEFAULT_TIME, timezone, paused=False, now=now)
        await uow.commit()
    first = next_fire(schedule, now).astimezone(ZoneInfo(timezone))
    return Reply.of(notice(line(
        f"This channel gets its weekly post on {describe_schedule(schedule)}. "
        f"The first one: {first:%A %d %B at %H:%M}.")))


async def nudge_off(cmd: NudgeOff, deps: Deps) -> Reply:
    async with deps.uow() as uow:
        schedule = await uow.schedules.get(cmd.workspace, cmd.channel_id)
        if schedule is None or schedule.paused:
            return Reply.of(notice(line("This channel has no weekly post to turn off.")))
        await uow.schedules.set_paused(schedule.id, True, deps.clock.now())
        await uow.commit()
    return Reply.of(notice(line("Weekly posts are off in this channel. "
                                "/leanon nudge here turns them back on.")))


async def _channel_schedule(uow: UnitOfWork, deps: Deps, workspace: WorkspaceRef,
                            channel_id: str) -> Schedule:
    """The channel's schedule row, made (paused, with defaults) to keep its rotation."""
    schedule = await uow.schedules.get(workspace, channel_id)
    if schedule is None:
        schedule = await uow.schedules.upsert(workspace, channel_id, DEFAULT_WEEKDAY,
                                              DEFAULT_TIME, deps.timezone.key, paused=True,
                                              now=deps.clock.now())
    return schedule


async def nudge_preview(cmd: NudgePreview, deps: Deps) -> Reply:
    now = deps.clock.now()
    async with deps.uow() as uow:
        schedule = await uow.schedules.get(cmd.workspace, cmd.channel_id)
        used, sent = (schedule.themes_used, schedule.posts_sent) if schedule else ((), 0)
        post, _ = await build_post(uow, deps, cmd.workspace, cmd.channel_id, used, sent, now)
    if schedule is None or schedule.paused:
        when = "This channel has no weekly post yet: /leanon nudge here sets one up."
    else:
        fire = next_fire(schedule, now).astimezone(ZoneInfo(schedule.timezone))
        when = (f"Next post {fire:%A %d %B at %H:%M} ({schedule.timezone}), "
                "with the numbers of that day.")
    return Reply.of(notice(line("Preview, only you see this. " + when)), post)


async def nudge_now(cmd: NudgeNow, deps: Deps) -> Reply:
    if not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error("Only workspace admins can send the weekly post now."))
    now = deps.clock.now()
    async with deps.uow() as uow:
        schedule = await _channel_schedule(uow, deps, cmd.workspace, cmd.channel_id)
        post, rotation = await build_post(uow, deps, cmd.workspace, cmd.channel_id,
                                          schedule.themes_used, schedule.posts_sent, now)
        await outbox.post(uow, now, cmd.workspace, cmd.channel_id, post, refused=error(
            "leanon could not post in this channel (is the bot a member?)."))
        await uow.schedules.record_rotation(schedule.id, rotation, schedule.posts_sent + 1)
        await uow.commit()
    return Reply.of(notice(line("Posted. The weekly schedule is unchanged.")))

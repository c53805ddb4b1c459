"""Parsing the text of `/leanon …` and `/thanks …` into commands."""

from __future__ import annotations

import re
from datetime import time

from bot.commands import (
    ChangeConfig,
    Command,
    ExportData,
    ForgetMe,
    ListAsks,
    ListHelpers,
    NudgeNow,
    NudgeOff,
    NudgePreview,
    OpenInsights,
    SetEscalation,
    SetHelper,
    SetHours,
    SetNamed,
    SetNudge,
    ShowConfig,
    ShowHelp,
    ShowLeaderboard,
    ShowStats,
    WithdrawAsk,
)
from bot.domain import Actor, WorkspaceRef
from bot.hours import HoursError, parse_hours
from bot.text import zone_name


class ParseError(ValueError):
    """Text that is not a command; the message says what would be."""


def parse_leanon(text: str, workspace: WorkspaceRef, actor: Actor, channel_id: str) -> Command:
    """`/leanon <subcommand> …` → a command; ParseError with a helpful message otherwise."""
    words = text.split()
    if not words:
        return ShowHelp(workspace, actor)
    sub, args = words[0].lower(), words[1:]
    if sub == "help":
        return ShowHelp(workspace, actor)
    if sub == "stats":
        return ShowStats(workspace, actor)
    if sub == "asks":
        everywhere = bool(args) and args[0].lower() in {"all", "workspace"}
        return ListAsks(workspace, actor, None if everywhere else channel_id)
    if sub == "leaderboard":
        return ShowLeaderboard(workspace, actor)
    if sub == "named":
        if len(args) != 1 or args[0].lower() not in {"on", "off"}:
            raise ParseError("Use /leanon named on (you may be named in posts) or "
                             "/leanon named off.")
        return SetNamed(workspace, actor, args[0].lower() == "on")
    if sub == "helper":
        return _parse_helper(args, workspace, actor)
    if sub == "hours":
        try:
            return SetHours(workspace, actor, parse_hours(" ".join(args)))
        except HoursError as exc:
            raise ParseError(str(exc)) from None
    if sub == "insights":
        return OpenInsights(workspace, actor)
    if sub == "helpers":
        return ListHelpers(workspace, actor)
    if sub == "escalate":
        choice = args[0].lower() if len(args) == 1 else "" if not args else "?"
        if choice in {"", "here", "off"}:
            return SetEscalation(workspace, actor, channel_id, choice or None)
        raise ParseError("Use /leanon escalate here (in the channel that should get the asks "
                         "nobody took), /leanon escalate off, or /leanon escalate to see where "
                         "they go.")
    if sub == "withdraw":
        number = args[0].lstrip("#") if len(args) == 1 else ""
        if not number.isascii() or not number.isdecimal() or len(number) > 9:
            raise ParseError("Use /leanon withdraw <ask number>, for example /leanon withdraw 12 "
                             "(/leanon asks shows the numbers).")
        return WithdrawAsk(workspace, actor, int(number))
    if sub == "config":
        if not args:
            return ShowConfig(workspace, actor)
        if args[0].lower() == "set" and len(args) >= 3:
            return ChangeConfig(workspace, actor, args[1], " ".join(args[2:]))
        raise ParseError("Use /leanon config to see settings, or "
                         "/leanon config set <setting> <value> to change one.")
    if sub in {"forget-me", "forgetme"}:
        if not args:
            return ForgetMe(workspace, actor)
        choice = args[0].lower()
        if choice in {"delete", "delete-asks"}:
            return ForgetMe(workspace, actor, keep_asks=False)
        if choice in {"keep", "keep-asks"}:
            return ForgetMe(workspace, actor, keep_asks=True)
        raise ParseError("Use /leanon forget-me, then choose; or /leanon forget-me delete "
                         "(asks too) or /leanon forget-me keep (asks stay, without your name).")
    if sub == "nudge":
        return _parse_nudge(args, workspace, actor, channel_id)
    if sub == "export":
        return ExportData(workspace, actor, args[0] if args else "json")
    raise ParseError(f"I don't know '/leanon {sub[:40]}'. Try /leanon help.")


HELPER_HELP = ("Use /leanon helper on [topics], /leanon helper off, or /leanon helper topics "
               "<topics> (for example: kubernetes, terraform).")
MAX_TOPICS = 10
TOPIC_MAX_CHARS = 32
_TOPIC_JUNK = re.compile(r"[^\w+#./ -]+")


def parse_topics(text: str) -> tuple[str, ...]:
    """Topics as a member lists them: separated by commas (or, without any, by spaces),
    lower-cased, each once; "none" for none. Characters that are not word characters or
    + # . / - are dropped (a topic is never a mention or markup)."""
    if text.strip().lower() in {"none", "-"}:
        return ()
    parts = text.split(",") if "," in text else text.split()
    topics: dict[str, None] = {}
    for part in parts:
        topic = " ".join(_TOPIC_JUNK.sub("", part.lower()).split())[:TOPIC_MAX_CHARS].strip()
        if topic:
            topics.setdefault(topic, None)
    if len(topics) > MAX_TOPICS:
        raise ParseError(f"At most {MAX_TOPICS} topics, please: the few you know best.")
    return tuple(topics)


def _parse_helper(args: list[str], workspace: WorkspaceRef, actor: Actor) -> SetHelper:
    if not args:
        return SetHelper(workspace, actor)
    choice, rest = args[0].lower(), " ".join(args[1:])
    if choice == "on":
        return SetHelper(workspace, actor, True, parse_topics(rest) if rest.strip() else None)
    if choice == "off" and not rest:
        return SetHelper(workspace, actor, False)
    if choice == "topics" and rest.strip():
        topics = parse_topics(rest)
        if not topics and rest.strip().lower() not in {"none", "-"}:
            raise ParseError(HELPER_HELP)
        return SetHelper(workspace, actor, topics=topics)
    raise ParseError(HELPER_HELP)


_SPACE = re.compile(r"\s*")
_JOINERS = re.compile(r"(?:,|and\b|&)\s*", re.IGNORECASE)
_FOR = re.compile(r"(?:for\b|:|-|—)\s*", re.IGNORECASE)


def leading_mentions(text: str, mention: re.Pattern[str],
                     limit: int | None = None) -> tuple[list[str], str]:
    """Split `@a, @b and @c for the review` into (["a", "b", "c"], "the review").

    `mention` matches one mention at the start of the text; its first group is the id.
    Each id once, in the order named. In time linear in the text (matched in place, never
    copied per mention); at most `limit` different ids are read, the rest stays in the reason.
    """
    ids: dict[str, None] = {}
    text = text.strip()
    pos = 0
    while limit is None or len(ids) < limit:
        match = mention.match(text, pos)
        if match is None:
            break
        ids[match.group(1)] = None
        pos = _after(_JOINERS, text, _after(_SPACE, text, match.end()))
    return list(ids), text[_after(_FOR, text, pos):].strip()


def _after(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where `pattern` ends when it matches at `pos`, else `pos`."""
    match = pattern.match(text, pos)
    return match.end() if match else pos


_WEEKDAYS = {name: i for i, names in enumerate((
    ("mon", "monday", "mondays"), ("tue", "tues", "tuesday", "tuesdays"),
    ("wed", "wednesday", "wednesdays"), ("thu", "thur", "thurs", "thursday", "thursdays"),
    ("fri", "friday", "fridays"), ("sat", "saturday", "saturdays"),
    ("sun", "sunday", "sundays"),
)) for name in names}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
NUDGE_USAGE = ("Use /leanon nudge here [weekday] [HH:MM] [timezone] (e.g. nudge here monday "
               "09:30 Europe/Berlin), nudge off, nudge preview or nudge now.")


def _parse_nudge(args: list[str], workspace: WorkspaceRef, actor: Actor,
                 channel_id: str) -> Command:
    if not args:
        raise ParseError(NUDGE_USAGE)
    action, rest = args[0].lower(), args[1:]
    if action in {"off", "preview", "now"}:
        if rest:
            raise ParseError(f"/leanon nudge {action} takes nothing after it.")
        if action == "off":
            return NudgeOff(workspace, actor, channel_id)
        if action == "preview":
            return NudgePreview(workspace, actor, channel_id)
        return NudgeNow(workspace, actor, channel_id)
    if action != "here":
        raise ParseError(NUDGE_USAGE)
    weekday: int | None = None
    at: time | None = None
    timezone: str | None = None
    for word in rest:
        low = word.lower()
        if low in _WEEKDAYS and weekday is None:
            weekday = _WEEKDAYS[low]
        elif (match := _TIME.match(low)) and at is None:
            at = time(int(match.group(1)), int(match.group(2)))
        elif (timezone is None and "/" in word) or word.upper() == "UTC":
            timezone = _timezone(word)
        else:
            raise ParseError(f"I can't read '{word[:40]}' here: a weekday is like monday, a time "
                             "like 09:30 (24-hour), a timezone like Europe/Berlin. Nothing changed.")
    return SetNudge(workspace, actor, channel_id, weekday, at, timezone)


def _timezone(word: str) -> str:
    if (name := zone_name(word)) is None:
        raise ParseError(f"I don't know the timezone '{word[:60]}'. Use an IANA name like "
                         "Europe/Berlin or America/New_York. Nothing changed.")
    return name

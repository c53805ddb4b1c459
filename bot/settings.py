"""Workspace settings as admins see them: names, parsing and display."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bot.domain import Settings, SuggestionMode
from bot.emoji import emoji_name
from bot.text import format_duration, parse_duration, quoted

EMOJI_LIST_MAX_CHARS = 10 * 65


class SettingError(ValueError):
    """A setting value that cannot be used; the message tells the admin what to write."""


_ON = {"on", "yes", "true", "enabled", "enable", "1"}
_OFF = {"off", "no", "false", "disabled", "disable", "0"}


def _switch(value: str) -> bool:
    v = value.strip().lower()
    if v in _ON:
        return True
    if v in _OFF:
        return False
    raise SettingError("Use on or off.")


def _emoji(value: str) -> tuple[str, ...]:
    if len(value) > EMOJI_LIST_MAX_CHARS:  # 10 names of at most 64 characters, with commas
        raise SettingError("That is too long for a list of at most 10 emoji.")
    names = [emoji_name(n) for n in re.split(r"[,\s]+", value) if n.strip(": ")]
    if not names:
        raise SettingError("Name at least one emoji, e.g. pray,raised_hands.")
    if len(names) > 10:
        raise SettingError("At most 10 thanks emoji.")
    for name in names:
        if len(name) > 64 or not re.fullmatch(r"[\w+\-:]+|[^\x00-\x7f]{1,8}", name):
            raise SettingError(f"'{quoted(name)}' is not an emoji name (like pray or "
                               "raised_hands).")
    return tuple(dict.fromkeys(names))


def _allowance(value: str) -> int | None:
    v = value.strip().lower()
    if v == "0":  # "0" is an off-word elsewhere; here it would lift the limit by surprise
        raise SettingError("Use a number from 1 to 1000, or off.")
    if v in _OFF or v == "none":
        return None
    if not v.isdecimal() or len(v) > 9 or not 1 <= int(v) <= 1000:  # isdigit() lets ² through
        raise SettingError("Use a number from 1 to 1000, or off.")
    return int(v)


def _daily_requests(value: str) -> int:
    v = value.strip()
    if not v.isdecimal() or len(v) > 2 or not 1 <= int(v) <= 10:
        raise SettingError("Use a number from 1 to 10.")
    return int(v)


def _suggestions(value: str) -> SuggestionMode:
    if value.strip().lower().replace("_", "-") in {"ask-first", "first"}:
        return SuggestionMode.ASK_FIRST
    try:
        return SuggestionMode.ON if _switch(value) else SuggestionMode.OFF
    except SettingError:
        raise SettingError("Use on, off or ask-first.") from None


def _duration(low: timedelta, high: timedelta) -> Callable[[str], timedelta]:
    def parse(value: str) -> timedelta:
        delta = parse_duration(value)
        if delta is None:
            raise SettingError("Use a duration like 90m, 2h or 14d.")
        if not low <= delta <= high:
            raise SettingError(f"Use a duration from {format_duration(low)} "
                               f"to {format_duration(high)}.")
        return delta
    return parse


def _optional_duration(low: timedelta, high: timedelta) -> Callable[[str], timedelta | None]:
    within = _duration(low, high)

    def parse(value: str) -> timedelta | None:
        if value.strip().lower() in _OFF | {"never", "none"}:
            return None
        try:
            return within(value)
        except SettingError as exc:
            raise SettingError(f"{exc} Or off.") from None
    return parse


def _show_switch(v: object) -> str:
    return "on" if v else "off"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    key: str
    field: str
    parse: Callable[[str], object]
    show: Callable[[object], str]
    help: str


def _show_emoji(v: object) -> str:
    return ",".join(v) if isinstance(v, tuple) else str(v)


def _show_allowance(v: object) -> str:
    return "off" if v is None else str(v)


def _show_duration(v: object) -> str:
    return format_duration(v) if isinstance(v, timedelta) else "off" if v is None else str(v)


SPECS: dict[str, SettingSpec] = {s.key: s for s in (
    SettingSpec("thanks-emoji", "thanks_emoji", _emoji, _show_emoji,
                "emoji that thank a message's author"),
    SettingSpec("anonymous-asks", "anonymous_asks", _switch, _show_switch,
                "whether members may ask anonymously"),
    SettingSpec("daily-allowance", "daily_allowance", _allowance, _show_allowance,
                "thanks one member may give per day"),
    SettingSpec("stale-after", "stale_after", _duration(timedelta(minutes=10), timedelta(days=7)),
                _show_duration, "when a waiting ask gets its one follow-up"),
    SettingSpec("tips-after", "tips_after",
                _optional_duration(timedelta(minutes=5), timedelta(days=1)), _show_duration,
                "when the asker of an ask with no offer gets tips to sharpen it"),
    SettingSpec("request-after", "request_after",
                _optional_duration(timedelta(minutes=10), timedelta(days=2)), _show_duration,
                "working time (theirs) before up to 3 likely helpers are asked to look at an "
                "ask with no offer"),
    SettingSpec("daily-requests", "daily_requests", _daily_requests, str,
                "requests to look at an ask one helper gets at most on a day"),
    SettingSpec("escalate-after", "escalate_after",
                _optional_duration(timedelta(minutes=30), timedelta(days=7)), _show_duration,
                "working time before an ask with no offer is posted in the escalation channel "
                "(/leanon escalate here)"),
    SettingSpec("expire-after", "expire_after",
                _duration(timedelta(hours=1), timedelta(days=365)), _show_duration,
                "when an open ask closes by itself"),
    SettingSpec("receiver-dm", "receiver_dm", _switch, _show_switch,
                "tell members privately when they are thanked"),
    SettingSpec("leaderboard", "leaderboard", _switch, _show_switch,
                "whether /leanon leaderboard is available"),
    SettingSpec("suggestions", "suggestions", _suggestions, str,
                "offer what solved earlier asks when someone asks the same again (on), "
                "before the ask is posted (ask-first), or not (off)"),
)}


def change(settings: Settings, key: str, value: str) -> Settings:
    """A copy of `settings` with one setting changed; SettingError when it can't be."""
    spec = SPECS.get(key.strip().lower().replace("_", "-"))
    if spec is None:
        raise SettingError(f"There is no setting '{quoted(key)}'. Settings: {', '.join(SPECS)}.")
    changes: dict[str, Any] = {spec.field: spec.parse(value)}
    new = replace(settings, **changes)
    if new.stale_after >= new.expire_after:
        raise SettingError("stale-after must be shorter than expire-after.")
    return new


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, shown value, what it does) for every setting."""
    return [(s.key, s.show(getattr(settings, s.field)), s.help) for s in SPECS.values()]

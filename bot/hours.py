"""Working hours: when a helper may be asked to look at an ask.

A helper's hours are a daily window of wall-clock time in their own IANA time zone, on the
weekdays they chose (`/leanon hours 09:00-17:30 mon-fri Europe/Berlin`). A window that ends
before it starts runs past midnight and belongs to the day it starts on (22:00-06:00 on
Friday is Friday night). Every moment is compared in the helper's zone, so summer time
and winter time need no special case: a window is always its wall-clock hours, and a
day with a clock change has one hour more or less of it only if the change falls inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.text import zone_name

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
_DAY_SETS = {"weekdays": WORKDAYS, "workdays": WORKDAYS, "daily": EVERY_DAY,
             "everyday": EVERY_DAY, "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6})}
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?")
_SPAN = re.compile(r"(\d{1,2}(?::\d{2})?)\s*(?:-|–|—|to)\s*(\d{1,2}(?::\d{2})?)", re.IGNORECASE)
HOURS_HELP = ("Use /leanon hours 09:00-17:30 [days] [time zone], for example "
              "/leanon hours 09:00-17:30 mon-fri Europe/Berlin (days: mon-fri, weekdays, "
              "daily, or names like mon,wed,fri).")


class HoursError(ValueError):
    """Text that does not say working hours; the message says what would."""


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time
    days: frozenset[int]  # 0 is Monday
    zone: str  # an IANA name

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise HoursError("The hours must start and end at different times.")
        if not self.days or not self.days <= EVERY_DAY:
            raise HoursError("Working hours need at least one day of the week.")
        if zone_name(self.zone) != self.zone:
            raise HoursError(f"I don't know the time zone '{self.zone[:40]}'.")

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def _window(self, day: date) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.zone)
        opens = datetime.combine(day, self.start, tzinfo=zone)
        closes = datetime.combine(day + timedelta(days=1) if self.overnight else day, self.end,
                                  tzinfo=zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def windows(self, since: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """The working periods from `since` (to `until`, or on without end), in UTC, cut to
        the span asked for."""
        day = since.astimezone(ZoneInfo(self.zone)).date() - timedelta(days=1)
        last = until.astimezone(ZoneInfo(self.zone)).date() if until is not None else None
        while last is None or day <= last:
            if day.weekday() in self.days:
                opens, closes = self._window(day)
                opens, closes = max(opens, since), closes if until is None else min(closes, until)
                if opens < closes:
                    yield opens, closes
            day += timedelta(days=1)

    def is_working(self, at: datetime) -> bool:
        return any(True for _ in self.windows(at, at + timedelta(microseconds=1)))

    def working_time(self, since: datetime, until: datetime) -> timedelta:
        """How much of [since, until) falls in working hours."""
        if until <= since:
            return timedelta(0)
        return sum((closes - opens for opens, closes in self.windows(since, until)), timedelta(0))

    def after(self, since: datetime, span: timedelta) -> datetime:
        """The moment by which `span` of working time has passed since `since` (when the
        span is zero: the first working moment from `since` on)."""
        left = span
        for opens, closes in self.windows(since):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        raise AssertionError("working hours without end never run out")  # pragma: no cover

    def today(self, at: datetime) -> date:
        """The helper's own date at `at` (their daily limits count by it)."""
        return at.astimezone(ZoneInfo(self.zone)).date()

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}, {describe_days(self.days)}, {self.zone}"


def working_time_of_any(hours: Sequence[WorkingHours], since: datetime,
                        until: datetime) -> timedelta:
    """How much of [since, until) falls in the working hours of at least one of `hours`
    (all of it when there are none: then nobody's hours are known)."""
    if until <= since:
        return timedelta(0)
    if not hours:
        return until - since
    spans = sorted(window for h in hours for window in h.windows(since, until))
    total, reached = timedelta(0), since
    for opens, closes in spans:
        opens = max(opens, reached)
        if closes > opens:
            total += closes - opens
            reached = closes
    return total


def describe_days(days: frozenset[int]) -> str:
    if days == EVERY_DAY:
        return "every day"
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]].title()}-{DAY_NAMES[ordered[-1]].title()}"
    return ", ".join(DAY_NAMES[d].title() for d in ordered)


def _clock(text: str) -> time:
    found = _TIME.fullmatch(text)
    if found is None:
        raise HoursError(HOURS_HELP)
    hours, minutes = int(found.group(1)), int(found.group(2) or 0)
    if hours == 24 and minutes == 0:
        return time(0)
    if hours > 23 or minutes > 59:
        raise HoursError(f"{text} is not a time of day (00:00 to 23:59).")
    return time(hours, minutes)


def _day(name: str) -> int | None:
    name = name.lower().rstrip(".")
    for index, (short, long) in enumerate(zip(DAY_NAMES, _LONG_DAY_NAMES, strict=True)):
        if name in {short, long} or (len(name) >= 3 and long.startswith(name)):
            return index
    return None


def parse_days(text: str) -> frozenset[int] | None:
    """`mon-fri`, `weekdays`, `daily`, `mon,wed,fri`, `sat-sun`…; None when it says none."""
    text = text.lower().replace(" ", "")
    if text in _DAY_SETS:
        return _DAY_SETS[text]
    days: set[int] = set()
    for part in filter(None, text.split(",")):
        first, dash, last = part.partition("-")
        start, end = _day(first), _day(last) if dash else None
        if start is None or (dash and end is None):
            return None
        if end is None:
            days.add(start)
            continue
        day = start
        days.add(day)
        while day != end:  # mon-fri; fri-mon wraps over the weekend
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days) or None


@dataclass(frozen=True)
class HoursSaid:
    """Hours as a member wrote them, perhaps without a time zone (the platform may know it)."""

    start: time
    end: time
    days: frozenset[int]
    zone: str | None

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise HoursError("The hours must start and end at different times.")

    def at(self, zone: str | None) -> WorkingHours:
        """The hours in the zone written, else in `zone` (the member's own, where the
        platform knows it)."""
        chosen = self.zone or zone
        if chosen is None:
            raise HoursError("Which time zone are those hours in? Add it, for example "
                             "/leanon hours 09:00-17:30 mon-fri Europe/Berlin.")
        return WorkingHours(self.start, self.end, self.days, chosen)


def parse_hours(text: str) -> HoursSaid:
    """`09:00-17:30 [days] [zone]` (days: workdays when not said); HoursError with what to
    write otherwise."""
    span = _SPAN.match(text.strip())
    if span is None:
        raise HoursError(HOURS_HELP)
    start, end = _clock(span.group(1)), _clock(span.group(2))
    days: frozenset[int] | None = None
    zone: str | None = None
    for word in text.strip()[span.end():].split():
        if days is None and (found := parse_days(word)) is not None:
            days = found
        elif zone is None and (named := zone_name(word)) is not None:
            zone = named
        else:
            raise HoursError(f"I don't understand '{word[:40]}'. {HOURS_HELP}")
    return HoursSaid(start, end, days if days is not None else WORKDAYS, zone)

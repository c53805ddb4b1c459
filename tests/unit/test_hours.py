"""Working hours: each moment judged in the helper's own zone, across weekends and clock
changes; `/leanon hours` text read, or refused with what to write."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.hours import EVERY_DAY, WORKDAYS, HoursError, WorkingHours, parse_days, parse_hours

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = WorkingHours(time(9), time(17, 30), WORKDAYS, "Europe/Berlin")


NOW = timedelta(0)  # after(since, NOW): the first working moment from `since` on


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_moment_is_working_time_by_the_helpers_own_clock() -> None:
    assert OFFICE.is_working(local(BERLIN, 2026, 12, 7, 9, 0))  # a Monday
    assert OFFICE.is_working(local(BERLIN, 2026, 12, 7, 17, 29))
    assert not OFFICE.is_working(local(BERLIN, 2026, 12, 7, 17, 30))
    assert not OFFICE.is_working(local(BERLIN, 2026, 12, 7, 8, 59))
    assert not OFFICE.is_working(local(BERLIN, 2026, 12, 5, 11, 0))  # a Saturday
    # 09:30 in Berlin is 03:30 in New York: the same moment, working for one helper only
    new_york = WorkingHours(time(9), time(17, 30), WORKDAYS, "America/New_York")
    moment = local(BERLIN, 2026, 12, 7, 9, 30)
    assert OFFICE.is_working(moment) and not new_york.is_working(moment)


def test_the_window_keeps_its_wall_clock_hours_across_a_clock_change() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: 09:00 is 08:00 UTC on the
    # Friday before and 07:00 UTC on the Monday after.
    assert OFFICE.after(local(BERLIN, 2026, 3, 27, 6, 0), NOW) == utc(2026, 3, 27, 8, 0)
    assert OFFICE.after(local(BERLIN, 2026, 3, 30, 6, 0), NOW) == utc(2026, 3, 30, 7, 0)
    # New York changed three weeks earlier (8 March): for those weeks the two are 5 hours apart
    new_york = WorkingHours(time(9), time(17), WORKDAYS, "America/New_York")
    assert new_york.after(local(NEW_YORK, 2026, 3, 9, 0, 0), NOW) == utc(2026, 3, 9, 13, 0)
    assert new_york.after(local(NEW_YORK, 2026, 3, 6, 0, 0), NOW) == utc(2026, 3, 6, 14, 0)


def test_a_night_window_that_spans_the_clock_change_is_an_hour_shorter() -> None:
    nights = WorkingHours(time(0), time(6), EVERY_DAY, "Europe/Berlin")
    day = timedelta(days=1)
    spring, autumn = local(BERLIN, 2026, 3, 28, 12, 0), local(BERLIN, 2026, 10, 24, 12, 0)
    assert nights.working_time(spring, spring + day) == timedelta(hours=5)  # 23 hours long
    assert nights.working_time(autumn, autumn + day + timedelta(hours=1)) == timedelta(hours=7)


def test_working_time_skips_evenings_and_weekends() -> None:
    friday_afternoon = local(BERLIN, 2026, 12, 4, 16, 45)
    assert OFFICE.after(friday_afternoon, timedelta(minutes=45)) == local(BERLIN, 2026, 12, 4, 17, 30)
    assert OFFICE.after(friday_afternoon, timedelta(minutes=60)) == local(BERLIN, 2026, 12, 7, 9, 15)
    monday_ten = local(BERLIN, 2026, 12, 7, 10, 0)
    assert OFFICE.working_time(friday_afternoon, monday_ten) == timedelta(minutes=105)
    weekend = local(BERLIN, 2026, 12, 5, 9, 0), local(BERLIN, 2026, 12, 6, 20, 0)
    assert OFFICE.working_time(*weekend) == timedelta(0)
    # four working hours from Monday 15:00: 2.5 on Monday, 1.5 on Tuesday
    four_hours = OFFICE.after(local(BERLIN, 2026, 12, 7, 15, 0), timedelta(hours=4))
    assert four_hours == local(BERLIN, 2026, 12, 8, 10, 30)


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    friday_nights = WorkingHours(time(22), time(6), frozenset({4}), "Europe/Berlin")
    assert friday_nights.overnight
    assert friday_nights.is_working(local(BERLIN, 2026, 12, 4, 23, 0))
    assert friday_nights.is_working(local(BERLIN, 2026, 12, 5, 3, 0))  # Saturday morning
    assert not friday_nights.is_working(local(BERLIN, 2026, 12, 5, 23, 0))
    assert not friday_nights.is_working(local(BERLIN, 2026, 12, 4, 3, 0))  # Thursday's night


def test_the_helpers_date_is_their_own() -> None:
    tokyo = WorkingHours(time(9), time(17), WORKDAYS, "Asia/Tokyo")
    late_sunday_in_utc = utc(2026, 12, 6, 23, 30)
    assert tokyo.today(late_sunday_in_utc).isoformat() == "2026-12-07"
    assert OFFICE.today(late_sunday_in_utc).isoformat() == "2026-12-07"  # 00:30 in Berlin
    new_york = WorkingHours(time(9), time(17), WORKDAYS, "America/New_York")
    assert new_york.today(late_sunday_in_utc).isoformat() == "2026-12-06"


ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.integers(0, 23 * 60 + 59), length=st.integers(1, 23 * 60 + 59),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    since=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31),  # noqa: DTZ001 - bounds are naive
                       timezones=st.just(UTC)),
    span=st.integers(0, 60 * 60 * 24 * 9),
)
def test_after_and_working_time_agree(zone: str, start: int, length: int, days: frozenset[int],
                                      since: datetime, span: int) -> None:
    end = (start + length) % (24 * 60)
    hours = WorkingHours(time(start // 60, start % 60), time(end // 60, end % 60), days, zone)
    moment = hours.after(since, timedelta(seconds=span))
    assert moment >= since
    assert hours.working_time(since, moment) == timedelta(seconds=span)
    if span:
        assert hours.is_working(moment - timedelta(microseconds=1))


def test_hours_are_read_in_the_forms_people_write() -> None:
    assert parse_hours("09:00-17:30 mon-fri Europe/Berlin").at(None) == OFFICE
    assert parse_hours("9:00–17:30").at("Europe/Berlin") == OFFICE  # the member's zone, workdays
    assert parse_hours("9-17:30 weekdays europe/berlin").at("Asia/Tokyo") == OFFICE
    assert parse_hours("22:00 to 06:00 fri Europe/Berlin").at(None).overnight
    assert parse_hours("08:00-12:00 mon,wed,fri UTC").at(None).days == frozenset({0, 2, 4})
    assert parse_hours("10-14 daily UTC").at(None).days == EVERY_DAY
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("Tuesday") == frozenset({1})
    assert parse_days("funday") is None
    assert OFFICE.describe() == "09:00-17:30, Mon-Fri, Europe/Berlin"
    assert parse_hours("08:00-12:00 mon,wed UTC").at(None).describe() == "08:00-12:00, Mon, Wed, UTC"


@pytest.mark.parametrize(("text", "zone", "message"), [
    ("", "UTC", "Use /leanon hours 09:00-17:30"),
    ("whenever", "UTC", "Use /leanon hours"),
    ("25:00-17:00", "UTC", "not a time of day"),
    ("09:61-17:00", "UTC", "not a time of day"),
    ("09:00-09:00", "UTC", "different times"),
    ("09:00-17:00 mon-fri", None, "Which time zone"),
    ("09:00-17:00 funday UTC", None, "I don't understand 'funday'"),
    ("09:00-17:00 Mars/Olympus", None, "I don't understand"),
    ("09:00-17:00 UTC Europe/Berlin", None, "I don't understand 'Europe/Berlin'"),
])
def test_what_is_not_hours_is_refused_with_what_to_write(text: str, zone: str | None, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours(text).at(zone)

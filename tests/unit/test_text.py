"""Text helpers: mention neutralisation, the "be specific" check, previews and durations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain import WeeklyNumbers
from bot.nudges import _numbers
from bot.text import (
    ZWSP,
    ago,
    clean_user_text,
    format_duration,
    needs_specific_tip,
    neutralise_mentions,
    parse_duration,
    plural,
    preview,
)

BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)

# Pieces that make mentions on Slack or Discord, to mix into generated text.
FRAGMENTS = ["<", ">", "@", "!", "#", "&", "|", " ", "\n", "here", "channel", "everyone", "all",
             "U1", "123", "subteam^S1", "<@", "<!", "<#", "<@&", "<@!", ZWSP, "x" * 81]
mention_soup = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=30).map("".join)


def assert_cannot_ping(out: str) -> None:
    for opener in ("<@", "<!", "<#"):
        assert opener not in out
    assert BROADCAST.search(out) is None


@given(st.text() | mention_soup)
@example("<@U1|Jo Smith>")
@example("<!subteam^S1|@the devs>")
@example("<<@U1>>")
@example("<@" + "1" * 90 + ">")
@example("@@here @Channel @EVERYONE")
def test_neutralised_text_cannot_ping_anyone(text: str) -> None:
    assert_cannot_ping(neutralise_mentions(text))


@given(st.text() | mention_soup)
def test_neutralising_twice_changes_nothing_more(text: str) -> None:
    once = neutralise_mentions(text)
    assert neutralise_mentions(once) == once


@given(st.text(alphabet=st.characters(blacklist_characters="<@")))
def test_text_without_markup_is_left_alone(text: str) -> None:
    assert neutralise_mentions(text) == text


@pytest.mark.parametrize(("text", "out"), [
    ("<@U123>", f"@{ZWSP}U123"),
    ("<@!42>", f"@!{ZWSP}42"),
    ("<@&42>", f"@&{ZWSP}42"),
    ("<!here>", f"!{ZWSP}here"),
    ("<#C1>", f"#{ZWSP}C1"),
    ("ping @here now", f"ping @{ZWSP}here now"),
    ("mail me at a@channel.org", f"mail me at a@{ZWSP}channel.org"),
    ("@hereafter and @channels", "@hereafter and @channels"),
    ("<@U1|Jo Smith>", f"<{ZWSP}@U1|Jo Smith>"),
])
def test_neutralise_mentions_examples(text: str, out: str) -> None:
    assert neutralise_mentions(text) == out


def test_clean_user_text_trims_normalises_and_drops_control_characters() -> None:
    assert clean_user_text("  cafe\u0301\x00\x1b ok\tyes\n ") == "caf\u00e9 ok\tyes"


@pytest.mark.parametrize(("text", "tip"), [
    ("help", True),
    ("deploy broken again today", True),
    ("The staging deploy pipeline stopped working this morning", True),
    ("How do I rotate the staging database keys without downtime?", False),
    ("The staging deploy pipeline fails with a timeout since this morning", False),
    ("Staging deploy pipeline stopped this morning after the merge?", False),
])
def test_needs_specific_tip(text: str, tip: bool) -> None:
    assert needs_specific_tip(text) is tip


def test_preview_keeps_the_first_line_and_cuts_long_text() -> None:
    assert preview("first line\nsecond") == "first line"
    assert preview("  ") == ""
    cut = preview("word " * 40, limit=20)
    assert len(cut) <= 20 and cut.endswith("…")


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(minutes=45), "45m"),
    (timedelta(hours=2), "2h"),
    (timedelta(hours=1, minutes=30), "1h30m"),
    (timedelta(days=3), "3d"),
    (timedelta(days=1, hours=5), "1d5h"),
])
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize(("text", "delta"), [
    ("90m", timedelta(minutes=90)),
    ("2h", timedelta(hours=2)),
    ("1h30m", timedelta(minutes=90)),
    ("1h 30m", timedelta(minutes=90)),
    ("14D", timedelta(days=14)),
    ("2w", timedelta(days=14)),
    ("", None),
    ("soon", None),
    ("2h later", None),
    ("0m", None),
    ("-2h", None),
])
def test_parse_duration(text: str, delta: timedelta | None) -> None:
    assert parse_duration(text) == delta


@given(st.integers(min_value=1, max_value=60 * 24 * 400))
def test_format_duration_parses_back_for_whole_units(minutes: int) -> None:
    delta = timedelta(minutes=minutes)
    shown = format_duration(delta)
    if minutes < 60 * 24 or minutes % 60 == 0:
        assert parse_duration(shown) == delta


def test_counts_and_ages_read_as_english() -> None:
    assert [plural(n, "ask") for n in (0, 1, 2, 1200)] == ["0 asks", "1 ask", "2 asks",
                                                          "1,200 asks"]
    assert plural(1, "person", "people") == "1 person" and plural(3, "person", "people") == "3 people"
    assert [ago(timedelta(seconds=s)) for s in (0, 59, 60, 5400)] == [
        "just now", "just now", "1m ago", "1h30m ago"]


def test_the_weekly_numbers_say_one_ask_and_under_a_minute() -> None:
    lines = ["".join(map(str, line)) for line in _numbers(WeeklyNumbers(
        asks_opened=1, asks_resolved=1, median_first_offer=timedelta(seconds=30),
        thanks_given=1, helpers=1))]
    assert "📊 The last 7 days here: 1 ask opened, 1 resolved." in lines
    assert "⏱️ A first offer of help came after a median of under a minute." in lines

"""Workspace settings: parsing values, the cross-checks, and how they are shown."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Settings, SuggestionMode
from bot.emoji import emoji_name
from bot.settings import SPECS, SettingError, change, describe


def test_every_settings_field_has_exactly_one_setting() -> None:
    # The escalation channel is chosen where it is: /leanon escalate here.
    own_command = {"escalation_channel"}
    assert sorted(s.field for s in SPECS.values()) == sorted(
        f.name for f in fields(Settings) if f.name not in own_command)


def test_describe_shows_the_defaults() -> None:
    assert describe(Settings()) == [
        ("thanks-emoji", "pray,raised_hands", "emoji that thank a message's author"),
        ("anonymous-asks", "on", "whether members may ask anonymously"),
        ("daily-allowance", "off", "thanks one member may give per day"),
        ("stale-after", "2h", "when a waiting ask gets its one follow-up"),
        ("tips-after", "15m", "when the asker of an ask with no offer gets tips to sharpen it"),
        ("request-after", "45m", "working time (theirs) before up to 3 likely helpers are asked "
                                 "to look at an ask with no offer"),
        ("daily-requests", "2", "requests to look at an ask one helper gets at most on a day"),
        ("escalate-after", "4h", "working time before an ask with no offer is posted in the "
                                 "escalation channel (/leanon escalate here)"),
        ("expire-after", "14d", "when an open ask closes by itself"),
        ("receiver-dm", "on", "tell members privately when they are thanked"),
        ("leaderboard", "off", "whether /leanon leaderboard is available"),
        ("suggestions", "on", "offer what solved earlier asks when someone asks the same again "
                              "(on), before the ask is posted (ask-first), or not (off)"),
    ]


def test_the_ladder_settings_take_their_ranges_or_off() -> None:
    assert change(Settings(), "request-after", "1h").request_after == timedelta(hours=1)
    assert change(Settings(), "request-after", "off").request_after is None
    assert change(Settings(), "escalate-after", "2d").escalate_after == timedelta(days=2)
    assert change(Settings(), "escalate-after", "never").escalate_after is None
    assert change(Settings(), "daily-requests", "5").daily_requests == 5
    for key, value in (("request-after", "5m"), ("request-after", "3d"), ("escalate-after", "10m"),
                       ("escalate-after", "8d"), ("daily-requests", "0"), ("daily-requests", "11"),
                       ("daily-requests", "²"), ("daily-requests", "off")):
        with pytest.raises(SettingError):
            change(Settings(), key, value)


def test_suggestions_are_switched_on_and_off_or_first() -> None:
    assert change(Settings(), "suggestions", "off").suggestions is SuggestionMode.OFF
    assert change(Settings(), "suggestions", "ON").suggestions is SuggestionMode.ON
    assert change(Settings(), "suggestions", "Ask_First").suggestions is SuggestionMode.ASK_FIRST
    with pytest.raises(SettingError, match="on, off or ask-first"):
        change(Settings(), "suggestions", "maybe")


@pytest.mark.parametrize(("value", "emoji"), [
    ("pray", ("pray",)),
    (":pray: :raised_hands:", ("pray", "raised_hands")),
    ("Pray,pray, +1", ("pray", "+1")),
    ("🙏", ("pray",)),  # stored as the name platforms report
    ("thumbsup skin-tone-2", ("+1", "skin-tone-2")),  # thumbsup is +1 (Slack's name)
])
def test_thanks_emoji_accepts_names_and_dedupes(value: str, emoji: tuple[str, ...]) -> None:
    assert change(Settings(), "thanks-emoji", value).thanks_emoji == emoji


@pytest.mark.parametrize("value", ["", ",", "::", "a b c d e f g h i j k", "pr@y", "x" * 65])
def test_thanks_emoji_refuses_what_is_not_an_emoji_list(value: str) -> None:
    with pytest.raises(SettingError):
        change(Settings(), "thanks-emoji", value)


@pytest.mark.parametrize(("value", "allowance"), [
    ("off", None), ("none", None), ("1", 1), ("1000", 1000), (" 12 ", 12)])
def test_daily_allowance_values(value: str, allowance: int | None) -> None:
    assert change(Settings(daily_allowance=3), "daily-allowance", value).daily_allowance == allowance


@pytest.mark.parametrize("value", ["0", "1001", "-1", "1.5", "ten"])
def test_daily_allowance_refuses_zero_and_out_of_range(value: str) -> None:
    with pytest.raises(SettingError, match="1 to 1000"):
        change(Settings(), "daily-allowance", value)


@pytest.mark.parametrize(("key", "value", "error"), [
    ("stale-after", "9m", "from 10m"),
    ("stale-after", "8d", "to 7d"),
    ("expire-after", "59m", "from 1h"),
    ("expire-after", "366d", "to 365d"),
    ("expire-after", "2h", "shorter than expire-after"),
    ("nope", "1", "There is no setting 'nope'"),
])
def test_out_of_range_and_unknown_settings_are_refused(key: str, value: str, error: str) -> None:
    with pytest.raises(SettingError, match=error):
        change(Settings(), key, value)


def test_change_returns_a_copy_and_keeps_the_rest() -> None:
    before = Settings(daily_allowance=4)
    after = change(before, "LEADERBOARD", "yes")
    assert after == Settings(daily_allowance=4, leaderboard=True)
    assert before.leaderboard is False


settings_strategy = st.builds(
    Settings,
    # As `change` stores them: each emoji by its one name (`kr` is stored as the flag's name).
    thanks_emoji=st.lists(st.from_regex(r"[a-z_+\-]{1,20}", fullmatch=True).map(emoji_name),
                          min_size=1, max_size=10, unique=True).map(tuple),
    anonymous_asks=st.booleans(),
    daily_allowance=st.none() | st.integers(1, 1000),
    stale_after=st.integers(10, 60 * 24 * 7).map(lambda m: timedelta(minutes=m)),
    expire_after=st.integers(24 * 8, 24 * 365).map(lambda h: timedelta(hours=h)),
    receiver_dm=st.booleans(),
    leaderboard=st.booleans(),
)


@given(settings_strategy)
def test_what_describe_shows_can_be_set_back(settings: Settings) -> None:
    """An admin can copy any shown value into `config set` and get the same setting."""
    rebuilt = Settings(stale_after=timedelta(minutes=10), expire_after=timedelta(days=365))
    for key, shown, _ in describe(settings):
        rebuilt = change(rebuilt, key, shown)
    shown_again = describe(rebuilt)
    assert shown_again == describe(settings)

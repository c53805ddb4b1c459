"""Parsing `/leanon …` and the mentions at the start of `/thanks …`."""

from __future__ import annotations

import re

import pytest

from bot.commands import (
    ChangeConfig,
    Command,
    ExportData,
    ForgetMe,
    ListAsks,
    SetNamed,
    ShowConfig,
    ShowHelp,
    ShowLeaderboard,
    ShowStats,
)
from bot.parsing import ParseError, leading_mentions, parse_leanon
from tests.unit.fakes import WS, member

ME = member("U_ME")
CHANNEL = "C7"


def parse(text: str) -> Command:
    return parse_leanon(text, WS, ME, CHANNEL)


@pytest.mark.parametrize(("text", "command"), [
    ("", ShowHelp(WS, ME)),
    ("   ", ShowHelp(WS, ME)),
    ("help", ShowHelp(WS, ME)),
    ("HELP", ShowHelp(WS, ME)),
    ("stats", ShowStats(WS, ME)),
    ("asks", ListAsks(WS, ME, CHANNEL)),
    ("asks all", ListAsks(WS, ME, None)),
    ("asks workspace", ListAsks(WS, ME, None)),
    ("leaderboard", ShowLeaderboard(WS, ME)),
    ("named on", SetNamed(WS, ME, True)),
    ("named OFF", SetNamed(WS, ME, False)),
    ("config", ShowConfig(WS, ME)),
    ("config set daily-allowance 5", ChangeConfig(WS, ME, "daily-allowance", "5")),
    ("config set thanks-emoji pray, tada", ChangeConfig(WS, ME, "thanks-emoji", "pray, tada")),
    ("forget-me", ForgetMe(WS, ME, None)),
    ("forgetme", ForgetMe(WS, ME, None)),
    ("forget-me delete", ForgetMe(WS, ME, keep_asks=False)),
    ("forget-me keep", ForgetMe(WS, ME, keep_asks=True)),
    ("forget-me keep-asks", ForgetMe(WS, ME, keep_asks=True)),
    ("export", ExportData(WS, ME, "json")),
    ("export csv", ExportData(WS, ME, "csv")),
])
def test_every_subcommand_parses(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(("text", "hint"), [
    ("named", "/leanon named on"),
    ("named maybe", "/leanon named on"),
    ("named on off", "/leanon named on"),
    ("config set", "/leanon config set <setting> <value>"),
    ("config set leaderboard", "/leanon config set <setting> <value>"),
    ("config show", "/leanon config set <setting> <value>"),
    ("forget-me please", "/leanon forget-me delete"),
    ("dance", "Try /leanon help"),
    ("x" * 500, "Try /leanon help"),
])
def test_bad_input_is_a_helpful_parse_error(text: str, hint: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(text)
    message = str(raised.value)
    assert hint in message
    assert len(message) < 250  # an unknown word is quoted, but cut short


SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
DISCORD_MENTION = re.compile(r"<@!?(\d+)>")


@pytest.mark.parametrize(("text", "ids", "rest"), [
    ("<@U1> for the review", ["U1"], "the review"),
    ("<@U1>, <@U2> and <@U3> for the review", ["U1", "U2", "U3"], "the review"),
    ("<@U1|alex>,<@U2|sam> & <@U3> pairing on the incident", ["U1", "U2", "U3"],
     "pairing on the incident"),
    ("<@U1> <@U2>: the demo", ["U1", "U2"], "the demo"),
    ("<@U1> - the demo", ["U1"], "the demo"),
    ("<@U1> forever grateful", ["U1"], "forever grateful"),
    ("<@U1>", ["U1"], ""),
    ("  <@U1>  ", ["U1"], ""),
    ("thanks <@U1>", [], "thanks <@U1>"),
    ("", [], ""),
])
def test_leading_mentions_on_slack(text: str, ids: list[str], rest: str) -> None:
    assert leading_mentions(text, SLACK_MENTION) == (ids, rest)


def test_leading_mentions_on_discord() -> None:
    assert leading_mentions("<@!1> and <@22> for unblocking me", DISCORD_MENTION) == (
        ["1", "22"], "unblocking me")


@pytest.mark.parametrize("typed", ["Europe/Berlin", "europe/berlin", "EUROPE/BERLIN"])
def test_a_timezone_is_known_in_any_case(typed: str) -> None:
    cmd = parse(f"nudge here monday 09:30 {typed}")
    assert getattr(cmd, "timezone", None) == "Europe/Berlin"


@pytest.mark.parametrize("typed", ["Mars/Olympus_Mons", "europe/atlantis", "a/" * 40, "../etc/passwd"])
def test_an_unknown_timezone_is_refused(typed: str) -> None:
    with pytest.raises(ParseError, match="I don't know the timezone"):
        parse(f"nudge here monday 09:30 {typed}")

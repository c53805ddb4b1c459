"""Hostile text costs a sliver of CPU: length checks come before any other work on it, and
every parser reads in linear time. Each text here took seconds to minutes before.

The CPU bounds are generous (each case took at least 20 times the bound before its fix):
they tell linear from quadratic work, not fast from slow machines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from bot.commands import ChangeConfig, CreateAsk, Person, ThankMembers
from bot.deps import THANKED_AT_ONCE
from bot.domain import Settings
from bot.parsing import leading_mentions
from bot.settings import SettingError, change
from bot.text import parse_duration
from tests.unit.fakes import HELPER, WS, World, member, reply_text

CHANNEL = "C_HELP"
SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
# "e" then marks of falling combining classes: NFC sorts such a run in quadratic time.
MARKS = "\u0345\u0315\u031b\u0327\u0301"


async def open_asks(world: World) -> list[object]:
    async with world.store.uow() as uow:
        return list(await uow.asks.list_open(WS))


@contextmanager
def cpu_under(seconds: float) -> Iterator[None]:
    started = time.process_time()
    yield
    spent = time.process_time() - started
    assert spent < seconds, f"{spent:.2f} s of CPU"


@pytest.mark.parametrize("field", ["text", "tried"])
async def test_an_ask_of_crafted_combining_marks_is_refused_before_normalising(
        world: World, field: str) -> None:
    crafted = "e" + MARKS * 50_000  # a quarter megabyte: about 18 s of NFC before
    fields = {"text": "how do I rotate the staging keys?", field: crafted}
    with cpu_under(0.5):
        reply = await world.handle(CreateAsk(WS, member("U_ASKER"), CHANNEL,
                                             fields["text"], fields.get("tried")))
    assert not reply.ok and "the limit is 3,000" in reply_text(reply)
    assert len(reply_text(reply)) < 300
    assert await open_asks(world) == [] and world.chat.posted == []


async def test_a_thanks_reason_of_crafted_marks_is_refused_before_normalising(
        world: World) -> None:
    with cpu_under(0.5):
        reply = await world.handle(ThankMembers(WS, member("U_GIVER"), CHANNEL,
                                                (Person(HELPER),), "e" + MARKS * 50_000))
    assert not reply.ok and "the limit is 1,000" in reply_text(reply)
    assert world.store.all_thanks() == []


def thank_many(count: int) -> ThankMembers:
    people = tuple(Person(f"U{n:06d}") for n in range(count))
    return ThankMembers(WS, member("U_GIVER"), CHANNEL, people, "for the launch")


async def test_one_thanks_names_at_most_twenty_members(world: World) -> None:
    reply = await world.handle(thank_many(THANKED_AT_ONCE + 1))
    assert not reply.ok and f"up to {THANKED_AT_ONCE} teammates" in reply_text(reply)
    assert world.store.all_thanks() == [] and world.chat.all_messages() == []
    assert (await world.handle(thank_many(THANKED_AT_ONCE))).ok
    assert len(world.store.all_thanks()) == THANKED_AT_ONCE


def test_mentions_are_read_in_linear_time_and_up_to_a_limit() -> None:
    text = ", ".join(f"<@U{n:07d}>" for n in range(30_000)) + " for the launch"
    with cpu_under(1.0):  # each mention copied the rest of the text: about 10 s before
        ids, reason = leading_mentions(text, SLACK_MENTION)
    assert len(ids) == 30_000 and reason == "the launch"
    ids, reason = leading_mentions(text, SLACK_MENTION, limit=21)
    assert len(ids) == 21 and reason.startswith("<@U0000021>")
    repeated, _ = leading_mentions("<@U11> <@U11>, <@U22> and <@U11> thanks", SLACK_MENTION,
                                   limit=2)
    assert repeated == ["U11", "U22"]


@pytest.mark.parametrize("parse", [
    lambda: parse_duration("1" * 200_000),
    lambda: change(Settings(), "stale-after", "1" * 200_000),
    lambda: change(Settings(), "expire-after", "9" * 100_000 + "x"),
], ids=["duration", "stale-after", "expire-after"])
def test_long_durations_are_refused_in_linear_time(parse: Callable[[], object]) -> None:
    with cpu_under(0.5):  # the pattern backtracked over every run of digits: minutes before
        try:
            assert parse() is None
        except SettingError as exc:
            assert len(str(exc)) < 200


@pytest.mark.parametrize(("key", "value"), [
    ("thanks-emoji", ",".join(["pray"] * 100_000)),
    ("thanks-emoji", "x" * 100_000),
    ("thanks-emoji", "pray," + "!" * 500),
    ("x" * 100_000, "on"),
], ids=["many-emoji", "one-long-name", "bad-name", "long-key"])
def test_setting_errors_quote_at_most_a_short_prefix(key: str, value: str) -> None:
    with cpu_under(0.5), pytest.raises(SettingError) as refused:
        change(Settings(), key, value)
    # What was said is quoted short; the rest is leanon's own (the settings' names).
    said = str(refused.value).split("Settings: ")[0]
    assert len(said) < 200


async def test_a_settings_change_with_a_huge_value_changes_nothing(world: World) -> None:
    reply = await world.handle(ChangeConfig(WS, member("U_ADMIN", admin=True), "thanks-emoji",
                                            "pray," * 50_000))
    assert not reply.ok and len(reply_text(reply)) < 300

"""Bad input through the real Discord adapter and the fake Discord gateway: slash-command
options, the ask form (modal), and raw reaction events.

Fewer examples than the core: each one is a gateway round trip.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.discord.client import COMMAND_FAILED
from bot.deps import ASK_MAX_CHARS, REASON_MAX_CHARS
from bot.emoji import emoji_name
from tests.discord.discord_testing import (
    ALICE,
    BOB,
    OTHER_BOT,
    WS,
    Harness,
    option,
    reaction,
    slash,
    sub,
    submit_form,
)
from tests.discord.fake_discord import APP_ID, GUILD, FakeDiscord
from tests.robustness.robustness_inputs import BAD_SETTINGS, DEEP_ZONE, bad_schedule_word
from tests.robustness.robustness_testing import (
    NASTY,
    LogWatch,
    Snapshot,
    answer_problems,
    cases,
    changed_tables,
    huge_text,
    long_after_cleaning,
    nasty_text,
    new_rows,
    snapshot,
)

# Discord takes up to 6,000 characters in a string option and 4,000 in a form field.
OPTION_MAX = 6000
ids = count(1)


def answer_text(answers: list[Any]) -> str:
    assert answers and all(a.ephemeral or a.kind == "delete" for a in answers), answers
    return "\n".join(a.text for a in answers)


async def unchanged(discord: Harness, before: Snapshot) -> None:
    assert await snapshot(discord.runtime.store) == before


def thanks_option(reason: str) -> dict[str, Any]:
    return option("reason", reason)


@st.composite
def bad_command(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A slash command (payload, the text typed) that leanon must refuse."""
    kind = draw(st.sampled_from(["ask", "thanks-self", "thanks-bot", "thanks-reason", "nudge",
                                 "config"]))
    if kind == "ask":
        question = draw(st.one_of(
            huge_text(ASK_MAX_CHARS + 1, OPTION_MAX).filter(
                lambda t: long_after_cleaning(t, ASK_MAX_CHARS)),
            st.text(st.sampled_from("\x00\x01\x07\x1b\x7f"), min_size=1, max_size=20)))
        return slash("ask", option("question", question)), question
    if kind.startswith("thanks"):
        member = {"thanks-self": ALICE, "thanks-bot": OTHER_BOT, "thanks-reason": BOB}[kind]
        reason = draw(huge_text(REASON_MAX_CHARS + 1, OPTION_MAX).filter(
            lambda t: long_after_cleaning(t, REASON_MAX_CHARS)) if kind == "thanks-reason"
            else st.none() | nasty_text(max_size=40))
        options = [option("member", member, kind=6)] + ([thanks_option(reason)] if reason else [])
        resolved = {"users": {member: {"id": member, "username": "m", "discriminator": "0",
                                       "avatar": None, "bot": member == OTHER_BOT}}}
        return slash("thanks", *options, resolved=resolved), reason or ""
    if kind == "nudge":
        bad = draw(bad_schedule_word.filter(lambda w: len(w) <= OPTION_MAX))
        field = draw(st.sampled_from(["time", "timezone"]))
        return slash("leanon", sub("nudge", option("action", "here"), option(field, bad))), bad
    key = draw(st.sampled_from(sorted(BAD_SETTINGS)))
    value = draw(BAD_SETTINGS[key].filter(lambda v: len(v) <= OPTION_MAX))
    change = sub("config", sub("set", option("setting", key), option("value", value)), group=True)
    return slash("leanon", change, admin=True), value


@cases(60)
@given(command=bad_command())
@example(command=(slash("leanon", sub("nudge", option("action", "here"),
                                      option("timezone", DEEP_ZONE))), DEEP_ZONE))
@example(command=(slash("leanon", sub("config", sub(
    "set", option("setting", "stale-after"), option("value", "9" * 30 + "d")), group=True),
    admin=True), "9" * 30 + "d"))
async def test_slash_commands_with_bad_text_get_a_clear_private_answer(
        discord: Harness, logs: LogWatch, command: tuple[dict[str, Any], str]) -> None:
    logs.clear()
    payload, typed = command
    before = await snapshot(discord.runtime.store)
    answer = answer_text(await discord.run(payload))
    assert answer_problems(answer, typed) == [], answer[:300]
    await unchanged(discord, before)
    assert logs.crashes() == []


@pytest.mark.parametrize("payload", [
    slash("nope"),                                                      # a command leanon dropped
    slash("leanon", sub("frobnicate")),
    slash("leanon", sub("config", sub("set", option("setting", "nope"), option("value", "on")),
                        group=True), admin=True),                      # not one of the choices
    slash("ask", option("question", 42)),                               # a number for text
    slash("ask", option("question", ["x"])),
    slash("thanks", option("member", BOB, kind=6)),                     # no resolved member
    slash("leanon", sub("nudge", option("action", "sideways"))),
], ids=["unknown-command", "unknown-subcommand", "unknown-setting", "number-for-text",
        "list-for-text", "unresolved-member", "unknown-action"])
async def test_commands_discord_would_not_send_still_get_a_private_answer(
        discord: Harness, payload: dict[str, Any]) -> None:
    """Options of the wrong type or commands leanon no longer has: the member is told, rather
    than seeing "the application did not respond"."""
    before = await snapshot(discord.runtime.store)
    answer = answer_text(await discord.run(payload))
    assert answer == COMMAND_FAILED.plain_text() or answer_problems(answer, "") == [], answer
    await unchanged(discord, before)


FORM_VALUES = st.one_of(st.none(), st.just(""), st.integers(), nasty_text(max_size=40),
                        huge_text(ASK_MAX_CHARS + 1, 4000),
                        st.text(st.sampled_from("\x00\x01\x1b\x7f \n"), max_size=10))


@cases(40)
@given(question=FORM_VALUES, tried=st.none() | FORM_VALUES.filter(lambda v: not isinstance(v, int)),
       drop=st.sampled_from(
    ["none", "question", "tried", "value"]))
async def test_the_ask_form_with_odd_values_answers_clearly_or_posts_the_question(
        discord: Harness, logs: LogWatch, question: Any, tried: Any, drop: str) -> None:
    logs.clear()
    [form] = await discord.run(slash("ask"))
    values = {"question": question, "tried": tried}
    payload = submit_form(form.data["custom_id"], {k: v for k, v in values.items()
                                                   if v is not None and k != drop})
    if drop == "value":
        for row in payload["data"]["components"]:
            row["components"][0].pop("value")
    before = await snapshot(discord.runtime.store)
    answer = answer_text(await discord.run(payload))
    after = await snapshot(discord.runtime.store)
    if "Your ask is posted" in answer:
        assert isinstance(question, str) and drop not in {"question", "value"}
        assert changed_tables(before, after) == {"asks"}
        assert answer_problems(answer, question) == []
    elif isinstance(question, str) or question is None:
        assert after == before and answer_problems(answer, question or "") == [], answer
    else:  # a number where Discord sends text: a generic answer, nothing stored
        assert after == before
    if isinstance(question, str | None) and isinstance(tried, str | None):
        assert logs.crashes() == []


# Raw reaction events (MESSAGE_REACTION_ADD): discord.py parses them in the gateway loop.

MISSING = object()


def not_an_int(value: Any) -> bool:
    """True when discord.py's int() can't read `value` as an id."""
    try:
        int(value)
    except (TypeError, ValueError):
        return True
    return False


ODD = st.one_of(st.just(MISSING), st.none(), st.sampled_from(["", "abc", "1.5", "0x10", "1e3"]),
                st.just([]), st.just([1]), st.just({}), nasty_text(min_size=1, max_size=10),
                ).filter(lambda v: v is MISSING or not_an_int(v))
NOT_THANKS = nasty_text(max_size=12).filter(lambda t: emoji_name(t) not in {"pray", "raised_hands"})
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "emoji": st.one_of(ODD, st.just({"id": "abc", "name": "x"}),
                       st.builds(lambda n: {"id": None, "name": n}, NOT_THANKS),
                       st.just({"id": None, "name": "🙏" * 3000}), st.just({"id": None})),
    "user_id": ODD,
    "message_id": ODD,
    "channel_id": ODD,
    "guild_id": ODD.filter(lambda v: v is not MISSING),
    "type": st.just(MISSING),
    # Missing, 0 or "": leanon reads the message to learn its author (unknown to the fake).
    "message_author_id": st.one_of(ODD, st.sampled_from([ALICE, APP_ID, "", 0])),
    "member": st.one_of(st.just("x"), st.just([1]), st.just(5), st.just({"user": None}),
                        st.just({"nick": "x"})),
}


@st.composite
def odd_reaction(draw: st.DrawFn) -> dict[str, Any] | Any:
    """A reaction event that can't record a thanks: a field missing, odd, or naming no one
    to thank (the reactor themself, or the bot)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["x", None, [], 5]))  # not even an object
    body = reaction(message_id=str(1200000000000000000 + next(ids)))
    for field in draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3,
                               unique=True)):
        value = draw(FIELDS[field])
        if value is MISSING:
            body.pop(field, None)
        else:
            body[field] = copy.deepcopy(value)
    return body


async def thanks_count(discord: Harness, expected: int) -> None:
    async def check() -> bool:
        return len(await discord.thanks()) == expected
    await discord.eventually(check, within=15)


@cases(60)
@given(event=odd_reaction())
@example(event={k: v for k, v in reaction().items() if k != "emoji"})  # ended the connection
@example(event={**reaction(), "message_id": "abc"})
@example(event="x")
@example(event={**reaction(), "message_author_id": ""})  # a thanks to member "" was recorded
async def test_odd_reaction_events_store_nothing_and_the_client_keeps_working(
        discord: Harness, fake_discord: FakeDiscord, event: Any) -> None:
    before = await discord.thanks()
    rows = await snapshot(discord.runtime.store)
    await fake_discord.gateway.dispatch(GUILD, "MESSAGE_REACTION_ADD", copy.deepcopy(event))
    # A valid reaction after it: once that is recorded, the odd one was handled (events of
    # one shard arrive in order) and the client still works.
    sentinel = reaction(who=BOB, author=ALICE, message_id=str(1300000000000000000 + next(ids)))
    await fake_discord.gateway.dispatch(GUILD, "MESSAGE_REACTION_ADD", sentinel)
    await thanks_count(discord, len(before) + 1)
    assert discord.task is not None and not discord.task.done()
    after = await snapshot(discord.runtime.store)
    assert changed_tables(rows, after) == {"thanks"}
    assert len(new_rows(rows, after, "thanks")) == 1
    newest = max(await discord.thanks(), key=lambda t: t.id)
    assert (newest.giver_id, newest.receiver_id) == (BOB, ALICE)
    assert newest.message is not None and newest.message.message_id == sentinel["message_id"]


def test_every_reaction_field_leanon_reads_is_mutated() -> None:
    assert {"emoji", "user_id", "message_id", "channel_id", "guild_id"} <= set(FIELDS)
    assert "\x00" in NASTY and WS.workspace_id == GUILD

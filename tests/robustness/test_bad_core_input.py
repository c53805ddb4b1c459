"""Bad input at the core and the console: the parser and `Leanon.handle` refuse it with a
clear message and change nothing; the console never stops on it.

The core is where most examples run: no HTTP, no platform, the real store on SQLite.
"""

from __future__ import annotations

from io import StringIO

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.console.run import ScriptSource
from adapters.console.workspace import ConsoleWorkspace
from bot.app import Runtime
from bot.commands import Command, CreateAsk, Person, ThankMembers
from bot.deps import ASK_MAX_CHARS, REASON_MAX_CHARS
from bot.domain import Actor, Platform, WorkspaceRef
from bot.messages import Reply
from bot.parsing import ParseError, parse_leanon
from bot.text import parse_duration
from tests.robustness.robustness_inputs import (
    BAD_SETTINGS,
    DEEP_ZONE,
    MAY_CHANGE,
    any_leanon_text,
    bad_config_set,
    bad_leanon_text,
    bad_nudge,
)
from tests.robustness.robustness_testing import (
    LogWatch,
    answer_problems,
    cases,
    changed_tables,
    huge_text,
    long_after_cleaning,
    nasty_text,
    snapshot,
    word,
)

WS = WorkspaceRef(Platform.CONSOLE, "console")
CHANNEL = "general"
MEMBER = Actor("alice")
ADMIN = Actor("dana", is_admin=True)
counter = iter(range(10**9))


def parse(text: str, actor: Actor = MEMBER) -> Command | str:
    """The command, or the parser's message."""
    try:
        return parse_leanon(text, WS, actor, CHANNEL)
    except ParseError as exc:
        return str(exc)


def reply_problems(reply: Reply, sent: str) -> list[str]:
    if not reply.private:
        return ["no answer"]
    return [p for m in reply.private for p in answer_problems(m.plain_text(), sent)]


@cases(400)
@given(text=any_leanon_text())
@example(text="nudge here " + DEEP_ZONE)  # zoneinfo recursed until it crashed
@example(text="config set stale-after 99999999999999999999d")
def test_any_leanon_text_is_a_command_or_a_helpful_refusal(text: str) -> None:
    parsed = parse(text)
    if isinstance(parsed, str):
        assert answer_problems(parsed, text) == [], parsed
        assert "/leanon" in parsed or "Use" in parsed or "timezone" in parsed, parsed


@cases(400)
@given(text=bad_leanon_text())
@example(text="nudge here monday 25:00")
@example(text="nudge here 9:60")
@example(text="nudge here Mars/Olympus")
@example(text="nudge here ../../etc/localtime")
@example(text="nudge")
@example(text="nudge here " + DEEP_ZONE)
def test_bad_leanon_text_is_refused_by_the_parser(text: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, str), f"{text!r} was taken as {parsed!r}"
    assert answer_problems(parsed, text) == [], parsed


@cases(120)
@given(text=st.one_of(bad_config_set(), bad_nudge(), bad_leanon_text()), admin=st.booleans())
@example(text="config set daily-allowance ²", admin=True)            # isdigit() took it
@example(text="config set daily-allowance " + "9" * 5000, admin=True)
@example(text="config set stale-after " + "9" * 30 + "m", admin=True)
@example(text="config set expire-after " + "1" * 5000 + "d", admin=True)
async def test_bad_settings_and_schedules_change_nothing(
        runtime: Runtime, console: ConsoleWorkspace, logs: LogWatch, text: str,
        admin: bool) -> None:
    before = await snapshot(runtime.store)
    parsed = parse(text, ADMIN if admin else MEMBER)
    if isinstance(parsed, str):
        problems = answer_problems(parsed, text)
    else:
        reply = await runtime.service.handle(parsed)
        problems = reply_problems(reply, text)
        assert not reply.ok, f"{text!r} was accepted: {reply}"
    assert problems == []
    assert await snapshot(runtime.store) == before
    assert logs.crashes() == []


@cases(120)
@given(text=any_leanon_text(), admin=st.booleans())
async def test_any_leanon_command_answers_clearly_and_changes_only_what_it_is_for(
        runtime: Runtime, console: ConsoleWorkspace, logs: LogWatch, text: str,
        admin: bool) -> None:
    logs.clear()
    before = await snapshot(runtime.store)
    parsed = parse(text, ADMIN if admin else MEMBER)
    if isinstance(parsed, str):
        assert answer_problems(parsed, text) == []
        assert await snapshot(runtime.store) == before
        return
    reply = await runtime.service.handle(parsed)
    assert reply_problems(reply, text) == []
    changed = changed_tables(before, await snapshot(runtime.store))
    assert changed <= (MAY_CHANGE.get(type(parsed), set()) if reply.ok else set()), (text, reply)
    assert logs.crashes() == []


@cases(60)
@given(text=st.one_of(
    huge_text(ASK_MAX_CHARS + 1, 100_000).filter(lambda t: long_after_cleaning(t, ASK_MAX_CHARS)),
    st.text(st.characters(codec="ascii", categories=["Cc"]), min_size=1, max_size=50),
    st.text(st.sampled_from(" \t\n\r\x00\x7f\x1b\x0b"), max_size=20),
))
async def test_an_ask_with_no_usable_text_or_too_long_is_refused(
        runtime: Runtime, console: ConsoleWorkspace, text: str) -> None:
    before = await snapshot(runtime.store)
    reply = await runtime.service.handle(CreateAsk(WS, MEMBER, CHANNEL, text))
    assert not reply.ok and reply_problems(reply, text) == []
    assert ("limit is 3,000" in reply.private[0].plain_text()) == long_after_cleaning(
        text, ASK_MAX_CHARS)
    assert await snapshot(runtime.store) == before


@cases(100)
@given(text=nasty_text(max_size=80), tried=st.none() | nasty_text(max_size=40),
       anonymous=st.booleans())
async def test_any_ask_text_is_posted_as_written_or_refused(
        runtime: Runtime, console: ConsoleWorkspace, text: str, tried: str | None,
        anonymous: bool) -> None:
    actor = Actor(f"member{next(counter)}")  # a new asker each time: no hourly limit
    before = await snapshot(runtime.store)
    reply = await runtime.service.handle(CreateAsk(WS, actor, CHANNEL, text, tried, anonymous))
    assert reply_problems(reply, text + (tried or "")) == []
    after = await snapshot(runtime.store)
    assert changed_tables(before, after) == ({"asks"} if reply.ok else set())
    if reply.ok:
        assert len(after["asks"]) == len(before["asks"]) + 1


@cases(60)
@given(receivers=st.lists(st.tuples(st.sampled_from(["alice", "leanon", "ci-bot"]),
                                    st.booleans()), max_size=4),
       reason=st.none() | nasty_text(max_size=60))
async def test_thanks_to_nobody_self_or_bots_is_refused(
        runtime: Runtime, console: ConsoleWorkspace, receivers: list[tuple[str, bool]],
        reason: str | None) -> None:
    people = tuple(Person(who, is_bot=bot or who != MEMBER.user_id) for who, bot in receivers)
    before = await snapshot(runtime.store)
    reply = await runtime.service.handle(ThankMembers(WS, MEMBER, CHANNEL, people, reason))
    assert not reply.ok and reply_problems(reply, reason or "") == []
    assert await snapshot(runtime.store) == before


@cases(30)
@given(reason=huge_text(REASON_MAX_CHARS + 1, 50_000).filter(
    lambda t: long_after_cleaning(t, REASON_MAX_CHARS)))
async def test_a_thanks_reason_over_the_limit_records_nothing(
        runtime: Runtime, console: ConsoleWorkspace, reason: str) -> None:
    before = await snapshot(runtime.store)
    reply = await runtime.service.handle(ThankMembers(WS, MEMBER, CHANNEL, (Person("bob"),),
                                                      reason))
    assert not reply.ok and "limit is 1,000" in reply.private[0].plain_text()
    assert await snapshot(runtime.store) == before


@pytest.mark.parametrize("depth", [300, 2900])
def test_a_timezone_nested_deeper_than_the_recursion_limit_is_refused(depth: int) -> None:
    """Outside hypothesis, which raises the recursion limit while it runs a test."""
    parsed = parse("nudge here " + "a/" * depth + "b")
    assert isinstance(parsed, str) and "I don't know the timezone" in parsed


@pytest.mark.parametrize("text", ["99999999999999999999d", "9" * 5000 + "m", "1" * 400 + "w"])
def test_durations_too_big_for_a_timedelta_are_no_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_every_setting_has_bad_values_generated() -> None:
    from bot.settings import SPECS

    assert set(BAD_SETTINGS) == set(SPECS)


# The console: one typed line at a time, read by the console adapter.

def console_lines() -> st.SearchStrategy[str]:
    at_nobody = st.lists(st.sampled_from(["@alice", "@ALICE", "@leanon", "@", "@1x", "@-"]),
                         max_size=3).map(" ".join)
    return st.one_of(
        bad_leanon_text().map(lambda t: "/leanon " + t),
        bad_config_set().map(lambda t: "/leanon " + t),
        st.tuples(at_nobody, nasty_text(max_size=30)).map(lambda t: f"/thanks {t[0]} for {t[1]}"),
        huge_text(ASK_MAX_CHARS + 1, 20_000)
            .filter(lambda t: long_after_cleaning(t, ASK_MAX_CHARS) and "--" not in t)
            .map(lambda t: "/ask " + t),
        st.sampled_from(["/ask", "/ask --anon", "/ask --tried", "/ask \x00\x01", "/ask --anon \x7f"]),
        st.tuples(st.sampled_from(["time", "press", "react", "unreact", "reply"]), word())
          .map(lambda t: f"{t[0]} {t[1]}!"),
        st.sampled_from(["time +99999999999999999999d", "time " + "9" * 5000 + "m", "press m1",
                         "press m99 1", "press \"m1", "react m1", "react nowhere pray",
                         "reply m99999 hi", "/nope", "/ASK2 x"]),
    )


@cases(80)
@given(line=console_lines())
@example(line="time +99999999999999999999d")      # an OverflowError ended the console
async def test_the_console_answers_bad_lines_privately_and_keeps_going(
        runtime: Runtime, console: ConsoleWorkspace, line: str) -> None:
    out = console.out
    assert isinstance(out, StringIO)
    start = out.tell()
    before = await snapshot(runtime.store)
    assert await console.execute(line, ScriptSource(StringIO(""))) is True
    shown = out.getvalue()[start:]
    assert f"private to {console.current}" in shown, shown[:300]
    assert answer_problems(shown, line) == []
    assert await snapshot(runtime.store) == before

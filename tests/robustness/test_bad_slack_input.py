"""Bad input through the real Slack app (signed requests into the bolt app, the fake Slack
Web API): commands, the ask form, buttons and events.

Every request gets a 2xx or a 4xx, never a 5xx; a member who typed something gets one
private answer that is clear (no traceback, no exception name, not "something went
wrong"); and the database is unchanged unless the input was valid and did what it says.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.deps import ASK_MAX_CHARS, REASON_MAX_CHARS
from bot.domain import Actor, NewAsk, Platform, WorkspaceRef
from bot.messages import ActionId
from bot.parsing import ParseError, parse_leanon
from bot.text import clean_user_text, neutralise_mentions
from tests.robustness.robustness_inputs import (
    DEEP_ZONE,
    MAY_CHANGE,
    any_leanon_text,
    bad_config_set,
    bad_leanon_text,
)
from tests.robustness.robustness_testing import (
    NASTY,
    LogWatch,
    Snapshot,
    answer_problems,
    cases,
    changed_tables,
    fit_form,
    huge_text,
    long_after_cleaning,
    nasty_text,
    new_rows,
    snapshot,
    strings_in,
    word,
)
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CHANNEL, WS, Harness, payload

counter = iter(range(10**9))


def fresh_user() -> str:
    """A member id never used before (no hourly ask limit, no cached lookups)."""
    return f"UNEW{next(counter):06d}"


def texts(raw: list[str]) -> list[str]:
    """The words of Slack payloads (as `Harness.private` gives them), one string each."""
    return [" ".join(strings_in(json.loads(r))) for r in raw]


async def command(slack: Harness, name: str, text: str, user: str = ALICE) -> tuple[int, list[str]]:
    """Run a slash command; its HTTP status and the private answers it brought `user` (an
    answer's text in the HTTP answer itself too: Slack shows it to the member)."""
    seen = len(slack.private(user))
    reply = await slack.command(name, fit_form(text), user=user)
    shown = [reply.text] if reply.text and not reply.text.startswith("{") else []
    return reply.status, shown + texts(slack.private(user)[seen:])


def clear_answer(answers: list[str], sent: str) -> str:
    """The private answer (a posted ask may add a tip): there, and clear."""
    assert answers, "no answer"
    for answer in answers:
        assert answer_problems(answer, sent) == [], answer[:500]
    return "\n".join(answers)


async def unchanged(slack: Harness, before: Snapshot) -> None:
    assert await snapshot(slack.runtime.store) == before


# Commands

@cases(15)
@given(text=st.one_of(
    huge_text(ASK_MAX_CHARS + 1, 100_000).map(fit_form)
        .filter(lambda t: long_after_cleaning(t.strip(), ASK_MAX_CHARS)),
    st.text(st.sampled_from("\x00\x01\x02\x07\x08\x0e\x1b\x7f"), min_size=1, max_size=30),
))
async def test_ask_text_that_cannot_be_posted_gets_a_clear_error_and_nothing_is_stored(
        slack: Harness, fake_slack: FakeSlack, logs: LogWatch, text: str) -> None:
    logs.clear()
    before = await snapshot(slack.runtime.store)
    posts = len(fake_slack.posts())
    status, answers = await command(slack, "/ask", text)
    assert status == 200
    answer = clear_answer(answers, text)
    assert "limit is 3,000" in answer or "What do you need help with?" in answer
    assert len(fake_slack.posts()) == posts and not fake_slack.find("views.open")
    await unchanged(slack, before)
    assert logs.crashes() == []


@cases(40)
@given(text=st.one_of(nasty_text(max_size=60), st.sampled_from(NASTY).map(lambda c: c * 3)))
@example(text="\u202eevil\u202c \u200d👩\u200d💻 how do I ship?")
@example(text="\x00")
async def test_any_ask_text_is_posted_as_written_or_refused_clearly(
        slack: Harness, fake_slack: FakeSlack, logs: LogWatch, text: str) -> None:
    logs.clear()
    user = fresh_user()
    before = await snapshot(slack.runtime.store)
    forms = len(fake_slack.find("views.open"))
    status, answers = await command(slack, "/ask", text, user=user)
    assert status == 200
    after = await snapshot(slack.runtime.store)
    if not text.strip():  # no text: the ask form opens, as documented
        assert len(fake_slack.find("views.open")) == forms + 1 and answers == []
        assert after == before
        return
    answer = clear_answer(answers, text)
    if "Your ask is posted" in answer:
        async with slack.runtime.store.unit_of_work() as uow:
            [ask] = [a for a in await uow.asks.list_open(WS) if a.asker_id == user]
        assert ask.text == neutralise_mentions(clean_user_text(text.strip()))
        assert changed_tables(before, after) == {"asks"}
    else:
        assert after == before, answer
    assert logs.crashes() == []


NOT_THANKABLE = [f"<@{ALICE}>", f"<@{ALICE}|alice>", "<@UBOT0001>", "<@UOTHERBOT>", "<@USLACKBOT>"]
NOT_MENTIONS = ["<@>", "<@U|x>", "<@W>", "<@u2147483698>", "@bob", f"<#{CHANNEL}>", "<!here>",
                "<!subteam^S1>", f"<@ {BOB}>", f"<@{BOB}", f"{BOB}>", "<<@>>"]


@cases(40)
@given(leading=st.lists(st.sampled_from(NOT_THANKABLE), max_size=3),
       joiner=st.sampled_from([" ", ", ", " and ", " & ", ""]),
       broken=st.none() | st.sampled_from(NOT_MENTIONS),
       reason=st.none() | nasty_text(max_size=40))
@example(leading=[], joiner=" ", broken="<@>", reason=None)
@example(leading=[f"<@{ALICE}>"], joiner=" ", broken=None, reason=None)
async def test_thanks_to_nobody_themselves_or_a_bot_is_refused(
        slack: Harness, fake_slack: FakeSlack, logs: LogWatch, leading: list[str],
        joiner: str, broken: str | None, reason: str | None) -> None:
    logs.clear()
    text = joiner.join(leading + ([broken] if broken else []))
    if reason is not None:
        text += " for " + reason  # not a mention: nothing after it is taken as one
    before = await snapshot(slack.runtime.store)
    posts = len(fake_slack.posts())
    status, answers = await command(slack, "/thanks", text)
    assert status == 200
    answer = clear_answer(answers, text)
    assert "Nothing was recorded" in answer or "Who are you thanking?" in answer
    assert len(fake_slack.posts()) == posts
    await unchanged(slack, before)
    assert logs.crashes() == []


@cases(10)
@given(reason=huge_text(REASON_MAX_CHARS + 1, 60_000).map(fit_form)
       .filter(lambda t: long_after_cleaning(t, REASON_MAX_CHARS)))
async def test_a_thanks_reason_over_the_limit_is_refused(
        slack: Harness, fake_slack: FakeSlack, reason: str) -> None:
    before = await snapshot(slack.runtime.store)
    status, answers = await command(slack, "/thanks", f"<@{BOB}> {reason}")
    assert status == 200
    assert "1,000" in clear_answer(answers, reason)  # the core's answer, or the door's (TOO_LONG)
    assert fake_slack.posts() == []
    await unchanged(slack, before)


@cases(60)
@given(text=st.one_of(bad_leanon_text(), bad_config_set()))
@example(text="nudge here monday 25:00 Europe/Berlin")
@example(text="nudge here 9:60")
@example(text="nudge here Mars/Olympus")
@example(text="nudge here ../../etc/localtime")
@example(text="nudge here " + DEEP_ZONE)   # zoneinfo recursed: no answer at all
@example(text="config set stale-after 99999999999999999999d")  # "leanon hit a problem"
@example(text="config set daily-allowance ²")
@example(text="frobnicate \u202e\x00")
async def test_bad_leanon_text_gets_a_clear_answer_and_changes_nothing(
        slack: Harness, logs: LogWatch, text: str) -> None:
    logs.clear()
    before = await snapshot(slack.runtime.store)
    status, answers = await command(slack, "/leanon", text, user=ADMIN)  # settings get checked
    assert status == 200
    answer = clear_answer(answers, text)
    if text.split()[0].lower() not in {"config", "nudge", "named", "forget-me", "forgetme"}:
        assert "/leanon help" in answer
    await unchanged(slack, before)
    assert logs.crashes() == []


@cases(60)
@given(text=any_leanon_text(), who=st.sampled_from([ALICE, ADMIN]))
async def test_any_leanon_text_answers_clearly_and_changes_only_what_the_command_is_for(
        slack: Harness, logs: LogWatch, text: str, who: str) -> None:
    logs.clear()
    before = await snapshot(slack.runtime.store)
    status, answers = await command(slack, "/leanon", text, user=who)
    assert status == 200
    answer = clear_answer(answers, text)
    try:
        kind: type | None = type(parse_leanon(text, WS, Actor(who), CHANNEL))
    except ParseError:
        kind = None
    changed = changed_tables(before, await snapshot(slack.runtime.store))
    assert changed <= MAY_CHANGE.get(kind, set()) if kind else changed == set(), (text, answer)
    assert logs.crashes() == []


# The ask form (view_submission)

MISSING = object()
ODD_VALUES = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(),
                       st.lists(st.integers(), max_size=2), st.just({}),
                       st.dictionaries(st.sampled_from(["value", "type", "x"]), st.integers(),
                                       max_size=2))


def _input(value: Any) -> Any:
    """A form block's state: Slack's shape around `value`, or an odd shape."""
    return {"value": {"type": "plain_text_input", "value": value}}


@st.composite
def ask_form_state(draw: st.DrawFn) -> tuple[Any, str | None]:
    """(view.state, the question when it is text): missing fields, wrong types, huge text."""
    question = draw(st.one_of(st.just(MISSING), ODD_VALUES, nasty_text(max_size=40),
                              huge_text(ASK_MAX_CHARS + 1, 12_000)))
    tried = draw(st.one_of(st.just(MISSING), ODD_VALUES, nasty_text(max_size=20),
                           huge_text(ASK_MAX_CHARS + 1, 6_000)))
    anonymous = draw(st.one_of(st.just(MISSING), ODD_VALUES, st.just([{"value": "anonymous"}]),
                               st.just(["anonymous"]), st.just("anonymous")))
    values: dict[str, Any] = {}
    as_slack_sends = draw(st.booleans())
    if question is not MISSING:
        values["question"] = _input(question) if as_slack_sends else {"value": question}
    if tried is not MISSING:
        values["tried"] = _input(tried)
    if anonymous is not MISSING:
        values["anonymous"] = {"value": {"type": "checkboxes", "selected_options": anonymous}}
    state = draw(st.one_of(st.just({"values": values}), st.just({"values": values}),
                           st.sampled_from([None, [], "x", {}, {"values": []},
                                            {"values": "x"}, {"values": None}])))
    read = isinstance(state, dict) and state.get("values") is values and as_slack_sends
    return state, question if read and isinstance(question, str) else None


GOOD_METADATA = json.dumps({"channel": CHANNEL})
ODD_METADATA = st.sampled_from([None, 5, "", "x", "[1]", '"C1"', "{}", '{"channel": 5}',
                                '{"channel": "not a channel"}', '{"channel": "C\\u0000X"}',
                                '{"channel": "' + "C" * 40 + '"}', "{" * 50])


@cases(60)
@given(state=ask_form_state(), metadata=st.one_of(st.just(GOOD_METADATA), ODD_METADATA))
async def test_the_ask_form_with_odd_values_answers_clearly_or_posts_the_question(
        slack: Harness, fake_slack: FakeSlack, logs: LogWatch,
        state: tuple[Any, str | None], metadata: Any) -> None:
    logs.clear()
    view_state, question = state
    user = fresh_user()
    body = payload("view_submission")
    body["user"]["id"] = user
    body["view"].update(id=f"V{next(counter)}", hash=str(time.monotonic_ns()),
                        private_metadata=metadata, state=view_state)
    before = await snapshot(slack.runtime.store)
    seen = len(slack.private(user))
    reply = await slack.interactive(body)
    assert 200 <= reply.status < 300, reply
    answers = texts(slack.private(user)[seen:])
    after = await snapshot(slack.runtime.store)
    if metadata != GOOD_METADATA:  # not a form leanon opened: nothing to answer, nothing done
        assert answers == [] and after == before
    else:
        answer = clear_answer(answers, question or "")
        if "Your ask is posted" in answer:
            assert question is not None and clean_user_text(question)
            assert changed_tables(before, after) == {"asks"}
        else:
            assert after == before
    assert logs.crashes() == []


# Buttons (block_actions)

OTHER_WS = WorkspaceRef(Platform.SLACK, "T0002")


async def add_ask(slack: Harness, workspace: WorkspaceRef, asker: str) -> int:
    async with slack.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.add(NewAsk(workspace, CHANNEL, asker, "Where are the keys?", None,
                                        False, datetime.now(UTC)))
        await uow.commit()
    return ask.id


@pytest.fixture
async def asks(slack: Harness) -> tuple[int, int]:
    """An ask of another workspace (id 1) and one of Alice's here (id 2)."""
    return await add_ask(slack, OTHER_WS, ALICE), await add_ask(slack, WS, ALICE)


BUTTON_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "2", "3", "999", "-1", "1:", "2:", ":" + BOB, f"2:{BOB}",
                     f"1:{ALICE}", "²", "٢", "２", "9" * 18, "9" * 19, "9" * 40, "1.0", " 2",
                     "2 ", "0x2", "2:" + "U" * 5000]),
    nasty_text(max_size=30),
    huge_text(100, 50_000).map(lambda t: fit_form(t, 300_000)),
)


@cases(80)
@given(action=st.one_of(st.sampled_from([a.value for a in ActionId]), word(),
                        st.sampled_from(["leanon_", "LEANON_OFFER_HELP", "leanon_offer_help "])),
       value=st.one_of(BUTTON_VALUES, ODD_VALUES),
       container=st.one_of(st.just("keep"), ODD_VALUES, st.just({"message_ts": 5})),
       user=st.sampled_from(["keep", "none", "odd"]),
       actions=st.one_of(st.just("keep"), st.sampled_from(["x", [1], [], None, {}, [None, {}]])))
@example(action=ActionId.RESOLVE.value, value="2", container="x", user="keep",
         actions="keep")                                    # the listener crashed: no answer
@example(action=ActionId.OFFER_HELP.value, value="²", container="keep", user="keep",
         actions="keep")                                    # isdigit() let it reach int()
@example(action=ActionId.OFFER_HELP.value, value="2", container="keep", user="keep",
         actions="x")                                       # bolt's matcher: 500
async def test_buttons_with_odd_ids_or_values_change_nothing_and_never_fail(
        slack: Harness, asks: tuple[int, int], logs: LogWatch, action: str, value: Any,
        container: Any, user: str, actions: Any) -> None:
    _, own_ask = asks
    offer_own = actions == "keep" and action == ActionId.OFFER_HELP and isinstance(value, str) and \
        value.isdecimal() and len(value) < 19 and int(value) == own_ask
    assume(not offer_own)  # Bob offering help on Alice's ask: valid, and it records the offer
    logs.clear()
    body = payload("block_actions")
    body["actions"][0].update(action_id=action, value=value)
    body["response_url"] = slack.fake.response_url(f"act-{BOB}")
    if container != "keep":
        body["container"] = container
    if actions != "keep":
        body["actions"] = actions
    if user == "none":
        body.pop("user")
    elif user == "odd":
        body["user"] = {"id": 5}
    before = await snapshot(slack.runtime.store)
    reply = await slack.interactive(body)
    assert 200 <= reply.status < 500, reply
    await unchanged(slack, before)
    assert logs.crashes() == []
    for answer in texts(slack.private(BOB)):
        assert answer_problems(answer, str(value)) == []


# Events (event_callback)

EVENT_FIELDS: list[tuple[str | int, ...]] = [
    ("event", "user"), ("event", "item_user"), ("event", "reaction"), ("event", "item", "ts"),
    ("event", "item", "channel"), ("event", "item", "type"), ("event", "type"),
    ("event", "event_ts"), ("team_id",), ("api_app_id",), ("type",), ("event_id",),
    ("authorizations",), ("authorizations", 0, "team_id"), ("authorizations", 0, "user_id"),
    ("event", "item"), ("event",),
]
ODD_FIELD_VALUES = st.one_of(st.just(MISSING), ODD_VALUES, st.just(""), nasty_text(max_size=20),
                             huge_text(1000, 20_000), st.just({"type": "message"}))


def mutate(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    holder: Any = body
    for key in path[:-1]:
        found = (isinstance(holder, dict) and key in holder) or (
            isinstance(holder, list) and isinstance(key, int) and len(holder) > key)
        if not found:
            return
        holder = holder[key]
    last = path[-1]
    if value is MISSING:
        if isinstance(holder, dict):
            holder.pop(last, None)
    elif isinstance(holder, dict) or (
            isinstance(holder, list) and isinstance(last, int) and len(holder) > last):
        holder[last] = value


def odd_value_for(path: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return ODD_FIELD_VALUES


@st.composite
def odd_event(draw: st.DrawFn) -> list[tuple[tuple[Any, ...], Any]]:
    changes = []
    for path in draw(st.lists(st.sampled_from(EVENT_FIELDS), min_size=1, max_size=3, unique=True)):
        value = draw(odd_value_for(path))
        changes.append((path, value))
    return changes


# Hypothesis builds a repr of the fixtures too; the fake Slack's call log makes it long.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@cases(100)
@given(changes=odd_event(), kind=st.sampled_from(["event_reaction_added",
                                                  "event_reaction_removed",
                                                  "event_app_home_opened"]))
@example(changes=[(("event", "item", "ts"), 1700000100.0002)], kind="event_reaction_added")
@example(changes=[(("event", "user"), None)], kind="event_reaction_added")
@example(changes=[(("event", "reaction"), ["pray"])], kind="event_reaction_added")
@example(changes=[(("event",), MISSING)], kind="event_reaction_added")
@example(changes=[(("event",), None)], kind="event_reaction_added")    # 500 inside slack_bolt
@example(changes=[(("event",), "reaction_added")], kind="event_reaction_added")
@example(changes=[(("event", "item"), MISSING)], kind="event_reaction_added")
@example(changes=[(("team_id",), MISSING), (("authorizations",), MISSING)],
         kind="event_reaction_added")
async def test_events_with_missing_or_odd_fields_get_no_5xx_and_store_nothing_unexpected(
        slack: Harness, logs: LogWatch, changes: list[tuple[tuple[Any, ...], Any]],
        kind: str) -> None:
    logs.clear()
    body = payload(kind)
    ts = f"{1700000000 + next(counter)}.000100"  # its own message: an earlier thanks can't dedupe it
    if "item" in body["event"]:
        body["event"]["item"]["ts"] = ts
    for path, value in changes:
        mutate(body, path, value if value is MISSING else copy.deepcopy(value))
    before = await snapshot(slack.runtime.store)
    reply = await slack.event(body)
    assert 200 <= reply.status < 500, reply
    after = await snapshot(slack.runtime.store)
    assert changed_tables(before, after) <= {"thanks"}
    added = new_rows(before, after, "thanks")
    if added:  # the changes left a valid thanks reaction: it thanks Bob for the message named
        assert kind == "event_reaction_added" and len(added) == 1
        async with slack.runtime.store.unit_of_work() as uow:
            newest = max(await uow.thanks.export(WS), key=lambda t: t.id)
        assert (newest.giver_id, newest.receiver_id) == (ALICE, BOB)
        assert newest.message is not None
        assert newest.message.message_id == body["event"]["item"]["ts"]
    assert logs.crashes() == []


@pytest.mark.parametrize("item", ["message", [1], 7])
async def test_a_reaction_item_that_is_not_an_object_is_ignored(slack: Harness, item: Any) -> None:
    body = payload("event_reaction_added")
    body["event"]["item"] = item
    before = await snapshot(slack.runtime.store)
    assert (await slack.event(body)).status == 200
    assert changed_tables(before, await snapshot(slack.runtime.store)) == set()


async def test_tokens_revoked_with_a_list_of_tokens_is_ignored(slack: Harness) -> None:
    body = payload("event_tokens_revoked")
    body["event"]["tokens"] = ["x"]
    assert (await slack.event(body)).status == 200
    assert (await slack.command("/leanon", "help")).status == 200  # still serving

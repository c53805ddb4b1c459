"""Every command survives its JSON encoding, as the inbox stores it."""

from __future__ import annotations

import json
from datetime import time

import pytest

from bot.codec import COMMANDS, decode_command, encode_command
from bot.commands import (
    AnswerRequest,
    ChangeConfig,
    Command,
    CreateAsk,
    ForgetMe,
    ListHelpers,
    OpenInsights,
    Person,
    PostAsk,
    ReactionAdded,
    RejectAnswer,
    ResolveAsk,
    ReuseAnswer,
    RunAnswerIndexing,
    RunDueNudges,
    SetEscalation,
    SetHelper,
    SetHours,
    SetNudge,
    ThankMembers,
    WithdrawAsk,
)
from bot.domain import Actor, MessageRef
from bot.hours import parse_hours
from tests.unit.fakes import WS, member

EXAMPLES: list[Command] = [
    CreateAsk(WS, member("U1"), "C1", "how do I …? ✨", "rebooted", anonymous=True,
              request_id="discord:1:2"),
    ThankMembers(WS, member("U1", admin=True), "C1", (Person("U2"), Person("B1", is_bot=True)),
                 "the review", "evt"),
    ResolveAsk(WS, member("U1"), 7),
    ReactionAdded(WS, member("U1"), Person("U2"), MessageRef("C1", "17.1"), "pray",
                  thread=MessageRef("C1", "17.0"), thread_known=False),
    SetNudge(WS, member("U1"), "C1", 0, time(9, 30), "Europe/Berlin"),
    SetNudge(WS, member("U1"), "C1"),
    ForgetMe(WS, member("U1"), keep_asks=None),
    ChangeConfig(WS, member("U1"), "stale-after", "2h"),
    RunDueNudges(),
    ReuseAnswer(WS, member("U1"), 7, 3),
    RejectAnswer(WS, member("U1"), 7, 3),
    RunAnswerIndexing(),
    SetHours(WS, member("U1"), parse_hours("22:00-06:00 mon,wed,sat Europe/Berlin")),
    SetHours(WS, member("U1"), parse_hours("9-17")),
    SetHelper(WS, member("U1"), True, ("kubernetes", "c++")),
    SetHelper(WS, member("U1")),
    ListHelpers(WS, member("U1")),
    WithdrawAsk(WS, member("U1"), 12),
    PostAsk(WS, member("U1"), 12),
    AnswerRequest(WS, member("U1"), 12, stop=True),
    SetEscalation(WS, member("U1"), "C1", "here"),
    SetEscalation(WS, member("U1"), "C1"),
    OpenInsights(WS, member("U1")),
]


@pytest.mark.parametrize("cmd", EXAMPLES, ids=lambda c: type(c).__name__)
def test_a_command_comes_back_equal_through_json(cmd: Command) -> None:
    assert decode_command(json.loads(json.dumps(encode_command(cmd)))) == cmd


def test_every_command_is_known() -> None:
    assert "CreateAsk" in COMMANDS and "RunAskMaintenance" in COMMANDS and len(COMMANDS) == 34


@pytest.mark.parametrize("data", [
    {"command": "Nope", "fields": {}},
    {"command": "OfferHelp", "fields": {"ask_id": 1}},
    {"command": "OfferHelp", "fields": {"workspace": {"platform": "irc", "workspace_id": "1"},
                                        "actor": {"user_id": "U1"}, "ask_id": 1}},
    {"command": "OfferHelp", "fields": {"workspace": {"platform": "slack", "workspace_id": "1"},
                                        "actor": {"user_id": "U1"}, "ask_id": "1"}},
])
def test_what_is_not_a_command_is_refused(data: dict[str, object]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        decode_command(data)  # type: ignore[arg-type]


def test_a_command_stored_by_an_earlier_version_is_read_without_its_removed_fields() -> None:
    """ResolveAsk once carried the thread's writers (the core now asks the platform): one
    stored then, in the inbox during an upgrade, is still worked."""
    stored = {"command": "ResolveAsk", "fields": {
        "workspace": {"platform": "slack", "workspace_id": "T1"},
        "actor": {"user_id": "U1", "is_admin": False, "is_bot": False},
        "ask_id": 7, "thread_participants": ["U2"]}}
    cmd = decode_command(stored)
    assert isinstance(cmd, ResolveAsk) and cmd.ask_id == 7 and cmd.actor.is_admin is False


def test_what_the_delivery_did_not_say_stays_unsaid() -> None:
    """An actor whose admin flag the platform did not give is stored as unknown (None), so
    that the core asks the platform's directory when the command is worked."""
    again = decode_command(json.loads(json.dumps(encode_command(ResolveAsk(WS, Actor("U1"), 7)))))
    assert isinstance(again, ResolveAsk) and again.actor.is_admin is None
    assert again.actor.is_bot is None

"""Every command survives its JSON encoding, as the inbox stores it."""

from __future__ import annotations

import json
from datetime import time

import pytest

from bot.codec import COMMANDS, decode_command, encode_command
from bot.commands import (
    ChangeConfig,
    Command,
    CreateAsk,
    ForgetMe,
    Person,
    ReactionAdded,
    ResolveAsk,
    RunDueNudges,
    SetNudge,
    ThankMembers,
)
from bot.domain import MessageRef
from tests.unit.fakes import WS, member

EXAMPLES: list[Command] = [
    CreateAsk(WS, member("U1"), "C1", "how do I …? ✨", "rebooted", anonymous=True,
              request_id="discord:1:2"),
    ThankMembers(WS, member("U1", admin=True), "C1", (Person("U2"), Person("B1", is_bot=True)),
                 "the review", "evt"),
    ResolveAsk(WS, member("U1"), 7, ("U2", "U3")),
    ReactionAdded(WS, member("U1"), Person("U2"), MessageRef("C1", "17.1"), "pray",
                  thread=MessageRef("C1", "17.0"), thread_known=False),
    SetNudge(WS, member("U1"), "C1", 0, time(9, 30), "Europe/Berlin"),
    SetNudge(WS, member("U1"), "C1"),
    ForgetMe(WS, member("U1"), keep_asks=None),
    ChangeConfig(WS, member("U1"), "stale-after", "2h"),
    RunDueNudges(),
]


@pytest.mark.parametrize("cmd", EXAMPLES, ids=lambda c: type(c).__name__)
def test_a_command_comes_back_equal_through_json(cmd: Command) -> None:
    assert decode_command(json.loads(json.dumps(encode_command(cmd)))) == cmd


def test_every_command_is_known() -> None:
    assert "CreateAsk" in COMMANDS and "RunAskMaintenance" in COMMANDS and len(COMMANDS) == 22


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

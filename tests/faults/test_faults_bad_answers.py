"""Answers from Slack's Web API that are not Slack's JSON, on every method leanon calls.

A proxy in front of Slack answers a plain-text or HTML 502, an empty body or a body cut
short. Each becomes a ChatError naming the method (never an AttributeError from inside
slack-sdk), and a button whose work meets one still completes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.auth import SingleWorkspace
from adapters.slack.chat import SlackChat
from adapters.slack.members import Members
from bot.app import bootstrap
from bot.config import Config
from bot.domain import AskStatus, MessageRef
from bot.errors import ChatError
from bot.messages import ActionId, Attachment, line, notice
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import ALICE, BOB, CHANNEL, WS, MovableClock, serving

BAD_ANSWERS = {
    "plain-text 502": (502, "text/plain", "Bad Gateway"),
    "HTML 502": (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "empty 502": (502, "application/octet-stream", ""),
    "empty JSON 200": (200, "application/json", ""),
    "plain-text 200": (200, "text/plain", "ok"),
    "JSON cut short": (200, "application/json", '{"ok": tr'),
    "JSON list": (200, "application/json", "[1, 2]"),
}

MESSAGE = notice(line("hello"))
REF = MessageRef(CHANNEL, "1700000001.000001")

# Each Web API method leanon calls, and the call of leanon's that makes it.
Use = Callable[[SlackChat, SingleWorkspace], Awaitable[Any]]
METHODS: dict[str, Use] = {
    "chat.postMessage": lambda chat, _: chat.post(WS, CHANNEL, MESSAGE),
    "chat.update": lambda chat, _: chat.update(WS, REF, MESSAGE),
    "chat.postEphemeral": lambda chat, _: chat.ephemeral(WS, CHANNEL, ALICE, MESSAGE),
    "conversations.open": lambda chat, _: chat.dm(WS, ALICE, MESSAGE),
    "conversations.history": lambda chat, _: chat.find_post(
        WS, CHANNEL, "nonce", datetime.fromtimestamp(1700000000, UTC)),
    "files.getUploadURLExternal": lambda chat, _: chat.upload(
        WS, ALICE, (Attachment("export.csv", b"a,b\n", "text/csv"),)),
    "auth.test": lambda _, auth: auth.verify(),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    yield slack
    await slack.stop()


@pytest.mark.parametrize("shape", BAD_ANSWERS)
@pytest.mark.parametrize("method", METHODS)
async def test_an_answer_that_is_not_slacks_json_is_a_chat_error(
        fake: FakeSlack, method: str, shape: str) -> None:
    auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
    chat = SlackChat(auth, Members(auth))
    if method != "auth.test":
        await auth.verify()
    fake.bad_answers[method] = BAD_ANSWERS[shape]
    with pytest.raises(ChatError) as failed:
        await METHODS[method](chat, auth)
    said = str(failed.value)
    assert (method.split(".")[0] in said) if method != "auth.test" else ("Slack" in said)
    assert not failed.value.permanent


@pytest.mark.parametrize("shape", BAD_ANSWERS)
async def test_a_member_lookup_that_gets_no_json_is_unknown_not_a_crash(
        fake: FakeSlack, shape: str) -> None:
    auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
    fake.bad_answers["users.info"] = BAD_ANSWERS[shape]
    assert await Members(auth).info(WS, BOB) is None


@pytest.mark.parametrize("shape", ["plain-text 502", "empty JSON 200", "JSON cut short"])
async def test_resolved_completes_when_the_thread_lookup_gets_no_json(
        fake: FakeSlack, tmp_path: Path, shape: str) -> None:
    config = Config(database_url=f"sqlite:///{tmp_path}/leanon.db")
    async with bootstrap(config, clock=MovableClock()) as runtime, \
            serving(fake, runtime) as slack:
        await slack.command("/ask", "how do I rotate the staging database password safely?")
        async with runtime.store.unit_of_work() as uow:
            [ask] = await uow.asks.list_open(WS)
        assert ask.message is not None
        await slack.press(ActionId.OFFER_HELP, str(ask.id), user=BOB,
                          message_ts=ask.message.message_id)
        fake.bad_answers["conversations.replies"] = BAD_ANSWERS[shape]
        reply = await slack.press(ActionId.RESOLVE, str(ask.id), user=ALICE,
                                  message_ts=ask.message.message_id)
        assert reply.status == 200
        async with runtime.store.unit_of_work() as uow:
            resolved = await uow.asks.get(WS, ask.id)
        assert resolved is not None and resolved.status is AskStatus.RESOLVED
        assert "Resolved" in fake.find("chat.update")[-1].text()
        assert any(ActionId.THANK_HELPER in text and f"{ask.id}:{BOB}" in text
                   for text in slack.private(ALICE))

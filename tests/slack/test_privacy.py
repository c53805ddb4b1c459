"""User text can't ping anyone; an anonymous asker's id never leaves in a visible payload."""

from __future__ import annotations

import logging
import re

import pytest

from bot.messages import ActionId
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.slack_testing import ALICE, BOB, CAROL, CHANNEL, WS, Harness, payload

LIVE_MENTION = re.compile(r"<!(here|channel|everyone|subteam)|<@U2147483699|"
                          r"(?<![\w\u200b])@(here|channel|everyone)\b", re.IGNORECASE)


async def test_broadcasts_and_mentions_in_ask_text_never_reach_slack_live(
        slack: Harness, fake: FakeSlack) -> None:
    text = ("<!here> <!channel|channel> @channel @everyone <!subteam^S0123|@oncall> "
            "<@U2147483699> <<!here>> how do I rotate the staging keys without downtime?")
    await slack.command("/ask", text)
    await slack.command("/thanks", f"<@{BOB}|bob> for <!here> and @here help")
    sent = [c for c in fake.calls if c.method in {"chat.postMessage", "chat.update",
                                                  "chat.postEphemeral", "response_url"}]
    assert sent, "nothing was posted"
    for call in sent:
        assert not LIVE_MENTION.search(call.text()), call.text()
    card = fake.posts(CHANNEL)[0]
    assert "how do I rotate the staging keys" in card.text()
    for block in card.args["blocks"]:
        if block["type"] == "section":
            assert block["text"]["verbatim"] is True  # Slack must not auto-link @here words


def visible(call: Call) -> str:
    """A call's payload without the fields that address the member privately."""
    args = dict(call.args)
    if call.method in {"users.info", "conversations.open", "chat.postEphemeral"}:
        args.pop("user", None)
        args.pop("users", None)
    return str(args)


async def test_an_anonymous_askers_id_is_in_no_outbound_payload(
        slack: Harness, fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    form = payload("view_submission")  # "ask anonymously" is ticked in the recorded payload
    form["user"]["id"] = ALICE
    await slack.interactive(form)
    [card] = fake.posts(CHANNEL)
    assert "someone" in card.text()
    async with slack.runtime.store.unit_of_work() as uow:
        [ask] = await uow.asks.list_open(WS)
    assert ask.anonymous and ask.asker_id == ALICE and ask.message is not None
    ts = ask.message.message_id

    await slack.press(ActionId.OFFER_HELP, str(ask.id), user=BOB, message_ts=ts)
    fake.add_message(CHANNEL, CAROL, thread_ts=ts)
    await slack.press(ActionId.RESOLVE, str(ask.id), user=ALICE, message_ts=ts)
    await slack.press(ActionId.THANK_HELPER, f"{ask.id}:{BOB}", user=ALICE, message_ts=ts)
    home = payload("event_app_home_opened")
    home["event"]["user"] = BOB
    await slack.event(home)

    assert len(fake.find("chat.update")) == 2 and fake.find("views.publish")
    assert any("The person you helped thanked you" in c.text() for c in fake.posts())
    for call in fake.calls:
        assert ALICE not in visible(call), (call.method, visible(call))
    assert ALICE not in caplog.text


async def test_a_request_leanon_has_no_listener_for_is_not_logged_with_its_payload(
        slack: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    event = payload("event_reaction_added")
    event["event"] = {"type": "message", "user": ALICE, "text": "secret", "channel": CHANNEL,
                      "ts": "1700000400.000100"}
    reply = await slack.event(event)
    assert reply.status == 404
    assert ALICE not in caplog.text and "secret" not in caplog.text

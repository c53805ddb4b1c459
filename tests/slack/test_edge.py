"""Reliability at the HTTP edge: signatures, malformed bodies, unknown teams, 429s, acks."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ALICE, CHANNEL, WS, Harness, count_dispatches, payload, sign


async def asks_in_db(slack: Harness) -> int:
    async with slack.runtime.store.unit_of_work() as uow:
        return len(await uow.asks.list_open(WS))


def ask_form(text: str = "how do I rotate the staging keys without downtime?",
             **fields: str) -> str:
    body = payload("slash_command")
    body.update(text=text, **fields)
    return urlencode(body)


@pytest.mark.parametrize("headers", [
    {"X-Slack-Signature": "v0=" + "0" * 64},                   # wrong signature
    sign(ask_form(), timestamp=int(time.time()) - 6 * 60),     # older than 5 minutes
    sign(ask_form(), secret="not-the-signing-secret"),         # someone else's secret
    {},                                                        # no signature at all
], ids=["bad-signature", "stale-timestamp", "wrong-secret", "unsigned"])
async def test_unverified_requests_get_401_and_change_nothing(
        slack: Harness, fake: FakeSlack, headers: dict[str, str]) -> None:
    reply = await slack.send(ask_form(), "application/x-www-form-urlencoded", headers,
                             signed=False)
    await slack.settle()
    assert reply.status == 401
    assert fake.calls == []
    assert await asks_in_db(slack) == 0


async def test_an_unverified_reaction_records_nothing(slack: Harness, fake: FakeSlack) -> None:
    body = json.dumps(payload("event_reaction_added"))
    stale = sign(body, timestamp=int(time.time()) - 301)
    reply = await slack.send(body, "application/json", stale, signed=False)
    assert reply.status == 401
    async with slack.runtime.store.unit_of_work() as uow:
        assert await uow.thanks.export(WS) == []
    assert fake.calls == []


@pytest.mark.parametrize(("body", "content_type"), [
    ("{not json", "application/json"),
    ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
    ('{"type": "event_callback", "team_id": "T0001"}', "application/json"),
])
async def test_malformed_bodies_get_a_4xx(slack: Harness, fake: FakeSlack, body: str,
                                         content_type: str) -> None:
    reply = await slack.send(body, content_type)
    assert 400 <= reply.status < 500
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


async def test_unsigned_malformed_body_is_401_not_400(slack: Harness) -> None:
    reply = await slack.send("{not json", "application/json", signed=False)
    assert reply.status == 401


async def test_a_team_leanon_does_not_serve_gets_nothing_done(slack: Harness,
                                                             fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?",
                        team_id="T9999")
    event = payload("event_reaction_added")
    event["team_id"] = event["authorizations"][0]["team_id"] = "T9999"
    reply = await slack.event(event)
    assert reply.status == 200  # nothing to redeliver: this team is simply not ours
    assert fake.posts() == []
    assert await asks_in_db(slack) == 0
    async with slack.runtime.store.unit_of_work() as uow:
        assert await uow.thanks.export(WS) == []
    [refusal] = fake.find("response_url")
    assert "not installed" in refusal.text()


async def test_a_429_on_chat_post_message_is_retried_after_retry_after(
        slack: Harness, fake: FakeSlack) -> None:
    fake.rate_limit_once["chat.postMessage"] = 3
    reply = await slack.command("/ask", "how do I rotate the staging keys without downtime?",
                                settle=False)
    assert reply.status == 200 and reply.elapsed < 2.0  # acked long before the retry
    await slack.settle()
    first, second = fake.posts(CHANNEL)
    assert first.args == second.args
    assert second.at - first.at >= 3.0
    assert await asks_in_db(slack) == 1
    assert any("Your ask is posted" in t for t in slack.private(ALICE))


async def test_commands_ack_before_the_work_is_done(slack: Harness, fake: FakeSlack) -> None:
    fake.delays["chat.postMessage"] = 2.5
    reply = await slack.command("/ask", "how do I rotate the staging keys without downtime?",
                                settle=False)
    assert reply.status == 200 and reply.elapsed < 2.0  # Slack's deadline is 3 s; the post's 2.5
    await slack.settle()
    assert len(fake.posts(CHANNEL)) == 1
    assert await asks_in_db(slack) == 1


async def test_the_same_ask_delivered_twice_posts_one_card(slack: Harness, fake: FakeSlack) -> None:
    body = ask_form(response_url=fake.response_url("cmd-" + ALICE))
    for _ in range(2):
        reply = await slack.send(body, "application/x-www-form-urlencoded")
        assert reply.status == 200
    await slack.settle()
    assert len(fake.posts(CHANNEL)) == 1
    assert await asks_in_db(slack) == 1


async def test_healthz(slack: Harness) -> None:
    async with slack.session.get(slack.url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200


async def test_a_channel_leanon_cannot_post_in_is_explained_and_nothing_stays_open(
        slack: Harness, fake: FakeSlack) -> None:
    fake.failures["chat.postMessage"] = "not_in_channel"
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    assert any("could not post your ask" in t for t in slack.private(ALICE))
    assert await asks_in_db(slack) == 0


async def test_app_uninstalled_with_one_bot_token_stops_serving_the_workspace(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    assert await asks_in_db(slack) == 1
    fake.uninstall(WS.workspace_id)
    fake.calls.clear()
    assert (await slack.event(payload("event_app_uninstalled"))).status == 200
    await slack.command("/ask", "is anyone around to pair on the flaky deploy?")
    assert await asks_in_db(slack) == 1
    assert [c.method for c in fake.calls] == ["response_url"]  # "not installed", privately


@pytest.mark.parametrize("fields", [
    {"text": "How do I read the webhook payload when the signature check fails?"},
    {"channel_name": "payload-alerts"},
], ids=["payload-in-the-question", "payload-in-the-channel-name"])
async def test_a_command_that_says_payload_is_still_asked(slack: Harness, fake: FakeSlack,
                                                          fields: dict[str, str]) -> None:
    # bolt reads any form body containing "payload" as an interactive payload (and finds
    # none): the question must reach leanon as the command it is.
    body = payload("slash_command")
    body.update({"text": "how do I rotate the staging keys without downtime?",
                 "response_url": fake.response_url("cmd-alice"), **fields})
    reply = await slack.send(urlencode(body), "application/x-www-form-urlencoded")
    assert reply.status == 200
    assert "not installed" not in reply.text
    await slack.settle()
    assert await asks_in_db(slack) == 1
    [card] = fake.posts(CHANNEL)
    assert body["text"].split()[-1] in json.dumps(card.args)


async def test_commands_buttons_and_reactions_are_done_without_bolts_dispatch(
        slack: Harness, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    dispatched = count_dispatches(slack.adapter, monkeypatch)
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    async with slack.runtime.store.unit_of_work() as uow:
        [ask] = await uow.asks.list_open(WS)
    await slack.press("leanon_offer_help", str(ask.id))
    assert dispatched == []
    assert await asks_in_db(slack) == 1
    assert any("offered to help" in t or "can help" in t for t in slack.private(ALICE))
    assert (await slack.event(payload("event_reaction_added"))).status == 200
    async with slack.runtime.store.unit_of_work() as uow:
        assert len(await uow.thanks.export(WS)) == 1
    assert dispatched == []
    assert (await slack.event(payload("event_app_home_opened"))).status == 200
    assert len(dispatched) == 1  # other events go through bolt


async def test_a_command_whose_fields_have_the_wrong_types_gets_400(slack: Harness,
                                                                    fake: FakeSlack) -> None:
    press = payload("block_actions")
    press["user"] = ["not", "an", "object"]
    press["channel"] = 7
    reply = await slack.interactive(press)
    assert reply.status == 400
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []

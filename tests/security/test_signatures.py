"""Slack request signatures on every kind of request Slack sends to `POST /slack/events`:
forged and stale ones get 401 and change nothing, tell Slack nothing and log no payload;
a replayed genuine request does its work once.

Every kind of request (commands, buttons, the ask form, options, events, URL
verification) is sent with each forgery, in both modes (one bot token; OAuth installs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.messages import ActionId
from tests.security.security_testing import SlackStack, json_logs, slack_stack, snapshot
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, CHANNEL, SECRET, WS, dm, payload, sign

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
QUESTION = "how do I rotate the staging keys without downtime, in the signed test?"
VICTIM_TEXT = "zebra-crossing-secret-text"  # in several bodies: it must reach no log line


@dataclass(frozen=True)
class Request:
    """One request as Slack would send it: a body and its content type."""

    kind: str
    body: str
    content_type: str


def command(fake: FakeSlack, name: str, text: str, user: str = ALICE) -> Request:
    body = payload("slash_command")
    body.update(command=name, text=text, user_id=user, response_url=fake.response_url(f"cmd-{user}"),
                trigger_id=f"trig.{time.monotonic_ns()}")
    return Request(f"command {name} {text.split()[0] if text else ''}".strip(),
                   urlencode(body), FORM)


def interactive(kind: str, body: dict[str, Any]) -> Request:
    return Request(kind, urlencode({"payload": json.dumps(body)}), FORM)


def button(fake: FakeSlack, action: ActionId, value: str, user: str) -> Request:
    body = payload("block_actions")
    body["user"]["id"] = user
    body["response_url"] = fake.response_url(f"act-{user}")
    body["actions"][0].update(action_id=action.value, value=value)
    return interactive(f"button {action.value}", body)


def ask_form() -> Request:
    body = payload("view_submission")
    body["view"]["state"]["values"]["question"]["value"]["value"] = QUESTION + VICTIM_TEXT
    return interactive("view_submission", body)


def options() -> Request:
    return interactive("block_suggestion", {
        "type": "block_suggestion", "user": {"id": ALICE, "team_id": TEAM},
        "team": {"id": TEAM, "domain": "example"}, "api_app_id": "A123456",
        "action_id": "leanon_pick", "block_id": "b1", "value": VICTIM_TEXT})


def event(name: str, **changes: object) -> Request:
    body = payload(name)
    body["event"].update(changes)
    return Request(f"event {body['event']['type']}", json.dumps(body), JSON)


def every_kind(fake: FakeSlack) -> list[Request]:
    """A request of every kind leanon listens to (and one it doesn't), each of which would
    change something or tell Slack something if leanon took it."""
    return [
        command(fake, "/ask", QUESTION + " " + VICTIM_TEXT),
        command(fake, "/ask", ""),  # opens the form (views.open)
        command(fake, "/thanks", f"<@{BOB}|bob> for {VICTIM_TEXT}"),
        command(fake, "/leanon", "config set anonymous-asks off", user=ADMIN),
        command(fake, "/leanon", "nudge here monday 09:30"),
        command(fake, "/leanon", "forget-me delete", user=BOB),
        button(fake, ActionId.OFFER_HELP, "1", BOB),
        button(fake, ActionId.RESOLVE, "1", ADMIN),
        button(fake, ActionId.FORGET_DELETE_ASKS, "delete", BOB),
        ask_form(),
        options(),
        event("event_reaction_added", user=CAROL, item_user=BOB),
        event("event_reaction_removed", user=ALICE, item_user=BOB),
        event("event_app_home_opened"),
        event("event_app_uninstalled"),
        Request("url_verification", json.dumps(payload("url_verification")), JSON),
    ]


def signature(body: str, stamp: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def now() -> str:
    return str(int(time.time()))


Forgery = Callable[[str], tuple[str, dict[str, str]]]
"""A body → the body actually sent and its headers."""

FORGERIES: dict[str, Forgery] = {
    "wrong secret": lambda b: (b, sign(b, secret="not-the-signing-secret")),
    "signature of another body": lambda b: (b, sign(b + "&text=something+else")),
    "body changed after signing": lambda b: (b.replace("U2147483", "U9999999")
                                             .replace("T0001", "T0002") + " ", sign(b)),
    "timestamp changed after signing": lambda b: (b, {
        "X-Slack-Request-Timestamp": str(int(time.time()) - 1),
        "X-Slack-Signature": signature(b, now())}),
    "no v0= prefix": lambda b: (b, {"X-Slack-Request-Timestamp": now(),
                                    "X-Slack-Signature": signature(b, now())[3:]}),
    "v1= prefix": lambda b: (b, {"X-Slack-Request-Timestamp": now(),
                                 "X-Slack-Signature": "v1=" + signature(b, now())[3:]}),
    "uppercase hex": lambda b: (b, {"X-Slack-Request-Timestamp": now(),
                                    "X-Slack-Signature": signature(b, now()).upper()}),
    "empty signature": lambda b: (b, {"X-Slack-Request-Timestamp": now(),
                                      "X-Slack-Signature": ""}),
    "huge signature": lambda b: (b, {"X-Slack-Request-Timestamp": now(),
                                     "X-Slack-Signature": signature(b, now()) + "0" * 6000}),
    "no signature": lambda b: (b, {"X-Slack-Request-Timestamp": now()}),
    "no headers": lambda b: (b, {}),
    "6 minutes old": lambda b: (b, sign(b, timestamp=int(time.time()) - 6 * 60)),
    "1 hour old": lambda b: (b, sign(b, timestamp=int(time.time()) - 3600)),
    "6 minutes in the future": lambda b: (b, sign(b, timestamp=int(time.time()) + 6 * 60)),
    "non-numeric timestamp": lambda b: (b, {"X-Slack-Request-Timestamp": "soon",
                                            "X-Slack-Signature": signature(b, "soon")}),
    "fractional timestamp": lambda b: (b, {"X-Slack-Request-Timestamp": now() + ".5",
                                           "X-Slack-Signature": signature(b, now() + ".5")}),
    "empty timestamp": lambda b: (b, {"X-Slack-Request-Timestamp": "",
                                      "X-Slack-Signature": signature(b, "")}),
    # A number too large for a float overflowed inside the check: a 500 and a traceback.
    "absurdly long timestamp": lambda b: (b, {"X-Slack-Request-Timestamp": "9" * 400,
                                              "X-Slack-Signature": signature(b, "9" * 400)}),
    "timestamp with a sign": lambda b: (b, {"X-Slack-Request-Timestamp": "+" + now(),
                                            "X-Slack-Signature": signature(b, "+" + now())}),
}


async def prepared(stack: SlackStack) -> None:
    """An open ask (id 1) by Alice, then a clean record of calls."""
    await stack.harness.command("/ask", QUESTION)
    stack.fake.calls.clear()


@pytest.fixture(params=["one token", "oauth installs"])
async def either_mode(request: pytest.FixtureRequest, fake: FakeSlack,
                      tmp_path: Path) -> AsyncIterator[SlackStack]:
    """leanon with one bot token, then with OAuth installs (team T0001 installed)."""
    async with slack_stack(fake, tmp_path, oauth=request.param == "oauth installs") as stack:
        yield stack


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
async def test_forged_and_stale_requests_of_every_kind_get_401_and_change_nothing(
        either_mode: SlackStack, forgery: str) -> None:
    stack = either_mode
    if stack.installs is not None:
        assert (await stack.installs.install(TEAM)).status == 200
    await prepared(stack)
    before = await snapshot(stack.runtime)
    with json_logs() as logs:
        for kind in every_kind(stack.fake):
            body, headers = FORGERIES[forgery](kind.body)
            reply = await stack.harness.send(body, kind.content_type, headers, signed=False)
            await stack.harness.settle()
            assert reply.status == 401, (kind.kind, reply)
            assert "challenge" not in reply.text
    assert stack.fake.calls == [], [c.method for c in stack.fake.calls]
    assert await snapshot(stack.runtime) == before
    for secret in (ALICE, BOB, VICTIM_TEXT, "staging keys"):
        assert secret not in logs.getvalue()  # a refused request's payload is never logged
    assert logs.getvalue().count('"status": 401') == len(every_kind(stack.fake))
    # leanon still serves the workspace: the forged app_uninstalled was not believed either.
    await stack.harness.command("/ask", QUESTION)
    assert len(stack.fake.posts(CHANNEL)) == 1


async def test_a_header_over_the_servers_limit_is_refused_before_leanon(
        slack: SlackStack, fake: FakeSlack) -> None:
    await prepared(slack)
    before = await snapshot(slack.runtime)
    body = every_kind(fake)[0].body
    for header in ("X-Slack-Signature", "X-Slack-Request-Timestamp"):
        headers = {**sign(body), header: "v0=" + "a" * 10_000}
        reply = await slack.harness.send(body, FORM, headers, signed=False)
        assert 400 <= reply.status < 500  # aiohttp's parser answers it (400: line too long)
    await slack.harness.settle()
    assert fake.calls == []
    assert await snapshot(slack.runtime) == before


async def test_the_genuine_requests_are_taken(slack: SlackStack, fake: FakeSlack) -> None:
    """The same requests, signed: what the forgeries would have done (so the 401s mean it)."""
    await prepared(slack)
    before = await snapshot(slack.runtime)
    statuses = {}
    for kind in every_kind(fake):
        statuses[kind.kind] = (await slack.harness.send(kind.body, kind.content_type)).status
        await slack.harness.settle()
    assert set(statuses.values()) <= {200, 404}
    assert statuses["block_suggestion"] == 404  # no options listener: nothing done
    after = await snapshot(slack.runtime)
    assert after != before
    assert len(after["asks"]) > len(before["asks"]) and after["thanks"] and after["workspaces"]
    methods = {c.method for c in fake.calls}
    assert {"chat.postMessage", "views.open", "views.publish", "chat.update"} <= methods


async def _replayed(slack: SlackStack, body: str, content_type: str, times: int = 3,
                    retry: bool = False) -> None:
    """Send the very same signed request `times` times (the first as Slack sent it)."""
    headers = sign(body)
    for attempt in range(times):
        extra = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"} \
            if retry and attempt else {}
        reply = await slack.harness.send(body, content_type, {**headers, **extra}, signed=False)
        assert reply.status == 200
        await slack.harness.settle()


async def test_replayed_commands_and_forms_do_their_work_once(
        slack: SlackStack, fake: FakeSlack) -> None:
    ask = command(fake, "/ask", QUESTION)
    await _replayed(slack, ask.body, ask.content_type)
    assert len(fake.posts(CHANNEL)) == 1

    form = ask_form()
    await _replayed(slack, form.body, form.content_type)
    assert len(fake.posts(CHANNEL)) == 2

    empty = command(fake, "/ask", "")
    await _replayed(slack, empty.body, empty.content_type)
    assert len(fake.find("views.open")) == 1

    thanks = command(fake, "/thanks", f"<@{BOB}|bob> <@{CAROL}|carol> for the review")
    await _replayed(slack, thanks.body, thanks.content_type)
    async with slack.runtime.store.unit_of_work() as uow:
        asks = await uow.asks.export(WS)
        given = await uow.thanks.export(WS)
    assert len(asks[0]) == 2
    assert sorted(t.receiver_id for t in given) == [BOB, CAROL]
    notes = [c for c in fake.posts(CHANNEL) if "thanked" in c.text()]
    assert len(notes) == 1


async def test_replayed_button_presses_stay_idempotent(slack: SlackStack, fake: FakeSlack) -> None:
    await slack.harness.command("/ask", QUESTION)
    [card] = fake.posts(CHANNEL)
    ts = str(card.result["ts"])

    def pressed(action: ActionId, value: str, user: str) -> str:
        body = payload("block_actions")
        body["user"]["id"] = user
        body["actions"][0].update(action_id=action.value, value=value)
        body["container"]["message_ts"] = body["message"]["ts"] = ts
        body["response_url"] = fake.response_url(f"act-{user}")
        return urlencode({"payload": json.dumps(body)})

    await _replayed(slack, pressed(ActionId.OFFER_HELP, "1", BOB), FORM)
    assert len(fake.find("chat.update")) == 1  # the card changed once
    assert len(fake.posts(dm(ALICE))) == 1  # the asker heard once
    await _replayed(slack, pressed(ActionId.RESOLVE, "1", ALICE), FORM)
    [form] = fake.find("views.open")  # the resolve form, opened once however often replayed
    sent = payload("view_submission")
    sent["user"]["id"] = ALICE
    sent["view"].update(callback_id=form.args["view"]["callback_id"], state={"values": {}},
                        private_metadata=form.args["view"]["private_metadata"])
    await _replayed(slack, urlencode({"payload": json.dumps(sent)}), FORM)
    assert len(fake.find("chat.update")) == 2
    await _replayed(slack, pressed(ActionId.THANK_HELPER, f"1:{BOB}", ALICE), FORM)
    assert len(fake.posts(dm(BOB))) == 1  # the helper was told once
    answers = [c.text() for c in fake.find("response_url") if c.target == f"act-{ALICE}"]
    # A replay is the same delivery: stored once in the inbox, worked and answered once.
    assert sum("Thank-you sent" in a for a in answers) == 1
    assert not any("already thanked" in a for a in answers)
    async with slack.runtime.store.unit_of_work() as uow:
        asks, offers = await uow.asks.export(WS)
        given = await uow.thanks.export(WS)
    assert len(offers) == 1 and len(given) == 1 and asks[0].status.value == "resolved"


async def test_replayed_reaction_events_record_one_thanks(slack: SlackStack, fake: FakeSlack) -> None:
    added = event("event_reaction_added", user=CAROL, item_user=BOB)
    await _replayed(slack, added.body, added.content_type, times=4, retry=True)
    async with slack.runtime.store.unit_of_work() as uow:
        [thanks] = await uow.thanks.export(WS)
    assert thanks.retracted_at is None
    assert len(fake.posts(dm(BOB))) == 1  # one "you were thanked" note

    removed = event("event_reaction_removed", user=CAROL, item_user=BOB)
    await _replayed(slack, removed.body, removed.content_type, times=3, retry=True)
    async with slack.runtime.store.unit_of_work() as uow:
        [thanks] = await uow.thanks.export(WS)
    assert thanks.retracted_at is not None


async def test_oauth_pages_take_no_slack_requests(installs: SlackStack, fake: FakeSlack) -> None:
    """The install pages are the browser's (GET, checked by their state); a request signed
    like Slack's sent to them does nothing."""
    assert installs.installs is not None
    for path in ("/slack/install", "/slack/oauth_redirect"):
        kind = command(fake, "/ask", QUESTION)
        async with installs.harness.session.post(
                installs.base + path, data=kind.body.encode(),
                headers={"Content-Type": FORM, **sign(kind.body)}) as response:
            assert response.status == 405
    assert fake.calls == []
    assert await installs.installs.bot_token(TEAM) is None

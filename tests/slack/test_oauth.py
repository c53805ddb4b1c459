"""OAuth installs over HTTP: /slack/install → Slack → /slack/oauth_redirect, two workspaces
whose tokens and data stay apart, state checks, uninstalls and token revocations."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.slack.oauth import BOT_SCOPES
from bot.domain import Platform, WorkspaceRef
from bot.errors import StorageError
from tests.slack.fake_slack import APP_ID, CLIENT_ID, DROP, TEAM, TEAM_B, TEAMS, FakeSlack
from tests.slack.oauth_testing import Installs, web_api_calls
from tests.slack.slack_testing import ALICE, BOB, CAROL, CHANNEL, WS, Harness, payload

WS_B = WorkspaceRef(Platform.SLACK, TEAM_B)
CHANNEL_B = "C0B000001"
QUESTION_A = "how do I rotate the staging keys without downtime in team A?"
QUESTION_B = "where is the runbook for the billing export in team B?"


async def ask(slack: Harness, team: str, text: str, channel: str, user: str = ALICE) -> None:
    await slack.command("/ask", text, user=user, team_id=team, channel_id=channel)


async def leanon(slack: Harness, team: str, text: str, user: str = ALICE) -> str:
    """What `/leanon <text>` answered the member (through the command's response_url)."""
    slack.fake.calls.clear()
    reply = await slack.command("/leanon", text, user=user, team_id=team,
                                channel_id=CHANNEL if team == TEAM else CHANNEL_B)
    assert reply.status == 200
    return " ".join(c.text() for c in slack.fake.find("response_url"))


def reaction(team: str, channel: str, giver: str, author: str, ts: str) -> dict:
    event = payload("event_reaction_added")
    event["team_id"] = event["authorizations"][0]["team_id"] = team
    event["authorizations"][0]["user_id"] = TEAMS[team].bot_user if team in TEAMS else "UBOT9999"
    event["event"].update(user=giver, item_user=author)
    event["event"]["item"].update(channel=channel, ts=ts)
    event["event_id"] = f"Ev-{team}-{ts}"
    return event


async def open_asks(installs: Installs, workspace: WorkspaceRef) -> list[str]:
    async with installs.slack.runtime.store.unit_of_work() as uow:
        return [a.text for a in await uow.asks.list_open(workspace)]


async def test_the_install_page_links_to_slack_with_a_state_it_set_as_a_cookie(
        installs: Installs, fake: FakeSlack) -> None:
    link, cookie = await installs.start(TEAM_B)
    url = urlsplit(link)
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake.base + "/oauth/v2/authorize"
    assert query["client_id"] == [CLIENT_ID] and query["state"] == [cookie]
    assert query["scope"] == [",".join(BOT_SCOPES)] and query["team"] == [TEAM_B]
    assert web_api_calls(fake) == []  # nothing asked of Slack yet


async def test_two_workspaces_install_and_each_team_uses_its_own_token(
        installs: Installs, fake: FakeSlack) -> None:
    for team in (TEAM, TEAM_B):
        done = await installs.install(team)
        assert done.status == 200 and "Thank you!" in done.text
    exchanges = fake.find("oauth.v2.access")
    assert [c.args["client_id"] for c in exchanges] == [CLIENT_ID, CLIENT_ID]
    assert [c.result["team"]["id"] for c in exchanges] == [TEAM, TEAM_B]
    token_a, token_b = fake.token_of(TEAM), fake.token_of(TEAM_B)
    assert token_a != token_b
    assert (await installs.bot_token(TEAM), await installs.bot_token(TEAM_B)) == (token_a, token_b)
    bot = await installs.installations.async_find_bot(enterprise_id=None, team_id=TEAM_B)
    assert bot is not None and bot.bot_user_id == TEAMS[TEAM_B].bot_user and bot.app_id == APP_ID

    slack = installs.slack
    fake.calls.clear()
    await ask(slack, TEAM, QUESTION_A, CHANNEL)
    assert len(fake.posts(CHANNEL)) == 1
    assert {c.token for c in web_api_calls(fake)} == {token_a}
    fake.calls.clear()
    await ask(slack, TEAM_B, QUESTION_B, CHANNEL_B)
    assert len(fake.posts(CHANNEL_B)) == 1
    assert {c.token for c in web_api_calls(fake)} == {token_b}

    # A thanks in team A (carol reacts to bob's message there); none in team B.
    fake.calls.clear()
    ts = fake.add_message(CHANNEL, BOB)
    assert (await slack.event(reaction(TEAM, CHANNEL, CAROL, BOB, ts))).status == 200
    assert {c.token for c in web_api_calls(fake)} == {token_a}

    assert await open_asks(installs, WS) == [QUESTION_A]
    assert await open_asks(installs, WS_B) == [QUESTION_B]
    asks_a, asks_b = await leanon(slack, TEAM, "asks"), await leanon(slack, TEAM_B, "asks")
    assert "rotate the staging keys" in asks_a and "billing export" not in asks_a
    assert "billing export" in asks_b and "rotate the staging keys" not in asks_b
    assert "Thanks received: 1" in await leanon(slack, TEAM, "stats", user=BOB)
    assert "Thanks received: 0" in await leanon(slack, TEAM_B, "stats", user=BOB)
    assert {c.token for c in web_api_calls(fake)} <= {token_b}


async def test_a_forged_state_or_a_browser_without_the_cookie_is_refused(
        installs: Installs, fake: FakeSlack) -> None:
    link, cookie = await installs.start()
    back = await installs.approve(link)
    forged = back.replace(f"state={cookie}", "state=forged-state")
    refused = await installs.get(forged, cookie="forged-state")
    assert refused.status == 401 and "invalid_state" in refused.text
    no_cookie = await installs.get(back)
    assert no_cookie.status == 400 and "invalid_browser" in no_cookie.text
    other_cookie = await installs.get(back, cookie="someone-elses-state")
    assert other_cookie.status == 400
    assert fake.find("oauth.v2.access") == []
    assert await installs.bot_token(TEAM) is None


async def test_an_expired_state_is_refused(installs: Installs, fake: FakeSlack) -> None:
    link, cookie = await installs.start()
    back = await installs.approve(link)
    installs.states_clock.offset = timedelta(minutes=11)
    refused = await installs.get(back, cookie=cookie)
    assert refused.status == 401 and "invalid_state" in refused.text
    assert fake.find("oauth.v2.access") == []
    assert await installs.bot_token(TEAM) is None


async def test_a_state_works_once_and_a_refused_code_installs_nothing(
        installs: Installs, fake: FakeSlack) -> None:
    link, cookie = await installs.start()
    back = await installs.approve(link)
    assert (await installs.get(back, cookie=cookie)).status == 200
    replayed = await installs.get(back, cookie=cookie)
    assert replayed.status == 401
    assert len(fake.find("oauth.v2.access")) == 1

    link, cookie = await installs.start(TEAM_B)
    back = await installs.approve(link)
    bad_code = back.replace("code=code-", "code=stolen-")
    refused = await installs.get(bad_code, cookie=cookie)
    assert refused.status == 401 and "invalid_code" in refused.text
    assert fake.find("oauth.v2.access")[-1].result == {"ok": False, "error": "invalid_code"}
    assert await installs.bot_token(TEAM_B) is None


async def test_an_installer_who_cancels_gets_a_page_and_nothing_is_stored(
        installs: Installs, fake: FakeSlack) -> None:
    _, cookie = await installs.start()
    page = await installs.get("/slack/oauth_redirect", cookie=cookie, error="access_denied",
                              state=cookie)
    assert page.status == 200 and "access_denied" in page.text
    assert fake.find("oauth.v2.access") == [] and await installs.bot_token(TEAM) is None


async def test_app_uninstalled_revokes_the_team_and_later_events_do_nothing(
        installs: Installs, fake: FakeSlack) -> None:
    await installs.install(TEAM)
    await installs.install(TEAM_B)
    token_a, token_b = fake.token_of(TEAM), fake.token_of(TEAM_B)
    slack = installs.slack
    await ask(slack, TEAM, QUESTION_A, CHANNEL)

    fake.uninstall(TEAM)  # Slack revokes the token, then tells the app
    fake.calls.clear()
    reply = await slack.event(payload("event_app_uninstalled"))
    assert reply.status == 200
    assert await installs.bot_token(TEAM) is None
    assert await installs.bot_token(TEAM_B) == token_b
    assert web_api_calls(fake) == []

    await ask(slack, TEAM, "is anyone around to pair on the flaky deploy in team A?", CHANNEL)
    ts = fake.add_message(CHANNEL, BOB)
    assert (await slack.event(reaction(TEAM, CHANNEL, CAROL, BOB, ts))).status == 200
    assert all(c.token != token_a for c in fake.calls)
    assert web_api_calls(fake) == []
    assert await open_asks(installs, WS) == [QUESTION_A]
    async with slack.runtime.store.unit_of_work() as uow:
        assert await uow.thanks.export(WS) == []
    assert "not installed" in " ".join(c.text() for c in fake.find("response_url"))

    # Team B goes on as before.
    await ask(slack, TEAM_B, QUESTION_B, CHANNEL_B)
    assert {c.token for c in web_api_calls(fake)} == {token_b}
    assert await open_asks(installs, WS_B) == [QUESTION_B]


async def test_a_revoked_bot_token_is_forgotten_a_revoked_user_token_changes_nothing(
        installs: Installs, fake: FakeSlack) -> None:
    await installs.install(TEAM_B)
    users_only = payload("event_tokens_revoked")
    del users_only["event"]["tokens"]["bot"]
    assert (await installs.slack.event(users_only)).status == 200
    assert await installs.bot_token(TEAM_B) == fake.token_of(TEAM_B)

    assert (await installs.slack.event(payload("event_tokens_revoked"))).status == 200
    assert await installs.bot_token(TEAM_B) is None
    fake.calls.clear()
    await ask(installs.slack, TEAM_B, QUESTION_B, CHANNEL_B)
    assert web_api_calls(fake) == [] and await open_asks(installs, WS_B) == []


async def test_a_team_that_never_installed_gets_nothing_done(installs: Installs,
                                                            fake: FakeSlack) -> None:
    await installs.install(TEAM)
    fake.calls.clear()
    await ask(installs.slack, "T9999", QUESTION_B, CHANNEL_B)
    event = reaction("T9999", CHANNEL_B, CAROL, BOB, "1700000100.000200")
    assert (await installs.slack.event(event)).status == 200
    assert web_api_calls(fake) == []
    assert await open_asks(installs, WorkspaceRef(Platform.SLACK, "T9999")) == []


async def test_database_down_while_authorizing(installs: Installs, fake: FakeSlack,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A reaction gets 503 (Slack delivers it again); a command is told privately."""
    await installs.install(TEAM)
    store = installs.installations
    found = store.async_find_bot

    async def unreachable(**_: object) -> None:
        raise StorageError("connection refused (test)")

    monkeypatch.setattr(store, "async_find_bot", unreachable)
    ts = fake.add_message(CHANNEL, BOB)
    event = reaction(TEAM, CHANNEL, CAROL, BOB, ts)
    assert (await installs.slack.event(event)).status == 503
    answered = await installs.slack.command("/ask", QUESTION_A, team_id=TEAM)
    assert answered.status == 200 and "database" in answered.text

    monkeypatch.setattr(store, "async_find_bot", found)
    assert (await installs.slack.event(event, retry=1)).status == 200
    async with installs.slack.runtime.store.unit_of_work() as uow:
        [thanks] = await uow.thanks.export(WS)
    assert (thanks.giver_id, thanks.receiver_id) == (CAROL, BOB)
    assert await open_asks(installs, WS) == []


async def test_database_down_during_the_install_asks_to_try_again(
        installs: Installs, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    link, cookie = await installs.start()
    back = await installs.approve(link)
    flow = installs.slack.adapter.app.oauth_flow
    assert flow is not None

    async def unreachable(state: str) -> bool:
        raise StorageError("connection refused (test)")

    monkeypatch.setattr(flow.settings.state_store, "async_consume", unreachable)
    page = await installs.get(back, cookie=cookie)
    assert page.status == 503 and "try again" in page.text
    assert fake.find("oauth.v2.access") == []


async def test_the_install_link_cannot_add_parameters_to_slacks_authorize_url(
        installs: Installs, fake: FakeSlack) -> None:
    link, cookie = await installs.start(f"{TEAM_B}&scope=admin&redirect_uri=https://evil.example")
    query = parse_qs(urlsplit(link).query)
    assert query["scope"] == [",".join(BOT_SCOPES)] and "redirect_uri" not in query
    assert query["team"] == [f"{TEAM_B}&scope=admin&redirect_uri=https://evil.example"]
    assert query["state"] == [cookie]


@pytest.mark.parametrize("changes", [
    {"access_token": DROP}, {"access_token": None}, {"team": DROP},
    {"team": "T0002"}, {"team": {"name": "no id"}}, {"authed_user": "U1"},
], ids=["no-token", "null-token", "no-team", "team-not-an-object", "team-without-id",
        "installer-not-an-object"])
async def test_an_exchange_answered_ok_with_nothing_usable_installs_nothing(
        installs: Installs, fake: FakeSlack, changes: dict[str, object]) -> None:
    fake.exchange_changes.update(changes)
    page = await installs.install(TEAM_B)
    assert page.status == 502 and "not installed" in page.text
    assert await installs.bot_token(TEAM_B) is None

"""One workspace never sees or changes another's data: two Slack workspaces (OAuth installs,
the same member ids in both, as on an Enterprise Grid) and two Discord servers on one
leanon and one database.

Workspace A is used first; then everything is done in workspace B: asks, thanks, stats,
the leaderboard, the asks list, App Home, the weekly post, export, settings, forget-me,
the same reaction ids, and button presses whose values name A's asks (forged). A's rows
must be exactly as they were, nothing B sees may name A's asks, and A's own numbers and
weekly preview are unchanged.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from bot.domain import Platform, WorkspaceRef
from bot.messages import ActionId
from tests.discord.discord_testing import ALICE as D_ALICE
from tests.discord.discord_testing import BOB as D_BOB
from tests.discord.discord_testing import CAROL as D_CAROL
from tests.discord.discord_testing import Harness as DiscordHarness
from tests.discord.discord_testing import card_of, option, press, slash, sub
from tests.discord.discord_testing import reaction as discord_reaction
from tests.discord.fake_discord import APP_ID, CHANNEL, GUILD, Answer, Json
from tests.security.security_testing import (
    CHANNEL_B,
    GUILD_B,
    RecordingDiscord,
    SlackStack,
    discord_alone,
    workspace_rows,
)
from tests.slack.fake_slack import TEAM, TEAM_B, FakeSlack
from tests.slack.oauth_testing import web_api_calls
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, WS, payload
from tests.slack.slack_testing import CHANNEL as S_CHANNEL

WS_B = WorkspaceRef(Platform.SLACK, TEAM_B)
S_CHANNEL_B = "C0B000001"
QUESTION_A = "Where is the runbook for the payroll export of team Aardvark?"
SECOND_A = "Who reviews the Aardvark database migrations this week?"
QUESTION_B = "How do I get access to the Bison staging cluster?"
A_WORDS = ("payroll", "Aardvark")


# -- Slack ----------------------------------------------------------------------------------


async def slack_say(stack: SlackStack, team: str, text: str, user: str = BOB) -> str:
    """`/leanon <text>` in a team; what the member was answered."""
    harness = stack.harness
    start = len(harness.fake.calls)
    await harness.command("/leanon", text, user=user, team_id=team,
                          channel_id=S_CHANNEL if team == TEAM else S_CHANNEL_B)
    return " ".join(c.text() for c in harness.fake.calls[start:] if c.method == "response_url")


async def slack_press(stack: SlackStack, team: str, action: ActionId, value: str, user: str,
                      ts: str) -> str:
    """A button press in a team; what the member was answered."""
    harness = stack.harness
    body = payload("block_actions")
    body["user"].update(id=user, team_id=team)
    body["team"]["id"] = team
    body["actions"][0].update(action_id=action.value, value=value)
    channel = S_CHANNEL if team == TEAM else S_CHANNEL_B
    body["container"].update(message_ts=ts, channel_id=channel)
    body["channel"]["id"] = channel
    body["message"]["ts"] = ts
    body["response_url"] = harness.fake.response_url(f"act-{user}")
    body["trigger_id"] = f"trig.{time.monotonic_ns()}"  # Slack's: one per press
    start = len(harness.fake.calls)
    assert (await harness.interactive(body)).status == 200
    return " ".join(c.text() for c in harness.fake.calls[start:] if c.method == "response_url")


def slack_reaction(team: str, channel: str, giver: str, author: str, ts: str) -> dict[str, Any]:
    event = payload("event_reaction_added")
    event["team_id"] = event["authorizations"][0]["team_id"] = team
    event["event"].update(user=giver, item_user=author)
    event["event"]["item"].update(channel=channel, ts=ts)
    event["event_id"] = f"Ev-{team}-{ts}"
    return event


async def test_two_slack_workspaces_stay_apart(installs: SlackStack, fake: FakeSlack) -> None:
    assert installs.installs is not None
    for team in (TEAM, TEAM_B):
        assert (await installs.installs.install(team)).status == 200
    harness = installs.harness

    # Workspace A: two asks, an offer, a resolve with its thanks, a reaction, /thanks.
    await harness.command("/ask", QUESTION_A, user=ALICE)
    await harness.command("/ask", SECOND_A, user=ALICE)
    card_ts = str(fake.posts(S_CHANNEL)[0].result["ts"])
    await slack_press(installs, TEAM, ActionId.OFFER_HELP, "1", BOB, card_ts)
    await slack_press(installs, TEAM, ActionId.RESOLVE, "1", ALICE, card_ts)
    await slack_press(installs, TEAM, ActionId.THANK_HELPER, f"1:{BOB}", ALICE, card_ts)
    bob_wrote = fake.add_message(S_CHANNEL, BOB)
    await harness.event(slack_reaction(TEAM, S_CHANNEL, CAROL, BOB, bob_wrote))
    await harness.command("/thanks", f"<@{BOB}|bob> for the payroll fix", user=CAROL)
    await slack_say(installs, TEAM, "config set leaderboard on", user=ADMIN)
    await slack_say(installs, TEAM, "nudge here")
    stats_a = await slack_say(installs, TEAM, "stats")
    preview_a = await slack_say(installs, TEAM, "nudge preview")
    rows_a = await workspace_rows(installs.runtime, WS)
    assert len(rows_a["asks"]) == 2 and len(rows_a["thanks"]) == 3 and rows_a["help_offers"]
    token_a, token_b = fake.token_of(TEAM), fake.token_of(TEAM_B)
    fake.calls.clear()

    # Workspace B, with the same member ids and a message with the same channel and ts.
    await harness.command("/ask", QUESTION_B, user=ALICE, team_id=TEAM_B, channel_id=S_CHANNEL_B)
    card_b = str(fake.posts(S_CHANNEL_B)[0].result["ts"])
    answers = [
        await slack_say(installs, TEAM_B, "stats"),
        await slack_say(installs, TEAM_B, "leaderboard"),
        await slack_say(installs, TEAM_B, "asks all"),
        await slack_say(installs, TEAM_B, "asks"),
        await slack_say(installs, TEAM_B, "nudge preview"),
        await slack_say(installs, TEAM_B, "nudge now", user=ADMIN),
        await slack_say(installs, TEAM_B, "export json", user=ADMIN),
        await slack_say(installs, TEAM_B, "config set anonymous-asks off", user=ADMIN),
        await slack_say(installs, TEAM_B, "config set leaderboard on", user=ADMIN),
        await slack_say(installs, TEAM_B, "leaderboard"),
    ]
    assert "Thanks received: 0" in answers[0] and "leaderboard is off" in answers[1]
    assert "Bison" in answers[2] and "Bison" in answers[3]
    assert "A quiet week here" not in answers[4]  # B's own ask counts…
    assert "1 ask opened" in answers[4]  # …and only B's
    # Forged presses in B whose values name A's asks (1: resolved, 2: open).
    for action, value, user in ((ActionId.OFFER_HELP, "2", BOB), (ActionId.RESOLVE, "2", ADMIN),
                                (ActionId.RESOLVE, "2", ALICE),
                                (ActionId.THANK_HELPER, f"1:{CAROL}", ALICE),
                                (ActionId.OFFER_HELP, "1", CAROL)):
        answer = await slack_press(installs, TEAM_B, action, value, user, card_b)
        assert "That ask no longer exists" in answer, (action, answer)
    await harness.event(slack_reaction(TEAM_B, S_CHANNEL, CAROL, BOB, bob_wrote))
    removed = slack_reaction(TEAM_B, S_CHANNEL, CAROL, BOB, bob_wrote)
    removed["event"]["type"] = "reaction_removed"
    await harness.event(removed)
    await harness.command("/thanks", f"<@{BOB}|bob> for the Bison access", user=CAROL,
                          team_id=TEAM_B, channel_id=S_CHANNEL_B)
    home = payload("event_app_home_opened")
    home["team_id"] = home["authorizations"][0]["team_id"] = TEAM_B
    await harness.event(home)
    answers.append(await slack_say(installs, TEAM_B, "leaderboard"))
    answers.append(await slack_say(installs, TEAM_B, "forget-me delete", user=ALICE))
    assert "Thanks received: 1" in await slack_say(installs, TEAM_B, "stats")

    # Nothing of A changed; nothing B saw names A's asks; every call used B's token.
    assert await workspace_rows(installs.runtime, WS) == rows_a
    assert len((await workspace_rows(installs.runtime, WS_B))["thanks"]) == 2
    seen_in_b = " ".join(c.text() for c in fake.calls)
    assert not any(word in seen_in_b for word in A_WORDS)
    assert {c.token for c in web_api_calls(fake)} == {token_b}
    assert {c.args.get("channel") for c in fake.find("chat.postMessage")
            if str(c.args.get("channel", "")).startswith("C")} == {S_CHANNEL_B}
    assert not [c for c in fake.find("chat.update") if c.args.get("channel") == S_CHANNEL]
    [weekly_b] = [c for c in fake.posts(S_CHANNEL_B) if "It's okay to ask" in c.text()]
    assert "1 ask opened" in weekly_b.text() and "Bison" in weekly_b.text()
    [export_b] = fake.find("file.upload")
    assert "Bison" in export_b.args["content"]

    # A sees just what it saw before.
    assert await slack_say(installs, TEAM, "stats") == stats_a
    assert await slack_say(installs, TEAM, "nudge preview") == preview_a
    assert "Bison" not in await slack_say(installs, TEAM, "asks all")
    assert token_a != token_b


# -- Discord --------------------------------------------------------------------------------


def in_b(payload_: Json) -> Json:
    """An interaction payload moved to server B (its guild and channel)."""
    payload_ = copy.deepcopy(payload_)
    payload_["guild_id"] = payload_["guild"]["id"] = GUILD_B
    payload_["channel_id"] = payload_["channel"]["id"] = CHANNEL_B
    payload_["channel"]["guild_id"] = GUILD_B
    payload_["authorizing_integration_owners"] = {"0": GUILD_B}
    if payload_["data"].get("guild_id"):
        payload_["data"]["guild_id"] = GUILD_B
    return payload_


async def discord_say(leanon: DiscordHarness, *args: Json, b: bool = True, **who: object) -> str:
    """`/leanon …` in server B (or A); the member's answer as text."""
    command = slash("leanon", *args, **who)
    return " ".join(a.text for a in await leanon.run(in_b(command) if b else command))


def forged(card: Json, custom_id: str, who: str, admin: bool = False) -> Json:
    """A press in server B of a button whose custom id is `custom_id`."""
    message = copy.deepcopy(card)
    message["channel_id"] = CHANNEL_B
    message["guild_id"] = GUILD_B
    message["components"] = [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Forged", "custom_id": custom_id}]}]
    return in_b(press(message, "Forged", who=who, admin=admin))


async def direct_press(leanon: DiscordHarness, fake: RecordingDiscord, custom_id: str,
                       who: str) -> list[Answer]:
    """`who` presses a button with `custom_id` on a direct message from leanon."""
    channel = str(int(who) + 5_000_000_000_000_000)
    fake.channels.setdefault(channel, {"id": channel, "type": 1, "last_message_id": None,
                                       "flags": 0, "recipients": [fake.users[who]]})
    message = fake._message(channel, {"content": "hi"}, fake.users[APP_ID])
    message["components"] = [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Forged", "custom_id": custom_id}]}]
    return await leanon.run(press(message, "Forged", who=who))


async def test_two_discord_servers_stay_apart(tmp_path: Path,
                                              discord_fake: RecordingDiscord) -> None:
    fake = discord_fake
    ws_a = WorkspaceRef(Platform.DISCORD, GUILD)
    ws_b = WorkspaceRef(Platform.DISCORD, GUILD_B)
    async with discord_alone(tmp_path, fake) as leanon:
        # Server A.
        await leanon.run(slash("ask", option("question", QUESTION_A)))
        card = card_of(fake)
        await leanon.run(slash("ask", option("question", SECOND_A)))
        await leanon.run(press(card, "I can help", who=D_BOB))
        [resolved] = await leanon.run(press(card, "Resolved", who=D_ALICE))
        assert resolved.message is not None
        await leanon.run(press(resolved.message, "Thank Bob", who=D_ALICE))
        written = fake.user_message(CHANNEL, fake.users[D_BOB])
        await leanon.react(discord_reaction(who=D_CAROL, author=D_BOB, message_id=written["id"]))
        await leanon.eventually(lambda: _count_thanks(leanon, ws_a, 2))
        await leanon.run(slash("leanon", sub("config", sub(
            "set", option("setting", "leaderboard"), option("value", "on")), group=True),
            admin=True))
        await leanon.run(slash("leanon", sub("nudge", option("action", "here"))))
        stats_a = await discord_say(leanon, sub("stats"), b=False, who=D_BOB)
        preview_a = await discord_say(leanon, sub("nudge", option("action", "preview")), b=False)
        rows_a = await workspace_rows(leanon.runtime, ws_a)
        assert len(rows_a["asks"]) == 2 and len(rows_a["thanks"]) == 2
        calls_before = len(fake.calls)

        # Server B: the same members.
        await leanon.run(in_b(slash("ask", option("question", QUESTION_B))))
        answers = [
            await discord_say(leanon, sub("stats"), who=D_BOB),
            await discord_say(leanon, sub("leaderboard")),
            await discord_say(leanon, sub("asks", option("where", "server"))),
            await discord_say(leanon, sub("asks")),
            await discord_say(leanon, sub("nudge", option("action", "preview"))),
            await discord_say(leanon, sub("nudge", option("action", "now")), admin=True),
            await discord_say(leanon, sub("export", option("format", "json")), admin=True),
            await discord_say(leanon, sub("config", sub(
                "set", option("setting", "anonymous-asks"), option("value", "off")), group=True),
                admin=True),
        ]
        assert "Thanks received: 0" in answers[0] and "leaderboard is off" in answers[1]
        assert "Bison" in answers[2] and "Bison" in answers[3]
        assert "1 ask opened" in answers[4]
        # Forged buttons naming A's asks and A's server, pressed in B.
        for custom_id, who, admin in ((f"leanon_offer_help:2@{GUILD}", D_CAROL, False),
                                      (f"leanon_resolve:2@{GUILD}", D_CAROL, True),
                                      (f"leanon_resolve:2@{GUILD}", D_ALICE, False),
                                      (f"leanon_thank_helper:1:{D_CAROL}@{GUILD}", D_ALICE, False),
                                      (f"leanon_offer_help:2@{GUILD_B}", D_BOB, False)):
            [answer] = await leanon.run(forged(card, custom_id, who, admin))
            assert "That ask no longer exists" in answer.text, (custom_id, answer.text)
        # The same forged buttons on a direct message: only thank buttons are ever sent by
        # DM, and they act for the asker alone.
        for custom_id in (f"leanon_offer_help:2@{GUILD}", f"leanon_resolve:2@{GUILD}",
                          f"leanon_thank_helper:2:{D_BOB}@{GUILD}"):
            [answer] = await direct_press(leanon, fake, custom_id, who=D_CAROL)
            assert "no longer works" in answer.text or "Only the person who asked" in answer.text
        # The same reaction ids in B.
        b_reaction = discord_reaction(who=D_CAROL, author=D_BOB, message_id=written["id"],
                                      channel=CHANNEL_B)
        b_reaction["guild_id"] = GUILD_B
        await leanon.react(b_reaction)
        await leanon.eventually(lambda: _count_thanks(leanon, ws_b, 1))
        removal = discord_reaction("remove", who=D_CAROL, message_id=written["id"],
                                   channel=CHANNEL_B)
        removal["guild_id"] = GUILD_B
        await leanon.react(removal, "remove")
        await leanon.eventually(lambda: _retracted(leanon, ws_b))
        await leanon.run(in_b(slash("thanks", option("member", D_BOB, kind=6),
                                    option("reason", "for the Bison access"), who=D_CAROL,
                                    resolved={"users": {D_BOB: fake.users[D_BOB]}})))
        [choice] = await leanon.run(in_b(slash("leanon", sub("forget-me"))))
        assert choice.message is not None
        choice.message["guild_id"] = GUILD_B
        await leanon.run(in_b(press(choice.message, "Delete my asks too", who=D_ALICE)))

        assert await workspace_rows(leanon.runtime, ws_a) == rows_a
        in_b_calls = fake.calls[calls_before:]
        seen = " ".join(c.text() + c.path for c in in_b_calls)
        assert not any(word in seen for word in A_WORDS)
        [(_, export_b)] = fake.uploads
        assert b"Bison" in export_b and not any(word.encode() in export_b for word in A_WORDS)
        touched = {c.path.split("/")[2] for c in in_b_calls
                   if c.path.startswith("/channels/") and c.method != "GET"}
        assert CHANNEL not in touched and card["id"] not in touched
        assert await discord_say(leanon, sub("stats"), b=False, who=D_BOB) == stats_a
        assert await discord_say(leanon, sub("nudge", option("action", "preview")),
                                 b=False) == preview_a
        assert "Bison" not in await discord_say(leanon, sub("asks", option("where", "server")),
                                                b=False)


async def _count_thanks(leanon: DiscordHarness, workspace: WorkspaceRef, count: int) -> bool:
    async with leanon.runtime.store.unit_of_work() as uow:
        return len(await uow.thanks.export(workspace)) == count


async def _retracted(leanon: DiscordHarness, workspace: WorkspaceRef) -> bool:
    async with leanon.runtime.store.unit_of_work() as uow:
        return any(t.retracted_at for t in await uow.thanks.export(workspace))

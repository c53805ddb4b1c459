"""The edges: rate limits, slow work, an unreachable database, admins, mentions, failures."""

from __future__ import annotations

import json
from pathlib import Path

from bot.domain import ThanksSource
from bot.service import STORAGE_TROUBLE
from tests.discord.discord_testing import (
    ALICE,
    BOB,
    CAROL,
    WS,
    Harness,
    database_down,
    option,
    running,
    slash,
    sub,
    thank_author,
)
from tests.discord.fake_discord import APP_ID, CHANNEL, FakeDiscord

POST_IN_CHANNEL = f"POST /channels/{CHANNEL}/messages"


async def test_a_429_on_posting_the_card_is_waited_out_and_retried(
        leanon: Harness, fake: FakeDiscord) -> None:
    fake.rate_limit_once[POST_IN_CHANNEL] = 0.05
    [answer] = await leanon.run(slash("ask", option("question", "Which VPN profile do I use?")))
    assert "Your ask is posted" in answer.text
    posts = fake.find("POST", f"/channels/{CHANNEL}/messages")
    assert [p.status for p in posts] == [429, 200]
    assert posts[0].body == posts[1].body | {"nonce": posts[0].body["nonce"]}
    async with leanon.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.get(WS, 1)
    assert ask is not None and ask.message is not None


async def test_slow_work_is_deferred_then_answered(tmp_path: Path, fake: FakeDiscord) -> None:
    fake.delays[POST_IN_CHANNEL] = 0.3
    async with running(tmp_path, fake, defer_after=0.05) as leanon:
        deferred, followup = await leanon.run(slash("ask", option("question", "Is prod down?")))
    assert (deferred.kind, deferred.type, deferred.ephemeral) == ("callback", 5, True)
    assert followup.kind == "followup" and followup.ephemeral
    assert "Your ask is posted" in followup.text


async def test_an_unreachable_database_is_explained_to_the_member(leanon: Harness) -> None:
    with database_down(leanon.runtime):
        [answer] = await leanon.run(slash("leanon", sub("stats")))
    assert answer.ephemeral and answer.text == STORAGE_TROUBLE.plain_text()


async def test_admin_commands_are_refused_without_manage_server(
        leanon: Harness, fake: FakeDiscord) -> None:
    change = slash("leanon", sub("config", sub("set", option("setting", "anonymous-asks"),
                                               option("value", "off")), group=True), who=BOB)
    [refused] = await leanon.run(change)
    assert "Only workspace admins" in refused.text and "Manage Server" in refused.text
    [refused_export] = await leanon.run(slash("leanon", sub("export"), who=BOB))
    assert "Only workspace admins" in refused_export.text
    async with leanon.runtime.store.unit_of_work() as uow:
        assert (await uow.workspaces.settings(WS)).anonymous_asks is True

    change["member"]["permissions"] = str(int(change["member"]["permissions"]) | 1 << 5)
    [saved] = await leanon.run(change)
    assert "Saved: anonymous-asks is now off" in saved.text
    async with leanon.runtime.store.unit_of_work() as uow:
        assert (await uow.workspaces.settings(WS)).anonymous_asks is False


async def test_an_admin_gets_the_export_as_a_file(leanon: Harness, fake: FakeDiscord) -> None:
    [answer] = await leanon.run(slash("leanon", sub("export", option("format", "json")),
                                      admin=True))
    assert "Export of 0 asks" in answer.text
    [callback] = fake.find("POST", r"/interactions/\d+/[\w.-]+/callback")
    assert callback.files and callback.files[0].endswith(".json")


async def test_user_text_can_never_ping(leanon: Harness, fake: FakeDiscord) -> None:
    sneaky = f"@everyone @here <@&{CHANNEL}> <@{BOB}> why does the build fail?"
    await leanon.run(slash("ask", option("question", sneaky)))
    [card] = fake.find("POST", f"/channels/{CHANNEL}/messages")
    assert card.body["allowed_mentions"] == {"parse": []}
    text = card.text()
    assert "@everyone" not in text and "@here" not in text and f"<@{BOB}>" not in text

    reason = "for fixing it @everyone <@&1> @here"
    await leanon.run(slash("thanks", option("member", BOB, kind=6), option("reason", reason),
                           resolved={"users": {BOB: fake.users[BOB]}}))
    note = fake.find("POST", f"/channels/{CHANNEL}/messages")[-1]
    assert note.body["content"].startswith(f"<@{ALICE}> thanked <@{BOB}>: for fixing it")
    assert note.body["allowed_mentions"] == {"parse": [], "users": [int(ALICE), int(BOB)]}
    assert "@everyone" not in note.text() and "@here" not in note.text()


async def test_thanks_names_several_members_and_the_menu_thanks_an_author(
        leanon: Harness, fake: FakeDiscord) -> None:
    [answer] = await leanon.run(slash(
        "thanks", option("member", BOB, kind=6), option("reason", f"<@{CAROL}> for the review"),
        resolved={"users": {BOB: fake.users[BOB]}}))
    assert f"Thanks recorded for <@{BOB}> and <@{CAROL}>" in answer.text
    written = fake.user_message(CHANNEL, fake.users[CAROL])
    [menu] = await leanon.run(thank_author(written, who=BOB))
    assert f"Thanks recorded for <@{CAROL}>" in menu.text
    rows = [(t.giver_id, t.receiver_id, t.source) for t in await leanon.thanks()]
    assert sorted(rows) == sorted([(ALICE, BOB, ThanksSource.COMMAND),
                                   (ALICE, CAROL, ThanksSource.COMMAND),
                                   (BOB, CAROL, ThanksSource.COMMAND)])
    [self_thanks] = await leanon.run(thank_author(written, who=CAROL))
    assert "not yourself" in self_thanks.text


async def test_a_channel_leanon_cannot_post_in_gets_a_clear_answer(
        leanon: Harness, fake: FakeDiscord) -> None:
    [answer] = await leanon.run(slash("ask", option("question", "Anyone around?"),
                                      channel="819999999999999999"))
    assert "could not post your ask" in answer.text
    assert not [m for m in fake.messages.values() if m["author"]["id"] == APP_ID
                and m["embeds"] and m["channel_id"] != "0" and not int(m["flags"]) & 64]


async def test_commands_are_synced_on_start(leanon: Harness, fake: FakeDiscord) -> None:
    [synced] = fake.find("PUT", r"/applications/\d+/commands")
    names = sorted((c["type"], c["name"]) for c in synced.body)
    assert names == [(1, "ask"), (1, "leanon"), (1, "thanks"), (3, "Mark as the answer"),
                     (3, "Thank this author")]
    leanon_command = next(c for c in synced.body if c["name"] == "leanon")
    subcommands = sorted(o["name"] for o in leanon_command["options"])
    assert subcommands == sorted(["help", "stats", "asks", "withdraw", "leaderboard", "named", "helper",
                                  "hours", "helpers", "escalate", "insights", "forget-me", "export",
                                  "nudge", "config"])
    assert json.dumps(synced.body).count('"contexts": [0]') == 5  # servers only


async def test_commands_sync_to_the_dev_server_when_set(tmp_path: Path, fake: FakeDiscord) -> None:
    async with running(tmp_path, fake, dev_guild_id=int(WS.workspace_id)):
        pass
    assert fake.find("PUT", r"/applications/\d+/commands") == []
    [synced] = fake.find("PUT", rf"/applications/\d+/guilds/{WS.workspace_id}/commands")
    assert {c["name"] for c in synced.body} == {"ask", "thanks", "leanon", "Thank this author",
                                                "Mark as the answer"}

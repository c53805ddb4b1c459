"""Thanks by reaction: raw gateway events, no message content, exactly-once, outages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.domain import Thanks, ThanksSource
from tests.discord.discord_testing import (
    ALICE,
    BOB,
    CAROL,
    OTHER_BOT,
    Harness,
    card_of,
    database_down,
    option,
    press,
    reaction,
    running,
    slash,
    sub,
)
from tests.discord.fake_discord import APP_ID, CHANNEL, FakeDiscord
from tests.leanon_testing import AtOnce

MESSAGE = "1200000000000000001"


async def thanks_count(leanon: Harness, count: int) -> list[Thanks]:
    """Wait until exactly `count` thanks are recorded."""
    async def check() -> list[Thanks] | None:
        rows = await leanon.thanks()
        return rows if len(rows) == count else None
    return await leanon.eventually(check)  # type: ignore[no-any-return]


async def sentinel(leanon: Harness, before: int) -> None:
    """A valid reaction after the ones under test: once it is recorded, they were handled."""
    await leanon.react(reaction(who=CAROL, message_id="1200000000000000999", author=BOB))
    await thanks_count(leanon, before + 1)


async def test_a_pray_reaction_thanks_the_author_once(leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.react(reaction())
    await leanon.react(reaction())  # the gateway may replay an event
    [thanks] = await thanks_count(leanon, 1)
    assert (thanks.giver_id, thanks.receiver_id, thanks.source, thanks.emoji) == (
        ALICE, BOB, ThanksSource.REACTION, "pray")
    assert thanks.message is not None and thanks.message.message_id == MESSAGE
    # The author came with the event: no message fetch. Bob hears about it by DM.
    assert fake.find("GET", rf"/channels/{CHANNEL}/messages/\d+") == []
    dm = await fake.wait_for(lambda: fake.find("POST", "/users/@me/channels"))
    assert dm[0].body == {"recipient_id": int(BOB)}


async def test_removing_the_reaction_retracts_the_thanks(leanon: Harness) -> None:
    await leanon.react(reaction())
    await thanks_count(leanon, 1)
    await leanon.react(reaction("remove"), kind="remove")

    async def retracted() -> bool:
        return all(t.retracted_at is not None for t in await leanon.thanks())
    assert await leanon.eventually(retracted)


async def test_skin_tones_and_raised_hands_count(leanon: Harness) -> None:
    await leanon.react(reaction(emoji={"id": None, "name": "🙏🏽"}))
    await leanon.react(reaction(emoji={"id": None, "name": "🙌"}))
    rows = await thanks_count(leanon, 2)
    assert sorted(t.emoji or "" for t in rows) == ["pray", "raised_hands"]


async def test_yourself_bots_and_other_emoji_are_ignored(leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.react(reaction(who=ALICE, author=ALICE))  # yourself
    await leanon.react(reaction(who=OTHER_BOT, author=BOB))  # a bot reacting
    await leanon.react(reaction(who=ALICE, author=APP_ID))  # leanon's own message
    await leanon.react(reaction(emoji={"id": None, "name": "👀"}))  # not a thanks emoji
    await leanon.react(reaction(who=APP_ID, author=BOB))  # leanon itself
    await sentinel(leanon, 0)
    [only] = await leanon.thanks()
    assert only.giver_id == CAROL
    assert fake.find("GET", rf"/channels/{CHANNEL}/messages/\d+") == []


async def test_custom_guild_emoji_thank_by_name_once_configured(leanon: Harness) -> None:
    kudos = {"id": "850000000000000001", "name": "kudos", "animated": False}
    await leanon.react(reaction(emoji=kudos))
    await sentinel(leanon, 0)
    [answer] = await leanon.run(slash("leanon", sub("config", sub(
        "set", option("setting", "thanks-emoji"), option("value", "pray,kudos")), group=True),
        admin=True))
    assert "Saved" in answer.text
    await leanon.react(reaction(emoji=kudos, who=BOB, author=CAROL))
    rows = await thanks_count(leanon, 2)
    assert [(t.giver_id, t.emoji) for t in rows if t.giver_id == BOB] == [(BOB, "kudos")]


async def test_without_the_author_in_the_event_leanon_fetches_the_message_once(
        leanon: Harness, fake: FakeDiscord) -> None:
    written = fake.user_message(CHANNEL, fake.users[BOB])
    await leanon.react(reaction(message_id=written["id"], author=None))
    [thanks] = await thanks_count(leanon, 1)
    assert thanks.receiver_id == BOB
    assert len(fake.find("GET", f"/channels/{CHANNEL}/messages/{written['id']}")) == 1


async def test_a_reaction_in_an_ask_thread_is_linked_to_the_ask(
        leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", "Why does the deploy job time out?")))
    card = card_of(fake)
    await leanon.run(press(card, "I can help", who=BOB))
    answer = fake.user_message(card["id"], fake.users[BOB])  # Bob's reply in the thread
    await leanon.react(reaction(message_id=answer["id"], channel=card["id"]))
    [thanks] = await thanks_count(leanon, 1)
    assert (thanks.receiver_id, thanks.ask_id) == (BOB, 1)


async def test_a_reaction_while_the_database_is_down_is_kept_and_applied_later(
        leanon: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord")
    with database_down(leanon.runtime):
        await leanon.react(reaction())
        await leanon.react(reaction(who=CAROL, message_id="1200000000000000002"))
        await leanon.react(reaction("remove", who=CAROL, message_id="1200000000000000002"),
                           kind="remove")

        async def kept() -> bool:
            return "will be retried" in caplog.text
        await leanon.eventually(kept)
        assert await leanon.thanks() == []
    # The database is back: the waiting reactions are applied, in order.
    async def applied() -> bool:
        return "3 waiting reactions applied" in caplog.text
    await leanon.eventually(applied)
    rows = await leanon.thanks()
    assert {(t.giver_id, t.retracted_at is None) for t in rows} == {(ALICE, True), (CAROL, False)}
    for user_id in (ALICE, BOB, CAROL):
        assert user_id not in caplog.text  # logs never name members


async def test_a_quick_add_then_remove_ends_retracted(leanon: Harness, fake: FakeDiscord) -> None:
    written = fake.user_message(CHANNEL, fake.users[BOB])
    # No author in the event: the add waits for a fetch while the removal arrives.
    fake.delays[f"GET /channels/{CHANNEL}/messages/{written['id']}"] = 0.1
    await leanon.react(reaction(message_id=written["id"], author=None))
    await leanon.react(reaction("remove", message_id=written["id"]), kind="remove")

    async def settled() -> list[Thanks] | None:
        rows = await leanon.thanks()
        return rows if rows and rows[0].retracted_at is not None else None
    await leanon.eventually(settled)


async def test_a_slow_note_to_the_receiver_holds_up_no_reaction(
        leanon: Harness, fake: FakeDiscord) -> None:
    fake.delays["POST /users/@me/channels"] = 4.0  # opening the receiver's DM is slow
    await leanon.react(reaction())
    await leanon.eventually(leanon.thanks)
    await leanon.react(reaction("remove"), kind="remove")  # same member, message and emoji

    async def retracted() -> bool:
        rows = await leanon.thanks()
        return bool(rows) and rows[0].retracted_at is not None
    await leanon.eventually(retracted, within=3.0)
    assert fake.find("POST", r"/channels/\d+/messages") == []  # the note is still on its way


async def test_reactions_kept_through_an_outage_survive_a_restart_in_the_spool(
        tmp_path: Path, fake: FakeDiscord) -> None:
    spool = tmp_path / "reactions.jsonl"
    async with running(tmp_path, fake, reaction_spool=spool, retry_first_delay=30) as first:
        with database_down(first.runtime):
            await first.react(reaction())
            await first.react(reaction(who=CAROL, message_id="1200000000000000002"))
            await first.react(reaction("remove", who=CAROL, message_id="1200000000000000002"),
                              kind="remove")

            async def spooled() -> bool:
                return spool.exists() and len(spool.read_text().splitlines()) == 3
            await first.eventually(spooled)
        # Stopped before its retry (or killed: the spool is written as reactions are kept).
    assert len(spool.read_text().splitlines()) == 3

    async with running(tmp_path, fake, reaction_spool=spool) as second:
        async def emptied() -> bool:
            return not spool.exists()
        await second.eventually(emptied)  # all three applied, in order
        rows = await thanks_count(second, 2)
        assert {(t.giver_id, t.retracted_at is None) for t in rows} == {
            (ALICE, True), (CAROL, False)}


async def test_a_burst_of_reactions_is_handled_a_few_at_a_time_and_each_counts(
        tmp_path: Path, fake: FakeDiscord) -> None:
    # discord.py would start a task for each event: a burst of thousands held thousands of
    # handlers in memory at once. leanon takes them in turn, a bounded number at once.
    async with running(tmp_path, fake, reactions_at_once=3) as leanon:
        handled = AtOnce(leanon.runtime.service.handle)
        leanon.runtime.service.handle = handled  # type: ignore[method-assign]
        for n in range(30):
            await leanon.react(reaction(who=f"71000000000000{n:04d}",
                                        message_id=f"12100000000000{n:04d}"))
        assert len(await thanks_count(leanon, 30)) == 30
    assert handled.most == 3

"""Buttons are persistent: a card posted before a restart still works after it."""

from __future__ import annotations

from pathlib import Path

from tests.discord.discord_testing import ALICE, BOB, CAROL, card_of, option, press, running, slash
from tests.discord.fake_discord import CHANNEL, FakeDiscord


async def test_a_button_pressed_after_a_restart_still_works(tmp_path: Path, fake: FakeDiscord) -> None:
    async with running(tmp_path, fake) as first:
        await first.run(slash("ask", option("question", "Who owns the billing cron job?")))
        card = card_of(fake)
        await first.run(press(card, "I can help", who=BOB))
    assert fake.gateway.sessions == []  # the first client is gone

    # A new process: new client, new gateway connection, same database.
    async with running(tmp_path, fake) as second:
        [offered] = await second.run(press(fake.messages[card["id"]], "I can help", who=CAROL))
        assert "Thank you for offering" in offered.text
        async with second.runtime.store.unit_of_work() as uow:
            offers = await uow.asks.offers(1)
        assert [o.helper_id for o in offers] == [BOB, CAROL]
        edited = fake.find("PATCH", f"/channels/{CHANNEL}/messages/{card['id']}")[-1]
        assert "2 people offered to help" in edited.body["embeds"][0]["description"]
        [resolved] = await second.run(press(fake.messages[card["id"]], "Resolved", who=ALICE))
        assert [b["label"] for row in resolved.data["components"] for b in row["components"]] == [
            "Thank Bob", "Thank Carol"]
    # The card's thread, started before the restart, is the one used after it.
    assert len(fake.find("POST", f"/channels/{CHANNEL}/messages/{card['id']}/threads")) == 1
    assert len([m for m in fake.channel_messages(card["id"]) if "can help" in m["content"]]) == 2


async def test_a_thread_started_after_a_restart_is_named_after_the_question(
        tmp_path: Path, fake: FakeDiscord) -> None:
    """The core says what a thread is about with the reply that starts it: nothing is read
    back from the card, nor kept in the process that posted it."""
    question = "Where do the staging certificates live?"
    async with running(tmp_path, fake) as first:
        await first.run(slash("ask", option("question", question)))
        card = card_of(fake)
    async with running(tmp_path, fake) as second:
        await second.run(press(fake.messages[card["id"]], "I can help", who=BOB))
    [thread] = fake.find("POST", f"/channels/{CHANNEL}/messages/{card['id']}/threads")
    assert thread.body["name"] == question

"""Discord interactions are stored before they are acknowledged: a process that dies with
one acknowledged and not done leaves it to the next, which answers through its webhook."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot.domain import Platform
from storage.models import AskRow, InboxItemRow
from tests.discord.discord_testing import ALICE, card_of, option, running, slash
from tests.discord.fake_discord import APP_ID, CHANNEL, FakeDiscord
from tests.leanon_testing import AtOnce

QUESTION = "Who owns the billing cron job now that Dana moved teams?"


async def test_an_acknowledged_ask_of_a_process_that_died_is_done_by_the_next_one(
        tmp_path: Path, fake: FakeDiscord) -> None:
    async with running(tmp_path, fake, defer_after=0.1) as first:
        stuck = asyncio.Event()

        async def never_done(cmd: Any, **_: Any) -> Any:
            stuck.set()
            await asyncio.Event().wait()  # the process dies before the work ends

        first.runtime.service.handle = never_done  # type: ignore[method-assign]
        interaction = await fake.interact(slash("ask", option("question", QUESTION)))
        await fake.wait_for(lambda: fake.answers.get(interaction), 5)
        [acknowledged] = fake.answers[interaction]
        assert acknowledged.type == 5  # deferred: "leanon is thinking…"
        await stuck.wait()
        async with first.runtime.store.unit_of_work() as uow:
            assert await uow.inbox.waiting(["discord"]) == 1  # stored before it was acknowledged

    # The lease of the dead process runs out (moved back here instead of waited for).
    async with first.runtime.store.engine.begin() as db:
        await db.execute(update(InboxItemRow).values(lease_until=None))

    async with running(tmp_path, fake) as second:
        answers = await fake.answer(interaction)
        assert [a.kind for a in answers] == ["callback", "followup"]
        assert "Your ask is posted" in answers[1].text
        assert answers[1].data["flags"] & 64  # ephemeral: only alice sees it
        assert QUESTION in card_of(fake)["embeds"][0]["description"]
        async with second.runtime.store.engine.begin() as db:
            asks = (await db.execute(select(AskRow.asker_id, AskRow.platform))).all()
        assert asks == [(ALICE, Platform.DISCORD.value)]
        cards = [m for m in fake.channel_messages(CHANNEL) if m["author"]["id"] == APP_ID
                 and QUESTION in str(m["embeds"])]
        assert len(cards) == 1


async def test_an_interaction_delivered_twice_is_worked_once(tmp_path: Path,
                                                             fake: FakeDiscord) -> None:
    async with running(tmp_path, fake) as harness:
        payload = slash("ask", option("question", QUESTION))
        interaction = await fake.interact(payload)
        await fake.answer(interaction)
        replayed = dict(fake.interactions[interaction])
        await fake.gateway.dispatch(replayed["guild_id"], "INTERACTION_CREATE", replayed)
        await harness.runtime.inbox.settled()
        await harness.runtime.service.outbox.settled()
        async with harness.runtime.store.engine.begin() as db:
            assert len((await db.execute(select(AskRow.id))).all()) == 1
        assert len(fake.answers[interaction]) == 1


async def test_a_burst_of_asks_is_worked_a_few_at_a_time_and_each_is_answered(
        tmp_path: Path, fake: FakeDiscord) -> None:
    # Each interaction is worked where it arrived (answered directly when quick, deferred
    # at `defer_after`); a burst takes turns instead of all of its work running at once.
    async with running(tmp_path, fake, interactions_at_once=2) as leanon:
        inbox = leanon.runtime.inbox
        assert inbox is not None
        worked = AtOnce(inbox.run_now)
        inbox.run_now = worked  # type: ignore[method-assign]
        sent = [await fake.interact(slash("ask", option("question", f"{QUESTION} ({n})"),
                                          who=f"70000000000000{n:04d}"))
                for n in range(10)]
        for interaction in sent:
            assert await fake.answer(interaction)
        await fake.wait_for(lambda: len([m for m in fake.channel_messages(CHANNEL)
                                         if m["author"]["id"] == APP_ID]) == 10, 5)
    assert worked.most == 2

"""The hourly ask limit and the daily thanks allowance hold when a member's requests arrive
at once (20 concurrent attempts, each in its own transaction and connection)."""

from __future__ import annotations

import asyncio
import itertools

from bot.commands import CreateAsk, Person, ThankMembers
from bot.deps import ASKS_PER_HOUR, Deps
from bot.domain import Actor, MessageRef, Settings, WorkspaceRef
from bot.messages import Message
from bot.service import Leanon
from storage import SqlStore
from tests.storage.storage_testing import WORKSPACE

ATTEMPTS = 20


class QuietChat:
    """A platform that takes every message (the tests count rows, not messages)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        return MessageRef(channel_id, f"m{next(self._ids)}")

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        return None

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef,
                    message: Message, topic: str | None = None) -> MessageRef:
        return MessageRef(parent.channel_id, f"r{next(self._ids)}")

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                      message: Message) -> None:
        return None


def leanon(store: SqlStore) -> Leanon:
    return Leanon(Deps(uow=store.unit_of_work, chat=QuietChat()))


async def test_twenty_asks_at_once_open_no_more_than_the_hourly_limit(store: SqlStore) -> None:
    app = leanon(store)
    replies = await asyncio.gather(*(
        app.handle(CreateAsk(WORKSPACE, Actor("U-eager"), "C1", f"how do I fix flaky test {n}?"))
        for n in range(ATTEMPTS)))
    async with store.unit_of_work() as uow:
        asks = await uow.asks.by_asker(WORKSPACE, "U-eager")
    assert len(asks) == ASKS_PER_HOUR
    refused = [r for r in replies if "asks in the last hour" in r.private[0].plain_text()]
    assert len(refused) == ATTEMPTS - ASKS_PER_HOUR


async def test_twenty_thanks_at_once_record_no_more_than_the_daily_allowance(
        store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.workspaces.save_settings(WORKSPACE, Settings(daily_allowance=5))
        await uow.commit()
    app = leanon(store)
    await asyncio.gather(*(
        app.handle(ThankMembers(WORKSPACE, Actor("U-giver"), "C1", (Person(f"U-{n}"),), "for the help",
                                event_id=f"ev{n}"))
        for n in range(ATTEMPTS)))
    async with store.unit_of_work() as uow:
        given = await uow.thanks.export(WORKSPACE)
    assert len(given) == 5

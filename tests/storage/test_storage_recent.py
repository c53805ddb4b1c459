"""What a store keeps of what it read a moment ago (storage.recent), on SQLite and PostgreSQL:
a workspace's settings and whether a channel has ask cards, for the reaction path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from bot.domain import MessageRef, Settings, WorkspaceRef
from storage import SqlStore
from storage.recent import Recent
from tests.storage.storage_testing import OTHER_WORKSPACE, WORKSPACE, new_ask

CHANNEL = "C-help"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def elsewhere(database_url: str) -> AsyncIterator[SqlStore]:
    """Another process's store on the same database."""
    store = SqlStore.from_url(database_url)
    yield store
    await store.close()


async def save(store: SqlStore, settings: Settings) -> None:
    async with store.unit_of_work() as uow:
        await uow.workspaces.save_settings(WORKSPACE, settings)
        await uow.commit()


async def recent_emoji(store: SqlStore) -> tuple[str, ...]:
    async with store.urgent_unit_of_work() as uow:
        return (await uow.workspaces.recent_settings(WORKSPACE)).thanks_emoji


async def test_settings_changed_elsewhere_are_seen_within_seconds_and_here_at_once(
        store: SqlStore, elsewhere: SqlStore) -> None:
    clock = Clock()
    store.recent = Recent(seconds=5, clock=clock)
    await save(store, Settings(thanks_emoji=("pray",)))
    assert await recent_emoji(store) == ("pray",)
    await save(elsewhere, Settings(thanks_emoji=("heart",)))
    clock.now += 4.9
    assert await recent_emoji(store) == ("pray",)  # kept: not read again
    clock.now += 0.1
    assert await recent_emoji(store) == ("heart",)
    await save(store, Settings(thanks_emoji=("tada",)))
    assert await recent_emoji(store) == ("tada",)  # saved here: known at once
    async with store.unit_of_work() as uow:  # settings() always reads
        assert (await uow.workspaces.settings(WORKSPACE)).thanks_emoji == ("tada",)
    async with store.urgent_unit_of_work() as uow:
        assert await uow.workspaces.recent_settings(OTHER_WORKSPACE) == Settings()


async def test_settings_read_while_a_save_is_uncommitted_are_not_kept(store: SqlStore) -> None:
    store.recent = Recent(seconds=60, clock=Clock())
    await save(store, Settings(thanks_emoji=("pray",)))
    async with store.unit_of_work() as saving:
        await saving.workspaces.save_settings(WORKSPACE, Settings(thanks_emoji=("heart",)))
        async with store.reading_unit_of_work() as reading:  # takes no write lock on SQLite
            assert (await reading.workspaces.recent_settings(WORKSPACE)).thanks_emoji == ("pray",)
        await saving.commit()
    assert await recent_emoji(store) == ("heart",)


async def test_a_unit_of_work_that_saved_settings_reads_its_own_and_keeps_none(
        store: SqlStore) -> None:
    store.recent = Recent(seconds=60, clock=Clock())
    async with store.unit_of_work() as uow:
        await uow.workspaces.save_settings(WORKSPACE, Settings(thanks_emoji=("heart",)))
        assert (await uow.workspaces.recent_settings(WORKSPACE)).thanks_emoji == ("heart",)
        # rolled back
    assert await recent_emoji(store) == Settings().thanks_emoji


async def has_cards(store: SqlStore, workspace: WorkspaceRef = WORKSPACE) -> bool:
    async with store.urgent_unit_of_work() as uow:
        return await uow.asks.has_cards_in_channel(workspace, CHANNEL)


async def post_card(store: SqlStore, ts: str) -> int:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask(channel_id=CHANNEL))
        await uow.asks.set_message(ask.id, MessageRef(CHANNEL, ts))
        await uow.commit()
    return ask.id


async def test_a_channel_without_cards_is_read_again_after_seconds_or_once_one_is_posted_here(
        store: SqlStore, elsewhere: SqlStore) -> None:
    clock = Clock()
    store.recent = Recent(seconds=5, clock=clock)
    assert await has_cards(store) is False
    await post_card(elsewhere, "1700000000.000100")
    assert await has_cards(store) is False  # another process's card: not known yet
    clock.now += 5
    assert await has_cards(store) is True
    assert await has_cards(store, OTHER_WORKSPACE) is False  # the workspace's channel only
    await post_card(store, "1700000000.000200")  # not OTHER_WORKSPACE's, but forgets the no
    clock.now += 1
    assert await has_cards(store, OTHER_WORKSPACE) is False


async def test_a_card_posted_here_is_known_at_once_and_a_yes_is_kept(store: SqlStore) -> None:
    clock = Clock()
    store.recent = Recent(seconds=5, clock=clock)
    assert await has_cards(store) is False
    ask_id = await post_card(store, "1700000000.000100")
    assert await has_cards(store) is True
    async with store.unit_of_work() as uow:
        await uow.asks.set_message(ask_id, MessageRef("C-elsewhere", "1700000000.000100"))
        await uow.commit()
    clock.now += 3600
    assert await has_cards(store) is True  # a wasted thread look-up at worst


async def test_a_channel_read_as_without_cards_while_one_is_posted_is_read_again(
        store: SqlStore) -> None:
    store.recent = Recent(seconds=60, clock=Clock())
    async with store.unit_of_work() as posting:
        ask = await posting.asks.add(new_ask(channel_id=CHANNEL))
        await posting.asks.set_message(ask.id, MessageRef(CHANNEL, "1700000000.000100"))
        async with store.reading_unit_of_work() as reading:  # takes no write lock on SQLite
            assert await reading.asks.has_cards_in_channel(WORKSPACE, CHANNEL) is False
        await posting.commit()
    assert await has_cards(store) is True


def test_a_read_that_began_before_a_change_here_is_not_kept() -> None:
    """A save, or a card posted, that commits while a read is on its way (PostgreSQL lets
    them overlap): the read may have seen the database before it."""
    recent = Recent(seconds=60, clock=Clock())
    started = recent.start()
    recent.forget_settings(WORKSPACE)
    recent.read_settings(WORKSPACE, Settings(), started)
    assert recent.settings(WORKSPACE) is None
    started = recent.start()
    recent.card_posted(CHANNEL)
    recent.read_cards(WORKSPACE, CHANNEL, False, started)
    assert recent.has_cards(WORKSPACE, CHANNEL) is None
    recent.read_settings(WORKSPACE, Settings(), recent.start())
    recent.read_cards(WORKSPACE, CHANNEL, False, recent.start())
    assert recent.settings(WORKSPACE) == Settings()
    assert recent.has_cards(WORKSPACE, CHANNEL) is False

"""SqlWorkspaceRepository and SqlMemberRepository on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import Settings
from storage import SqlStore
from tests.storage.storage_testing import OTHER_WORKSPACE, WORKSPACE


async def test_a_workspace_without_settings_has_the_defaults(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.workspaces.settings(WORKSPACE) == Settings()


async def test_save_settings_stores_and_replaces(store: SqlStore) -> None:
    custom = Settings(
        thanks_emoji=("pray", "raised_hands", "heart", "🙏"),
        anonymous_asks=False,
        daily_allowance=5,
        stale_after=timedelta(minutes=45),
        expire_after=timedelta(days=7),
        receiver_dm=False,
        leaderboard=True,
    )
    async with store.unit_of_work() as uow:
        await uow.workspaces.save_settings(WORKSPACE, custom)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.workspaces.settings(WORKSPACE) == custom
        assert await uow.workspaces.settings(OTHER_WORKSPACE) == Settings()
        await uow.workspaces.save_settings(WORKSPACE, Settings(thanks_emoji=()))
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.workspaces.settings(WORKSPACE) == Settings(thanks_emoji=())


async def test_emoji_names_with_commas_are_refused(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="emoji"):
            await uow.workspaces.save_settings(WORKSPACE, Settings(thanks_emoji=("a,b",)))


async def test_opting_out_and_back_in(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.members.opted_out(WORKSPACE) == set()
        await uow.members.set_opted_out(WORKSPACE, "U-shy", True)
        await uow.members.set_opted_out(WORKSPACE, "U-shy", True)
        await uow.members.set_opted_out(WORKSPACE, "U-quiet", True)
        await uow.members.set_opted_out(WORKSPACE, "U-loud", False)
        await uow.members.set_opted_out(OTHER_WORKSPACE, "U-far", True)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.members.opted_out(WORKSPACE) == {"U-shy", "U-quiet"}
        await uow.members.set_opted_out(WORKSPACE, "U-shy", False)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.members.opted_out(WORKSPACE) == {"U-quiet"}
        assert await uow.members.opted_out(OTHER_WORKSPACE) == {"U-far"}


async def test_forget_deletes_the_member(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.members.set_opted_out(WORKSPACE, "U-leaving", True)
        await uow.members.set_opted_out(OTHER_WORKSPACE, "U-leaving", True)
        await uow.members.forget(WORKSPACE, "U-leaving")
        await uow.members.forget(WORKSPACE, "U-never-seen")
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.members.opted_out(WORKSPACE) == set()
        assert await uow.members.opted_out(OTHER_WORKSPACE) == {"U-leaving"}

"""SqlWorkspaceRepository and SqlMemberRepository on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain import Helper, Settings
from bot.hours import WorkingHours
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


async def test_helper_entries_are_stored_replaced_listed_and_forgotten(store: SqlStore) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    berlin = WorkingHours(time(22), time(6, 30), frozenset({0, 4, 6}), "Europe/Berlin")
    async with store.unit_of_work() as uow:
        assert await uow.members.helper(WORKSPACE, "U-kim") is None
        await uow.members.save_helper(WORKSPACE, Helper("U-kim", True, ("kubernetes", "c++ / ci")), now)
        await uow.members.save_helper(WORKSPACE, Helper("U-ada", hours=berlin), now)
        await uow.members.save_helper(OTHER_WORKSPACE, Helper("U-kim", True), now)
        await uow.commit()
    async with store.unit_of_work() as uow:
        kim = await uow.members.helper(WORKSPACE, "U-kim")
        assert kim == Helper("U-kim", True, ("kubernetes", "c++ / ci"))
        assert await uow.members.helper(WORKSPACE, "U-ada") == Helper("U-ada", hours=berlin)
        assert [h.user_id for h in await uow.members.helpers(WORKSPACE)] == ["U-ada", "U-kim"]
        await uow.members.save_helper(WORKSPACE, Helper("U-kim", False, (), berlin), now)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.members.helper(WORKSPACE, "U-kim") == Helper("U-kim", False, (), berlin)
        await uow.members.forget(WORKSPACE, "U-kim")
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.members.helper(WORKSPACE, "U-kim") is None
        assert await uow.members.helper(OTHER_WORKSPACE, "U-kim") == Helper("U-kim", True)

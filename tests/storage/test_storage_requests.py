"""SqlHelpRequestRepository on SQLite and PostgreSQL: requests to helpers and the records
that choose whom to ask."""

from __future__ import annotations

import dataclasses
from datetime import date

from bot.domain import Helper, HelpRecord, HelpRequest, LadderStep, RequestAnswer
from storage import SqlStore
from tests.storage.storage_testing import OTHER_WORKSPACE, T0, WORKSPACE, command_thanks, minutes, new_ask

DAY = date(2026, 3, 2)


async def test_requests_are_stored_once_read_back_and_answered_once(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        other = await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))
        assert await uow.asks.claim_step(ask.id, LadderStep.REQUEST, 2)
        first = HelpRequest(ask.id, "U-kim", T0, DAY)
        await uow.requests.add(WORKSPACE, [first, HelpRequest(ask.id, "U-ada", T0 + minutes(1), DAY)])
        await uow.requests.add(WORKSPACE, [dataclasses.replace(first, requested_at=T0 + minutes(5))])
        await uow.requests.add(OTHER_WORKSPACE, [HelpRequest(other.id, "U-kim", T0, DAY)])
        await uow.commit()
    async with store.unit_of_work() as uow:
        stored = await uow.asks.get(WORKSPACE, ask.id)
        assert stored is not None and stored.asked_helpers == 2
        assert await uow.requests.since(WORKSPACE, T0) == [
            first, HelpRequest(ask.id, "U-ada", T0 + minutes(1), DAY)]
        assert [r.helper_id for r in await uow.requests.since(WORKSPACE, T0 + minutes(1))] == ["U-ada"]
        assert await uow.requests.answer(WORKSPACE, ask.id, "U-kim", RequestAnswer.OFFERED, T0 + minutes(9))
        assert await uow.requests.answer(WORKSPACE, ask.id, "U-kim", RequestAnswer.NOT_NOW, T0)  # kept
        assert not await uow.requests.answer(WORKSPACE, ask.id, "U-nobody", RequestAnswer.OFFERED, T0)
        await uow.commit()
    async with store.unit_of_work() as uow:
        [kim, _] = await uow.requests.since(WORKSPACE, T0)
        assert (kim.answer, kim.answered_at) == (RequestAnswer.OFFERED, T0 + minutes(9))
        assert await uow.requests.answered(WORKSPACE, "C-help", T0, T0 + minutes(10)) == ["U-kim"]
        assert await uow.requests.answered(WORKSPACE, "C-other", T0, T0 + minutes(10)) == []
        assert await uow.requests.answered(WORKSPACE, "C-help", T0 + minutes(10), T0 + minutes(20)) == []
        # forget-me deletes the helper's requests; the asker's ask going deletes its requests
        await uow.members.forget(WORKSPACE, "U-kim")
        await uow.asks.forget_asker(OTHER_WORKSPACE, "U-asker", delete=True)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert [r.helper_id for r in await uow.requests.since(WORKSPACE, T0)] == ["U-ada"]
        assert await uow.requests.since(OTHER_WORKSPACE, T0) == []


async def test_help_records_count_similar_asks_offered_on_or_thanked_for(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        similar = [await uow.asks.add(new_ask(at=T0 + minutes(i))) for i in range(3)]
        unrelated = await uow.asks.add(new_ask(text="Where is the holiday calendar?"))
        await uow.asks.add_offer(similar[0].id, "U-kim", T0 + minutes(10))
        await uow.asks.add_offer(similar[1].id, "U-kim", T0 + minutes(20))
        await uow.asks.add_offer(unrelated.id, "U-ada", T0 + minutes(30))
        thanked = dataclasses.replace(command_thanks("U-asker", "U-ada", at=T0 + minutes(40)),
                                      ask_id=similar[2].id)
        await uow.thanks.add(thanked)
        # thanked on an ask Kim also offered on counts the ask once
        await uow.thanks.add(dataclasses.replace(command_thanks("U-asker", "U-kim", at=T0 + minutes(50)),
                                                 ask_id=similar[0].id))
        await uow.commit()
    ids = [a.id for a in similar]
    async with store.unit_of_work() as uow:
        records = await uow.requests.records(WORKSPACE, ids, ["U-kim", "U-ada", "U-new"])
        assert records == {"U-kim": HelpRecord(2, T0 + minutes(50)),
                           "U-ada": HelpRecord(1, T0 + minutes(40))}
        assert await uow.requests.records(WORKSPACE, [], ["U-ada"]) == {
            "U-ada": HelpRecord(0, T0 + minutes(40))}
        assert await uow.requests.records(WORKSPACE, ids, []) == {}
        assert await uow.requests.records(OTHER_WORKSPACE, ids, ["U-kim"]) == {}


async def test_a_helper_says_not_now_for_a_day_of_theirs(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.members.save_helper(WORKSPACE, Helper("U-kim", True, quiet_on=DAY), T0)
        await uow.commit()
    async with store.unit_of_work() as uow:
        helper = await uow.members.helper(WORKSPACE, "U-kim")
        assert helper is not None and helper.quiet_on == DAY


async def test_ladder_settings_are_stored(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        default = await uow.workspaces.settings(WORKSPACE)
        changed = dataclasses.replace(default, request_after=None, daily_requests=5,
                                      escalate_after=minutes(90), escalation_channel="C-esc")
        await uow.workspaces.save_settings(WORKSPACE, changed)
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.workspaces.settings(WORKSPACE) == changed

"""One contract, three stores: the same cases against the unit tests' in-memory store
(`fakes.FakeStore`) and `SqlStore` on SQLite and on PostgreSQL, so that the fakes the core's
tests run on behave as the database does where it matters (dedupe, revive, retract, counts,
the inbox's keys)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import (
    MessageRef,
    NewAnswer,
    NewAsk,
    NewInboxItem,
    NewThanks,
    Platform,
    Settings,
    SuggestionMode,
    SuggestionOutcome,
    ThanksSource,
    WorkspaceRef,
)
from bot.errors import StorageError
from storage import SqlStore
from tests.storage.conftest import BACKENDS
from tests.unit.fakes import FakeStore

WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER = WorkspaceRef(Platform.SLACK, "T2")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Units = Callable[[], AbstractAsyncContextManager[Any]]


@pytest.fixture(params=[pytest.param("memory", id="memory"), *BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The in-memory store, and the databases every storage test runs on."""
    return str(request.param)


@pytest.fixture
def units(backend: str, request: pytest.FixtureRequest) -> Units:
    if backend == "memory":
        return FakeStore().uow
    store: SqlStore = request.getfixturevalue("store")
    return store.unit_of_work


def thanks(key: str | None, giver: str = "U1", receiver: str = "U2", at: datetime = T0,
           workspace: WorkspaceRef = WS) -> NewThanks:
    return NewThanks(workspace=workspace, giver_id=giver, receiver_id=receiver,
                     source=ThanksSource.REACTION, created_at=at,
                     message=MessageRef("C1", "1.1"), emoji="pray", dedupe_key=key)


async def test_a_repeated_key_is_one_thanks_and_a_retracted_one_comes_back(units: Units) -> None:
    async with units() as uow:
        first = await uow.thanks.add(thanks("r:1"))
        again = await uow.thanks.add(thanks("r:1"))
        elsewhere = await uow.thanks.add(thanks("r:1", workspace=OTHER))  # keys are per workspace
        await uow.commit()
    assert first is not None and again is None and elsewhere is not None
    async with units() as uow:
        gone = await uow.thanks.retract(WS, "r:1", T0 + timedelta(minutes=1))
        twice = await uow.thanks.retract(WS, "r:1", T0 + timedelta(minutes=2))
        unknown = await uow.thanks.retract(WS, "r:404", T0)
        await uow.commit()
    assert gone is not None and gone.retracted_at is not None and twice is None and unknown is None
    async with units() as uow:
        back = await uow.thanks.add(thanks("r:1"))
        await uow.commit()
        stored = await uow.thanks.export(WS)
    assert back is not None and back.id == first.id and back.retracted_at is None
    assert [(t.id, t.retracted_at) for t in stored] == [(first.id, None)]


async def test_thanks_without_a_key_are_each_their_own(units: Units) -> None:
    async with units() as uow:
        made = [await uow.thanks.add(thanks(None)) for _ in range(2)]
        await uow.commit()
        assert len(await uow.thanks.export(WS)) == 2
    assert all(t is not None for t in made)


async def test_many_at_once_skip_the_keys_already_there(units: Units) -> None:
    async with units() as uow:
        await uow.thanks.add(thanks("r:1"))
        await uow.commit()
    async with units() as uow:
        added = await uow.thanks.add_many([thanks("r:1"), thanks("r:2"), thanks("r:3")])
        await uow.commit()
    assert added == [False, True, True]


async def test_counted_thanks_leave_out_the_retracted_and_the_older(units: Units) -> None:
    async with units() as uow:
        await uow.thanks.add(thanks("r:1", at=T0 - timedelta(days=1)))
        await uow.thanks.add(thanks("r:2"))
        await uow.thanks.add(thanks("r:3"))
        await uow.thanks.add(thanks("r:4", giver="U9"))
        await uow.commit()
    async with units() as uow:
        await uow.thanks.retract(WS, "r:3", T0)
        await uow.commit()
        assert await uow.thanks.count_given_since(WS, "U1", T0 - timedelta(hours=1)) == 1


def ask(text: str, key: str | None = None, asker: str = "U1") -> NewAsk:
    return NewAsk(workspace=WS, channel_id="C1", asker_id=asker, text=text, tried=None,
                  anonymous=False, created_at=T0, request_key=key)


async def test_a_thanks_is_linked_to_one_ask_once(units: Units) -> None:
    async with units() as uow:
        one, two = await uow.asks.add(ask("one")), await uow.asks.add(ask("two"))
        await uow.thanks.add(thanks("r:1"))
        await uow.commit()
    async with units() as uow:
        first = await uow.thanks.link_to_ask(WS, "r:1", one.id)
        second = await uow.thanks.link_to_ask(WS, "r:1", two.id)
        missing = await uow.thanks.link_to_ask(WS, "r:404", one.id)
        await uow.commit()
        [stored] = await uow.thanks.export(WS)
    assert (first, second, missing, stored.ask_id) == (True, False, False, one.id)
    async with units() as uow:
        await uow.thanks.add(thanks("r:2"))
        with pytest.raises(StorageError):  # no such ask: the database's foreign key refuses it
            await uow.thanks.link_to_ask(WS, "r:2", one.id + 1000)


async def test_an_ask_is_found_by_the_delivery_that_made_it(units: Units) -> None:
    async with units() as uow:
        made = await uow.asks.add(ask("Where is the VPN config?", key="slack:T1:d1"))
        await uow.commit()
    async with units() as uow:
        found = await uow.asks.by_request(WS, "slack:T1:d1")
        other = await uow.asks.by_request(WS, "slack:T1:d2")
        await uow.asks.set_message(made.id, MessageRef("C1", "9.9"))
        await uow.commit()
        by_card = await uow.asks.find_by_message(WS, MessageRef("C1", "9.9"))
    assert found is not None and found.id == made.id and other is None
    assert by_card is not None and by_card.id == made.id


async def test_an_uncommitted_unit_of_work_leaves_nothing(units: Units) -> None:
    async with units() as uow:
        await uow.thanks.add(thanks("r:1"))
    async with units() as uow:
        assert await uow.thanks.export(WS) == []


async def test_the_inbox_stores_a_delivery_key_once(units: Units) -> None:
    def item(key: str) -> NewInboxItem:
        return NewInboxItem(source="slack", key=key, workspace=WS, kind="ask", payload="{}",
                            received_at=T0)

    async with units() as uow:
        first = await uow.inbox.put_many([item("d1"), item("d2")])
        await uow.commit()
    async with units() as uow:
        again = await uow.inbox.put_many([item("d2"), item("d3")])
        await uow.commit()
    assert None not in first and again[0] is None and again[1] is not None
    assert len(set(first) | {again[1]}) == 3


async def test_thanks_are_found_by_their_keys_retracted_too(units: Units) -> None:
    async with units() as uow:
        await uow.thanks.add(thanks("r:1"))
        await uow.thanks.add(thanks("r:2"))
        await uow.thanks.add(thanks("r:1", workspace=OTHER))
        await uow.thanks.retract(WS, "r:2", T0)
        await uow.commit()
    async with units() as uow:
        found = await uow.thanks.with_keys(WS, ["r:1", "r:2", "r:3"])
        assert await uow.thanks.with_keys(WS, []) == {}
    assert sorted(found) == ["r:1", "r:2"]
    assert found["r:1"].retracted_at is None and found["r:2"].retracted_at is not None
    assert {t.workspace for t in found.values()} == {WS}


async def test_an_answer_is_kept_once_per_ask_its_note_changes_and_it_goes_with_its_ask(
        units: Units) -> None:
    async with units() as uow:
        made = await uow.asks.add(ask("Where is the VPN config?", asker="U9"))
        kept = await uow.answers.add(NewAnswer(WS, made.text, T0, note="In the wiki.",
                                               ask_id=made.id, channel_id="C1"))
        imported = await uow.answers.add(NewAnswer(WS, "Who orders laptops?", T0,
                                                   note="IT, by form.", link="https://x/1"))
        await uow.answers.add(NewAnswer(OTHER, "Elsewhere", T0))
        await uow.commit()
    with pytest.raises(StorageError):
        async with units() as uow:
            await uow.answers.add(NewAnswer(WS, made.text, T0, ask_id=made.id))
            await uow.commit()
    async with units() as uow:
        await uow.answers.set_note(kept.id, "In the wiki, under Network.", "U7",
                                   T0 + timedelta(hours=1))
        await uow.commit()
    async with units() as uow:
        found = await uow.answers.for_ask(WS, made.id)
        assert found is not None and found.note == "In the wiki, under Network."
        assert found.updated_at == T0 + timedelta(hours=1) and found.created_at == T0
        assert await uow.answers.for_ask(OTHER, made.id) is None
        assert [a.id for a in await uow.answers.export(WS)] == [kept.id, imported.id]
        assert (await uow.answers.export(WS))[1].link == "https://x/1"
        await uow.asks.forget_asker(WS, "U9", delete=True)
        await uow.commit()
    async with units() as uow:
        assert [a.id for a in await uow.answers.export(WS)] == [imported.id]


async def test_forgetting_a_member_removes_the_notes_they_wrote_but_on_asks_they_kept(
        units: Units) -> None:
    async with units() as uow:
        own = await uow.asks.add(ask("Where is the VPN config?", asker="U9"))
        other = await uow.asks.add(ask("Who owns billing?", asker="U1"))
        kept = await uow.answers.add(NewAnswer(WS, own.text, T0, note="wiki", note_author="U9",
                                               ask_id=own.id))
        theirs = await uow.answers.add(NewAnswer(WS, other.text, T0, note="ask U9",
                                                 note_author="U9", ask_id=other.id))
        await uow.answers.add(NewAnswer(OTHER, "Elsewhere", T0, note="x", note_author="U9"))
        await uow.commit()
    async with units() as uow:
        assert await uow.answers.forget_author(WS, "U9", {own.id}) == 1
        await uow.commit()
    async with units() as uow:
        found = {a.id: a for a in await uow.answers.export(WS)}
        elsewhere = await uow.answers.export(OTHER)
    assert (found[kept.id].note, found[kept.id].note_author) == ("wiki", None)
    assert (found[theirs.id].note, found[theirs.id].note_author) == (None, None)
    assert elsewhere[0].note_author == "U9"  # another workspace's member is another member


async def test_an_answers_vector_is_kept_until_its_note_changes(units: Units) -> None:
    async with units() as uow:
        first = await uow.answers.add(NewAnswer(WS, "Where is the VPN config?", T0, note="wiki"))
        second = await uow.answers.add(NewAnswer(WS, "Who orders laptops?", T0, channel_id="C2",
                                                 private=True))
        await uow.answers.add(NewAnswer(OTHER, "Elsewhere", T0))
        await uow.commit()
    async with units() as uow:
        needing = await uow.answers.needing_vectors("m1", limit=2)
        assert [a.id for a in needing] == [first.id, second.id]
        assert await uow.answers.set_vector(first.id, "m1", b"\x01" * 8, T0, T0 + timedelta(1))
        assert await uow.answers.set_vector(second.id, "m1", b"\x02" * 8, T0, T0 + timedelta(2))
        # made from an older text: refused
        assert not await uow.answers.set_vector(second.id, "m1", b"\x03", T0 - timedelta(1), T0)
        assert not await uow.answers.set_vector(10_000, "m1", b"\x03", T0, T0)
        await uow.commit()
    async with units() as uow:
        assert [a.question for a in await uow.answers.needing_vectors("m1", 10)] == ["Elsewhere"]
        assert len(await uow.answers.needing_vectors("m2", 10)) == 3  # another model's are not
        await uow.workspaces.save_settings(OTHER, Settings(suggestions=SuggestionMode.OFF))
        assert await uow.answers.needing_vectors("m1", 10) == []  # its suggestions are off
        found = await uow.answers.vectors(WS, "m1")
        assert [(v.answer_id, v.vector, v.made_at, v.channel_id, v.private) for v in found] == [
            (first.id, b"\x01" * 8, T0 + timedelta(1), None, False),
            (second.id, b"\x02" * 8, T0 + timedelta(2), "C2", True)]
        assert [v.answer_id for v in await uow.answers.vectors(WS, "m1", T0 + timedelta(1))] == [
            second.id]
        assert await uow.answers.vectors(WS, "m1", T0 + timedelta(2)) == []
        assert await uow.answers.vectors(WS, "m2") == []
        assert [v.answer_id for v in await uow.answers.vectors(WS, "m1", limit=1)] == [first.id]
        assert [v.answer_id for v in await uow.answers.vectors(WS, "m1", from_id=first.id)] == [
            second.id]
        assert await uow.answers.vector_state(WS, "m1") == (2, T0 + timedelta(2))
        assert await uow.answers.vector_state(OTHER, "m1") == (0, None)
        await uow.answers.set_note(first.id, "the wiki, Network page", "U1", T0 + timedelta(3))
        await uow.commit()
    async with units() as uow:
        assert [v.answer_id for v in await uow.answers.vectors(WS, "m1")] == [second.id]
        assert [a.note for a in await uow.answers.get_many(WS, [second.id, 999, first.id])] == [
            None, "the wiki, Network page"]
        assert await uow.answers.get_many(OTHER, [first.id]) == []


async def test_forgetting_a_members_note_forgets_its_vector(units: Units) -> None:
    async with units() as uow:
        mine = await uow.answers.add(NewAnswer(WS, "VPN?", T0, note="ask U9", note_author="U9"))
        await uow.answers.set_vector(mine.id, "m1", b"\x01", T0, T0)
        await uow.answers.forget_author(WS, "U9", ())
        await uow.commit()
    async with units() as uow:
        assert await uow.answers.vectors(WS, "m1") == []


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_full_text_search_finds_shared_words_within_what_the_asker_may_see(
        units: Units) -> None:
    async with units() as uow:
        vpn = await uow.answers.add(NewAnswer(WS, "The VPN keeps disconnecting", T0,
                                              note="Update the client to 5.2"))
        laptops = await uow.answers.add(NewAnswer(WS, "Who orders laptops?", T0,
                                                  note="IT, by the laptop form"))
        secret = await uow.answers.add(NewAnswer(WS, "VPN for the board room", T0,
                                                 channel_id="C9", private=True))
        await uow.answers.add(NewAnswer(OTHER, "VPN disconnects", T0))
        await uow.commit()
    async with units() as uow:
        search = uow.answers.keyword_search
        # English stemming: "disconnects" finds "disconnecting", "laptop" finds "laptops"
        assert await search(WS, "vpn disconnects all the time", "C1", 10) == [vpn.id]
        assert await search(WS, "new laptop please", None, 10) == [laptops.id]
        assert set(await search(WS, "VPN", "C9", 10)) == {vpn.id, secret.id}
        assert await search(WS, "VPN", "C9", 1) in ([vpn.id], [secret.id])
        # what a member types is never query syntax
        for hostile in ['"', "VPN OR", "NEAR(vpn", "vpn* -x ^y", "a:b", "'); drop table answers",
                        "!!! ???", "", "💥"]:
            assert set(await search(WS, hostile, "C1", 10)) <= {vpn.id}
        assert await search(WS, "printer", "C1", 10) == []
        await uow.answers.set_note(laptops.id, "Ask the helpdesk", None, T0 + timedelta(1))
        await uow.commit()
    async with units() as uow:
        assert await uow.answers.keyword_search(WS, "helpdesk", None, 10) == [laptops.id]
        assert await uow.answers.keyword_search(WS, "form", None, 10) == []


async def test_suggestions_are_recorded_once_and_decided_once(units: Units) -> None:
    async with units() as uow:
        old = await uow.asks.add(ask("VPN drops?", asker="U1"))
        new = await uow.asks.add(ask("vpn keeps disconnecting", asker="U2"))
        kept = await uow.answers.add(NewAnswer(WS, old.text, T0, note="update", ask_id=old.id))
        other = await uow.answers.add(NewAnswer(WS, "Printer?", T0, note="restart"))
        await uow.answers.suggest(WS, new.id, [(kept.id, 0.8), (other.id, 0.4)], T0)
        await uow.answers.suggest(WS, new.id, [(kept.id, 0.9)], T0 + timedelta(1))  # no-op
        await uow.commit()
    async with units() as uow:
        found = await uow.answers.suggestion(WS, new.id, kept.id)
        assert found is not None and (found.chance, found.shown_at, found.outcome) == (0.8, T0, None)
        assert await uow.answers.suggestion(OTHER, new.id, kept.id) is None
        assert await uow.answers.suggestion(WS, new.id, 999) is None
        later = T0 + timedelta(hours=1)
        assert await uow.answers.decide(WS, new.id, kept.id, SuggestionOutcome.SOLVED, later)
        assert not await uow.answers.decide(WS, new.id, kept.id, SuggestionOutcome.NOT_IT, later)
        assert await uow.answers.decide(WS, new.id, other.id, SuggestionOutcome.NOT_IT, later)
        assert not await uow.answers.decide(OTHER, new.id, other.id, SuggestionOutcome.NOT_IT, later)
        reused = await uow.answers.add(NewAnswer(WS, new.text, later, note="update", ask_id=new.id,
                                                 same_as=kept.id))
        await uow.commit()
    async with units() as uow:
        shown = await uow.answers.shown_since(WS, T0)
        assert [(s.ask_id, s.answer_id, s.outcome, s.decided_at) for s in shown] == [
            (new.id, kept.id, SuggestionOutcome.SOLVED, T0 + timedelta(hours=1)),
            (new.id, other.id, SuggestionOutcome.NOT_IT, T0 + timedelta(hours=1))]
        assert await uow.answers.shown_since(WS, T0 + timedelta(hours=2)) == []
        assert await uow.answers.shown_since(OTHER, T0) == []
        assert (await uow.answers.get_many(WS, [reused.id]))[0].same_as == kept.id
        await uow.asks.forget_asker(WS, "U1", delete=True)  # the old ask and its answer go
        await uow.commit()
    async with units() as uow:
        assert await uow.answers.suggestion(WS, new.id, kept.id) is None
        assert [s.answer_id for s in await uow.answers.shown_since(WS, T0)] == [other.id]
        assert (await uow.answers.get_many(WS, [reused.id]))[0].same_as is None

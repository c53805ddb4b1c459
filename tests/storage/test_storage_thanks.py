"""SqlThanksRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import MessageRef, Platform, Thanks, ThanksSource, WorkspaceRef
from storage import SqlStore
from tests.storage.storage_testing import (
    OTHER_WORKSPACE,
    T0,
    WORKSPACE,
    command_thanks,
    minutes,
    new_ask,
    reaction,
    reaction_key,
)


async def _all(store: SqlStore) -> list[Thanks]:
    async with store.unit_of_work() as uow:
        return await uow.thanks.export(WORKSPACE)


async def test_add_stores_every_field(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        added = await uow.thanks.add(
            dataclasses.replace(reaction(ask_id=ask.id), reason="for the pairing session")
        )
        await uow.commit()

    assert added == Thanks(
        id=added.id if added else 0,
        workspace=WORKSPACE,
        giver_id="U-giver",
        receiver_id="U-receiver",
        source=ThanksSource.REACTION,
        created_at=T0,
        reason="for the pairing session",
        message=MessageRef("C-team", "1700000000.000100"),
        emoji="pray",
        ask_id=ask.id,
        retracted_at=None,
        channel_id="C-team",
    )
    assert await _all(store) == [added]


async def test_the_channel_is_the_messages_or_else_the_given_one(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        on_message = await uow.thanks.add(reaction(channel_id="C-design"))
        by_command = await uow.thanks.add(command_thanks(channel_id="C-ops"))
        nowhere = await uow.thanks.add(command_thanks())
        # A message decides: a channel given besides it is not stored.
        both = await uow.thanks.add(
            dataclasses.replace(reaction(emoji="tada", channel_id="C-design"), channel_id="C-other")
        )
        await uow.commit()

    assert on_message is not None and by_command is not None and nowhere is not None and both is not None
    assert (on_message.channel_id, on_message.message) == (
        "C-design",
        MessageRef("C-design", "1700000000.000100"),
    )
    assert (by_command.channel_id, by_command.message) == ("C-ops", None)
    assert (nowhere.channel_id, nowhere.message) == (None, None)
    assert both.channel_id == "C-design"
    assert await _all(store) == [on_message, by_command, nowhere, both]


async def test_the_same_reaction_twice_is_one_thanks(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.thanks.add(reaction())
        again = await uow.thanks.add(reaction(at=T0 + minutes(1)))
        await uow.commit()
    async with store.unit_of_work() as uow:
        redelivered = await uow.thanks.add(reaction(at=T0 + minutes(2)))
        await uow.commit()

    assert first is not None
    assert again is None and redelivered is None
    assert await _all(store) == [first]


async def test_keys_are_per_workspace(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        assert await uow.thanks.add(reaction()) is not None
        assert await uow.thanks.add(reaction(workspace=OTHER_WORKSPACE)) is not None
        assert await uow.thanks.add(reaction(emoji="raised_hands")) is not None
        assert await uow.thanks.add(reaction(giver_id="U-someone-else")) is not None
        await uow.commit()
    assert len(await _all(store)) == 3


async def test_thanks_without_key_always_count(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.thanks.add(command_thanks())
        second = await uow.thanks.add(command_thanks())
        await uow.commit()
    assert first is not None and second is not None and first.id != second.id
    assert len(await _all(store)) == 2


async def test_retract_then_add_again_revives_the_same_thanks(store: SqlStore) -> None:
    key = reaction_key("U-giver")
    async with store.unit_of_work() as uow:
        first = await uow.thanks.add(reaction())
        retracted = await uow.thanks.retract(WORKSPACE, key, T0 + minutes(5))
        await uow.commit()
    assert first is not None and retracted is not None
    assert retracted == dataclasses.replace(first, retracted_at=T0 + minutes(5))
    assert await _all(store) == [retracted]

    async with store.unit_of_work() as uow:
        revived = await uow.thanks.add(reaction(at=T0 + minutes(10)))
        duplicate = await uow.thanks.add(reaction(at=T0 + minutes(11)))
        await uow.commit()
    # Documented choice: the revived thanks keeps its id and original created_at.
    assert revived == first
    assert duplicate is None
    assert await _all(store) == [first]


async def test_retract_only_an_active_thanks(store: SqlStore) -> None:
    key = reaction_key("U-giver")
    async with store.unit_of_work() as uow:
        assert await uow.thanks.retract(WORKSPACE, key, T0) is None
        await uow.thanks.add(reaction())
        assert await uow.thanks.retract(OTHER_WORKSPACE, key, T0) is None
        assert await uow.thanks.retract(WORKSPACE, key, T0 + minutes(1)) is not None
        assert await uow.thanks.retract(WORKSPACE, key, T0 + minutes(2)) is None
        await uow.commit()
    [stored] = await _all(store)
    assert stored.retracted_at == T0 + minutes(1)


async def test_count_given_since_counts_active_thanks(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.thanks.add(command_thanks(at=T0 - minutes(60 * 25)))  # yesterday
        await uow.thanks.add(command_thanks(at=T0 - minutes(60)))
        await uow.thanks.add(command_thanks(at=T0))
        await uow.thanks.add(reaction(at=T0))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-giver"), T0 + minutes(1))
        await uow.thanks.add(command_thanks("U-other", at=T0))
        await uow.thanks.add(command_thanks(at=T0, workspace=OTHER_WORKSPACE))

        since = T0 - minutes(60 * 24)
        assert await uow.thanks.count_given_since(WORKSPACE, "U-giver", since) == 2
        assert await uow.thanks.count_given_since(WORKSPACE, "U-giver", T0) == 1
        assert await uow.thanks.count_given_since(WORKSPACE, "U-receiver", since) == 0


async def test_forget_member_deletes_given_and_received(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.thanks.add(command_thanks("U-leaving", "U-a"))
        await uow.thanks.add(command_thanks("U-b", "U-leaving"))
        await uow.thanks.add(reaction("U-leaving", "U-c"))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-leaving"), T0)
        kept = await uow.thanks.add(command_thanks("U-a", "U-b"))
        elsewhere = await uow.thanks.add(command_thanks("U-leaving", "U-a", workspace=OTHER_WORKSPACE))
        assert await uow.thanks.forget_member(WORKSPACE, "U-leaving") == 3
        await uow.commit()

    assert await _all(store) == [kept]
    async with store.unit_of_work() as uow:
        assert await uow.thanks.export(OTHER_WORKSPACE) == [elsewhere]


async def test_export_includes_retracted_thanks_in_order(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        first = await uow.thanks.add(reaction())
        second = await uow.thanks.add(command_thanks())
        await uow.thanks.retract(WORKSPACE, reaction_key("U-giver"), T0 + minutes(1))
        await uow.commit()
    exported = await _all(store)
    assert first is not None and second is not None
    assert [t.id for t in exported] == [first.id, second.id]
    assert exported[0].retracted_at == T0 + minutes(1)


REACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove"]), st.sampled_from(["U-a", "U-b"]), st.sampled_from(["pray", "tada"])
    ),
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=REACTIONS)
async def test_any_sequence_of_reactions_counts_like_the_model(
    store: SqlStore, events: list[tuple[str, str, str]]
) -> None:
    """Added and removed reactions, in any order and repeated: one thanks per key, active
    exactly when the last event for its key was an add."""
    workspace = WorkspaceRef(Platform.SLACK, f"T-{uuid.uuid4().hex}")  # examples share the store
    active: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for step, (event, giver, emoji) in enumerate(events):
        at = T0 + minutes(step)
        async with store.unit_of_work() as uow:
            if event == "add":
                result = await uow.thanks.add(reaction(giver, emoji=emoji, at=at, workspace=workspace))
                assert (result is not None) == ((giver, emoji) not in active)
                active.add((giver, emoji))
                seen.add((giver, emoji))
            else:
                retracted = await uow.thanks.retract(workspace, reaction_key(giver, emoji=emoji), at)
                assert (retracted is not None) == ((giver, emoji) in active)
                active.discard((giver, emoji))
            await uow.commit()

    async with store.unit_of_work() as uow:
        stored = await uow.thanks.export(workspace)
        assert {(t.giver_id, t.emoji) for t in stored} == seen
        assert len(stored) == len(seen)
        assert {(t.giver_id, t.emoji) for t in stored if t.retracted_at is None} == active
        week = await uow.stats.member_stats(workspace, "U-receiver", T0)
        assert week.thanks_received == len(active)


async def test_add_many_is_add_for_each_in_a_few_statements(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        active = await uow.thanks.add(reaction("U-active"))
        retracted = await uow.thanks.add(reaction("U-gone"))
        await uow.thanks.retract(WORKSPACE, reaction_key("U-gone"), T0 + minutes(1))
        await uow.thanks.add(reaction("U-elsewhere", workspace=OTHER_WORKSPACE))
        await uow.commit()
    batch = [reaction("U-new"), reaction("U-active"), reaction("U-gone"), reaction("U-elsewhere"),
             reaction("U-new", emoji="raised_hands")]
    async with store.unit_of_work() as uow:
        results = await uow.thanks.add_many(batch)
        await uow.commit()
    # U-active: already active, not recorded twice; the others new, or revived.
    assert results == [True, False, True, True, True]
    stored = {(t.giver_id, t.emoji): t for t in await _all(store)}
    assert len(stored) == 5 and all(t.retracted_at is None for t in stored.values())
    revived = stored["U-gone", "pray"]  # the same thanks again: its id and day kept
    assert retracted is not None and active is not None
    assert (revived.id, revived.created_at) == (retracted.id, retracted.created_at)
    assert stored["U-new", "raised_hands"].emoji == "raised_hands"
    async with store.unit_of_work() as uow:
        assert await uow.thanks.add_many(batch) == [False] * 5
        assert await uow.thanks.add_many([]) == []


async def test_add_many_refuses_a_mixed_batch(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        for batch in ([reaction(), reaction()],
                      [reaction(), reaction("U-2", workspace=OTHER_WORKSPACE)],
                      [command_thanks()]):
            try:
                await uow.thanks.add_many(batch)
            except ValueError:
                continue
            raise AssertionError(f"accepted {batch}")


async def test_by_messages_finds_the_asks_of_many_cards_at_once(store: SqlStore) -> None:
    cards = [MessageRef("C-help", f"17000000{n:02d}.000100") for n in range(3)]
    async with store.unit_of_work() as uow:
        asks = [await uow.asks.add(new_ask(f"U-{n}")) for n in range(3)]
        for ask, card in zip(asks, cards, strict=True):
            await uow.asks.set_message(ask.id, card)
        elsewhere = await uow.asks.add(new_ask(workspace=OTHER_WORKSPACE))
        await uow.asks.set_message(elsewhere.id, MessageRef("C-help", "1800000000.000100"))
        await uow.commit()
    async with store.unit_of_work() as uow:
        found = await uow.asks.by_messages(WORKSPACE, [*cards[:2], MessageRef("C-x", cards[2].message_id),
                                                      MessageRef("C-help", "1800000000.000100")])
        assert await uow.asks.by_messages(WORKSPACE, []) == {}
        assert await uow.asks.has_cards_in_channel(WORKSPACE, "C-help")
        assert not await uow.asks.has_cards_in_channel(WORKSPACE, "C-x")
        assert not await uow.asks.has_cards_in_channel(OTHER_WORKSPACE, "C-other")
    assert {ref: ask.id for ref, ask in found.items()} == {cards[0]: asks[0].id, cards[1]: asks[1].id}


async def test_link_to_ask_links_once(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        ask = await uow.asks.add(new_ask())
        await uow.thanks.add(reaction())
        assert await uow.thanks.link_to_ask(WORKSPACE, reaction_key("U-giver"), ask.id)
        assert not await uow.thanks.link_to_ask(WORKSPACE, reaction_key("U-giver"), ask.id)
        assert not await uow.thanks.link_to_ask(OTHER_WORKSPACE, reaction_key("U-giver"), ask.id)
        await uow.commit()
    [stored] = await _all(store)
    assert stored.ask_id == ask.id

"""The inbox in SQL: stored once per delivery, claimed under leases, fair between workspaces,
and one claimer per item when several processes claim at once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta

from bot import outbox
from bot.domain import InboxItem, NewInboxItem, WorkspaceRef
from bot.messages import line
from storage import SqlStore
from tests.storage.storage_testing import (
    OTHER_WORKSPACE,
    T0,
    WORKSPACE,
    minutes,
    new_ask,
    selects_sent,
)

SOURCES = ["slack"]


def item(key: str, workspace: WorkspaceRef = WORKSPACE, source: str = "slack") -> NewInboxItem:
    return NewInboxItem(source=source, key=key, workspace=workspace, kind="ask",
                        payload='{"text": "how?"}', received_at=T0)


async def put(store: SqlStore, *items: NewInboxItem) -> list[bool]:
    return [item_id is not None for item_id in await put_ids(store, *items)]


async def put_ids(store: SqlStore, *items: NewInboxItem) -> list[int | None]:
    async with store.unit_of_work() as uow:
        stored = await uow.inbox.put_many(items)
        await uow.commit()
    return stored


async def claim(store: SqlStore, limit: int = 10, owner: str = "me", now_minutes: float = 0,
                lease_minutes: float = 1) -> list[InboxItem]:
    async with store.unit_of_work() as uow:
        got = await uow.inbox.claim(SOURCES, owner, T0 + minutes(now_minutes),
                                    T0 + minutes(now_minutes + lease_minutes), limit)
        await uow.commit()
    return got


async def test_a_delivery_is_stored_once_and_claimed_once(store: SqlStore) -> None:
    assert await put(store, item("d1"), item("d1"), item("d2")) == [True, False, True]
    first = await claim(store)
    assert [(i.key, i.attempts, i.kind, i.payload) for i in first] == [
        ("d1", 1, "ask", '{"text": "how?"}'), ("d2", 1, "ask", '{"text": "how?"}')]
    assert first[0].workspace == WORKSPACE and first[0].received_at == T0
    assert await claim(store) == []  # leased


async def test_other_sources_are_left_alone(store: SqlStore) -> None:
    await put(store, item("d1", source="discord"))
    assert await claim(store) == []
    async with store.unit_of_work() as uow:
        assert await uow.inbox.waiting(["discord"]) == 1
        assert await uow.inbox.waiting(SOURCES) == 0


async def test_a_lease_that_ran_out_is_taken_over_by_another_owner(store: SqlStore) -> None:
    await put(store, item("d1"))
    [mine] = await claim(store, owner="dead")
    assert await claim(store, owner="alive", now_minutes=0.5) == []
    [taken] = await claim(store, owner="alive", now_minutes=1)
    assert taken.id == mine.id and taken.attempts == 2


async def test_a_renewed_lease_keeps_the_item(store: SqlStore) -> None:
    await put(store, item("d1"))
    [mine] = await claim(store, owner="me")
    async with store.unit_of_work() as uow:
        await uow.inbox.renew([mine.id], "someone else", T0 + minutes(10))  # not theirs
        await uow.commit()
    assert len(await claim(store, owner="other", now_minutes=1)) == 1
    [again] = await claim(store, owner="me", now_minutes=3)
    async with store.unit_of_work() as uow:
        await uow.inbox.renew([again.id], "me", T0 + minutes(10))
        await uow.commit()
    assert await claim(store, owner="other", now_minutes=9) == []


async def test_done_items_are_never_claimed_and_keep_their_key_until_pruned(
        store: SqlStore) -> None:
    await put(store, item("d1"), item("d2"))
    one, two = await claim(store)
    async with store.unit_of_work() as uow:
        await uow.inbox.complete([one.id], T0)
        await uow.inbox.give_up(two.id, T0 + minutes(1), "ValueError: " + "x" * 500)
        await uow.commit()
    assert await claim(store, now_minutes=60) == []
    assert await put(store, item("d1")) == [False]
    async with store.unit_of_work() as uow:
        assert await uow.inbox.waiting(SOURCES) == 0
        assert await uow.inbox.prune(T0 + minutes(0.5)) == 1
        await uow.commit()
    assert await put(store, item("d1"), item("d2")) == [True, False]


async def test_a_retried_item_waits_until_its_time(store: SqlStore) -> None:
    await put(store, item("d1"))
    [mine] = await claim(store)
    async with store.unit_of_work() as uow:
        await uow.inbox.retry(mine.id, T0 + minutes(5), "ChatError: ratelimited")
        await uow.commit()
    assert await claim(store, now_minutes=4) == []
    [again] = await claim(store, now_minutes=5)
    assert again.attempts == 2


async def test_one_flooding_workspace_does_not_hold_up_another(store: SqlStore) -> None:
    quiet = WorkspaceRef(WORKSPACE.platform, "T-quiet")
    await put(store, *(item(f"flood{n}") for n in range(50)))
    await put(store, item("q1", quiet), item("o1", OTHER_WORKSPACE))
    got = await claim(store, limit=3)
    assert [i.key for i in got] == ["flood0", "q1", "o1"]
    got = await claim(store, limit=4)
    assert [i.key for i in got] == ["flood1", "flood2", "flood3", "flood4"]


async def test_two_processes_claiming_at_once_never_share_an_item(
        store: SqlStore, other_store: SqlStore) -> None:
    await put(store, *(item(f"d{n}", WorkspaceRef(WORKSPACE.platform, f"T{n % 3}"))
                       for n in range(60)))
    seen: list[int] = []

    async def drain(s: SqlStore, owner: str) -> None:
        while got := await claim(s, limit=4, owner=owner):
            seen.extend(i.id for i in got)
            await asyncio.sleep(0)

    await asyncio.gather(drain(store, "a"), drain(other_store, "b"), drain(store, "c"))
    assert len(seen) == 60 and len(set(seen)) == 60


async def test_an_ask_is_found_by_the_delivery_that_made_it(store: SqlStore) -> None:
    async with store.unit_of_work() as uow:
        made = await uow.asks.add(dataclasses.replace(new_ask(), request_key="slack:T:ask:trig.1"))
        await uow.asks.add(new_ask())
        await uow.asks.add(new_ask())  # asks without a key do not collide
        await uow.commit()
    async with store.unit_of_work() as uow:
        found = await uow.asks.by_request(WORKSPACE, "slack:T:ask:trig.1")
        assert found is not None and found.id == made.id
        assert await uow.asks.by_request(WORKSPACE, "slack:T:ask:trig.2") is None
        assert await uow.asks.by_request(OTHER_WORKSPACE, "slack:T:ask:trig.1") is None


async def test_many_deliveries_are_stored_in_one_statement_each_key_once(store: SqlStore) -> None:
    await put(store, item("old"))
    async with store.unit_of_work() as uow:
        stored = await uow.inbox.put_many([item("a"), item("old"), item("b"), item("a")])
        await uow.commit()
        assert await uow.inbox.put_many([]) == []
    assert [i is not None for i in stored] == [True, False, True, False]
    assert sorted(i.key for i in await claim(store)) == ["a", "b", "old"]


# --- what the outbox adds: items taken at birth, held back, gathered -------------------------


async def test_stored_ids_come_back_in_order_and_none_for_a_key_stored_before(
        store: SqlStore) -> None:
    first = await put_ids(store, item("a"), item("b"))
    again = await put_ids(store, item("c"), item("a"), item("c"))
    assert first[0] is not None and first[1] is not None and first[0] < first[1]
    assert again[0] is not None and again[1:] == [None, None]
    assert sorted(i.id for i in await claim(store)) == sorted([*first, again[0]])


async def test_an_item_stored_as_taken_is_its_owners_until_its_lease_ends(store: SqlStore) -> None:
    mine = dataclasses.replace(item("d1"), owner="me", not_before=T0 + minutes(1))
    await put(store, mine, item("d2"))
    assert [i.key for i in await claim(store, owner="other")] == ["d2"]
    assert await claim(store, owner="other", now_minutes=0.5) == []


async def test_an_item_stored_as_taken_goes_to_others_when_its_owner_dies(store: SqlStore) -> None:
    await put(store, dataclasses.replace(item("d1"), owner="dead", not_before=T0 + minutes(1)))
    [taken] = await claim(store, owner="alive", now_minutes=1)
    assert taken.key == "d1" and taken.attempts == 2  # its owner's was the first


async def test_a_postponed_item_waits_and_is_not_counted_as_an_attempt(store: SqlStore) -> None:
    await put(store, item("d1"))
    [first] = await claim(store)
    async with store.unit_of_work() as uow:
        await uow.inbox.postpone(first.id, T0 + minutes(5))
        assert await uow.inbox.waiting(SOURCES, due_by=T0 + minutes(1)) == 0
        assert await uow.inbox.waiting(SOURCES) == 1
        await uow.commit()
    assert await claim(store, now_minutes=4) == []
    [again] = await claim(store, now_minutes=5)
    assert again.attempts == 1


async def test_payloads_of_several_waiting_items_change_in_one_statement(
        store: SqlStore) -> None:
    groups = [dataclasses.replace(item(f"g{n}"), group=f"note:U{n}",
                                  not_before=T0 + minutes(n)) for n in (1, 2, 3)]
    await put(store, *groups)
    [taken] = await claim(store, limit=1, now_minutes=1)  # g1, due first
    async with store.unit_of_work() as uow:
        waiting = await uow.inbox.waiting_in_groups(["note:U2", "note:U3"])
        ids = {group: found.id for group, found in waiting.items()}
        read = '{"text": "how?"}'
        changed = await uow.inbox.replace_payloads({
            taken.id: (read, '{"lines": 9}'), ids["note:U2"]: (read, '{"lines": 2}'),
            ids["note:U3"]: (read, '{"lines": 3}')})
        assert changed == {ids["note:U2"], ids["note:U3"]}
        await uow.commit()
    found = {i.key: i.payload for i in await claim(store, now_minutes=5)}  # g1's lease ran out
    assert found == {"g1": '{"text": "how?"}', "g2": '{"lines": 2}', "g3": '{"lines": 3}'}


async def test_a_group_gathers_into_its_waiting_item_until_a_worker_takes_it(
        store: SqlStore) -> None:
    note = dataclasses.replace(item("n1"), group="note:U1", not_before=T0 + minutes(1))
    await put(store, note, dataclasses.replace(item("n2"), group="note:U2"))
    async with store.unit_of_work() as uow:
        [waiting] = (await uow.inbox.waiting_in_groups(["note:U1", "note:U9"])).values()
        assert waiting.key == "n1" and waiting.group == "note:U1"
        assert await uow.inbox.pending_in_groups(["note:U1", "note:U2", "note:U9"]) == {
            "note:U1", "note:U2"}
        assert await uow.inbox.replace_payloads(
            {waiting.id: (waiting.payload, '{"lines": 2}')}) == {waiting.id}
        await uow.commit()
    [taken] = await claim(store, limit=1, now_minutes=1)
    assert taken.key == "n1" and taken.payload == '{"lines": 2}'
    async with store.unit_of_work() as uow:
        assert await uow.inbox.waiting_in_groups(["note:U1"]) == {}  # taken: not changed
        assert await uow.inbox.pending_in_groups(["note:U1"]) == {"note:U1"}  # but not done
        assert await uow.inbox.replace_payloads(
            {taken.id: ('{"lines": 2}', '{"lines": 3}')}) == set()
        assert await uow.inbox.last_done_in_groups(["note:U1"], T0) == {}
        await uow.inbox.complete([taken.id], T0 + minutes(2))
        await uow.commit()
    async with store.unit_of_work() as uow:
        assert await uow.inbox.pending_in_groups(["note:U1", "note:U2"]) == {"note:U2"}
        assert await uow.inbox.last_done_in_groups(["note:U1", "note:U2"], T0) == {
            "note:U1": T0 + minutes(2)}
        assert await uow.inbox.last_done_in_groups(["note:U1"], T0 + minutes(3)) == {}


NOTE_U1 = f"note:{WORKSPACE.platform.value}:{WORKSPACE.workspace_id}:U1"


async def gather(on: SqlStore, text: str, hold: asyncio.Event | None = None) -> None:
    """A thanks note to U1 (`hold`: the unit of work waits for it before it commits)."""
    async with on.unit_of_work() as uow:
        await outbox.notes(uow, T0, timedelta(minutes=1), WORKSPACE, [("C1", "U1", line(text))])
        if hold is not None:
            await hold.wait()
        await uow.commit()


async def lines_of_note(store: SqlStore) -> list[str]:
    async with store.unit_of_work() as uow:
        [note] = (await uow.inbox.waiting_in_groups([NOTE_U1])).values()
    return [str(ln) for ln in json.loads(note.payload)["lines"]]


async def test_a_payload_changed_since_it_was_read_is_left_as_it_is(store: SqlStore) -> None:
    await put(store, dataclasses.replace(item("n1"), group="note:U1"))
    async with store.unit_of_work() as uow:
        [read] = (await uow.inbox.waiting_in_groups(["note:U1"])).values()
        assert await uow.inbox.replace_payloads(
            {read.id: (read.payload, '{"lines": 1}')}) == {read.id}
        assert await uow.inbox.replace_payloads(
            {read.id: (read.payload, '{"lines": 9}')}) == set()  # as read: no longer
        await uow.commit()
    [taken] = await claim(store)
    assert taken.payload == '{"lines": 1}'


async def test_a_note_rewritten_here_is_known_here_until_it_changes_elsewhere(
        store: SqlStore, other_store: SqlStore) -> None:
    await put(store, dataclasses.replace(item("n1"), group="note:U1"))
    async with store.unit_of_work() as uow:
        assert await uow.inbox.waiting_in_groups(["note:U1"], recent=True) == {}
        [read] = (await uow.inbox.waiting_in_groups(["note:U1"])).values()
        await uow.inbox.replace_payloads({read.id: (read.payload, '{"lines": 1}')})
        await uow.commit()
    with selects_sent(store, ("SELECT", "UPDATE", "INSERT")) as sent:
        async with store.unit_of_work() as uow:
            kept = await uow.inbox.waiting_in_groups(["note:U1", "note:U2"], recent=True)
    assert sent == []
    assert {group: i.payload for group, i in kept.items()} == {"note:U1": '{"lines": 1}'}
    async with other_store.unit_of_work() as uow:  # another process adds to it
        [read] = (await uow.inbox.waiting_in_groups(["note:U1"])).values()
        await uow.inbox.replace_payloads({read.id: (read.payload, '{"lines": 2}')})
        await uow.commit()
    async with store.unit_of_work() as uow:
        [kept] = (await uow.inbox.waiting_in_groups(["note:U1"], recent=True)).values()
        assert await uow.inbox.replace_payloads({kept.id: (kept.payload, '{"lines": 3}')}) == set()
        assert await uow.inbox.waiting_in_groups(["note:U1"], recent=True) == {}  # forgotten
        [read] = (await uow.inbox.waiting_in_groups(["note:U1"])).values()
        assert read.payload == '{"lines": 2}'


async def test_a_busy_members_note_grows_without_being_read_again(store: SqlStore) -> None:
    """A batch of reactions thanking a member whose note this process wrote last writes it
    on condition that it is unchanged, without reading it first: one round trip fewer on
    the answer's path."""
    await gather(store, "first")
    await gather(store, "second")  # read once, then kept
    with selects_sent(store, ("SELECT", "UPDATE", "INSERT")) as sent:
        await gather(store, "third")
    assert [s.split()[0] for s, _ in sent] == ["UPDATE"], sent
    assert len(await lines_of_note(store)) == 3


async def test_a_note_changed_by_another_replica_is_read_again_and_loses_no_line(
        store: SqlStore, other_store: SqlStore) -> None:
    await gather(store, "first")
    await gather(store, "second")
    await gather(other_store, "third")  # what `store` kept is no longer so
    await gather(store, "fourth")
    said = await lines_of_note(store)
    assert len(said) == 4
    assert all(any(text in s for s in said) for text in ("first", "second", "third", "fourth"))


async def test_two_replicas_remembering_one_members_note_lose_no_line_at_once(
        store: SqlStore, other_store: SqlStore) -> None:
    """Both replicas keep the note as it is, and both add to it at once. The second one's
    conditional write waits for the first to commit (PostgreSQL's lock), finds the note
    changed, and reads it again."""
    for text in ("first", "second", "third", "fourth", "fifth"):
        await gather(store, text)
    async with other_store.unit_of_work() as uow:  # read there too: both keep it as it is
        await uow.inbox.waiting_in_groups([NOTE_U1])
    hold = asyncio.Event()
    one = asyncio.create_task(gather(store, "from one replica", hold))
    await asyncio.sleep(0.2)  # it has rewritten the note, not committed yet
    two = asyncio.create_task(gather(other_store, "from another"))
    await asyncio.sleep(0.5)
    hold.set()
    await asyncio.gather(one, two)
    said = await lines_of_note(store)
    assert len(said) == 7
    assert all(any(text in s for s in said)
               for text in ("first", "fifth", "from one", "from another"))


async def test_two_replicas_gathering_one_members_note_lose_no_line(
        store: SqlStore, other_store: SqlStore) -> None:
    """A thanks note gathering in a waiting item is read and written again by whoever adds
    to it. Two replicas adding at once: the second reads the note once the first has
    committed (on PostgreSQL the read locks the item), so neither's line is lost."""
    window = timedelta(minutes=1)

    async def gather(on: SqlStore, text: str, hold: asyncio.Event | None = None) -> None:
        async with on.unit_of_work() as uow:
            await outbox.notes(uow, T0, window, WORKSPACE, [("C1", "U1", line(text))])
            if hold is not None:
                await hold.wait()
            await uow.commit()

    await gather(store, "first")  # waiting, due at once: the next ones gather into it
    hold = asyncio.Event()
    first = asyncio.create_task(gather(store, "from one replica", hold))
    await asyncio.sleep(0.2)  # it has read and rewritten the note, not committed yet
    second = asyncio.create_task(gather(other_store, "from another"))
    await asyncio.sleep(0.5)  # the other replica reads meanwhile, or waits to
    hold.set()
    await asyncio.gather(first, second)
    async with store.unit_of_work() as uow:
        waiting = await uow.inbox.waiting_in_groups(
            [f"note:{WORKSPACE.platform.value}:{WORKSPACE.workspace_id}:U1"])
    [note] = waiting.values()
    said = [str(ln) for ln in json.loads(note.payload)["lines"]]
    assert len(said) == 3
    assert all(any(text in s for s in said) for text in ("first", "from one", "from another"))

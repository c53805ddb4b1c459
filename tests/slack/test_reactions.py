"""Thanks reactions: add, remove, retries, yourself, bots, skin tones, database outages."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import event

from bot.domain import Thanks, ThanksSource
from tests.slack.fake_slack import BOT_USER, FakeSlack
from tests.slack.slack_testing import ALICE, BOB, CAROL, CHANNEL, WS, Harness, database_down, dm, payload


def reaction(kind: str = "added", reactor: str = ALICE, author: str = BOB,
             emoji: str = "pray", ts: str = "1700000100.000200", event_id: str = "Ev1") -> dict:
    body = payload(f"event_reaction_{kind}")
    body["event"].update(user=reactor, item_user=author, reaction=emoji)
    body["event"]["item"]["ts"] = ts
    body["event_id"] = event_id
    return body


async def thanks_rows(slack: Harness) -> list[Thanks]:
    async with slack.runtime.store.unit_of_work() as uow:
        return await uow.thanks.export(WS)


async def test_a_pray_reaction_thanks_the_author_once_however_often_slack_delivers(
        slack: Harness, fake: FakeSlack) -> None:
    first = await slack.event(reaction())
    retry = await slack.event(reaction(), retry=1)
    replay = await slack.event(reaction(event_id="Ev1-replayed"))
    assert [first.status, retry.status, replay.status] == [200, 200, 200]
    [thanks] = await thanks_rows(slack)
    assert (thanks.giver_id, thanks.receiver_id, thanks.source, thanks.emoji) == (
        ALICE, BOB, ThanksSource.REACTION, "pray")
    assert thanks.message is not None and thanks.message.message_id == "1700000100.000200"
    assert len([c for c in fake.posts() if c.args["channel"] == dm(BOB)]) == 1


async def test_removing_the_reaction_retracts_and_adding_it_again_restores(
        slack: Harness) -> None:
    await slack.event(reaction())
    await slack.event(reaction("removed", event_id="Ev2"))
    [thanks] = await thanks_rows(slack)
    assert thanks.retracted_at is not None
    await slack.event(reaction(event_id="Ev3"))
    [thanks] = await thanks_rows(slack)
    assert thanks.retracted_at is None


async def test_skin_tone_variants_count_as_the_base_emoji(slack: Harness) -> None:
    await slack.event(reaction(emoji="pray::skin-tone-3"))
    await slack.event(reaction(emoji="raised_hands::skin-tone-5", event_id="Ev2"))
    assert sorted(t.emoji or "" for t in await thanks_rows(slack)) == ["pray", "raised_hands"]
    await slack.event(reaction("removed", emoji="pray::skin-tone-3", event_id="Ev3"))
    retracted = {t.emoji: t.retracted_at is not None for t in await thanks_rows(slack)}
    assert retracted == {"pray": True, "raised_hands": False}


async def test_yourself_bots_and_other_emoji_are_ignored_without_lookups(
        slack: Harness, fake: FakeSlack) -> None:
    replies = [await slack.event(reaction(reactor=ALICE, author=ALICE)),
               await slack.event(reaction(emoji="tada", event_id="Ev2"))]
    assert fake.find("users.info") == []
    replies += [
        await slack.event(reaction(author=BOT_USER, event_id="Ev3")),      # leanon's own message
        await slack.event(reaction(author="UOTHERBOT", event_id="Ev4")),   # another bot's message
        await slack.event(reaction(reactor="UOTHERBOT", event_id="Ev5")),  # a bot reacting
        await slack.event(reaction(reactor=BOT_USER, event_id="Ev6")),     # leanon reacting
    ]
    assert [r.status for r in replies] == [200] * 6  # ignored, not to be redelivered
    assert await thanks_rows(slack) == []
    assert fake.posts() == []


async def test_a_reaction_in_an_ask_thread_is_linked_to_the_ask(slack: Harness,
                                                               fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    [card] = fake.posts(CHANNEL)
    reply_ts = fake.add_message(CHANNEL, BOB, thread_ts=card.result["ts"])
    await slack.event(reaction(ts=reply_ts))
    [thanks] = await thanks_rows(slack)
    async with slack.runtime.store.unit_of_work() as uow:
        [ask] = await uow.asks.list_open(WS)
    assert thanks.ask_id == ask.id


async def test_a_reaction_while_the_database_is_down_is_redelivered_not_lost(
        slack: Harness, fake: FakeSlack) -> None:
    with database_down(slack.runtime):
        failed = await slack.event(reaction())
    assert failed.status >= 500  # Slack retries a non-2xx answer
    assert await thanks_rows(slack) == []
    retried = await slack.event(reaction(), retry=1)
    assert retried.status == 200
    [thanks] = await thanks_rows(slack)
    assert thanks.receiver_id == BOB


async def test_a_command_while_the_database_is_down_explains_privately(
        slack: Harness, fake: FakeSlack) -> None:
    with database_down(slack.runtime):
        replies = [await slack.command("/leanon", "stats"),
                   await slack.command("/ask", "how do I rotate the staging keys without downtime?")]
    # Nothing could be stored, so nothing was acknowledged: the answer itself says why.
    assert all(r.status == 200 and "can't reach its database" in r.text for r in replies)
    assert fake.posts(CHANNEL) == []


async def test_a_slow_reaction_asks_for_redelivery_and_still_counts_once(
        slack: Harness, fake: FakeSlack) -> None:
    slack.adapter.bridge.event_deadline = 0.3
    fake.delays["users.info"] = 1.0
    slow = await slack.event(reaction())  # settles: the slow work finishes too
    assert slow.status == 503 and slow.elapsed < 1.0
    retried = await slack.event(reaction(), retry=1)
    assert retried.status == 200
    [thanks] = await thanks_rows(slack)
    assert thanks.receiver_id == BOB
    assert len([c for c in fake.posts() if c.args["channel"] == dm(BOB)]) == 1


async def test_the_answer_waits_for_the_thanks_not_for_the_receivers_note(
        slack: Harness, fake: FakeSlack) -> None:
    # Wide margins: a loaded machine may take most of a second over the thanks itself.
    slack.adapter.bridge.event_deadline = 2.0
    fake.delays["conversations.open"] = 5.0  # the note to the receiver is slow
    answer = await slack.send(json.dumps(reaction()), "application/json")
    assert answer.status == 200  # not a 503: the thanks was recorded before the answer
    assert answer.elapsed < 5.0  # and the answer did not wait for the note
    assert len(await thanks_rows(slack)) == 1
    await slack.settle()
    assert len([c for c in fake.posts() if c.args["channel"] == dm(BOB)]) == 1


async def test_threads_are_looked_up_only_where_asks_are_and_once_per_message(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.event(reaction())
    assert fake.find("conversations.replies") == []  # no ask card in this channel yet
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    [card] = fake.posts(CHANNEL)
    reply_ts = fake.add_message(CHANNEL, BOB, thread_ts=card.result["ts"])
    await slack.event(reaction(ts=reply_ts, event_id="Ev2"))
    await slack.event(reaction(reactor=CAROL, ts=reply_ts, event_id="Ev3"))
    assert len(fake.find("conversations.replies")) == 1  # a message never changes thread
    async with slack.runtime.store.unit_of_work() as uow:
        [ask] = await uow.asks.list_open(WS)
    linked = {t.giver_id: t.ask_id for t in await thanks_rows(slack)
              if t.message and t.message.message_id == reply_ts}
    assert linked == {ALICE: ask.id, CAROL: ask.id}


async def test_a_burst_of_reactions_is_handled_a_few_at_a_time_in_arrival_order(
        slack: Harness, fake: FakeSlack) -> None:
    slack.adapter.bridge.event_slots = asyncio.Semaphore(2)
    # Three turns of 0.5 s: a wide deadline, so that a loaded machine's slowness over them
    # is not taken for a reaction that could not be handled in time.
    slack.adapter.bridge.event_deadline = 6.0
    fake.delays["users.info"] = 0.5  # every reactor below is new: each is looked up
    reactors = [f"UBURST{n}" for n in range(6)]
    for user in reactors:
        fake.users[user] = {**fake.users[ALICE], "id": user, "name": user.lower()}
    answers = await asyncio.gather(*(
        slack.send(json.dumps(reaction(reactor=user, event_id=f"EvB{n}")), "application/json")
        for n, user in enumerate(reactors)))
    await slack.settle()
    assert [a.status for a in answers] == [200] * 6
    looked_up = [c for c in fake.find("users.info") if c.args["user"] in reactors]
    arrived = sorted(c.at for c in looked_up)
    assert arrived[2] - arrived[0] >= 0.4  # the third waited for a free slot
    assert len(await thanks_rows(slack)) == 6


async def test_reactions_of_members_in_the_workspace_list_need_no_look_up_each(
        slack: Harness, fake: FakeSlack) -> None:
    """An all-hands burst from members leanon has not met: the workspace's member list
    (users.list, read once in the background) says who is a bot, not a users.info call each
    on the answer path."""
    reactors = [f"ULISTED{n}" for n in range(6)]
    for user in reactors:
        fake.users[user] = {**fake.users[ALICE], "id": user, "name": user.lower()}
    fake.list_members = 100  # one page
    await slack.event(reaction(reactor=CAROL, event_id="EvFirst"))  # starts the listing
    await fake.wait_for("users.list")
    await asyncio.sleep(0.1)  # its page read
    before = len(fake.find("users.info"))
    answers = await asyncio.gather(*(
        slack.send(json.dumps(reaction(reactor=user, event_id=f"EvL{n}", ts=f"1700000200.{n:06d}")),
                   "application/json")
        for n, user in enumerate(reactors)))
    bot = await slack.event(reaction(reactor="UOTHERBOT", event_id="EvBot"))  # listed as a bot
    await slack.settle()
    assert [a.status for a in answers] == [200] * 6 and bot.status == 200
    assert len(fake.find("users.info")) == before  # the receiver, Bob, was met already
    assert len(fake.find("users.list")) == 1
    givers = sorted(t.giver_id for t in await thanks_rows(slack))
    assert givers == sorted([CAROL, *reactors])  # the bot's reaction thanked nobody


async def test_a_redelivery_of_a_reaction_still_running_joins_it(
        slack: Harness, fake: FakeSlack) -> None:
    slack.adapter.bridge.event_deadline = 0.3
    fake.delays["users.info"] = 1.0
    first = await slack.send(json.dumps(reaction()), "application/json")
    assert first.status == 503  # still running: Slack is asked to deliver it again
    retry = await slack.send(json.dumps(reaction()), "application/json",
                             {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    assert retry.status in {200, 503}
    await slack.settle()
    assert sorted(c.args["user"] for c in fake.find("users.info")) == sorted([ALICE, BOB])
    assert len(await thanks_rows(slack)) == 1


async def test_reactions_arriving_together_are_recorded_in_one_batch(
        slack: Harness, fake: FakeSlack) -> None:
    """Each reaction announces itself while its request is worked out (`reaction_coming`),
    so one that arrives while another is being checked joins its batch instead of waiting
    for a batch of its own."""
    batches: list[int] = []
    service = slack.runtime.service
    real = service._record_reactions

    async def counted(cmds: list) -> list:  # type: ignore[type-arg]
        batches.append(len(cmds))
        return await real(cmds)

    service._reactions._write = counted
    auth = slack.adapter.bridge.auth
    real_authorize, arrived = auth.authorize, asyncio.Barrier(4)

    async def all_arrived(*args: object) -> object:  # each request is being worked out
        await arrived.wait()
        return await real_authorize(*args)

    auth.authorize = all_arrived  # type: ignore[method-assign]
    statuses = await asyncio.gather(*(
        slack.event(reaction(ts=f"1700000200.00000{i}", event_id=f"Ev{i}")) for i in range(4)))
    assert [s.status for s in statuses] == [200] * 4
    assert len(await thanks_rows(slack)) == 4
    assert batches == [4]


async def test_reactions_in_a_channel_without_cards_look_up_no_asks(slack: Harness) -> None:
    """Which channels have ask cards is kept (storage.recent): a reaction elsewhere costs
    no statement on asks at all, once the channel is known to have none."""
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = slack.runtime.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for n in range(3):
            reply = await slack.event(reaction(ts=f"1700000100.00030{n}", event_id=f"Ev{n}"))
            assert reply.status == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    on_asks = [s for s in statements if "FROM asks" in s]
    assert len(on_asks) == 1, on_asks  # whether the channel has cards, read once
    assert len(await thanks_rows(slack)) == 3

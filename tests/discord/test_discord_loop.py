"""The whole loop on Discord: ask → I can help → Resolved → Thank, plus the ask form."""

from __future__ import annotations

from datetime import timedelta

from adapters.discord.slash import MARK_ANSWER
from bot.commands import RunAnswerIndexing, RunAskMaintenance
from bot.domain import AskStatus, ThanksSource
from tests.discord.discord_testing import (
    ALICE,
    BOB,
    CAROL,
    WS,
    Harness,
    card_of,
    option,
    press,
    slash,
    sub,
    submit_form,
    thank_author,
)
from tests.discord.fake_discord import APP_ID, CHANNEL, FakeDiscord

QUESTION = "How do I rotate the staging database keys without downtime?"


async def test_ask_posts_a_card_and_answers_privately(leanon: Harness, fake: FakeDiscord) -> None:
    [answer] = await leanon.run(slash("ask", option("question", QUESTION)))
    assert answer.kind == "callback" and answer.type == 4 and answer.ephemeral
    assert "Your ask is posted" in answer.text
    card = card_of(fake)
    [embed] = card["embeds"]
    assert QUESTION in embed["description"] and f"<@{ALICE}>" in embed["description"]
    assert [c["custom_id"] for row in card["components"] for c in row["components"]] == [
        f"leanon_offer_help:1@{WS.workspace_id}", f"leanon_resolve:1@{WS.workspace_id}"]
    async with leanon.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.get(WS, 1)
    assert ask is not None and ask.message is not None
    assert (ask.message.channel_id, ask.message.message_id) == (CHANNEL, card["id"])
    assert ask.status is AskStatus.OPEN



async def test_offer_resolve_and_thank_close_the_loop(leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    card = card_of(fake)

    [offered] = await leanon.run(press(card, "I can help", who=BOB))
    assert offered.ephemeral and "Thank you for offering" in offered.text
    edited = fake.find("PATCH", f"/channels/{CHANNEL}/messages/{card['id']}")[-1]
    assert f"1 person offered to help: <@{BOB}>" in edited.body["embeds"][0]["description"]
    # The thread on the card has the card's id; leanon started it and said who helps there.
    [thread] = fake.find("POST", f"/channels/{CHANNEL}/messages/{card['id']}/threads")
    assert thread.body["name"] == QUESTION
    in_thread = [m for m in fake.channel_messages(card["id"]) if m["author"]["id"] == APP_ID]
    assert in_thread[0]["content"].startswith(f"<@{BOB}> can help")
    # The asker hears about it by direct message.
    [dm] = fake.find("POST", "/users/@me/channels")
    assert dm.body == {"recipient_id": int(ALICE)}

    # Carol writes in the thread (leanon sees who, not what) and is offered a thank too.
    fake.user_message(card["id"], fake.users[CAROL])
    [refused] = await leanon.run(press(card, "Resolved", who=BOB))
    assert "Only the person who asked" in refused.text
    [resolved] = await leanon.run(press(card, "Resolved", who=ALICE))
    assert resolved.ephemeral and "Be grateful" in resolved.text
    assert [b["label"] for row in resolved.data["components"] for b in row["components"]] == [
        "Thank Bob", "Thank Carol"]
    card_now = fake.messages[card["id"]]
    assert card_now["components"] == [] and "Resolved" in card_now["embeds"][0]["description"]

    assert resolved.message is not None
    [thanked] = await leanon.run(press(resolved.message, "Thank Bob", who=ALICE))
    assert "Thank-you sent" in thanked.text
    [thanks] = await leanon.thanks()
    assert (thanks.giver_id, thanks.receiver_id, thanks.source, thanks.ask_id) == (
        ALICE, BOB, ThanksSource.RESOLVE, 1)
    async with leanon.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.get(WS, 1)
    assert ask is not None and ask.status is AskStatus.RESOLVED


async def test_ask_without_a_question_opens_the_form(leanon: Harness, fake: FakeDiscord) -> None:
    [form] = await leanon.run(slash("ask", option("anonymous", True, kind=5)))
    assert form.type == 9
    assert form.data["title"] == "Ask for help (anonymously)"
    inputs = [c for row in form.data["components"] for c in row["components"]]
    assert [i["custom_id"] for i in inputs] == ["question", "tried"]
    assert [i["label"] for i in inputs] == ["Your question", "What have you tried?"]
    [answer] = await leanon.run(submit_form(form.data["custom_id"], {
        "question": "Where do the CI secrets live, and who can read them?",
        "tried": "I searched the wiki."}))
    assert "Your ask is posted" in answer.text
    description = card_of(fake)["embeds"][0]["description"]
    assert "What I tried: I searched the wiki." in description
    assert "Asked by someone" in description and ALICE not in description


async def test_an_admin_resolves_and_the_asker_thanks_from_a_direct_message(
        leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    await leanon.run(press(card_of(fake), "I can help", who=BOB))
    [answer] = await leanon.run(press(card_of(fake), "Resolved", who=CAROL, admin=True))
    assert "The person who asked can now thank the helpers" in answer.text
    # Alice gets the thank buttons by direct message; they carry the server in their ids.
    dm = next(m for m in fake.messages.values()
              if m.get("guild_id") is None and m["components"] and m["channel_id"] != "0")
    assert dm["components"][0]["components"][0]["custom_id"] == (
        f"leanon_thank_helper:1:{BOB}@{WS.workspace_id}")
    [thanked] = await leanon.run(press(dm, "Thank Bob", who=ALICE))
    assert "Thank-you sent" in thanked.text
    [thanks] = await leanon.thanks()
    assert (thanks.giver_id, thanks.receiver_id, thanks.source) == (ALICE, BOB, ThanksSource.RESOLVE)


async def test_a_waiting_ask_gets_one_follow_up_in_its_thread(
        leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    card = card_of(fake)
    leanon.runtime.service.deps.clock.offset = timedelta(hours=3)  # type: ignore[attr-defined]
    await leanon.runtime.service.handle(RunAskMaintenance())
    await leanon.runtime.service.handle(RunAskMaintenance())
    [follow_up] = fake.channel_messages(card["id"])
    assert "still waiting for a hand" in follow_up["content"]
    [post] = fake.find("POST", f"/channels/{card['id']}/messages")[-1:]
    assert post.body["allowed_mentions"] == {"parse": []}


async def test_forget_me_asks_first_then_forgets(leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    [choice] = await leanon.run(slash("leanon", sub("forget-me")))
    assert choice.message is not None and "can't be undone" in choice.text
    [done] = await leanon.run(press(choice.message, "Keep my asks, anonymously", who=ALICE))
    assert "Done." in done.text and "kept without your name" in done.text
    description = fake.messages[card_of(fake)["id"]]["embeds"][0]["description"]
    assert "Asked by someone" in description and ALICE not in description


async def test_resolved_opens_the_resolve_form_and_its_note_is_kept(
        leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    card = card_of(fake)
    [refused] = await leanon.run(press(card, "Resolved", who=BOB))  # not his: no form
    assert refused.type == 4 and "Only the person who asked" in refused.text
    [form] = await leanon.run(press(card, "Resolved", who=ALICE), send_form=False)
    assert form.type == 9 and form.data["title"] == "Resolve your ask"
    inputs = [c for row in form.data["components"] for c in row["components"]]
    assert [(i["custom_id"], i["required"]) for i in inputs] == [("solved", False)]
    async with leanon.runtime.store.unit_of_work() as uow:
        assert (await uow.asks.get(WS, 1)).status is AskStatus.OPEN  # type: ignore[union-attr]
    [resolved] = await leanon.run(submit_form(form.data["custom_id"], {
        "solved": "Restarted the runner; <@&1> the cache was stale."}))
    assert "Saved what solved it" in resolved.text
    async with leanon.runtime.store.unit_of_work() as uow:
        kept = await uow.answers.for_ask(WS, 1)
    assert kept is not None and kept.note is not None and kept.note.startswith("Restarted")
    assert "<@&1>" not in kept.note  # mentions neutralised


async def test_a_reply_marked_as_the_answer_resolves_and_credits_its_author(
        leanon: Harness, fake: FakeDiscord) -> None:
    await leanon.run(slash("ask", option("question", QUESTION)))
    card = card_of(fake)
    await leanon.run(press(card, "I can help", who=BOB))  # leanon starts the card's thread
    written = fake.user_message(card["id"], fake.users[CAROL],
                                "The CI secrets are in Vault under ci/, <@&1> can read")

    def marked(message: dict, who: str = ALICE) -> dict:
        payload = thank_author(message, who)
        payload["data"]["name"] = MARK_ANSWER
        payload["channel_id"] = message["channel_id"]
        payload["channel"] = {**fake.channels[message["channel_id"]], "permissions": "311455501376"}
        return payload

    [refused] = await leanon.run(marked(written, who=BOB))
    assert "Only the person who asked (or a workspace admin) can mark the answer" in refused.text
    [done] = await leanon.run(marked(written))
    assert done.ephemeral and "Your ask is resolved" in done.text
    assert [b["label"] for row in done.data["components"] for b in row["components"]] == [
        "Thank Bob", "Thank Carol"]
    async with leanon.runtime.store.unit_of_work() as uow:
        ask = await uow.asks.get(WS, 1)
        kept = await uow.answers.for_ask(WS, 1)
        offers = await uow.asks.offers(1)
    assert ask is not None and ask.status is AskStatus.RESOLVED
    assert kept is not None and kept.note is not None and kept.note.startswith("The CI secrets")
    assert "<@&1>" not in kept.note
    assert [o.helper_id for o in offers] == [BOB, CAROL]


async def test_an_ask_asked_again_is_offered_what_solved_it_and_this_solved_it_resolves_it(
        leanon: Harness, fake: FakeDiscord) -> None:
    """Answered before on Discord, with the real search."""
    await leanon.run(slash("ask", option(
        "question", "The staging database refuses connections after the nightly restore")))
    card = card_of(fake)
    await leanon.run(press(card, "I can help", who=BOB))
    await leanon.run(press(card, "Resolved", who=ALICE),
                     solved="Restart pgbouncer on staging-db-2; the restore leaves it stuck.")
    await leanon.runtime.service.handle(RunAnswerIndexing(), send=False)

    [answer] = await leanon.run(slash("ask", option(
        "question", "staging db won't take connections since last night's restore"), who=CAROL))
    assert answer.ephemeral and "Your ask is posted" in answer.text
    assert "Restart pgbouncer on staging-db-2" in answer.text and f"<@{BOB}>" in answer.text
    labels = [b["label"] for row in answer.data["components"] for b in row["components"]]
    assert labels == ["This solved it", "Not it"]
    assert answer.message is not None
    [refused] = await leanon.run(press(answer.message, "This solved it", who=BOB))
    assert "Only the person who asked" in refused.text
    [solved] = await leanon.run(press(answer.message, "This solved it", who=CAROL))
    assert "resolved as answered before" in solved.text
    async with leanon.runtime.store.unit_of_work() as uow:
        again = await uow.asks.get(WS, 2)
    assert again is not None and again.status is AskStatus.RESOLVED
    credit = [t for t in await leanon.thanks() if t.ask_id == 2]
    assert [(t.giver_id, t.receiver_id) for t in credit] == [(CAROL, BOB)]


async def test_a_helper_is_asked_by_direct_message_and_answers_there(
        leanon: Harness, fake: FakeDiscord) -> None:
    [hours] = await leanon.run(slash("leanon", sub("hours", option("hours", "00:00-23:59 daily UTC")),
                                     who=BOB))
    assert "00:00-23:59, every day, UTC" in hours.text
    [on] = await leanon.run(slash("leanon", sub("helper", option("action", "on")), who=BOB))
    assert "You're a helper" in on.text
    await leanon.run(slash("ask", option("question", QUESTION), who=ALICE))
    card = card_of(fake)
    leanon.runtime.service.deps.clock.offset = timedelta(minutes=50)  # type: ignore[attr-defined]
    await leanon.runtime.service.handle(RunAskMaintenance())
    request = next(m for m in fake.messages.values()
                   if m.get("guild_id") is None and m["components"]
                   and any(c["label"] == "Not now" for row in m["components"] for c in row["components"]))
    assert QUESTION in request["embeds"][0]["description"]
    assert [c["custom_id"] for row in request["components"] for c in row["components"]] == [
        f"leanon_request_offer:1@{WS.workspace_id}", f"leanon_request_not_now:1@{WS.workspace_id}",
        f"leanon_request_stop:1@{WS.workspace_id}"]
    edited = fake.find("PATCH", f"/channels/{CHANNEL}/messages/{card['id']}")[-1]
    assert "1 teammate was asked to look" in edited.body["embeds"][0]["description"]
    assert BOB not in edited.body["embeds"][0]["description"]

    [rest] = await leanon.run(press(request, "Not now", who=BOB))
    assert "no more requests today" in rest.text
    [offered] = await leanon.run(press(request, "I can help", who=BOB))
    assert "Thank you for offering" in offered.text
    async with leanon.runtime.store.unit_of_work() as uow:
        assert [o.helper_id for o in await uow.asks.offers(1)] == [BOB]
        helper = await uow.members.helper(WS, BOB)
    assert helper is not None and helper.quiet_on is not None

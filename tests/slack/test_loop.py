"""The whole loop over signed HTTP: /ask → I can help → Resolved → Thank @helper."""

from __future__ import annotations

import json

from bot.commands import RunAnswerIndexing
from bot.domain import AskStatus, ThanksSource
from bot.messages import ActionId
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, CHANNEL, WS, Harness, dm, payload


async def open_asks(slack: Harness) -> list:
    async with slack.runtime.store.unit_of_work() as uow:
        return await uow.asks.list_open(WS)


async def all_thanks(slack: Harness) -> list:
    async with slack.runtime.store.unit_of_work() as uow:
        return await uow.thanks.export(WS)


def buttons(call_args: dict) -> list[dict]:
    blocks = call_args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_url_verification_echoes_the_challenge(slack: Harness) -> None:
    body = payload("url_verification")
    reply = await slack.send(json.dumps(body), "application/json")
    assert reply.status == 200
    assert json.loads(reply.text) == {"challenge": body["challenge"]}


async def test_ask_offer_resolve_thank(slack: Harness, fake: FakeSlack) -> None:
    reply = await slack.command("/ask", "how do I rotate the staging database password safely?")
    assert reply.status == 200 and reply.text == ""

    [card] = fake.posts(CHANNEL)
    assert "rotate the staging database password" in card.text()
    assert [b["action_id"] for b in buttons(card.args)] == [ActionId.OFFER_HELP, ActionId.RESOLVE]
    [ask] = await open_asks(slack)
    assert ask.asker_id == ALICE
    assert ask.message is not None and ask.message.message_id == card.result["ts"]
    assert buttons(card.args)[0]["value"] == str(ask.id)
    assert any("Your ask is posted" in text for text in slack.private(ALICE))

    await slack.press(ActionId.OFFER_HELP, str(ask.id), user=BOB, message_ts=ask.message.message_id)
    [update] = fake.find("chat.update")
    assert update.args["ts"] == ask.message.message_id
    assert "1 person offered to help" in update.text() and f"<@{BOB}>" in update.text()
    thread = [c for c in fake.posts(CHANNEL) if c.args.get("thread_ts") == ask.message.message_id]
    assert len(thread) == 1 and f"<@{BOB}> can help" in thread[0].text()
    assert [c.args["users"] for c in fake.find("conversations.open")] == [ALICE]
    assert any("offered to help with your ask" in t for t in slack.private(ALICE))
    assert any("Thank you for offering" in t for t in slack.private(BOB))

    fake.add_message(CHANNEL, CAROL, thread_ts=ask.message.message_id)
    # Resolved opens the resolve form; Alice sends it with what solved it.
    await slack.press(ActionId.RESOLVE, str(ask.id), user=ALICE, message_ts=ask.message.message_id,
                      solved="Bob's script in the ops repo")
    [form] = fake.find("views.open")
    assert form.args["view"]["callback_id"] == "leanon_resolve_modal"
    assert "Resolved" in fake.find("chat.update")[-1].text()
    async with slack.runtime.store.unit_of_work() as uow:
        resolved = await uow.asks.get(WS, ask.id)
        kept = await uow.answers.for_ask(WS, ask.id)
    assert resolved is not None and resolved.status is AskStatus.RESOLVED
    assert kept is not None and kept.note == "Bob's script in the ops repo"
    [thank_prompt] = [c for c in fake.find("chat.postEphemeral")
                      if c.args.get("user") == ALICE and "leanon_thank_helper" in c.text()]
    thank_buttons = buttons(thank_prompt.args)
    assert [b["value"] for b in thank_buttons] == [f"{ask.id}:{BOB}", f"{ask.id}:{CAROL}"]
    assert [b["text"]["text"] for b in thank_buttons] == ["Thank @bob", "Thank @carol"]

    for _ in range(2):  # a double click is one thanks
        await slack.press(ActionId.THANK_HELPER, f"{ask.id}:{BOB}", user=ALICE)
    [thanks] = await all_thanks(slack)
    assert (thanks.giver_id, thanks.receiver_id, thanks.source, thanks.ask_id) == (
        ALICE, BOB, ThanksSource.RESOLVE, ask.id)
    assert any("thanked you for helping" in t for t in slack.private(BOB))
    assert any(c.args.get("channel") == dm(BOB) for c in fake.posts())



async def test_the_resolve_form_opens_only_for_who_may_resolve_and_a_closed_one_resolves_nothing(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging database password safely?")
    [ask] = await open_asks(slack)
    await slack.press(ActionId.RESOLVE, str(ask.id), user=CAROL)  # not hers: no form
    assert fake.find("views.open") == [] and len(await open_asks(slack)) == 1
    await slack.press(ActionId.RESOLVE, str(ask.id), user=ALICE, send_form=False)  # closed
    [form] = fake.find("views.open")
    assert json.loads(form.args["view"]["private_metadata"]) == {"ask": ask.id, "channel": CHANNEL}
    assert len(await open_asks(slack)) == 1  # Cancel resolves nothing


async def test_when_slack_will_not_open_the_form_the_press_still_resolves(
        slack: Harness, fake: FakeSlack) -> None:
    """A trigger that expired while the press waited (a busy minute): nothing is lost."""
    await slack.command("/ask", "how do I rotate the staging database password safely?")
    [ask] = await open_asks(slack)
    fake.failures["views.open"] = "expired_trigger_id"
    await slack.press(ActionId.RESOLVE, str(ask.id), user=ALICE)
    assert await open_asks(slack) == []
    async with slack.runtime.store.unit_of_work() as uow:
        kept = await uow.answers.for_ask(WS, ask.id)
    assert kept is not None and kept.note is None


async def test_only_the_asker_or_an_admin_resolves(slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging database password safely?")
    [ask] = await open_asks(slack)
    await slack.press(ActionId.OFFER_HELP, str(ask.id), user=BOB)
    await slack.press(ActionId.RESOLVE, str(ask.id), user=CAROL)
    assert any("Only the person who asked" in t for t in slack.private(CAROL))
    assert len(await open_asks(slack)) == 1

    await slack.press(ActionId.RESOLVE, str(ask.id), user=ADMIN)
    assert await open_asks(slack) == []
    [prompt] = [c for c in fake.posts() if c.args["channel"] == dm(ALICE)
                and "leanon_thank_helper" in c.text()]  # the asker gets the buttons by DM
    assert [b["value"] for b in buttons(prompt.args)] == [f"{ask.id}:{BOB}"]


def mark_answer(fake: FakeSlack, reply_ts: str, thread_ts: str | None, author: str,
                text: str, user: str = ALICE) -> dict:
    body = payload("message_action")
    body["user"]["id"] = user
    body["channel"]["id"] = CHANNEL
    body["response_url"] = fake.response_url(f"act-{user}")
    body["trigger_id"] = f"trig.{reply_ts}"  # Slack's: one per use of the shortcut
    body["message"].update(ts=reply_ts, user=author, text=text)
    if thread_ts is None:
        body["message"].pop("thread_ts")
    else:
        body["message"]["thread_ts"] = thread_ts
    return body


async def test_a_reply_marked_as_the_answer_resolves_the_ask_and_credits_its_author(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging database password safely?")
    [ask] = await open_asks(slack)
    assert ask.message is not None
    reply = fake.add_message(CHANNEL, CAROL, thread_ts=ask.message.message_id)
    # Somewhere else first: a message in no ask's thread changes nothing.
    elsewhere = fake.add_message(CHANNEL, CAROL)
    await slack.interactive(mark_answer(fake, elsewhere, None, CAROL, "hi"))
    assert len(await open_asks(slack)) == 1
    await slack.interactive(mark_answer(fake, reply, ask.message.message_id, CAROL,
                                        "Use `vault rotate`, <@U2147483698> knows"))
    assert await open_asks(slack) == []
    async with slack.runtime.store.unit_of_work() as uow:
        kept = await uow.answers.for_ask(WS, ask.id)
        offers = await uow.asks.offers(ask.id)
    assert kept is not None and kept.note is not None and kept.note.startswith("Use `vault rotate`")
    assert "<@U2147483698>" not in kept.note  # never a ping when it is shown again
    assert [o.helper_id for o in offers] == [CAROL]
    assert "Mark as the answer works on a reply in an ask's thread" in " ".join(
        slack.private(ALICE))


async def resolved_with_a_note(slack: Harness) -> None:
    """Alice's ask, helped by Bob and resolved with what solved it, in the search's index."""
    await slack.command("/ask", "The staging database refuses connections after the nightly restore")
    [first] = await open_asks(slack)
    assert first.message is not None
    await slack.press(ActionId.OFFER_HELP, str(first.id), user=BOB,
                      message_ts=first.message.message_id)
    await slack.press(ActionId.RESOLVE, str(first.id), user=ALICE,
                      message_ts=first.message.message_id,
                      solved="Restart pgbouncer on staging-db-2; the restore leaves it stuck.")
    await slack.runtime.service.handle(RunAnswerIndexing(), send=False)


async def test_an_ask_asked_again_is_offered_what_solved_it_and_this_solved_it_resolves_it(
        slack: Harness, fake: FakeSlack) -> None:
    """Answered before over signed HTTP, with the real search: the offer comes with the
    asker's confirmation, and "This solved it" resolves and thanks the earlier helper."""
    await resolved_with_a_note(slack)

    await slack.command("/ask", "staging db won't take connections since last night's restore",
                        user=CAROL)
    [again] = await open_asks(slack)
    offers = [c for c in fake.calls if ActionId.REUSE_ANSWER.value in c.text()]
    [offer] = offers
    assert "Restart pgbouncer on staging-db-2" in offer.text() and f"<@{BOB}>" in offer.text()
    assert ALICE not in offer.text()  # the earlier asker is never shown
    assert offer.method == "response_url" and offer.target.endswith(f"-{CAROL}")  # only Carol
    [solved, not_it] = buttons(offer.args)
    assert (solved["action_id"], not_it["action_id"]) == (ActionId.REUSE_ANSWER, ActionId.REJECT_ANSWER)

    await slack.press(ActionId.REUSE_ANSWER, solved["value"], user=BOB)  # not the asker
    assert any("Only the person who asked" in t for t in slack.private(BOB))
    await slack.press(ActionId.REUSE_ANSWER, solved["value"], user=CAROL)
    async with slack.runtime.store.unit_of_work() as uow:
        resolved = await uow.asks.get(WS, again.id)
        kept = await uow.answers.for_ask(WS, again.id)
    assert resolved is not None and resolved.status is AskStatus.RESOLVED
    assert kept is not None and kept.note is not None and kept.note.startswith("Restart pgbouncer")
    assert any("resolved as answered before" in t for t in slack.private(CAROL))
    credit = [t for t in await all_thanks(slack) if t.ask_id == again.id]
    assert [(t.giver_id, t.receiver_id) for t in credit] == [(CAROL, BOB)]


async def test_with_suggestions_first_a_repeat_waits_until_its_asker_posts_it(
        slack: Harness, fake: FakeSlack) -> None:
    """`suggestions ask-first` over signed HTTP, with the real search: the repeat is not
    posted; its asker sees what solved it with Post my ask anyway, which posts the card."""
    await slack.command("/leanon", "config set suggestions ask-first", user=ADMIN)
    await resolved_with_a_note(slack)
    cards = len([c for c in fake.calls if c.method == "chat.postMessage"])

    await slack.command("/ask", "staging db won't take connections since last night's restore",
                        user=CAROL)
    assert await open_asks(slack) == []  # held, not posted
    assert len([c for c in fake.calls if c.method == "chat.postMessage"]) == cards
    [shown] = [c for c in fake.calls if ActionId.POST_ASK.value in c.text()]
    assert shown.method == "response_url" and shown.target.endswith(f"-{CAROL}")
    assert "Restart pgbouncer on staging-db-2" in " ".join(slack.private(CAROL))
    [post] = [b for b in buttons(shown.args) if b["action_id"] == ActionId.POST_ASK]

    await slack.press(ActionId.POST_ASK, post["value"], user=BOB)  # not the asker
    assert any("Only the person who asked" in t for t in slack.private(BOB))
    assert await open_asks(slack) == []
    await slack.press(ActionId.POST_ASK, post["value"], user=CAROL)
    [posted] = await open_asks(slack)
    assert posted.message is not None and posted.asker_id == CAROL
    assert len([c for c in fake.calls if c.method == "chat.postMessage"]) == cards + 1

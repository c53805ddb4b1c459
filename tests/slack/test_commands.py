"""/ask's form, /thanks, /leanon, and the App Home tab."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.commands import RunAskMaintenance
from bot.domain import ThanksSource
from bot.messages import ActionId
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    WS,
    Harness,
    database_down,
    dm,
    payload,
)


async def test_ask_without_text_opens_the_form(slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "")
    [opened] = fake.find("views.open")
    assert opened.args["trigger_id"].startswith("trig.")
    view = opened.args["view"]
    assert view["callback_id"] == "leanon_ask_modal"
    assert json.loads(view["private_metadata"]) == {"channel": CHANNEL}
    assert [b["block_id"] for b in view["blocks"]] == ["question", "tried", "anonymous"]
    assert view["blocks"][0]["element"]["max_length"] == 3000
    assert fake.posts() == []


async def test_the_form_has_no_anonymous_choice_when_an_admin_turned_it_off(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/leanon", "config set anonymous-asks off", user=ALICE)
    assert any("Only workspace admins" in t for t in slack.private(ALICE))
    await slack.command("/leanon", "config set anonymous-asks off", user=ADMIN)
    assert any("Saved" in t for t in slack.private(ADMIN))
    await slack.command("/ask", "")
    [opened] = fake.find("views.open")
    assert [b["block_id"] for b in opened.args["view"]["blocks"]] == ["question", "tried"]


async def test_submitting_the_form_posts_the_card_and_answers_privately(
        slack: Harness, fake: FakeSlack) -> None:
    form = payload("view_submission")
    form["view"]["state"]["values"]["anonymous"]["value"]["selected_options"] = []
    reply = await slack.interactive(form)
    assert reply.status == 200 and reply.text == ""  # an empty ack closes the modal
    [card] = fake.posts(CHANNEL)
    assert "nightly export job" in card.text() and "What I tried" in card.text()
    assert f"<@{ALICE}>" in card.text()
    [ephemeral] = fake.find("chat.postEphemeral")
    assert ephemeral.args["user"] == ALICE and ephemeral.args["channel"] == CHANNEL


async def test_thanks_names_several_members_once_each(slack: Harness, fake: FakeSlack) -> None:
    text = f"<@{BOB}|bob>, <@{CAROL}> and <@{BOB}> for the review"
    reply = await slack.command("/thanks", text)
    assert reply.status == 200
    rows = await thanks(slack)
    assert sorted(t.receiver_id for t in rows) == [BOB, CAROL]
    assert {(t.giver_id, t.source, t.reason) for t in rows} == {
        (ALICE, ThanksSource.COMMAND, "the review")}
    [note] = [c for c in fake.posts(CHANNEL)]
    assert f"<@{ALICE}> thanked <@{BOB}> and <@{CAROL}>: the review" in note.text()
    assert {c.args["channel"] for c in fake.posts() if c.args["channel"].startswith("D")} == {
        dm(BOB), dm(CAROL)}


async def test_thanks_refuses_yourself_and_bots(slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/thanks", f"<@{ALICE}> <@UOTHERBOT> <@UBOT0001> for nothing")
    assert await thanks(slack) == []
    assert any("not yourself or a bot" in t for t in slack.private(ALICE))
    assert fake.posts() == []


async def test_leanon_subcommands_answer_privately(slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    await slack.command("/leanon", "asks")
    await slack.command("/leanon", "stats")
    await slack.command("/leanon", "frobnicate")
    await slack.command("/leanon", "")
    answers = slack.private(ALICE)
    assert any("Open asks in this channel" in a and "rotate the staging keys" in a for a in answers)
    assert any("Asks opened: 1" in a for a in answers)
    assert any("I don't know '/leanon frobnicate'" in a for a in answers)
    assert any("/thanks @name" in a for a in answers)
    assert len(fake.posts(CHANNEL)) == 1  # only the card was public


async def test_forget_me_offers_a_choice_and_the_button_carries_it_out(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/thanks", f"<@{BOB}> for the pairing", user=ALICE)
    await slack.command("/leanon", "forget-me", user=BOB)
    prompt = [c for c in fake.find("response_url") if "leanon_forget_delete" in c.text()]
    assert len(prompt) == 1
    await slack.press(ActionId.FORGET_DELETE_ASKS, "delete", user=BOB)
    assert await thanks(slack) == []
    assert any("thanks were deleted" in t for t in slack.private(BOB))


async def test_an_admin_export_arrives_as_files_in_their_dm(slack: Harness,
                                                            fake: FakeSlack) -> None:
    await slack.command("/thanks", f"<@{BOB}> for the pairing")
    await slack.command("/leanon", "export csv", user=ADMIN)
    assert len(fake.find("files.getUploadURLExternal")) == 3
    assert len(fake.find("file.upload")) == 3
    [done] = fake.find("files.completeUploadExternal")
    assert done.args["channel_id"] == dm(ADMIN)


async def test_app_home_shows_numbers_open_asks_and_tips(slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    home = payload("event_app_home_opened")
    reply = await slack.event(home)
    assert reply.status == 200
    [published] = fake.find("views.publish")
    assert published.args["user_id"] == ALICE
    text = json.dumps(published.args["view"])
    assert published.args["view"]["type"] == "home"
    assert "Your leanon numbers" in text and "Asks opened: 1" in text
    assert "Open asks in this workspace" in text and "rotate the staging keys" in text
    assert "Be specific" in text and "Be grateful" in text and "Reciprocate" in text

    home["event"]["tab"] = "messages"
    await slack.event(home)
    assert len(fake.find("views.publish")) == 1


async def thanks(slack: Harness) -> list:
    async with slack.runtime.store.unit_of_work() as uow:
        return await uow.thanks.export(WS)


async def test_app_home_during_a_database_outage_says_so(slack: Harness, fake: FakeSlack) -> None:
    with database_down(slack.runtime):
        await slack.event(payload("event_app_home_opened"))
    [published] = fake.find("views.publish")
    assert "can't reach its database" in json.dumps(published.args["view"])


async def test_a_waiting_ask_gets_its_follow_up_in_the_cards_thread(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    [card] = fake.posts(CHANNEL)
    slack.runtime.service.deps.clock.offset += timedelta(hours=3)  # type: ignore[attr-defined]
    await slack.runtime.service.handle(RunAskMaintenance())
    [follow_up] = [c for c in fake.posts(CHANNEL) if c.args.get("thread_ts")]
    assert follow_up.args["thread_ts"] == card.result["ts"]
    assert "still waiting for a hand" in follow_up.text()


async def test_a_helper_gets_a_request_by_dm_and_answers_it_there(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/leanon", "hours 00:00-23:59 daily UTC", user=BOB)
    await slack.command("/leanon", "helper on", user=BOB)
    await slack.command("/ask", "how do I rotate the staging keys without downtime?", user=ALICE)
    slack.runtime.service.deps.clock.offset += timedelta(minutes=50)  # type: ignore[attr-defined]
    await slack.runtime.service.handle(RunAskMaintenance())
    [request] = [c for c in fake.posts(dm(BOB)) if "Could you look" in c.text()]
    actions = [e["action_id"] for b in request.args["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert actions == [ActionId.REQUEST_OFFER, ActionId.REQUEST_NOT_NOW, ActionId.REQUEST_STOP]
    await slack.press(ActionId.REQUEST_STOP, "1", user=BOB, channel=dm(BOB),
                      message_ts=request.result["ts"])
    assert any("won't ask you to look at asks any more" in t for t in slack.private(BOB))
    async with slack.runtime.store.unit_of_work() as uow:
        helper = await uow.members.helper(WS, BOB)
    assert helper is not None and not helper.active


async def test_an_admin_can_post_the_weekly_encouragement_now(slack: Harness,
                                                              fake: FakeSlack) -> None:
    await slack.command("/leanon", "nudge now", user=ALICE)
    assert any("Only workspace admins" in t for t in slack.private(ALICE))
    assert fake.posts() == []
    await slack.command("/leanon", "nudge now", user=ADMIN)
    assert any("Posted" in t for t in slack.private(ADMIN))
    [post] = fake.posts()
    assert "It's okay to ask" in json.dumps(post.args, ensure_ascii=False)


async def test_a_command_past_the_busy_backlog_is_told_it_is_queued_and_still_done(
        slack: Harness, fake: FakeSlack) -> None:
    slack.runtime.inbox.busy_at = 1  # every stored request counts as a backlog
    reply = await slack.command("/ask", "how do I renew the staging TLS certificate?")
    assert reply.status == 200 and "your request is queued" in reply.text
    assert len(fake.posts(CHANNEL)) == 1  # done all the same
    slack.runtime.inbox.busy_at = 10_000
    reply = await slack.command("/ask", "and how do I rotate the VPN keys afterwards?")
    assert (reply.status, reply.text) == (200, "")


async def asks(slack: Harness) -> list:
    async with slack.runtime.store.unit_of_work() as uow:
        return await uow.asks.list_open(WS)


async def test_nothing_is_acknowledged_that_the_database_could_not_store(
        slack: Harness, fake: FakeSlack) -> None:
    await slack.command("/ask", "how do I rotate the staging keys without downtime?")
    [ask] = await asks(slack)
    with database_down(slack.runtime):
        command = await slack.command("/ask", "and where do the new keys go?")
        press = await slack.press(ActionId.OFFER_HELP, str(ask.id), user=BOB)
    # The command's member is told at once; the press fails visibly (Slack shows an error).
    assert command.status == 200 and "can't reach its database" in command.text
    assert press.status == 503
    assert len(await asks(slack)) == 1 and fake.find("chat.update") == []
    async with slack.runtime.store.unit_of_work() as uow:
        assert await uow.inbox.waiting(["slack"]) == 0


async def test_work_that_can_not_be_done_is_given_up_and_the_member_told(
        slack: Harness, fake: FakeSlack) -> None:
    # A stored delivery whose work fails as a bug would (its context is not one leanon wrote).
    stored = {"work": "ask", "context": {"team": "not a field"},
              "body": {"response_url": fake.response_url(f"cmd-{ALICE}"), "text": "hi"}}
    assert await slack.runtime.inbox.put("slack", "slack:T0001:ask:broken", WS, "ask",
                                         json.dumps(stored))
    await slack.settle()
    [told] = slack.private(ALICE)
    assert "could not finish that" in told and fake.posts(CHANNEL) == []


async def test_hours_without_a_zone_take_the_slack_profiles(slack: Harness, fake: FakeSlack) -> None:
    fake.users[BOB]["tz"] = "America/New_York"
    await slack.command("/leanon", "helper on terraform, <!channel>", user=BOB)
    await slack.command("/leanon", "hours 8:30-16", user=BOB)
    await slack.command("/leanon", "hours 9-17", user=CAROL)  # no tz in Carol's profile
    bob, carol = slack.private(BOB), slack.private(CAROL)
    assert any("You're a helper (terraform, channel)" in a for a in bob)
    assert any("Your working hours: 08:30-16:00, Mon-Fri, America/New_York" in a for a in bob)
    assert any("Which time zone are those hours in?" in a for a in carol)
    await slack.command("/leanon", "helpers", user=ADMIN)
    assert any(f"<@{BOB}>: terraform, channel; 08:30-16:00" in a for a in slack.private(ADMIN))
    assert "<!channel>" not in json.dumps([c.args for c in fake.calls])
    assert fake.posts(CHANNEL) == []

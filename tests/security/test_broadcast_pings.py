"""No member text can ping anyone: `@here`, `@channel`, `@everyone`, user groups, roles and
user mentions typed into any text leanon repeats, on Slack and on Discord.

Each test drives every text path through the real adapter (signed requests into the bolt
app; interactions and reactions through the fake gateway) with hostile text, then checks
every request leanon made to the platform (see `slack_pings` and `discord_pings`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.commands import RunAskMaintenance, RunDueNudges
from bot.messages import ActionId
from tests.discord.discord_testing import ALICE as D_ALICE
from tests.discord.discord_testing import BOB as D_BOB
from tests.discord.discord_testing import CAROL as D_CAROL
from tests.discord.discord_testing import card_of, option, press, slash, sub, submit_form, thank_author
from tests.discord.discord_testing import reaction as discord_reaction
from tests.discord.fake_discord import APP_ID, CHANNEL, GUILD
from tests.security.security_testing import (
    RecordingDiscord,
    SlackStack,
    clock_of,
    discord_alone,
    discord_pings,
    slack_pings,
)
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, payload
from tests.slack.slack_testing import CHANNEL as S_CHANNEL

VICTIM = "U0VICTIM1"  # never acts: any live mention of them came from member text
D_VICTIM, D_ROLE = "700000000000000077", "880000000000000001"

SLACK_EVIL = (
    f"<!here> <!channel> <!everyone> <!here|here> <!channel|@channel> <!subteam^S0TEAM1|@oncall> "
    f"<!subteam^S0TEAM1> <@{VICTIM}> <@{VICTIM}|victim> <<!here>> <<@{VICTIM}>> <#C0OTHER1|general> "
    "@here @channel @everyone @HERE (@channel) &lt;!here&gt; <!date^1392734382^{date}|x> "
    f"<mailto:x@y.z|@here> < !here> <!-- --> why does the deploy fail every night?"
)
DISCORD_EVIL = (
    f"@everyone @here @EVERYONE (@here) <@&{D_ROLE}> <@{D_VICTIM}> <@!{D_VICTIM}> "
    f"<<@&{D_ROLE}>> @\u200beveryone <@&{GUILD}> [x](https://evil.example/@everyone) "
    "`@everyone` ||@here|| why does the deploy fail every night?"
)


def form(question: str, tried: str, user: str = ALICE, anonymous: bool = False) -> dict[str, Any]:
    body = payload("view_submission")
    body["user"]["id"] = user
    values = body["view"]["state"]["values"]
    values["question"]["value"]["value"] = question
    values["tried"]["value"]["value"] = tried
    if not anonymous:
        values["anonymous"]["value"]["selected_options"] = []
    body["view"]["id"] = f"V{len(question)}{user}"
    return body


async def test_no_member_text_pings_anyone_on_slack(slack: SlackStack, fake: FakeSlack) -> None:
    harness = slack.harness
    await harness.command("/ask", SLACK_EVIL)  # ask 1, inline
    await harness.interactive(form(SLACK_EVIL, SLACK_EVIL))  # ask 2, the form
    await harness.interactive(form(SLACK_EVIL, SLACK_EVIL, user=CAROL, anonymous=True))  # ask 3
    await harness.command("/thanks", f"<@{BOB}|bob> {SLACK_EVIL}", user=CAROL)
    await harness.command("/thanks", SLACK_EVIL, user=CAROL)  # nobody named
    card_ts = str(fake.posts(S_CHANNEL)[0].result["ts"])

    await harness.press(ActionId.OFFER_HELP, "1", user=BOB, message_ts=card_ts)
    reply_ts = fake.add_message(S_CHANNEL, BOB, thread_ts=card_ts)
    fake.add_message(S_CHANNEL, CAROL, thread_ts=card_ts)
    reaction = payload("event_reaction_added")
    reaction["event"].update(user=ALICE, item_user=BOB)
    reaction["event"]["item"].update(channel=S_CHANNEL, ts=reply_ts)
    await harness.event(reaction)
    await harness.press(ActionId.RESOLVE, "1", user=ALICE, message_ts=card_ts)
    await harness.press(ActionId.THANK_HELPER, f"1:{BOB}", user=ALICE, message_ts=card_ts)
    await harness.press(ActionId.THANK_HELPER, f"1:{CAROL}", user=ALICE, message_ts=card_ts)
    await harness.press(ActionId.OFFER_HELP, "3", user=BOB)

    clock = clock_of(slack.runtime)
    clock.offset += timedelta(hours=3)  # ask 2 waits: its follow-up
    await slack.runtime.service.handle(RunAskMaintenance())
    for text in ("asks", "asks all", "stats", "nudge preview", f"nudge here {SLACK_EVIL}",
                 f"config set thanks-emoji {SLACK_EVIL}", SLACK_EVIL, f"export {SLACK_EVIL}"):
        await harness.command("/leanon", text)
    await harness.command("/leanon", f"config set thanks-emoji pray,{SLACK_EVIL}", user=ADMIN)
    await harness.command("/leanon", "config set leaderboard on", user=ADMIN)
    await harness.command("/leanon", "leaderboard")
    await harness.command("/leanon", "nudge now", user=ADMIN)  # waiting asks, thanked names
    weekday = clock.now().strftime("%A").lower()
    await harness.command("/leanon", f"nudge here {weekday} 00:00 UTC")
    clock.offset += timedelta(days=7)  # the scheduled post of next week
    await slack.runtime.service.handle(RunDueNudges())
    home = payload("event_app_home_opened")
    home["event"]["user"] = BOB
    await harness.event(home)
    for fmt in ("json", "csv"):
        await harness.command("/leanon", f"export {fmt}", user=ADMIN)
    await harness.command("/leanon", "forget-me keep", user=ALICE)

    posted = {c.method for c in fake.calls}
    assert {"chat.postMessage", "chat.update", "response_url", "views.publish",
            "file.upload"} <= posted
    weekly = [c for c in fake.posts(S_CHANNEL) if "It's okay to ask" in c.text()]
    assert len(weekly) == 2 and all("Still waiting for a hand" in c.text() for c in weekly)
    assert any(c.args.get("metadata") for c in weekly)  # the scheduled one, too
    assert len([c for c in fake.posts(S_CHANNEL) if c.args.get("thread_ts")]) >= 2
    assert any(VICTIM in c.text() for c in fake.posts(S_CHANNEL))  # the text was there…
    assert slack_pings(fake, allowed={ALICE, BOB, CAROL, ADMIN}) == []  # …and pings no one


async def test_the_slack_check_finds_a_live_broadcast(slack: SlackStack, fake: FakeSlack) -> None:
    """The check above is not blind: markup leanon never writes is found wherever it is."""
    await slack.harness.command("/ask", "why does the deploy fail every night?")
    [card] = fake.posts(S_CHANNEL)
    assert slack_pings(fake, allowed={ALICE}) == []
    card.args["blocks"][1]["text"]["text"] += " <!here>"
    card.args["text"] += f" <@{VICTIM}> @channel"
    found = slack_pings(fake, allowed={ALICE})
    assert len(found) == 3
    assert slack_pings(fake, allowed=set()) != []  # ALICE's own mention needs allowing


async def test_no_member_text_pings_anyone_on_discord(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        await leanon.run(slash("ask", option("question", DISCORD_EVIL)))  # ask 1
        [modal] = await leanon.run(slash("ask"))
        await leanon.run(submit_form(modal.data["custom_id"],
                                     {"question": DISCORD_EVIL, "tried": DISCORD_EVIL}))  # ask 2
        [anonymous] = await leanon.run(slash("ask", option("anonymous", True, kind=5),
                                             who=D_CAROL))
        await leanon.run(submit_form(anonymous.data["custom_id"],
                                     {"question": DISCORD_EVIL, "tried": ""}, who=D_CAROL))
        await leanon.run(slash("thanks", option("member", D_BOB, kind=6),
                               option("reason", f"for it {DISCORD_EVIL}"), who=D_CAROL,
                               resolved={"users": {D_BOB: fake.users[D_BOB]}}))
        written = fake.user_message(CHANNEL, fake.users[D_CAROL], DISCORD_EVIL)
        await leanon.run(thank_author(written, who=D_BOB))

        cards = [m for m in fake.channel_messages(CHANNEL)
                 if m["author"]["id"] == APP_ID and m["components"]]
        first = cards[0]
        await leanon.run(press(first, "I can help", who=D_BOB))
        fake.user_message(first["id"], fake.users[D_CAROL], DISCORD_EVIL)
        await leanon.react(discord_reaction(who=D_ALICE, author=D_BOB, message_id=written["id"]))
        [resolved] = await leanon.run(press(first, "Resolved", who=D_ALICE))
        assert resolved.message is not None
        for label in ("Thank Bob", "Thank Carol"):
            await leanon.run(press(resolved.message, label, who=D_ALICE))
        await leanon.run(press(cards[2], "I can help", who=D_BOB))

        clock = clock_of(leanon.runtime)
        clock.offset += timedelta(hours=3)
        await leanon.runtime.service.handle(RunAskMaintenance())
        for args in ([sub("asks")], [sub("asks", option("where", "server"))], [sub("stats")],
                     [sub("nudge", option("action", "preview"))],
                     [sub("nudge", option("action", "here"), option("time", DISCORD_EVIL[:90]))],
                     [sub("nudge", option("action", "here"),
                          option("timezone", f"@everyone/<@&{D_ROLE}>"))],
                     [sub("export")]):
            await leanon.run(slash("leanon", *args))
        for value in (f"pray,{DISCORD_EVIL}", "on"):
            setting = "thanks-emoji" if value != "on" else "leaderboard"
            await leanon.run(slash("leanon", sub("config", sub(
                "set", option("setting", setting), option("value", value)), group=True),
                admin=True))
        await leanon.run(slash("leanon", sub("leaderboard")))
        await leanon.run(slash("leanon", sub("nudge", option("action", "now")), admin=True))
        weekday = clock.now().strftime("%A").lower()
        await leanon.run(slash("leanon", sub("nudge", option("action", "here"),
                                             option("weekday", weekday), option("time", "00:00"),
                                             option("timezone", "UTC"))))
        clock.offset += timedelta(days=7)
        await leanon.runtime.service.handle(RunDueNudges())
        for fmt in ("json", "csv"):
            await leanon.run(slash("leanon", sub("export", option("format", fmt)), admin=True))
        [choice] = await leanon.run(slash("leanon", sub("forget-me")))
        assert choice.message is not None
        await leanon.run(press(choice.message, "Keep my asks, anonymously", who=D_ALICE))

    weekly = [m for m in fake.channel_messages(CHANNEL)
              if any("It's okay to ask" in (e.get("title") or "") for e in m["embeds"])]
    assert len(weekly) == 2 and all("Still waiting for a hand" in str(m) for m in weekly)
    assert fake.find("POST", r"/channels/\d+/messages/\d+/threads")
    assert fake.uploads and any(D_VICTIM in c.text() for c in fake.calls)
    assert discord_pings(fake, allowed={D_ALICE, D_BOB, D_CAROL}) == []


async def test_the_discord_check_finds_a_live_ping(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    """The check above is not blind: it finds mentions allowed or written where they'd ping."""
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        await leanon.run(slash("ask", option("question", "why does the deploy fail?")))
        await leanon.run(slash("leanon", sub("stats")))
    [card] = fake.find("POST", f"/channels/{CHANNEL}/messages")
    [answer] = fake.find("POST", r"/interactions/\d+/[\w.-]+/callback")[-1:]
    assert discord_pings(fake, allowed={D_ALICE}) == []
    assert discord_pings(fake, allowed=set()) != []  # the card mentions the asker
    card.body["embeds"][0]["description"] += " @everyone"
    answer.body["data"]["allowed_mentions"] = {"parse": ["everyone"]}
    card.body["allowed_mentions"]["roles"] = [D_ROLE]
    assert len(discord_pings(fake, allowed={D_ALICE})) == 3


async def test_a_forged_thank_button_cannot_name_a_broadcast_on_slack(
        slack: SlackStack, fake: FakeSlack) -> None:
    """A thank button's value names the helper; one naming markup instead of a member
    (a forged value) must not turn into a broadcast where the thanked are listed."""
    harness = slack.harness
    await harness.command("/ask", "why does the deploy fail every night?")
    await harness.press(ActionId.RESOLVE, "1", user=ALICE)
    for helper in ("U1>|<!here", "<!channel>", f"{VICTIM}> <!everyone", "!subteam^S1"):
        await harness.press(ActionId.THANK_HELPER, f"1:{helper}", user=ALICE)
    await harness.command("/leanon", "config set leaderboard on", user=ADMIN)
    await harness.command("/leanon", "leaderboard")
    await harness.command("/leanon", "nudge now", user=ADMIN)
    assert any("It's okay to ask" in c.text() for c in fake.posts(S_CHANNEL))
    assert slack_pings(fake, allowed={ALICE, ADMIN}) == []


async def test_a_forged_thank_button_cannot_name_a_broadcast_on_discord(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    fake = discord_fake
    async with discord_alone(tmp_path, fake) as leanon:
        await leanon.run(slash("ask", option("question", "why does the deploy fail?")))
        [resolved] = await leanon.run(press(card_of(fake), "Resolved", who=D_ALICE))
        assert resolved.message is not None
        for helper in ("everyone", "here", "1.5", "-1"):  # (no "&": no leanon button has it)
            message = dict(resolved.message, components=[{"type": 1, "components": [{
                "type": 2, "style": 1, "label": "Thank",
                "custom_id": f"leanon_thank_helper:1:{helper}@{GUILD}"}]}])
            [answer] = await leanon.run(press(message, "Thank", who=D_ALICE))
            assert "no longer works" in answer.text
        [posted] = await leanon.run(slash("leanon", sub("nudge", option("action", "now")),
                                          admin=True))
        assert "Posted" in posted.text
        assert await leanon.thanks() == []
    assert discord_pings(fake, allowed={D_ALICE}) == []

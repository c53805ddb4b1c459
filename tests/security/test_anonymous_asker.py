"""An anonymous asker's id goes nowhere but to the asker: not in any payload leanon sends
to Slack or Discord (except the fields that address the asker privately), not in any log
line, not in the metrics.

One leanon runs as `leanon run` composes it (Slack HTTP mode with /metrics beside the
Discord adapter, one database, logging configured by `configure_logging` at DEBUG as JSON
lines) and an anonymous ask goes through its whole life on each platform: the form, offers,
a reply in its thread, resolve, the thank buttons, a second ask's waiting follow-up (and on
Slack a helper's request to look at it), the weekly posts (on demand and scheduled), the
asks list, App Home, stats, the leaderboard and an admin's export in JSON and CSV.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.commands import RunAskMaintenance, RunDueNudges
from bot.messages import ActionId
from tests.discord.discord_testing import ALICE as D_ALICE
from tests.discord.discord_testing import BOB as D_BOB
from tests.discord.discord_testing import CAROL as D_CAROL
from tests.discord.discord_testing import option, press, slash, sub, submit_form
from tests.discord.fake_discord import APP_ID, CHANNEL
from tests.security.security_testing import (
    RecordingDiscord,
    SlackStack,
    clock_of,
    discord_beside,
    json_logs,
    slack_stack,
    snapshot,
)
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CAROL, dm, payload
from tests.slack.slack_testing import CHANNEL as S_CHANNEL

QUESTION = "Is it normal that I still don't understand how our deploy pipeline works?"
SECOND = "Who can explain the on-call rota to me? I am too shy to ask by name."

# The only places where the asker's Slack id may go, each addressing the asker alone:
SLACK_PRIVATE_FIELDS = {
    "users.info": "user",  # leanon asks Slack whether the member is an admin (resolve)
    "conversations.open": "users",  # opens the asker's DM (help offered, thank buttons)
    "chat.postEphemeral": "user",  # an answer only the asker sees
    "views.publish": "user_id",  # the asker's own App Home
}


def slack_leaks(fake: FakeSlack, asker: str) -> list[str]:
    """The calls to Slack that carry `asker` outside the fields above.

    A DM to the asker goes to the channel `conversations.open` returned for them, which
    names no member. response_urls are Slack's private answer to the member who acted:
    what is sent there is checked like any payload (the URL is Slack's, not leanon's).
    """
    leaks = []
    for call in fake.calls:
        args = dict(call.args)
        field = SLACK_PRIVATE_FIELDS.get(call.method)
        if field is not None and args.get(field) == asker:
            args.pop(field)
        if asker in json.dumps(args, ensure_ascii=False) or asker == call.token:
            leaks.append(f"{call.method}: {json.dumps(args, ensure_ascii=False)[:300]}")
    return leaks


def discord_leaks(fake: RecordingDiscord, asker: str) -> list[str]:
    """The requests to Discord (and gateway frames, and uploaded files) that carry
    `asker`, except opening the asker's DM channel (`recipient_id`) and the path of that
    DM channel (whose id is the fake's, made from the recipient's)."""
    dm_channels = {c["id"] for c in fake.channels.values()
                   if c.get("type") == 1 and c["recipients"][0]["id"] == asker}
    leaks = []
    for call in fake.calls:
        body = call.body
        if call.path == "/users/@me/channels" and str((body or {}).get("recipient_id")) == asker:
            continue
        path = call.path
        for channel in dm_channels:
            path = path.replace(f"/channels/{channel}/", "/channels/<the asker's DM>/")
        text = json.dumps({"path": path, "query": call.query, "body": body,
                           "files": call.files}, ensure_ascii=False)
        if asker in text:
            leaks.append(f"{call.method} {text[:300]}")
    leaks.extend(f"upload {name}" for name, content in fake.uploads
                 if asker.encode() in content)
    frames = [f for s in (*fake.gateway.sessions, *fake.gateway.closed) for f in s.received]
    leaks.extend(f"gateway {f}" for f in frames if asker in json.dumps(f))
    return leaks


async def slack_life(stack: SlackStack) -> None:
    """An anonymous ask on Slack, from the form to the export."""
    harness, fake = stack.harness, stack.fake
    # The lives begin at 06:00 (tomorrow), whatever the time of day: the Slack channel's
    # weekly post, scheduled for 00:00 today, falls due again on the same weekday a week
    # later in the Discord life (at 12:00), not the day after.
    clock = clock_of(stack.runtime)
    now = clock.now()
    clock.offset += now.replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1) - now
    await harness.command("/ask", "", user=ALICE)  # opens the form
    form = payload("view_submission")  # "ask anonymously" is ticked in it
    form["user"]["id"] = ALICE
    form["view"]["state"]["values"]["question"]["value"]["value"] = QUESTION
    await harness.interactive(form)
    card_ts = str(fake.posts(S_CHANNEL)[0].result["ts"])
    await harness.press(ActionId.OFFER_HELP, "1", user=BOB, message_ts=card_ts)
    await harness.press(ActionId.OFFER_HELP, "1", user=BOB, message_ts=card_ts)  # again
    reply = fake.add_message(S_CHANNEL, CAROL, thread_ts=card_ts)
    await harness.press(ActionId.RESOLVE, "1", user=BOB, message_ts=card_ts)  # refused
    await harness.press(ActionId.RESOLVE, "1", user=ALICE, message_ts=card_ts)
    for helper in (BOB, CAROL, BOB):
        await harness.press(ActionId.THANK_HELPER, f"1:{helper}", user=ALICE, message_ts=card_ts)
    reaction = payload("event_reaction_added")  # Bob thanks Carol's reply in the thread
    reaction["event"].update(user=BOB, item_user=CAROL)
    reaction["event"]["item"].update(channel=S_CHANNEL, ts=reply)
    await harness.event(reaction)

    # Carol is a helper: the second ask, waiting, reaches her as a private request.
    await harness.command("/leanon", "hours 00:00-23:59 daily UTC", user=CAROL)
    await harness.command("/leanon", "helper on", user=CAROL)
    second = payload("view_submission")
    second["user"]["id"] = ALICE
    second["view"].update(id="V0002ASK", hash="2")
    second["view"]["state"]["values"]["question"]["value"]["value"] = SECOND
    await harness.interactive(second)
    clock.offset += timedelta(hours=3)
    await stack.runtime.service.handle(RunAskMaintenance())  # the waiting ask's follow-up
    await harness.command("/leanon", "config set leaderboard on", user=ADMIN)
    for user in (ALICE, BOB, ADMIN):
        for text in ("asks", "asks all", "stats", "leaderboard", "nudge preview"):
            await harness.command("/leanon", text, user=user)
        home = payload("event_app_home_opened")
        home["event"]["user"] = user
        await harness.event(home)
    await harness.command("/leanon", "nudge now", user=ADMIN)
    weekday = clock.now().strftime("%A").lower()
    await harness.command("/leanon", f"nudge here {weekday} 00:00 UTC", user=BOB)
    clock.offset += timedelta(days=7)
    await stack.runtime.service.handle(RunDueNudges())
    for fmt in ("json", "csv"):
        await harness.command("/leanon", f"export {fmt}", user=ADMIN)


async def discord_life(stack: SlackStack, fake: RecordingDiscord) -> None:
    """The same on Discord, on the same leanon."""
    async with discord_beside(stack.runtime, fake) as leanon:
        [modal] = await leanon.run(slash("ask", option("anonymous", True, kind=5)))
        await leanon.run(submit_form(modal.data["custom_id"], {"question": QUESTION, "tried": ""}))
        card = [m for m in fake.channel_messages(CHANNEL)
                if m["author"]["id"] == APP_ID and m["components"]][-1]
        await leanon.run(press(card, "I can help", who=D_BOB))
        fake.user_message(card["id"], fake.users[D_CAROL], "try the runbook")
        await leanon.run(press(card, "Resolved", who=D_CAROL))  # refused
        [resolved] = await leanon.run(press(card, "Resolved", who=D_ALICE))
        assert resolved.message is not None
        for label in ("Thank Bob", "Thank Carol", "Thank Bob"):
            await leanon.run(press(resolved.message, label, who=D_ALICE))

        [modal] = await leanon.run(slash("ask", option("anonymous", True, kind=5)))
        await leanon.run(submit_form(modal.data["custom_id"], {"question": SECOND, "tried": ""}))
        clock = clock_of(stack.runtime)
        clock.offset += timedelta(hours=3)
        await stack.runtime.service.handle(RunAskMaintenance())
        await leanon.run(slash("leanon", sub("config", sub(
            "set", option("setting", "leaderboard"), option("value", "on")), group=True),
            admin=True, who=D_CAROL))
        for who in (D_ALICE, D_BOB):
            for args in ([sub("asks")], [sub("asks", option("where", "server"))], [sub("stats")],
                         [sub("leaderboard")], [sub("nudge", option("action", "preview"))]):
                await leanon.run(slash("leanon", *args, who=who))
        await leanon.run(slash("leanon", sub("nudge", option("action", "now")), admin=True,
                               who=D_CAROL))
        weekday = clock.now().strftime("%A").lower()
        await leanon.run(slash("leanon", sub("nudge", option("action", "here"),
                                             option("weekday", weekday), option("time", "00:00"),
                                             option("timezone", "UTC")), who=D_BOB))
        clock.offset += timedelta(days=7)
        await stack.runtime.service.handle(RunDueNudges())
        for fmt in ("json", "csv"):
            await leanon.run(slash("leanon", sub("export", option("format", fmt)), admin=True,
                                   who=D_CAROL))


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_an_anonymous_askers_id_reaches_only_the_asker(
        fake: FakeSlack, discord_fake: RecordingDiscord, tmp_path: Path) -> None:
    with json_logs("DEBUG") as logs:
        async with slack_stack(fake, tmp_path) as stack:
            await slack_life(stack)
            await discord_life(stack, discord_fake)
            metrics = await stack.metrics_text()
            rows = await snapshot(stack.runtime)

    # The lives were lived: every kind of message went out, and the asker is on record.
    methods = {c.method for c in fake.calls}
    assert {"views.open", "chat.postEphemeral", "conversations.open", "chat.update",
            "views.publish", "file.upload", "users.info"} <= methods
    weekly = [c for c in fake.posts(S_CHANNEL) if "It's okay to ask" in c.text()]
    # On demand, then scheduled twice (the Discord life moved the shared clock a week on).
    assert len(weekly) == 3 and all("Still waiting for a hand" in c.text() for c in weekly)
    assert all("asked by someone" in c.text() for c in weekly)
    assert [c.args["users"] for c in fake.find("conversations.open")].count(ALICE) >= 1
    assert any(c.args.get("channel") == dm(ALICE) for c in fake.posts())
    assert any("The person you helped thanked you" in c.text() for c in fake.posts(dm(BOB)))
    [request] = [c for c in fake.posts(dm(CAROL)) if "Could you look at a teammate's ask?" in c.text()]
    assert SECOND in request.text() and "Asked by someone" in request.text()
    assert len(discord_fake.uploads) == 4 and len(fake.find("file.upload")) == 4
    posts = [m for m in discord_fake.channel_messages(CHANNEL) if m["author"]["id"] == APP_ID]
    weekly_d = [m for m in posts if "It's okay to ask" in json.dumps(m)]
    assert len(weekly_d) == 2 and all("asked by someone" in json.dumps(m) for m in weekly_d)
    opened = discord_fake.find("POST", "/users/@me/channels")
    assert {str(c.body["recipient_id"]) for c in opened} >= {D_ALICE, D_BOB}
    follow_ups = [m for m in discord_fake.messages.values()
                  if "still waiting for a hand" in m["content"]]
    assert len(follow_ups) == 1
    asks = [row for row in rows["asks"] if ALICE in row or D_ALICE in row]
    assert len(asks) == 4  # the database knows who asked (to let them resolve and thank)
    assert 'leanon_asks_total{outcome="ok",platform="slack"} 2.0' in metrics
    assert 'leanon_asks_total{outcome="ok",platform="discord"} 2.0' in metrics

    assert slack_leaks(fake, ALICE) == []
    assert discord_leaks(discord_fake, D_ALICE) == []
    lines = log_lines(logs.getvalue())
    assert any(line["level"] == "debug" for line in lines)  # DEBUG really was on
    assert len(lines) > 50
    for asker in (ALICE, D_ALICE):
        assert [line for line in lines if asker in json.dumps(line)] == []
        assert asker not in metrics
    assert not re.search(r'(user|member|asker|ask_id|channel)="', metrics)  # no such labels

"""Weekly posts on Discord: /leanon nudge, and posting exactly once (bot.ports.OncePoster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.messages import Message, MessageKind, line
from bot.ports import OncePoster
from tests.discord.discord_testing import WS, Harness, option, slash, sub
from tests.discord.fake_discord import APP_ID, CHANNEL, FakeDiscord

POST = Message(MessageKind.WEEKLY_POST, (line("Nobody has all the answers."),),
               title="It's okay to ask")


async def test_nudge_options_reach_the_core(leanon: Harness) -> None:
    [answer] = await leanon.run(slash("leanon", sub(
        "nudge", option("action", "here"), option("weekday", "tuesday"), option("time", "10:15"),
        option("timezone", "Europe/Berlin"))))
    assert answer.ephemeral and "Tuesday" in answer.text and "10:15" in answer.text
    [bad] = await leanon.run(slash("leanon", sub(
        "nudge", option("action", "here"), option("time", "25:99"))))
    assert "I can't read '25:99'" in bad.text


async def test_a_weekly_post_is_posted_once_and_found_again(leanon: Harness, fake: FakeDiscord) -> None:
    router = leanon.runtime.router
    assert isinstance(router, OncePoster)
    since = datetime.now(UTC) - timedelta(minutes=1)
    first = await router.post_once(WS, CHANNEL, POST, "leanon-1-2026-W48")
    again = await router.post_once(WS, CHANNEL, POST, "leanon-1-2026-W48")  # a retry
    assert first == again
    [posted] = [m for m in fake.channel_messages(CHANNEL) if m["author"]["id"] == APP_ID]
    assert posted["embeds"][0]["footer"]["text"] == "leanon-1-2026-W48"
    assert fake.find("POST", f"/channels/{CHANNEL}/messages")[0].body["enforce_nonce"] is True
    assert await router.find_post(WS, CHANNEL, "leanon-1-2026-W48", since) == first
    assert await router.find_post(WS, CHANNEL, "leanon-2-2026-W48", since) is None

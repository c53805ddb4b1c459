"""Hostile input at Discord's edge. Discord itself caps what a member can send (6,000
characters in a string option, 4,000 in a form field), so the worst is the worst text of
those sizes: a clear private answer, nothing changed, nobody looked up, no CPU to speak of."""

from __future__ import annotations

import time
from pathlib import Path

from bot.deps import ASK_MAX_CHARS, THANKED_AT_ONCE
from tests.discord.discord_testing import BOB, option, slash, sub, submit_form
from tests.discord.fake_discord import CHANNEL
from tests.security.security_testing import RecordingDiscord, discord_alone, snapshot

OPTION_MAX = 6000  # Discord's limit on a string option
FIELD_MAX = 4000  # and on a form field
MARKS = "\u0345\u0315\u031b\u0327\u0301"  # falling combining classes: NFC's worst case


async def test_the_worst_text_discord_lets_through_is_answered_at_once(
        tmp_path: Path, discord_fake: RecordingDiscord) -> None:
    fake = discord_fake
    crafted = ("a" + MARKS * 2_000)[:OPTION_MAX]
    named = " ".join(f"<@{10**17 + n}>" for n in range(THANKED_AT_ONCE + 5))
    many = f"{named} for the launch"[:OPTION_MAX]
    emoji = ",".join(["pray"] * 1_200)[:OPTION_MAX]
    async with discord_alone(tmp_path, fake) as leanon:
        before = await snapshot(leanon.runtime)
        calls = len(fake.calls)
        started = time.process_time()
        [ask] = await leanon.run(slash("ask", option("question", crafted)))
        [thanks] = await leanon.run(slash(
            "thanks", option("member", BOB, kind=6), option("reason", many),
            resolved={"users": {BOB: fake.users[BOB]}}))
        [setting] = await leanon.run(slash("leanon", sub("config", sub(
            "set", option("setting", "thanks-emoji"), option("value", emoji)), group=True),
            admin=True))
        [form] = await leanon.run(slash("ask"))
        [formed] = await leanon.run(submit_form(form.data["custom_id"], {
            "question": crafted[:FIELD_MAX], "tried": crafted[:FIELD_MAX]}))
        spent = time.process_time() - started
        after = await snapshot(leanon.runtime)
    assert ask.ephemeral and f"the limit is {ASK_MAX_CHARS:,}" in ask.text
    assert thanks.ephemeral and f"up to {THANKED_AT_ONCE} teammates" in thanks.text
    assert setting.ephemeral and "too long" in setting.text and len(setting.text) < 300
    assert formed.ephemeral and f"the limit is {ASK_MAX_CHARS:,}" in formed.text
    assert after == before
    answered = [c for c in fake.calls[calls:] if "/interactions/" in c.path]
    assert len(answered) == 5 and len(fake.calls) - calls == 5, fake.calls[calls:]  # no look-ups, no posts
    assert not fake.find("POST", f"/channels/{CHANNEL}/messages")
    assert spent < 2.0, spent  # five requests; a quadratic step would take far longer

"""Property tests: whatever a member types, and whatever id a stored thanks names, the text
leanon renders for Slack and Discord pings no one but the members it means.

The core neutralises member text before storing it (tests/unit/test_text.py); these go one
step further, through the platform renderers, including the cut previews the weekly post
and the asks list show, and member ids that no member has (a forged button value).
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.discord.render import render
from adapters.slack.render import fallback_text, mrkdwn_line
from bot.domain import MessageRef
from bot.messages import Link, Mention, MessageKind, UserText, line, notice
from bot.text import ZWSP, clean_user_text, neutralise_mentions, preview
from tests.security.security_testing import discord_markup, slack_markup

EXAMPLES = settings(derandomize=True, database=None, deadline=None, max_examples=400)
SLACK_MEMBER, DISCORD_MEMBER = "U0MEMBER1", "700000000000000005"
FRAGMENTS = ["<", ">", "@", "!", "#", "&", "|", "^", " ", "\n", "here", "channel", "everyone",
             "HERE", "U1", "W2", "700000000000000077", "&880000000000000001", "subteam^S1",
             "<@", "<!", "<#", "<@&", "<@!", "&lt;", "&gt;", "&amp;", ZWSP, "\u2028", "x" * 79]
typed = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=40).map("".join)
REF = MessageRef("C0CHANNEL1", "1700000000.000100")


def stored(typed_text: str) -> str:
    """Member text as the core stores it."""
    return neutralise_mentions(clean_user_text(typed_text))


@EXAMPLES
@given(st.text() | typed, st.integers(min_value=1, max_value=90))
@example("<!here> <<!channel>> @everyone", 10)
@example("x" * 69 + "<@U0VICTIM1>", 70)
def test_member_text_rendered_for_slack_pings_no_one(typed_text: str, cut: int) -> None:
    text = stored(typed_text)
    message = notice(
        line(Mention(SLACK_MEMBER), " thanked you for: ", UserText(text)),
        line("• ", Link(REF, preview(text, cut)), " (asked by someone)"),
        line("• ", UserText(preview(text, cut))),
        kind=MessageKind.WEEKLY_POST, title="It's okay to ask")
    for rendered in (*(mrkdwn_line(ln, "https://example.slack.com/") for ln in message.lines),
                     mrkdwn_line(message.lines[1]), fallback_text(message)):
        assert slack_markup(rendered, {SLACK_MEMBER}) == []


@EXAMPLES
@given(st.text() | typed)
@example("U1>|<!here")
@example("<!channel>")
@example("here")
@example("U0VICTIM1> <!everyone")
def test_a_member_id_that_is_no_slack_id_is_shown_as_text(user_id: str) -> None:
    rendered = mrkdwn_line(line(Mention(user_id), " was thanked"))
    is_slack_id = re.fullmatch(r"[A-Z0-9]+", user_id) is not None
    assert slack_markup(rendered, {user_id} if is_slack_id else set()) == []
    assert rendered.startswith(f"<@{user_id}>") is is_slack_id


@EXAMPLES
@given(st.text() | typed, st.integers(min_value=1, max_value=90))
@example("@everyone <@&880000000000000001> <@!700000000000000077>", 12)
def test_member_text_rendered_for_discord_pings_no_one(typed_text: str, cut: int) -> None:
    text = stored(typed_text)
    note = notice(line(Mention(DISCORD_MEMBER), " thanked you for: ", UserText(text)),
                  kind=MessageKind.THANKS_NOTE)
    card = notice(line(UserText(text)), line("• ", Link(REF, preview(text, cut))),
                  kind=MessageKind.ASK_CARD, title="Asking for help")
    rendered = render([note, card], "800000000000000001")
    mentions = rendered.allowed_mentions().to_dict()
    assert mentions.get("parse") == [] and not mentions.get("roles")
    assert {str(u) for u in mentions.get("users", [])} <= {DISCORD_MEMBER}
    texts = [rendered.content or "", *(e.description or "" for e in rendered.embeds)]
    for out in texts:
        assert discord_markup(out, {DISCORD_MEMBER}) == []

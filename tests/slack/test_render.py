"""Core messages rendered as Block Kit."""

from __future__ import annotations

from adapters.slack import render
from adapters.slack.views import read_ask_form
from bot.messages import (
    ActionId,
    Button,
    ButtonStyle,
    Mention,
    Message,
    MessageKind,
    UserText,
    line,
    notice,
)


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_user_text_is_escaped_and_mentions_are_slack_mentions() -> None:
    message = notice(line(Mention("U1"), " asked: ", UserText("a < b && <!here> > c")))
    [text] = sections(render.blocks(message))
    assert text == "<@U1> asked: a &lt; b &amp;&amp; &lt;!here&gt; &gt; c"
    assert render.fallback_text(message) == text


def test_bot_text_is_escaped_too() -> None:
    [text] = sections(render.blocks(notice(line("use <b> & stay"))))
    assert text == "use &lt;b&gt; &amp; stay"


def test_long_text_is_split_into_sections_without_cutting_an_entity() -> None:
    text = "x" * 2998 + "&&" + "y" * 4000
    message = notice(line("start"), line(UserText(text)))
    parts = sections(render.blocks(message))
    assert all(len(p) <= 3000 for p in parts)
    assert "".join(parts).replace("start", "", 1) == render.escape(text)
    assert not any(p.endswith(("&", "&a", "&am", "&amp")) for p in parts)


def test_buttons_keep_core_action_ids_values_styles_and_are_unique_per_block() -> None:
    buttons = tuple(Button(line("Thank ", Mention(u)), ActionId.THANK_HELPER, f"7:{u}",
                           ButtonStyle.PRIMARY) for u in ("U1", "U2"))
    blocks = render.blocks(notice(line("done"), buttons=buttons), {"U1": "bob"})
    rows = [b["elements"] for b in blocks if b["type"] == "actions"]
    assert len(rows) == 2  # Slack rejects a repeated action_id inside one block
    [first], [second] = rows
    assert first == {"type": "button", "action_id": "leanon_thank_helper", "value": "7:U1",
                     "style": "primary", "text": {"type": "plain_text", "text": "Thank @bob",
                                                  "emoji": True}}
    assert second["text"]["text"] == "Thank @teammate"


def test_different_buttons_share_a_row_and_default_style_is_omitted() -> None:
    buttons = (Button(line("I can help"), ActionId.OFFER_HELP, "3", ButtonStyle.PRIMARY),
               Button(line("Resolved"), ActionId.RESOLVE, "3"))
    [row] = [b for b in render.blocks(notice(line("q"), buttons=buttons)) if b["type"] == "actions"]
    assert [e["action_id"] for e in row["elements"]] == ["leanon_offer_help", "leanon_resolve"]
    assert "style" not in row["elements"][1]


def test_title_becomes_a_header_and_blocks_stay_within_slacks_limit() -> None:
    lines = tuple(line(UserText("z" * 2900)) for _ in range(80))
    message = Message(MessageKind.LIST, lines, title="Open asks")
    blocks = render.blocks(message)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Open asks",
                                                    "emoji": True}}
    assert len(blocks) <= 50
    assert len(render.fallback_text(message)) <= 3000


def test_the_ask_form_is_read_back_and_foreign_views_are_refused() -> None:
    view = {"private_metadata": '{"channel": "C123"}', "state": {"values": {
        "question": {"value": {"value": "why?"}},
        "anonymous": {"value": {"selected_options": [{"value": "anonymous"}]}}}}}
    form = read_ask_form(view)
    assert form is not None and (form.channel_id, form.question, form.tried, form.anonymous) == (
        "C123", "why?", None, True)
    assert read_ask_form({"private_metadata": '{"channel": "<!here>"}'}) is None
    assert read_ask_form({"private_metadata": "not json"}) is None

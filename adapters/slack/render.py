"""Core messages as Slack Block Kit: escaped mrkdwn sections, a header, button rows.

User text is escaped (`&`, `<`, `>`) and every text object is `verbatim`, so Slack
neither reads markup in it nor links bare `@here` words: only `Mention`s ping.
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain import MessageRef
from bot.messages import Button, ButtonStyle, Line, Link, Mention, Message, UserText
from bot.text import neutralise_mentions

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_LABEL_LIMIT = 75
FALLBACK_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50

Block = dict[str, Any]

# Escaped entities, mentions and links must never be cut in half when a section is split.
_ATOMS = re.compile(r"&(?:amp|lt|gt);|<@[A-Z0-9]+>|<https?://[^<>]*>|.", re.DOTALL)
# A Slack member id; anything else in a Mention (a forged button value) is shown as text.
_MEMBER_ID = re.compile(r"[A-Z0-9]+")


def escape(text: str) -> str:
    """Slack's own escaping: user text can no longer form `<!here>` or `<@U…>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_url(team_url: str, ref: MessageRef) -> str:
    """A message's permalink: https://team.slack.com/archives/C1/p1700000000000100."""
    return f"{team_url.rstrip('/')}/archives/{ref.channel_id}/p{ref.message_id.replace('.', '')}"


def mrkdwn_line(parts: Line, team_url: str | None = None) -> str:
    """A line as Slack mrkdwn: mentions become `<@U…>`, links `<url|label>`, the rest is escaped."""
    out = []
    for part in parts:
        if isinstance(part, Mention):
            user = part.user_id
            out.append(f"<@{user}>" if _MEMBER_ID.fullmatch(user)
                       else escape(neutralise_mentions(f"@{user}")))
        elif isinstance(part, Link):
            label = escape(part.text)
            out.append(f"<{message_url(team_url, part.ref)}|{label}>" if team_url else label)
        elif isinstance(part, UserText):
            out.append(escape(part.text))
        else:
            out.append(escape(part))
    return "".join(out)


def plain_line(parts: Line, names: dict[str, str]) -> str:
    """A line for a plain_text field (buttons, headers): mentions become `@name`."""
    out = []
    for part in parts:
        if isinstance(part, Mention):
            out.append("@" + names.get(part.user_id, "teammate"))
        elif isinstance(part, UserText | Link):
            out.append(part.text)
        else:
            out.append(part)
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Split mrkdwn into pieces of at most `limit` characters, between atoms."""
    pieces, current = [], ""
    for atom in _ATOMS.findall(text):
        if len(current) + len(atom) > limit:
            pieces.append(current)
            current = ""
        current += atom
    if current:
        pieces.append(current)
    return pieces


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def body_blocks(message: Message, team_url: str | None = None) -> list[Block]:
    """The lines of a message as sections of at most 3,000 characters each."""
    blocks: list[Block] = []
    current = ""
    for ln in message.lines:
        text = mrkdwn_line(ln, team_url) or " "
        candidate = f"{current}\n{text}" if current else text
        if len(candidate) <= SECTION_LIMIT:
            current = candidate
            continue
        if current:
            blocks.append(_section(current))
        *full, current = _chunks(text, SECTION_LIMIT)
        blocks.extend(_section(piece) for piece in full)
    if current:
        blocks.append(_section(current))
    return blocks


def button_element(button: Button, names: dict[str, str]) -> Block:
    label = _cut(plain_line(button.label, names), BUTTON_LABEL_LIMIT)
    element: Block = {
        "type": "button",
        "action_id": button.action.value,
        "value": button.value,
        "text": {"type": "plain_text", "text": label, "emoji": True},
    }
    if button.style is not ButtonStyle.DEFAULT:
        element["style"] = button.style.value
    return element


def button_rows(buttons: tuple[Button, ...], names: dict[str, str]) -> list[Block]:
    """Actions blocks; an action_id appears once per block, as Slack requires."""
    rows: list[list[Block]] = []
    for button in buttons:
        element = button_element(button, names)
        row = next((r for r in rows if len(r) < 25
                    and all(e["action_id"] != element["action_id"] for e in r)), None)
        if row is None:
            rows.append([element])
        else:
            row.append(element)
    return [{"type": "actions", "elements": row} for row in rows]


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": _cut(text, HEADER_LIMIT),
                                       "emoji": True}}


def blocks(message: Message, names: dict[str, str] | None = None,
           limit: int = MESSAGE_BLOCK_LIMIT, team_url: str | None = None) -> list[Block]:
    """The whole message as blocks: header, body sections, button rows."""
    out: list[Block] = [header(message.title)] if message.title else []
    out.extend(body_blocks(message, team_url))
    rows = button_rows(message.buttons, names or {})
    if len(out) + len(rows) > limit:
        out = [*out[: limit - len(rows) - 1], _section("…")]
    return out + rows


def fallback_text(message: Message, team_url: str | None = None) -> str:
    """The notification text: the same escaped content without layout."""
    lines = [escape(message.title)] if message.title else []
    lines.extend(mrkdwn_line(ln, team_url) for ln in message.lines)
    pieces = _chunks("\n".join(lines), FALLBACK_LIMIT)
    return pieces[0] if pieces and pieces[0].strip() else " "


def payload(message: Message, names: dict[str, str] | None = None,
            team_url: str | None = None) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage, chat.update, chat.postEphemeral, respond."""
    return {"text": fallback_text(message, team_url),
            "blocks": blocks(message, names, team_url=team_url)}


def mentioned_in_buttons(message: Message) -> set[str]:
    """Members whose names a button label shows (plain text can't hold a mention)."""
    return {p.user_id for b in message.buttons for p in b.label if isinstance(p, Mention)}

"""Slack views: the ask form and the resolve form (modals), and the App Home tab."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.slack.render import Block, blocks, escape, header
from bot.deps import ASK_MAX_CHARS, NOTE_MAX_CHARS, TRIED_MAX_CHARS
from bot.messages import Message

ASK_MODAL = "leanon_ask_modal"
RESOLVE_MODAL = "leanon_resolve_modal"
HOME_BLOCK_LIMIT = 100
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _text_input(block_id: str, label: str, limit: int, optional: bool, hint: str) -> Block:
    return {
        "type": "input", "block_id": block_id, "optional": optional, "label": _plain(label),
        "hint": _plain(hint),
        "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                    "max_length": limit},
    }


def ask_modal(channel_id: str, anonymous_allowed: bool) -> dict[str, Any]:
    """The `/ask` form: the question, what was tried, and (where allowed) anonymity."""
    fields = [
        _text_input("question", "What do you need help with?", ASK_MAX_CHARS, False,
                    "Be specific: what you're trying to do, what you expected, what happened."),
        _text_input("tried", "What have you tried?", TRIED_MAX_CHARS, True,
                    "Optional. It saves your helpers from suggesting it again."),
    ]
    if anonymous_allowed:
        fields.append({
            "type": "input", "block_id": "anonymous", "optional": True,
            "label": _plain("Anonymous"),
            "element": {"type": "checkboxes", "action_id": "value", "options": [{
                "text": _plain("Ask anonymously"), "value": "anonymous",
                "description": _plain("The card says \"someone\"; only you can resolve it."),
            }]},
        })
    return {
        "type": "modal", "callback_id": ASK_MODAL, "title": _plain("Ask for help"),
        "submit": _plain("Ask"), "close": _plain("Cancel"),
        "private_metadata": json.dumps({"channel": channel_id}), "blocks": fields,
    }


@dataclass(frozen=True, slots=True)
class AskForm:
    channel_id: str
    question: str
    tried: str | None
    anonymous: bool


def read_ask_form(view: dict[str, Any]) -> AskForm | None:
    """The submitted ask form; None when the view is not one leanon opened."""
    try:
        channel_id = json.loads(view.get("private_metadata") or "{}").get("channel", "")
    except (ValueError, AttributeError, TypeError):
        return None
    if not isinstance(channel_id, str) or not _CHANNEL.match(channel_id):
        return None
    values = _dict(_dict(view.get("state")).get("values"))

    def field(block_id: str) -> dict[str, Any]:
        return _dict(_dict(values.get(block_id)).get("value"))

    question = field("question").get("value")
    tried = field("tried").get("value")
    selected = field("anonymous").get("selected_options")
    anonymous = isinstance(selected, list) and any(
        isinstance(o, dict) and o.get("value") == "anonymous" for o in selected)
    # A value that is not text counts as left empty.
    return AskForm(channel_id, question if isinstance(question, str) else "",
                   tried if isinstance(tried, str) and tried else None, anonymous)


def resolve_modal(ask_id: int, channel_id: str | None) -> dict[str, Any]:
    """The resolve form: what solved it (optional), kept so that leanon can offer it when
    someone asks the same again."""
    return {
        "type": "modal", "callback_id": RESOLVE_MODAL, "title": _plain("Resolve your ask"),
        "submit": _plain("Resolve"), "close": _plain("Cancel"),
        "private_metadata": json.dumps({"ask": ask_id, "channel": channel_id or ""}),
        "blocks": [_text_input("solved", "What solved it?", NOTE_MAX_CHARS, True,
                               "Optional, one or two lines. leanon offers it to whoever "
                               "asks the same again.")],
    }


@dataclass(frozen=True, slots=True)
class ResolveForm:
    ask_id: int
    channel_id: str | None
    note: str | None


def read_resolve_form(view: dict[str, Any]) -> ResolveForm | None:
    """The submitted resolve form; None when the view is not one leanon opened."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        ask_id, channel_id = meta.get("ask"), meta.get("channel")
    except (ValueError, AttributeError, TypeError):
        return None
    if not isinstance(ask_id, int) or isinstance(ask_id, bool) or ask_id < 1:
        return None
    channel = channel_id if isinstance(channel_id, str) and _CHANNEL.match(channel_id) else None
    values = _dict(_dict(view.get("state")).get("values"))
    note = _dict(_dict(values.get("solved")).get("value")).get("value")
    return ResolveForm(ask_id, channel, note if isinstance(note, str) and note.strip() else None)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def home_view(sections: list[Message], tips: tuple[str, ...],
              team_url: str | None = None) -> dict[str, Any]:
    """The App Home tab: the member's numbers, open asks, and the three habits."""
    out: list[Block] = [header("leanon: asking for help is a strength"), {
        "type": "context", "elements": [{"type": "mrkdwn", "verbatim": True, "text":
            "Type /ask in any channel to ask your teammates; react :pray: to thank someone."}],
    }]
    for message in sections:
        out.append({"type": "divider"})
        out.extend(blocks(message, limit=40, team_url=team_url))
    out.append({"type": "divider"})
    out.append(header("Three habits that make asking work"))
    out.extend({"type": "section", "text": {"type": "mrkdwn", "text": f"• {escape(tip)}",
                                            "verbatim": True}} for tip in tips)
    return {"type": "home", "blocks": out[:HOME_BLOCK_LIMIT]}

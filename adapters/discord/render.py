"""Render the core's neutral messages as Discord messages: content or embeds, buttons, files.

Member text is escaped and every send names its allowed mentions: the members the core
mentions (`<@id>` in the content) and nobody else — never @everyone, @here or a role.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.components import STYLES, ButtonRef, LeanonButton
from bot.domain import MessageRef
from bot.messages import Attachment, Button, Line, Link, Mention, Message, MessageKind, UserText

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256
LABEL_LIMIT = 80
MAX_EMBEDS = 10
MAX_BUTTONS = 25
MAX_FILES = 10

EMBED_KINDS = {MessageKind.ASK_CARD, MessageKind.LIST, MessageKind.HELP_REQUEST,
               MessageKind.ESCALATION}
COLOURS = {
    MessageKind.ASK_CARD: discord.Colour.blurple(),
    MessageKind.LIST: discord.Colour.blurple(),
    MessageKind.ERROR: discord.Colour.red(),
    MessageKind.TIP: discord.Colour.gold(),
    MessageKind.WEEKLY_POST: discord.Colour.gold(),
    MessageKind.HELP_REQUEST: discord.Colour.blurple(),
    MessageKind.ESCALATION: discord.Colour.orange(),
}


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def message_url(guild_id: str, ref: MessageRef) -> str:
    return f"https://discord.com/channels/{guild_id}/{ref.channel_id}/{ref.message_id}"


def render_line(parts: Line, guild_id: str) -> str:
    """A line as Discord markdown: mentions as `<@id>`, member text with mentions escaped,
    links to messages as masked links."""
    out = []
    for part in parts:
        if isinstance(part, Mention):
            out.append(f"<@{part.user_id}>")
        elif isinstance(part, UserText):
            out.append(discord.utils.escape_mentions(part.text))
        elif isinstance(part, Link):
            label = discord.utils.escape_mentions(part.text).replace("[", "(").replace("]", ")")
            out.append(f"[{label}]({message_url(guild_id, part.ref)})")
        else:
            out.append(part)
    return "".join(out)


def mentioned(message: Message) -> list[str]:
    """The members a message mentions, in order, once each."""
    ids = (p.user_id for ln in message.lines for p in ln if isinstance(p, Mention))
    return list(dict.fromkeys(ids))


def button_label(parts: Line, names: Mapping[str, str]) -> str:
    """A button label (plain text: Discord shows no mentions on buttons)."""
    text = "".join(
        names.get(p.user_id, "a teammate") if isinstance(p, Mention)
        else p.text if isinstance(p, UserText | Link) else p
        for p in parts
    )
    return shorten(text, LABEL_LIMIT)


def embed_of(message: Message, guild_id: str) -> discord.Embed:
    body = "\n".join(render_line(ln, guild_id) for ln in message.lines)
    colour = COLOURS.get(message.kind, discord.Colour.dark_grey())
    if message.kind is MessageKind.ASK_CARD and not message.buttons:
        colour = discord.Colour.dark_grey()  # resolved or closed: no longer asking
    return discord.Embed(title=shorten(message.title, TITLE_LIMIT) if message.title else None,
                         description=shorten(body, DESCRIPTION_LIMIT), colour=colour)


@dataclass
class Rendered:
    """One Discord message built from one or more neutral messages, for one server."""

    guild_id: str
    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)

    def view(self, names: Mapping[str, str]) -> discord.ui.View | None:
        if not self.buttons:
            return None
        view = discord.ui.View(timeout=None)
        for button in self.buttons[:MAX_BUTTONS]:
            ref = ButtonRef(button.action, button.value, self.guild_id)
            view.add_item(LeanonButton(ref, button_label(button.label, names), STYLES[button.style]))
        return view

    def allowed_mentions(self) -> discord.AllowedMentions:
        if not self.mentions:
            return discord.AllowedMentions.none()
        return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                       users=[discord.Object(int(u)) for u in self.mentions])

    def send_kwargs(self, names: Mapping[str, str]) -> dict[str, Any]:
        """Keyword arguments for `send`: only what is there, always with allowed mentions."""
        kwargs: dict[str, Any] = {"allowed_mentions": self.allowed_mentions()}
        if self.content:
            kwargs["content"] = self.content
        if self.embeds:
            kwargs["embeds"] = self.embeds[:MAX_EMBEDS]
        view = self.view(names)
        if view is not None:
            kwargs["view"] = view
        if self.attachments:
            kwargs["files"] = [discord.File(io.BytesIO(a.content), filename=a.filename)
                               for a in self.attachments[:MAX_FILES]]
        return kwargs

    def edit_kwargs(self, names: Mapping[str, str]) -> dict[str, Any]:
        """Keyword arguments for `edit`: replaces content, embeds and buttons entirely."""
        return {"content": self.content, "embeds": self.embeds[:MAX_EMBEDS],
                "view": self.view(names), "allowed_mentions": self.allowed_mentions()}


def render(messages: Sequence[Message], guild_id: str) -> Rendered:
    """Several neutral messages as one Discord message (a reply may hold a few)."""
    out = Rendered(guild_id)
    texts: list[str] = []
    for message in messages:
        if message.kind in EMBED_KINDS or message.title:
            out.embeds.append(embed_of(message, guild_id))
        else:
            texts.append("\n".join(render_line(ln, guild_id) for ln in message.lines))
            out.mentions.extend(m for m in mentioned(message) if m not in out.mentions)
        out.buttons.extend(message.buttons)
        out.attachments.extend(message.attachments)
    content = "\n\n".join(t for t in texts if t)
    if len(content) > CONTENT_LIMIT:
        # Too long for a message: an embed holds more (and mentions in it never ping).
        out.embeds.insert(0, discord.Embed(description=shorten(content, DESCRIPTION_LIMIT)))
        out.mentions, content = [], ""
    out.content = content or None
    return out


def label_mentions(messages: Sequence[Message]) -> list[str]:
    """Members named on buttons, whose display names the labels need."""
    ids = (p.user_id for m in messages for b in m.buttons for p in b.label
           if isinstance(p, Mention))
    return list(dict.fromkeys(ids))

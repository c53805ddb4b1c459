"""Platform-neutral messages: what the core says, for adapters to render.

A message is a few lines of parts plus optional buttons and an optional file.
A part is plain bot text (`str`), a `Mention` of a member, `UserText` that a member
wrote (renderers must escape it so it can never ping anyone), or a `Link` to a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain import MessageRef


@dataclass(frozen=True, slots=True)
class Mention:
    """A member, rendered as the platform's mention (or "someone" by the caller)."""

    user_id: str


@dataclass(frozen=True, slots=True)
class UserText:
    """Text a member wrote. Already mention-neutralised by the core; escape it again."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a platform message (an ask card); `text` is bot text, the visible label."""

    ref: MessageRef
    text: str


Part = str | Mention | UserText | Link
Line = tuple[Part, ...]


class MessageKind(StrEnum):
    ASK_CARD = "ask_card"
    NOTICE = "notice"
    ERROR = "error"
    TIP = "tip"
    THANKS_NOTE = "thanks_note"
    FOLLOW_UP = "follow_up"
    LIST = "list"
    EXPORT = "export"
    WEEKLY_POST = "weekly_post"
    HELP_REQUEST = "help_request"  # a helper asked privately to look at a waiting ask
    ESCALATION = "escalation"  # an ask nobody took, in the escalation channel

    @classmethod
    def _missing_(cls, value: object) -> MessageKind | None:
        # The weekly post's kind as outbox rows written by earlier versions name it.
        return cls.WEEKLY_POST if value == "encouragement" else None


class ActionId(StrEnum):
    """What a button does. The value carries the ask id (and helper id)."""

    OFFER_HELP = "leanon_offer_help"
    RESOLVE = "leanon_resolve"
    THANK_HELPER = "leanon_thank_helper"
    FORGET_DELETE_ASKS = "leanon_forget_delete"
    FORGET_KEEP_ASKS = "leanon_forget_keep"
    REUSE_ANSWER = "leanon_reuse_answer"  # "This solved it": value "<ask id>:<answer id>"
    REJECT_ANSWER = "leanon_reject_answer"  # "Not it": the same value
    REQUEST_OFFER = "leanon_request_offer"  # a helper's "I can help" on a request: the ask id
    REQUEST_NOT_NOW = "leanon_request_not_now"  # a helper's "Not now": value the ask id
    REQUEST_STOP = "leanon_request_stop"  # a helper's "Stop asking me": value the ask id
    POST_ASK = "leanon_post_ask"  # "Post my ask anyway" on a held ask: value the ask id


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: Line
    action: ActionId
    value: str
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Message:
    kind: MessageKind
    lines: tuple[Line, ...]
    title: str | None = None
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    def plain_text(self, names: dict[str, str] | None = None) -> str:
        """The message as plain text (names from `names`, else the raw user id)."""
        out = [self.title] if self.title else []
        out.extend(render_line(ln, names or {}) for ln in self.lines)
        return "\n".join(out)


def render_line(parts: Line, names: dict[str, str]) -> str:
    """A line as plain text; mentions become `@name` (or `@user_id`)."""
    out = []
    for part in parts:
        if isinstance(part, Mention):
            out.append("@" + names.get(part.user_id, part.user_id))
        elif isinstance(part, UserText | Link):
            out.append(part.text)
        else:
            out.append(part)
    return "".join(out)


def line(*parts: Part) -> Line:
    return tuple(parts)


def notice(*lines: Line, kind: MessageKind = MessageKind.NOTICE, title: str | None = None,
           buttons: tuple[Button, ...] = ()) -> Message:
    return Message(kind=kind, lines=tuple(lines), title=title, buttons=buttons)


def error(text: str) -> Message:
    return Message(kind=MessageKind.ERROR, lines=((text,),))


@dataclass(frozen=True, slots=True)
class Reply:
    """What a use case answers to the member who acted, privately (ephemeral).

    What it says to anyone else goes through the outbox (`bot.outbox`).
    """

    private: tuple[Message, ...] = ()
    # Nothing was done: the delivery was not for leanon (a reaction that thanks nobody).
    ignored: bool = False

    @classmethod
    def of(cls, *messages: Message) -> Reply:
        return cls(private=tuple(messages))

    @property
    def ok(self) -> bool:
        return not any(m.kind is MessageKind.ERROR for m in self.private)

"""The console's chat platform: messages with short ids, printed to a text stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.domain import MessageRef, WorkspaceRef
from bot.messages import Button, Line, Link, Message, render_line

BOT_NAME = "leanon"

# Terminal control characters (C0 but tab, DEL, C1) are printed as escapes: a message's
# text must not move the cursor, recolour or retitle the terminal of whoever reads it.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7f, 0xa0)) if c != 0x09}


def printable(text: str) -> str:
    """`text` with terminal control characters shown as escapes (\\x1b), on one line."""
    return text.translate(_CONTROLS)


@dataclass
class ConsoleMessage:
    """One message in the console channel: a member's text or a bot message."""

    id: str
    author: str
    text: str = ""
    message: Message | None = None
    thread_of: str | None = None
    private_to: str | None = None

    @property
    def is_bot(self) -> bool:
        return self.author == BOT_NAME

    @property
    def buttons(self) -> tuple[Button, ...]:
        return self.message.buttons if self.message else ()


class ConsoleClock:
    """The real time plus an offset that `time +2h` moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class ConsoleChat:
    """Implements bot.ports.Chat for the console: every message gets an id like m7."""

    out: TextIO
    channel: str = "general"
    messages: dict[str, ConsoleMessage] = field(default_factory=dict)
    _next: int = 1

    def resume(self, after: int, cards: dict[str, Message]) -> None:
        """Go on from an earlier run on the same database, whose last stored message id was
        `after`: new ids start at the next hundred (m101, m201, …), past the messages of that
        run that nothing stored, and the cards of asks still open can be pressed again."""
        if after:
            self._next = max(self._next, (after // 100 + 1) * 100 + 1)
        for msg_id, card in cards.items():
            self.messages[msg_id] = ConsoleMessage(msg_id, BOT_NAME, message=card)

    def new_id(self) -> str:
        msg_id = f"m{self._next}"
        self._next += 1
        return msg_id

    def add(self, msg: ConsoleMessage) -> ConsoleMessage:
        self.messages[msg.id] = msg
        self.show(msg)
        return msg

    def show(self, msg: ConsoleMessage, updated: bool = False) -> None:
        where = f"#{self.channel}"
        if msg.private_to:
            where = f"🔒 private to {msg.private_to}"
        elif msg.thread_of:
            where = f"#{self.channel} ↳ thread of {msg.thread_of}"
        head = f"[{msg.id}{' updated' if updated else ''}] {msg.author} ({where})"
        if msg.message is None:
            self.out.write(printable(f"{head}: {msg.text}") + "\n")
            return
        body = msg.message
        lines = [f"{head}:" + (f" {body.title}" if body.title else "")]
        lines.extend("    " + _render(ln) for ln in body.lines)
        if body.buttons:
            labels = "  ".join(f"[{i}] {render_line(b.label, {})}"
                               for i, b in enumerate(body.buttons, 1))
            lines.append(f"    buttons: {labels}   (press {msg.id} <number>)")
        for attachment in body.attachments:
            lines.append(f"    file: {attachment.filename} ({len(attachment.content):,} bytes)")
        self.out.write("\n".join(printable(text) for text in lines) + "\n")

    def bot_message(self, message: Message, *, private_to: str | None = None,
                    thread_of: str | None = None) -> ConsoleMessage:
        return self.add(ConsoleMessage(self.new_id(), BOT_NAME, message=message,
                                       private_to=private_to, thread_of=thread_of))

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        msg = self.bot_message(message)
        return MessageRef(channel_id, msg.id)

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        msg = self.messages.get(ref.message_id)
        if msg is None:
            return
        msg.message = message
        self.show(msg, updated=True)

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        msg = self.bot_message(message, thread_of=parent.message_id)
        return MessageRef(parent.channel_id, msg.id)

    async def tell(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        self.bot_message(message, private_to=user_id)


def _render(parts: Line) -> str:
    """A line as console text; a link shows the id of the message it points to."""
    return "".join(f"{p.text} ({p.ref.message_id})" if isinstance(p, Link) else render_line((p,), {})
                   for p in parts)


@dataclass
class ConsoleDirectory:
    """Implements bot.ports.Directory for the console, from its own messages."""

    chat: ConsoleChat
    admins: set[str] = field(default_factory=lambda: {"alice"})

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return user_id in self.admins

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        return user_id == BOT_NAME

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        msg = self.chat.messages.get(ref.message_id)
        return MessageRef(ref.channel_id, msg.thread_of) if msg and msg.thread_of else None

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.author for m in self.chat.messages.values()
                                   if m.thread_of == parent.message_id and not m.is_bot))

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        return False  # the console has one channel, and everyone in it

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        return None  # members say theirs (/leanon hours … Europe/Berlin)

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return None  # the console's messages live in the terminal

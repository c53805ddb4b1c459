"""The outbox: every message leanon sends is first written next to the change it reports.

A use case never calls the platform itself. In the unit of work that makes a change it
writes what must be said about it (`post`, `reply`, `tell`, `note`, `post_card`,
`refresh_card`) as items of the inbox's table with the source `outbox`; they commit or
roll back with the change. A dispatcher (an `Inbox` of its own) sends them: at once,
in the task that made them (`Leanon.handle`), and otherwise by its workers, which take
over what a crash or a failure left (leases, retries with backoff, fair between
workspaces). Sending again after a crash is made harmless per kind:

- public posts carry a nonce; after a failed or interrupted attempt the channel is
  searched for it before posting again;
- an ask's card is posted once per ask (its nonce is `ask:<id>`, its reference stored
  with the ask), and card updates render the ask as it is when they are sent, so two
  updates can't leave an older state on the card;
- thread replies and private notes are sent at least once (a platform error that came
  after the platform had sent one may repeat it; nothing is lost).

Notes to one member (thanks notes) within `Deps.note_window` become one note: the first
is sent at once; the ones after it wait for the window's end, gathered in one item.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot import cards, ports
from bot.deps import Deps
from bot.domain import Ask, AskStatus, CloseReason, InboxItem, MessageRef, NewInboxItem, WorkspaceRef
from bot.errors import ChatError
from bot.inbox import Inbox, Later, stored_item
from bot.messages import (
    ActionId,
    Button,
    ButtonStyle,
    Line,
    Link,
    Mention,
    Message,
    MessageKind,
    Part,
    UserText,
    error,
    line,
    notice,
)
from bot.ports import Paced, UnitOfWork

log = logging.getLogger(__name__)

SOURCE = "outbox"
# A gathered thanks note names this many thanks; it counts the rest.
NOTE_LINES = 10

Sender = Callable[[InboxItem], Awaitable[None]]

# The items written by the current command, to send them before it returns.
_written: ContextVar[_Sending | None] = ContextVar("leanon_outbox_written", default=None)
_left: ContextVar[_Left | None] = ContextVar("leanon_outbox_left", default=None)
# What the member who acted must be told instead of their answer (an ask card refused).
_instead: ContextVar[list[Message] | None] = ContextVar("leanon_outbox_instead", default=None)


@dataclass
class _Sending:
    """Who sends the current command's items at once (they are stored as taken by it, so
    no other worker races it for them), and those items."""

    owner: str
    lease: timedelta
    # Each item with its unit of work and that unit's commits when it was written.
    written: list[tuple[InboxItem, UnitOfWork, int]] = field(default_factory=list)

    def committed(self) -> list[InboxItem]:
        """The items whose unit of work committed after writing them (the others are gone)."""
        return [item for item, uow, commits in self.written if uow.commits > commits]


@dataclass
class _Left:
    """Whether any item left to the workers (`not_sending_now`) is due at once: only then
    is the dispatcher woken. A thanks note gathering others for a window waits for the
    dispatcher's next look; waking it for each batch of reactions cost a claim (on SQLite
    a write transaction, which the next batch waited for) that found nothing."""

    due_now: bool = False


# --- the messages, as JSON ---------------------------------------------------------------


def _part(part: Part) -> Any:
    if isinstance(part, Mention):
        return {"mention": part.user_id}
    if isinstance(part, UserText):
        return {"user_text": part.text}
    if isinstance(part, Link):
        return {"link": [part.ref.channel_id, part.ref.message_id], "text": part.text}
    return part


def _unpart(data: Any) -> Part:
    if isinstance(data, str):
        return data
    if "mention" in data:
        return Mention(data["mention"])
    if "user_text" in data:
        return UserText(data["user_text"])
    return Link(MessageRef(*data["link"]), data["text"])


def _line(parts: Line) -> list[Any]:
    return [_part(p) for p in parts]


def _unline(data: list[Any]) -> Line:
    return tuple(_unpart(p) for p in data)


def encode_message(message: Message) -> dict[str, Any]:
    """`message` as JSON-ready data (files are not sent through the outbox)."""
    if message.attachments:
        raise ValueError("attachments are not sent through the outbox")
    return {"kind": message.kind.value, "title": message.title,
            "lines": [_line(ln) for ln in message.lines],
            "buttons": [{"label": _line(b.label), "action": b.action.value, "value": b.value,
                         "style": b.style.value} for b in message.buttons]}


def decode_message(data: dict[str, Any]) -> Message:
    return Message(kind=MessageKind(data["kind"]), title=data.get("title"),
                   lines=tuple(_unline(ln) for ln in data["lines"]),
                   buttons=tuple(Button(_unline(b["label"]), ActionId(b["action"]), b["value"],
                                        ButtonStyle(b["style"])) for b in data["buttons"]))


def _ref(ref: MessageRef) -> list[str]:
    return [ref.channel_id, ref.message_id]


# --- writing: in the unit of work of the change ------------------------------------------


async def say(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef, kind: str,
              payload: dict[str, Any], *, key: str | None = None, group: str | None = None,
              not_before: datetime | None = None) -> None:
    """Write one item of `kind` (its sender: `Outbox.register`); a `key` that is there
    already writes nothing."""
    await _say_all(uow, at, workspace, [(kind, payload, key, group, not_before)])


# What `say` takes: kind, payload, key, group, not before.
_Said = tuple[str, dict[str, Any], str | None, str | None, datetime | None]


async def _say_all(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef,
                   said: Sequence[_Said]) -> None:
    """`say` for several items, in one statement."""
    sending, left = _written.get(), _left.get()
    news = []
    for kind, payload, key, group, not_before in said:
        owner = None
        if sending is not None and not_before is None:
            owner, not_before = sending.owner, at + sending.lease
        news.append(NewInboxItem(source=SOURCE, key=key or f"out:{uuid.uuid4().hex}",
                                 workspace=workspace, kind=kind, payload=json.dumps(payload),
                                 received_at=at, group=group, not_before=not_before,
                                 owner=owner))
    for new, item_id in zip(news, await uow.inbox.put_many(news), strict=True):
        if item_id is None:
            continue
        if left is not None and (new.not_before is None or new.not_before <= at):
            left.due_now = True
        if sending is not None and new.owner is not None:
            sending.written.append((stored_item(item_id, new), uow, uow.commits))


async def post(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef, channel_id: str,
               message: Message, *, refused: Message | None = None) -> None:
    """A public message in a channel, posted once. `refused`: what the member who acted is
    told instead of their answer when the platform refuses the post while they wait."""
    payload = {"channel": channel_id, "message": encode_message(message)}
    if refused is not None:
        payload["refused"] = encode_message(refused)
    await say(uow, at, workspace, "post", payload)


async def reply(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef, parent: MessageRef,
                message: Message, topic: str | None = None) -> None:
    """A message in the thread of `parent` (`topic`: see `Chat.reply`)."""
    await say(uow, at, workspace, "reply", {"parent": _ref(parent), "topic": topic,
                                             "message": encode_message(message)})


async def tell(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef, channel_id: str,
                  user_id: str, message: Message) -> None:
    """A private message to one member (see `Chat.tell`)."""
    await say(uow, at, workspace, "tell", {"channel": channel_id, "user": user_id,
                                               "message": encode_message(message)})


Note = tuple[str, str, Line]  # (channel, member, line): a thanks note to the member


async def notes(uow: UnitOfWork, at: datetime, window: timedelta, workspace: WorkspaceRef,
                written: Sequence[Note]) -> None:
    """Thanks notes: those to one member within `window` go as one note. The first is sent
    at once; later ones gather in one item, sent a window after the last note sent. Many
    notes (a batch of reactions) take one write for those gathering and one for those
    starting, whatever their number, and at most two reads: none while every member's note
    is gathering in an item this process wrote last (it is rewritten on condition that it
    is still as written, and read again when not). A gathered note keeps its first
    `NOTE_LINES` lines and counts the rest, so the item stays small however many thank one
    member in a window."""
    def group_of(user_id: str) -> str:
        return f"note:{workspace.platform.value}:{workspace.workspace_id}:{user_id}"

    lines: dict[str, list[Line]] = {}
    to: dict[str, tuple[str, str]] = {}  # group → (channel, member) of its first note here
    for channel_id, user_id, text in written:
        group = group_of(user_id)
        lines.setdefault(group, []).append(text)
        to.setdefault(group, (channel_id, user_id))
    rest = list(lines)
    taken: list[str] = []  # found waiting and taken by a worker before it could grow
    for recent in (True, False):
        waiting = await uow.inbox.waiting_in_groups(rest, recent=recent)
        grown: dict[int, tuple[str, str]] = {}
        for group, item in waiting.items():
            payload = json.loads(item.payload)
            _add_lines(payload, lines[group])
            grown[item.id] = (item.payload, json.dumps(payload))
        changed = await uow.inbox.replace_payloads(grown)
        rest = [group for group in rest
                if group not in waiting or waiting[group].id not in changed]
        if not recent:
            taken = [group for group in rest if group in waiting]
            rest = [group for group in rest if group not in waiting]
    # When the last note went matters only to a member with none gathering now.
    last = await uow.inbox.last_done_in_groups(rest, at - window) if window and rest else {}
    said: list[_Said] = []
    for group in taken:  # these wait a window in an item of their own
        said.append(("note", _new_note(*to[group], lines[group]), None, group, at + window))
    for group in rest:
        sent = last.get(group)
        said.append(("note", _new_note(*to[group], lines[group]), None, group,
                     sent + window if sent is not None else None))
    if said:  # a burst thanking many members: their first notes in one statement
        await _say_all(uow, at, workspace, said)


def _new_note(channel_id: str, user_id: str, lines: Sequence[Line]) -> dict[str, Any]:
    payload: dict[str, Any] = {"channel": channel_id, "user": user_id, "lines": []}
    _add_lines(payload, lines)
    return payload


def _add_lines(payload: dict[str, Any], lines: Sequence[Line]) -> None:
    """Lines into a note's payload: the first `NOTE_LINES`, then only how many more."""
    room = max(0, NOTE_LINES - len(payload["lines"]))
    payload["lines"] += [_line(text) for text in lines[:room]]
    if len(lines) > room:
        payload["more"] = payload.get("more", 0) + len(lines) - room


def _note_message(payload: dict[str, Any]) -> Message:
    lines = tuple(_unline(ln) for ln in payload["lines"])
    more = int(payload.get("more", 0))
    thanked = len(lines) + more
    return notice(*lines, *([line(f"…and {more} more.")] if more else []),
                  kind=MessageKind.THANKS_NOTE,
                  title=f"You were thanked {thanked} times" if thanked > 1 else None)


async def note(uow: UnitOfWork, at: datetime, window: timedelta, workspace: WorkspaceRef,
               channel_id: str, user_id: str, text: Line) -> None:
    """One thanks note (see `notes`)."""
    await notes(uow, at, window, workspace, [(channel_id, user_id, text)])


async def post_card(uow: UnitOfWork, at: datetime, ask: Ask) -> None:
    """The ask's card, once for the ask."""
    await say(uow, at, ask.workspace, "post_card", {"ask": ask.id}, key=f"out:card:{ask.id}")


async def refresh_card(uow: UnitOfWork, at: datetime, ask: Ask) -> None:
    """Show the ask's card as the ask is when this is sent (a removed ask: as removed)."""
    if ask.message is not None:
        await say(uow, at, ask.workspace, "refresh_card",
                   {"ask": ask.id, "card": _ref(ask.message)})


async def link_thread(uow: UnitOfWork, at: datetime, workspace: WorkspaceRef, ref: MessageRef,
                      thanks_key: str) -> None:
    """Not a message: ask the platform whether `ref` is a reply in an ask's thread, and if
    it is, link the thanks with `thanks_key` to that ask (`Directory.thread_of`)."""
    await say(uow, at, workspace, "link_thread", {"message": _ref(ref), "thanks": thanks_key})


# --- sending -----------------------------------------------------------------------------


@contextmanager
def sending_now(outbox: Outbox) -> Iterator[tuple[_Sending, list[Message]]]:
    """Collect the items written inside, for `outbox` to send those that were committed
    before answering, and what the member who acted must be told instead."""
    sending = _Sending(outbox.queue.owner, outbox.queue.lease)
    instead: list[Message] = []
    written, told = _written.set(sending), _instead.set(instead)
    try:
        yield sending, instead
    finally:
        _written.reset(written)
        _instead.reset(told)


@contextmanager
def not_sending_now() -> Iterator[_Left]:
    """Items written inside are left to the dispatcher's workers; what is yielded says
    whether any of them is due at once (wake the dispatcher then)."""
    left = _Left()
    written, told, was_left = _written.set(None), _instead.set(None), _left.set(left)
    try:
        yield left
    finally:
        _written.reset(written)
        _instead.reset(told)
        _left.reset(was_left)


CARD_NOT_POSTED = error("leanon could not post your ask in this channel (is the bot a member "
                        "of it?). Nothing was posted.")


class Outbox:
    """Sends what use cases wrote to the outbox, through `deps.chat`."""

    def __init__(self, deps: Deps, *, workers: int = 8) -> None:
        self.deps = deps
        self.queue = Inbox(deps.uow, deps.clock, workers=workers, name="outbox")
        self.queue.register(SOURCE, self._send, given_up=self._given_up)
        self._senders: dict[str, Sender] = {}
        self._given_ups: dict[str, Sender] = {}

    def register(self, kind: str, send: Sender, given_up: Sender | None = None) -> None:
        """Items of `kind` are sent by `send` (a ChatError that is not permanent: tried
        again later); `given_up` hears of those that failed for good."""
        self._senders[kind] = send
        if given_up is not None:
            self._given_ups[kind] = given_up

    async def start(self) -> None:
        await self.queue.start()

    async def stop(self, grace: float = 5.0) -> None:
        await self.queue.stop(grace)

    async def send_now(self, items: list[InboxItem]) -> None:
        """Send `items` (written by this process's command, stored as taken by it) now;
        what can't be sent now is left to the workers."""
        await self.queue.run_now(items)
        self.queue.wake()

    def wake(self) -> None:
        self.queue.wake()

    async def drain(self) -> None:
        """Send everything that is due now (tests, the console)."""
        await self.queue.drain()

    async def settled(self, within: float = 15.0) -> None:
        await self.queue.settled(within)

    async def _send(self, item: InboxItem) -> None:
        try:
            await self._send_item(item)
        except ChatError as exc:
            if not exc.permanent:
                raise  # tried again later
            # Sending again would fail the same way (a channel left, a member gone).
            log.warning("outbox: %s not sent: %s", item.kind, exc)
            refused = json.loads(item.payload).get("refused")
            if refused is not None and (instead := _instead.get()) is not None:
                instead.append(decode_message(refused))

    def pace(self, item: InboxItem, kind: str, channel_id: str | None) -> None:
        """Keep within the platform's limits (`Paced`): a call that must wait is put back."""
        chat = self.deps.chat
        wait = chat.pace(item.workspace, kind, channel_id) if isinstance(chat, Paced) else 0.0
        if wait > 0:
            raise Later(self.deps.clock.now() + timedelta(seconds=wait))

    async def _send_item(self, item: InboxItem) -> None:
        payload = json.loads(item.payload)
        chat, ws = self.deps.chat, item.workspace

        if item.kind == "post":
            self.pace(item, "post", payload["channel"])
            await self.post_once(item, payload["channel"], decode_message(payload["message"]),
                                  item.key)
        elif item.kind == "reply":
            self.pace(item, "reply", payload["parent"][0])
            await chat.reply(ws, MessageRef(*payload["parent"]), decode_message(payload["message"]),
                             payload.get("topic"))
        elif item.kind in {"tell", "whisper"}:  # "whisper": its name in rows written by earlier versions
            self.pace(item, "tell", f"dm:{payload['user']}")
            await chat.tell(ws, payload["channel"], payload["user"],
                               decode_message(payload["message"]))
        elif item.kind == "note":
            self.pace(item, "tell", f"dm:{payload['user']}")
            await chat.tell(ws, payload["channel"], payload["user"], _note_message(payload))
        elif item.kind == "post_card":
            await self._post_card(item, int(payload["ask"]))
        elif item.kind == "refresh_card":
            await self._refresh_card(item, int(payload["ask"]), MessageRef(*payload["card"]))
        elif item.kind == "link_thread":
            await self._link_thread(item, MessageRef(*payload["message"]), payload["thanks"])
        elif (send := self._senders.get(item.kind)) is not None:
            await send(item)
        else:
            raise ValueError(f"unknown outbox item kind {item.kind!r}")

    async def post_once(self, item: InboxItem, channel_id: str, message: Message, nonce: str,
                        *, since: datetime | None = None, weekly: bool = False) -> MessageRef:
        """Post, unless an earlier attempt did (found by its nonce): an earlier attempt of
        this item, or with `since`, any attempt since then. `weekly`: a weekly post, which a
        platform that can (`OncePoster.post_once`) tags and counts as one."""
        chat = self.deps.chat
        if item.attempts > 1 or since is not None:
            looked_from = item.received_at - timedelta(minutes=5)
            found = await ports.find_post(chat, item.workspace, channel_id, nonce,
                                          min(looked_from, since or looked_from))
            if found is not None:
                return found
        if weekly:
            return await ports.post_once(chat, item.workspace, channel_id, message, nonce)
        return await chat.post(item.workspace, channel_id, message, nonce=nonce)

    async def _post_card(self, item: InboxItem, ask_id: int) -> None:
        async with self.deps.uow() as uow:
            ask = await uow.asks.get(item.workspace, ask_id)
            helpers = [o.helper_id for o in await uow.asks.offers(ask_id)] if ask else []
        if ask is None or ask.message is not None:
            return  # removed meanwhile, or posted by an earlier attempt
        if ask.status is AskStatus.CLOSED and ask.close_reason is CloseReason.WITHDRAWN:
            return
        self.pace(item, "post", ask.channel_id)
        try:
            ref = await self.post_once(item, ask.channel_id, cards.ask_card(ask, helpers),
                                        f"ask:{ask.id}")
        except ChatError as exc:
            if not exc.permanent:
                raise  # tried again later
            log.warning("ask card could not be posted: %s", exc)
            await self._withdraw(ask)
            return
        async with self.deps.uow() as uow:
            await uow.asks.set_message(ask.id, ref)
            await uow.commit()

    async def _withdraw(self, ask: Ask) -> None:
        """An ask whose card can't be posted is withdrawn, and its asker told."""
        now = self.deps.clock.now()
        closed = replace(ask, status=AskStatus.CLOSED, closed_at=now,
                         close_reason=CloseReason.WITHDRAWN)
        instead = _instead.get()
        async with self.deps.uow() as uow:
            await uow.asks.close(closed)
            if instead is None and ask.asker_id is not None:
                await tell(uow, now, ask.workspace, ask.channel_id, ask.asker_id,
                              CARD_NOT_POSTED)
            await uow.commit()
        if instead is not None:
            instead.append(CARD_NOT_POSTED)

    async def _refresh_card(self, item: InboxItem, ask_id: int, ref: MessageRef) -> None:
        workspace = item.workspace
        async with self.deps.uow() as uow:
            ask = await uow.asks.get(workspace, ask_id)
            helpers = [o.helper_id for o in await uow.asks.offers(ask_id)] if ask else []
        card = cards.ask_card(ask, helpers) if ask is not None else cards.removed_card()
        self.pace(item, "update", ref.channel_id)
        try:
            await self.deps.chat.update(workspace, ref, card)
        except ChatError as exc:
            if not exc.permanent:
                raise
            log.warning("ask card %s could not be updated: %s", ask_id, exc)

    async def _link_thread(self, item: InboxItem, ref: MessageRef, thanks_key: str) -> None:
        workspace = item.workspace
        self.pace(item, "lookup", ref.channel_id)
        thread = await self.deps.directory.thread_of(workspace, ref)
        if thread is None:
            return
        async with self.deps.uow() as uow:
            ask = await uow.asks.find_by_message(workspace, thread)
            if ask is not None and await uow.thanks.link_to_ask(workspace, thanks_key, ask.id):
                await uow.commit()

    async def _given_up(self, item: InboxItem) -> None:
        if (given_up := self._given_ups.get(item.kind)) is not None:
            await given_up(item)
        elif item.kind == "post_card":
            async with self.deps.uow() as uow:
                ask = await uow.asks.get(item.workspace, int(json.loads(item.payload)["ask"]))
            if ask is not None and ask.message is None and ask.is_open:
                with not_sending_now():
                    await self._withdraw(ask)

"""Raw reaction events → ReactionAdded/ReactionRemoved, and the reactions kept for retry.

Discord does not redeliver a gateway event, so a reaction that meets an unreachable
database is kept here (bounded, oldest dropped with an error log) and retried with backoff.
Kept reactions are also written to a spool file (JSON lines, one command each), so that a
process stopped or killed during the outage leaves them to its next start.
Logs name counts only: never a member, since the message may be an anonymous ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from pathlib import Path

import discord

from adapters.discord.directory import thread_parent
from adapters.discord.emoji import emoji_name
from bot.codec import decode_command, encode_command
from bot.commands import Person, ReactionAdded, ReactionRemoved
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.errors import StorageError
from bot.service import Leanon

log = logging.getLogger(__name__)

ReactionCommand = ReactionAdded | ReactionRemoved


async def _author(client: discord.Client, payload: discord.RawReactionActionEvent) -> Person | None:
    """The reacted message's author: from the event, else one fetch of the message."""
    if payload.message_author_id:  # not 0 or "": discord.py passes those through as they came
        return Person(str(payload.message_author_id))  # a bot? the core asks (`DiscordDirectory`)
    channel = client.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
    try:
        message = await channel.fetch_message(payload.message_id)
    except discord.HTTPException as exc:
        log.info("reaction ignored: its message could not be read (HTTP %s)", exc.status)
        return None
    return Person(str(message.author.id), message.author.bot or message.webhook_id is not None)


async def reaction_command(client: discord.Client, payload: discord.RawReactionActionEvent,
                           added: bool) -> ReactionCommand | None:
    """The core command for a reaction in a server; None for what leanon can't use."""
    name = emoji_name(payload.emoji)
    if payload.guild_id is None or name is None:
        return None
    workspace = WorkspaceRef(Platform.DISCORD, str(payload.guild_id))
    # A bot member says so; else the core asks (`DiscordDirectory`, which knows leanon).
    actor = Actor(str(payload.user_id),
                  is_bot=True if payload.member is not None and payload.member.bot else None)
    message = MessageRef(str(payload.channel_id), str(payload.message_id))
    if not added:
        # Discord leaves the author out of removals; the core retracts by giver and message.
        author = Person(str(payload.message_author_id or ""))
        return ReactionRemoved(workspace, actor, author, message, name)
    if actor.is_bot:
        author = Person(str(payload.message_author_id or ""))  # ignored by the core: no fetch
    else:
        found = await _author(client, payload)
        if found is None:
            return None
        author = found
    return ReactionAdded(workspace, actor, author, message, name,
                         thread_parent(client, payload.channel_id))


def reaction_key(payload: discord.RawReactionActionEvent) -> Hashable:
    """One member's one emoji on one message: the events that must apply in order."""
    return (payload.message_id, payload.user_id, payload.emoji.id or payload.emoji.name)


class Intake:
    """Raw reaction events handled by at most `workers` at once, in arrival order.

    discord.py runs each gateway event's listener in a task of its own, so a burst of
    thousands of reactions would be thousands of tasks alive at once, each with its
    handler's state, and the process keeps that memory as its high-water mark. Here the
    events wait in a queue as the objects discord.py made of them, and a bounded number of
    workers (started as events come, ended when none wait) take them in turn.
    """

    def __init__(self, handle: Callable[[discord.RawReactionActionEvent, bool], Awaitable[None]],
                 workers: int = 64) -> None:
        self._handle = handle
        self._size = workers
        self._queue: deque[tuple[discord.RawReactionActionEvent, bool]] = deque()
        self._workers: set[asyncio.Task[None]] = set()

    def put(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        self._queue.append((payload, added))
        if len(self._workers) < self._size:
            worker = asyncio.get_running_loop().create_task(self._work(),
                                                            name="leanon-reactions")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        while self._queue:
            payload, added = self._queue.popleft()
            try:
                await self._handle(payload, added)
            except Exception as exc:  # one event's failure ends no worker (as discord.py's)
                log.error("a reaction event failed: %s", type(exc).__name__, exc_info=exc)

    async def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for the events taken in; say how many were left."""
        if self._workers:
            await asyncio.wait(set(self._workers), timeout=grace)
        if self._queue or self._workers:
            log.error("shutting down with %d reaction events not handled",
                      len(self._queue) + len(self._workers))


class ReactionQueue:
    """Hands reactions to the core; keeps those that met an unreachable database.

    Several events are handled at once (`Intake`), so a quick add-then-remove could reach
    the core out of order; `in_order` makes events with the same key wait for each other.
    """

    def __init__(self, service: Leanon, capacity: int = 1000, first_delay: float = 1.0,
                 max_delay: float = 60.0, spool: Path | None = None) -> None:
        self._service = service
        self._spool = spool
        self._capacity = capacity
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._waiting: deque[ReactionCommand] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._first_try_now = False
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        self.dropped = 0

    @contextlib.asynccontextmanager
    async def in_order(self, key: Hashable) -> AsyncIterator[None]:
        """Enter before the first await of an event handler: same-key events go in turn."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def submit(self, cmd: ReactionCommand) -> None:
        if self._waiting:
            self._keep(cmd)  # behind the ones already waiting, so order holds
            return
        try:
            await self._service.handle(cmd)
        except StorageError:
            self._keep(cmd)
            log.warning("database unreachable: a reaction is kept and will be retried "
                        "(%d waiting)", len(self._waiting))
            return

    def _keep(self, cmd: ReactionCommand) -> None:
        if len(self._waiting) >= self._capacity:
            self._waiting.popleft()
            self.dropped += 1
            log.error("database unreachable and %d reactions already waiting: the oldest was "
                      "dropped (%d dropped so far)", self._capacity, self.dropped)
            self._write_spool()
        else:
            self._append_spool(cmd)
        self._waiting.append(cmd)
        self._start_retrying()

    def _start_retrying(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._retry(), name="leanon-reaction-retry")

    def recover(self) -> int:
        """Take back the reactions a previous run left in the spool (kept in order, retried
        at once); how many."""
        if self._spool is None or not self._spool.exists():
            return 0
        found = 0
        try:
            lines = self._spool.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            log.error("the reaction spool could not be read: %s", exc)
            return 0
        for text in lines:
            try:
                cmd = decode_command(json.loads(text))
            except (ValueError, KeyError, TypeError):
                log.warning("a line of the reaction spool is not a reaction: skipped")
                continue
            if isinstance(cmd, ReactionAdded | ReactionRemoved):
                self._waiting.append(cmd)
                found += 1
        if found:
            log.warning("%d reactions kept by an earlier run during a database outage: "
                        "applying them", found)
            self._first_try_now = True
            self._start_retrying()
        else:
            self._write_spool()
        return found

    def _append_spool(self, cmd: ReactionCommand) -> None:
        if self._spool is None:
            return
        try:
            with self._spool.open("a", encoding="utf-8") as spool:
                spool.write(json.dumps(encode_command(cmd)) + "\n")
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as exc:
            log.error("a kept reaction could not be written to the spool: %s", exc)

    def _write_spool(self) -> None:
        """The spool holds what is waiting now (nothing: no file)."""
        if self._spool is None:
            return
        try:
            if not self._waiting:
                self._spool.unlink(missing_ok=True)
                return
            partial = self._spool.with_name(self._spool.name + ".new")
            partial.write_text("".join(json.dumps(encode_command(c)) + "\n"
                                       for c in self._waiting), encoding="utf-8")
            partial.replace(self._spool)
        except OSError as exc:
            log.error("the reaction spool could not be rewritten: %s", exc)

    async def _retry(self) -> None:
        delay = self._first_delay
        while self._waiting:
            if self._first_try_now:
                self._first_try_now = False
            else:
                await asyncio.sleep(delay)
            applied = await self._apply_waiting()
            if applied:
                self._write_spool()
            if self._waiting:
                delay = min(delay * 2, self._max_delay)
                log.warning("database still unreachable: %d reactions waiting, next try in "
                            "%.1f s", len(self._waiting), delay)
            else:
                log.info("database reachable again: %d waiting reactions applied", applied)

    async def _apply_waiting(self) -> int:
        """Apply waiting reactions in order until one meets the database down again."""
        applied = 0
        while self._waiting:
            try:
                await self._service.handle(self._waiting[0])
            except StorageError:
                return applied
            except Exception:
                log.exception("a waiting reaction failed for another reason and was dropped")
                self.dropped += 1
            else:
                applied += 1
            self._waiting.popleft()
        return applied

    async def close(self) -> None:
        """Stop retrying; say how many reactions were never saved."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._waiting:
            where = (f": they are in {self._spool}, for the next start" if self._spool
                     else " and are lost")
            log.error("shutting down with %d reactions not saved (the database was "
                      "unreachable)%s", len(self._waiting), where)

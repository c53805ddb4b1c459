"""Shared pieces for the weekly-post tests: a settable clock and a recording chat."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import Runtime, bootstrap
from bot.config import Config
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Message

WS = WorkspaceRef(Platform.SLACK, "T1")
ADMIN = Actor("U_ADMIN", is_admin=True)
MEMBER = Actor("U_MEMBER")


class SettableClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        assert now.tzinfo is not None
        self._now = now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class Post:
    channel_id: str
    message: Message
    nonce: str | None
    ref: MessageRef
    at: datetime


@dataclass
class RecordingChat:
    """A chat platform that records posts and can fail chosen channels."""

    clock: SettableClock
    posts: list[Post] = field(default_factory=list)
    other: list[tuple[str, object]] = field(default_factory=list)
    # channel -> (errors left (None: forever), permanent?)
    failing: dict[str, tuple[int | None, bool]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail(self, channel_id: str, times: int | None = None, permanent: bool = False) -> None:
        self.failing[channel_id] = (times, permanent)

    def _maybe_fail(self, channel_id: str) -> None:
        if channel_id not in self.failing:
            return
        left, permanent = self.failing[channel_id]
        if left is not None:
            if left <= 1:
                del self.failing[channel_id]
            else:
                self.failing[channel_id] = (left - 1, permanent)
        raise ChatError("channel_not_found" if permanent else "ratelimited", permanent=permanent)

    def posts_in(self, channel_id: str) -> list[Post]:
        return [p for p in self.posts if p.channel_id == channel_id]

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        return await self.post_once(workspace, channel_id, message, None)

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str | None) -> MessageRef:
        self._maybe_fail(channel_id)
        ref = MessageRef(channel_id, f"{next(self.ids)}.0001")
        self.posts.append(Post(channel_id, message, nonce, ref, self.clock.now()))
        return ref

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        for post in self.posts:
            if post.channel_id == channel_id and post.nonce == nonce and post.at >= since:
                return post.ref
        return None

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        self.other.append(("update", message))

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        self.other.append(("reply", message))
        return MessageRef(parent.channel_id, f"{next(self.ids)}.0002")

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                      message: Message) -> None:
        self.other.append(("tell", message))


@asynccontextmanager
async def leanon(db: Path | str, clock: SettableClock, chat: RecordingChat,
                 timezone: str = "UTC") -> AsyncIterator[Runtime]:
    """A leanon on a real database with the given clock and chat (one 'process' run)."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    config = Config(database_url=url, leanon_timezone=timezone)
    async with bootstrap(config, clock) as runtime:
        runtime.router.register(Platform.SLACK, chat)
        yield runtime


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]

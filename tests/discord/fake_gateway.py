"""The fake Discord's gateway: HELLO, IDENTIFY (with shard), READY, GUILD_CREATE, dispatches."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.discord.fake_discord import FakeDiscord

HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, RESUME, INVALID_SESSION, DISPATCH = 10, 2, 1, 11, 6, 9, 0


def shard_of(guild_id: str, shard_count: int) -> int:
    """Discord's routing: (guild_id >> 22) % shard_count."""
    return (int(guild_id) >> 22) % shard_count


@dataclass
class Session:
    """One gateway connection (one shard of one client)."""

    ws: web.WebSocketResponse
    identify: dict[str, Any] | None = None
    seq: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def shard(self) -> tuple[int, int]:
        shard = (self.identify or {}).get("shard") or [0, 1]
        return int(shard[0]), int(shard[1])

    async def send(self, op: int, data: Any, event: str | None = None) -> None:
        frame: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
        if op == DISPATCH:
            self.seq += 1
            frame["s"] = self.seq
        self.sent.append(frame)
        await self.ws.send_str(json.dumps(frame))


class Gateway:
    """Accepts client connections on the fake's `/gateway` and drives them."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: list[Session] = []
        self.closed: list[Session] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Session(ws)
        self.sessions.append(session)
        await session.send(HELLO, self.fake.payload("hello")["d"])
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                session.received.append(frame)
                await self._on_frame(session, frame)
        finally:
            self.sessions.remove(session)
            self.closed.append(session)
        return ws

    async def _on_frame(self, session: Session, frame: dict[str, Any]) -> None:
        if frame["op"] == HEARTBEAT:
            await session.send(HEARTBEAT_ACK, None)
        elif frame["op"] == RESUME:
            await session.send(INVALID_SESSION, False)
        elif frame["op"] == IDENTIFY:
            session.identify = frame["d"]
            await self._ready(session)

    async def _ready(self, session: Session) -> None:
        shard_id, count = session.shard
        guilds = [g for g in self.fake.guilds.values() if shard_of(g["id"], count) == shard_id]
        ready = self.fake.payload("ready")
        ready.update(shard=[shard_id, count], session_id=f"session-{len(self.closed)}-{shard_id}",
                     resume_gateway_url=self.fake.gateway_url,
                     guilds=[{"id": g["id"], "unavailable": True} for g in guilds])
        await session.send(DISPATCH, ready, "READY")
        for guild in guilds:
            data = copy.deepcopy(guild)
            data["threads"] = [t for t in self.fake.channels.values()
                               if t.get("guild_id") == guild["id"] and t["type"] == 11]
            await session.send(DISPATCH, data, "GUILD_CREATE")
        session.ready.set()

    def session_for(self, guild_id: str | None) -> Session:
        """The connected shard that Discord would route this guild's events to (DMs: 0)."""
        for session in reversed(self.sessions):
            shard_id, count = session.shard
            wanted = shard_of(guild_id, count) if guild_id else 0
            if session.ready.is_set() and wanted == shard_id:
                return session
        raise AssertionError(f"no ready gateway session for guild {guild_id}")

    async def dispatch(self, guild_id: str | None, event: str, data: dict[str, Any]) -> Session:
        session = self.session_for(guild_id)
        await session.send(DISPATCH, data, event)
        return session

    async def wait_ready(self, count: int, within: float = 5.0) -> list[Session]:
        """Wait until `count` sessions are identified and got their guilds."""
        for _ in range(int(within / 0.01)):
            done = [s for s in self.sessions if s.ready.is_set()]
            if len(done) >= count:
                return done
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count} gateway sessions were not ready within {within} s")

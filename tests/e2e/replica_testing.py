"""What the replica tests need besides a leanon process: a fake Slack whose posts can be slow,
a TCP proxy in front of PostgreSQL that a test can cut, and due weekly schedules."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.app import bootstrap
from bot.commands import SetNudge
from bot.config import Config
from bot.domain import Actor, Platform, WorkspaceRef
from tests.slack.fake_slack import TEAM, FakeSlack

WS = WorkspaceRef(Platform.SLACK, TEAM)


class ReplicaSlack(FakeSlack):
    """The fake Slack with real-time message timestamps (a weekly post is looked up in the
    history since its claim) and `post_delay`: a weekly post is kept at once (it went out)
    but answered that much later, as over a slow network, so a test can kill the poster
    while posts are in flight."""

    post_delay: float = 0.0

    def _next_ts(self) -> str:
        self._ts = max(self._ts + 1, int(time.time() * 1_000_000))
        return f"{self._ts / 1_000_000:.6f}"

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        weekly = request.match_info["method"] == "chat.postMessage" and self.post_delay and (
            (await self._read(request)).get("metadata") or {}).get("event_type") == "leanon_post"
        if weekly:
            await asyncio.sleep(self.post_delay)
        return response

    def weekly_posts(self) -> list[dict[str, Any]]:
        """The weekly posts Slack received (tagged with message metadata)."""
        return [c.args for c in self.find("chat.postMessage")
                if (c.args.get("metadata") or {}).get("event_type") == "leanon_post"]


class PastClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def due_now() -> tuple[int, str, str]:
    """(weekday, HH:MM, timezone) of a weekly post that fell due two minutes ago, today."""
    for zone in ("UTC", "Pacific/Kiritimati", "Etc/GMT+12"):
        local = datetime.now(ZoneInfo(zone)) - timedelta(minutes=2)
        if local.date() == datetime.now(ZoneInfo(zone)).date() and local.hour < 23:
            return local.weekday(), f"{local:%H:%M}", zone
    raise AssertionError("no timezone where two minutes ago is still today")


async def seed_due_schedules(database_url: str, channels: list[str]) -> None:
    """Migrate the database and give each channel a weekly post that is due now (set last week)."""
    weekday, at, zone = due_now()
    hour, minute = map(int, at.split(":"))
    last_week = PastClock(datetime.now(UTC) - timedelta(days=8))
    config = Config(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    async with bootstrap(config, clock=last_week) as runtime:
        for channel in channels:
            reply = await runtime.service.handle(SetNudge(
                WS, Actor("UADMIN01", is_admin=True), channel, weekday, wall_time(hour, minute),
                zone))
            assert reply.ok, reply


class TcpProxy:
    """127.0.0.1:<port> → target; `cut()` drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
        self._open.discard(sink)

    def cut(self) -> None:
        self.up = False
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()

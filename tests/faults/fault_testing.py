"""What the fault tests share: PostgreSQL behind a cuttable proxy, an outage on a schedule,
Slack's way of redelivering events, a probe watching a process's /healthz and /readyz, and
a fake Slack whose chat.postMessage meets a planned storm of 5xx, 429 and dropped connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from tests.e2e.replica_testing import ReplicaSlack, TcpProxy
from tests.ops.leanon_process import LeanonProcess
from tests.ops.slack_requests import post
from tests.slack.fake_slack import Call

OUTAGE_SECONDS = 20.0


class ThreadedProxy:
    """A TcpProxy (see tests/e2e) on its own event loop in a thread: a busy test loop (a
    sender, a fake) would otherwise slow every database round trip through it."""

    def __init__(self, host: str, port: int) -> None:
        self._proxy = TcpProxy(host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faults-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._proxy.port

    async def _in_thread(self, work: Coroutine[Any, Any, Any]) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def start(self) -> ThreadedProxy:
        self._thread.start()
        await self._in_thread(self._proxy.start())
        return self

    async def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        await self._in_thread(_run(self._proxy.cut))

    async def restore(self) -> None:
        await self._in_thread(_run(self._proxy.restore))

    async def stop(self) -> None:
        await self._in_thread(self._proxy.stop())
        await self._in_thread(_settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        self._loop.close()


async def _run(action: Callable[[], None]) -> None:
    action()


async def _settle() -> None:
    """Let the loop's other tasks (the proxy's pipes, just cancelled) finish."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    await asyncio.wait_for(asyncio.gather(*others, return_exceptions=True), 10)


@contextlib.asynccontextmanager
async def proxied(database_url: str) -> AsyncIterator[tuple[ThreadedProxy, str]]:
    """A proxy in front of the database's server, and the database's URL through it."""
    where = make_url(database_url)
    proxy = await ThreadedProxy(where.host or "127.0.0.1", where.port or 5432).start()
    try:
        yield proxy, where.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    finally:
        await proxy.stop()


@dataclass
class Outage:
    """Cuts the proxy once `started` is set, keeps it down `seconds`, then restores it."""

    proxy: ThreadedProxy
    seconds: float = OUTAGE_SECONDS
    started: asyncio.Event = field(default_factory=asyncio.Event)
    cut_at: float | None = None
    restored_at: float | None = None

    async def run(self) -> None:
        await self.started.wait()
        await self.proxy.cut()
        self.cut_at = time.monotonic()
        await asyncio.sleep(self.seconds)
        await self.proxy.restore()
        self.restored_at = time.monotonic()

    def during(self, at: float) -> bool:
        return self.cut_at is not None and at >= self.cut_at and (
            self.restored_at is None or at < self.restored_at)


@dataclass
class Probe:
    """Polls GET /healthz and /readyz of a running leanon; keeps (time, path, status)."""

    leanon: LeanonProcess
    session: aiohttp.ClientSession
    every: float = 0.25
    seen: list[tuple[float, str, int | str]] = field(default_factory=list)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=15)
        while True:
            for path in ("/healthz", "/readyz"):
                try:
                    async with self.session.get(self.leanon.base + path, timeout=timeout) as response:
                        await response.read()
                        status: int | str = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                self.seen.append((time.monotonic(), path, status))
            await asyncio.sleep(self.every)

    def statuses(self, path: str, outage: Outage | None = None, during: bool = True) -> list[int | str]:
        """What `path` answered (during the outage, or outside it, when one is given)."""
        return [status for at, p, status in self.seen
                if p == path and (outage is None or outage.during(at) == during)]


@dataclass
class SlackDelivery:
    """One event as Slack delivers it: every attempt and its answer (a status or an error)."""

    body: dict[str, Any]
    answers: list[int | str] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.answers) and isinstance(self.answers[-1], int) and 200 <= self.answers[-1] < 300


SLACK_RETRIES = (0.0, 5.0, 20.0)
"""The waits before Slack's three retries of a failed event, time compressed twelvefold:
at once, 1 minute after the first attempt, 5 minutes after it."""


@dataclass
class SlackRedelivery:
    """Sends events to leanon's /slack/events the way Slack does.

    Each attempt is signed afresh and given 3 s; a non-2xx answer or no answer in time is
    retried with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason` after the `retries` delays.
    Slack stops there; `extra` more attempts, `interval` s apart, keep a slow machine from
    failing the test, and are counted (`extra_attempts`) so a report can say they were needed.
    """

    session: aiohttp.ClientSession
    base: str
    retries: tuple[float, ...] = SLACK_RETRIES
    extra: int = 10
    interval: float = 5.0
    timeout: float = 3.0
    extra_attempts: int = 0

    async def deliver(self, body: dict[str, Any]) -> SlackDelivery:
        """Deliver one event until it is answered 2xx, or the attempts run out."""
        delivery = SlackDelivery(body)
        raw = json.dumps(body)
        reason = ""
        delays = (*self.retries, *([self.interval] * self.extra))
        for attempt in range(1 + len(delays)):
            if attempt:
                await asyncio.sleep(delays[attempt - 1])
                self.extra_attempts += attempt > len(self.retries)
            answer = await self.attempt(raw, attempt, reason)
            delivery.answers.append(answer)
            if delivery.delivered:
                break
            if isinstance(answer, int):
                reason = "http_error"
            else:
                reason = "http_timeout" if answer == "timeout" else "connection_failed"
        return delivery

    async def attempt(self, raw: str, retry: int = 0, reason: str = "") -> int | str:
        """One attempt (a retry when `retry` > 0): the status, or what went wrong."""
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": reason} if retry else {}
        try:
            async with asyncio.timeout(self.timeout):
                return await post(self.session, self.base, raw, "application/json", headers)
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError as exc:
            return type(exc).__name__


@dataclass(frozen=True)
class Failure:
    """One failed Web API call: its status (0: the connection dropped, no answer), and
    whether Slack had acted before failing (the caller can't tell from what it got)."""

    status: int
    acted: bool = False

    def response(self, request: web.Request) -> web.Response:
        if self.status == 0:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError  # aiohttp's way to end a request without an answer
        if self.status == 429:
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": "1"})
        if self.status in (500, 503):
            return web.json_response({"ok": False, "error": "internal_error"}, status=self.status)
        # A gateway in front of Slack: an HTML page, not the API's JSON.
        return web.Response(status=self.status, text=f"<html>{self.status}</html>",
                            content_type="text/html")


STORM = (Failure(429), Failure(500), Failure(500, acted=True), Failure(502), Failure(502, acted=True),
         Failure(503), Failure(503, acted=True), Failure(504, acted=True), Failure(0),
         Failure(0, acted=True))


def storm_plan(channels: list[str], seed: int, most: int = 4) -> dict[str, list[Failure]]:
    """For each channel, the failures its next chat.postMessage calls meet: 0 to `most`,
    a random mix of STORM (deterministic for a seed)."""
    rng = random.Random(seed)
    return {channel: [rng.choice(STORM) for _ in range(rng.randint(0, most))] for channel in channels}


@dataclass
class StormSlack(ReplicaSlack):
    """The fake Slack whose chat.postMessage calls in a channel first meet `storm[channel]`."""

    storm: dict[str, list[Failure]] = field(default_factory=dict)
    met: list[tuple[str, Failure]] = field(default_factory=list)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "chat.postMessage":
            return await super()._api(request)
        channel = str((await self._read(request)).get("channel"))
        planned = self.storm.get(channel)
        if not planned:
            return await super()._api(request)
        failure = planned.pop(0)
        self.met.append((channel, failure))
        if failure.acted:
            await super()._api(request)  # posted (and recorded), then the failure
        else:
            self.calls.append(Call("chat.postMessage", await self._read(request), None,
                                   time.monotonic(), result={"failed": failure.status}))
        return failure.response(request)

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """The messages in a channel (top level), as anyone there sees them."""
        return [m for m in self.messages.values() if m["channel"] == channel and not m.get("thread_ts")]

"""Prometheus metrics, counted around the core: never labelled with a member, ask or channel.

Labels come from small fixed sets only (platform, command type, outcome, thanks source,
HTTP route, method and status), so no label can name a member, let alone an anonymous asker.
`MeteredLeanon` counts at the core's front door (`Leanon.handle`); `MeteredChat` counts the
calls the core makes to the platforms (weekly posts, platform API errors).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot import ports
from bot.commands import (
    Command,
    CreateAsk,
    NudgeNow,
    OfferHelp,
    ReactionAdded,
    ResolveAsk,
    ThankHelper,
    ThankMembers,
)
from bot.deps import Deps
from bot.domain import MessageRef, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.messages import Message, Reply
from bot.ports import Chat, Paced
from bot.service import Leanon

NO_PLATFORM = "none"  # scheduler commands are not about one workspace
THANKS_SOURCES = {ReactionAdded: "reaction", ThankMembers: "command", ThankHelper: "resolve"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """leanon's metrics in their own registry (one per process; tests make several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=r)
        by_outcome = ["platform", "outcome"]
        self.commands = Counter("leanon_commands", "Commands the core handled, by type and outcome",
                                ["platform", "command", "outcome"], registry=r)
        self.command_seconds = Histogram("leanon_command_duration_seconds",
                                         "Time the core took per command", ["platform", "command"],
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.asks = Counter("leanon_asks", "Asks (/ask and the ask form)", by_outcome, registry=r)
        self.offers = Counter("leanon_offers", "I can help presses", by_outcome, registry=r)
        self.resolves = Counter("leanon_resolves", "Resolved presses", by_outcome, registry=r)
        self.thanks = Counter("leanon_thanks", "Thanks handled (reactions that reach the core, "
                              "/thanks, thank buttons)", ["platform", "source", "outcome"], registry=r)
        self.weekly_posts = Counter("leanon_weekly_posts", "Encouragement posts: scheduled "
                                    "(trigger=schedule) or /leanon nudge now (trigger=now)",
                                    ["platform", "trigger", "outcome"], registry=r)
        self.api_errors = Counter("leanon_platform_api_errors",
                                  "Platform API calls by the core that failed",
                                  ["platform", "kind"], registry=r)
        self.http_seconds = Histogram("leanon_http_request_duration_seconds",
                                      "HTTP requests served", ["route", "method", "status"],
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.leader = Gauge("leanon_scheduler_leader",
                            "1 while this process runs the scheduled work", registry=r)
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def labelled(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, looked up once (every labelled series is reached this
        way): prometheus_client's `labels` takes a lock and checks its arguments at every
        call (four times a reaction). The labels'
        values come from small fixed sets (the module's docstring), so this stays small."""
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def watch_leader(self, leads: Callable[[], bool]) -> None:
        """Report `leads()` as the scheduler-leader gauge at every scrape."""
        self.leader.set_function(lambda: 1.0 if leads() else 0.0)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the format the scraper accepts (Prometheus text by default), and
        its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def observe(self, cmd: Command, outcome: str, seconds: float) -> None:
        """Count one command the core handled."""
        platform = _platform(cmd)
        name = type(cmd).__name__
        self.labelled(self.commands, platform, name, outcome).inc()
        self.labelled(self.command_seconds, platform, name).observe(seconds)
        if isinstance(cmd, CreateAsk):
            self.labelled(self.asks, platform, outcome).inc()
        elif isinstance(cmd, OfferHelp):
            self.labelled(self.offers, platform, outcome).inc()
        elif isinstance(cmd, ResolveAsk):
            self.labelled(self.resolves, platform, outcome).inc()
        elif isinstance(cmd, NudgeNow):
            self.labelled(self.weekly_posts, platform, "now",
                          "sent" if outcome == "ok" else outcome).inc()
        elif type(cmd) in THANKS_SOURCES:
            self.labelled(self.thanks, platform, THANKS_SOURCES[type(cmd)], outcome).inc()


def _platform(cmd: Command) -> str:
    workspace = getattr(cmd, "workspace", None)
    return workspace.platform.value if isinstance(workspace, WorkspaceRef) else NO_PLATFORM


def outcome_of(reply: Reply) -> str:
    if reply.ignored:
        return "ignored"  # a reaction that thanks nobody (the core's rule)
    return "ok" if reply.ok else "refused"


class MeteredLeanon(Leanon):
    """The core's front door, counted: every command by type, outcome and duration."""

    def __init__(self, deps: Deps, metrics: Metrics) -> None:
        super().__init__(deps)
        self.metrics = metrics

    async def handle(self, cmd: Command, *, send: bool = True) -> Reply:
        start = time.perf_counter()
        outcome = "error"
        try:
            reply = await super().handle(cmd, send=send)
            outcome = outcome_of(reply)
            return reply
        except StorageError:
            outcome = "storage_error"
            raise
        except ChatError:
            outcome = "platform_error"
            raise
        finally:
            self.metrics.observe(cmd, outcome, time.perf_counter() - start)


class MeteredChat:
    """The core's `Chat` (and `OncePoster`, `Paced`), counting weekly posts and
    platform failures."""

    def __init__(self, chat: Chat, metrics: Metrics) -> None:
        self._chat = chat
        self._metrics = metrics

    def _failed(self, workspace: WorkspaceRef, exc: ChatError) -> None:
        kind = "permanent" if exc.permanent else "transient"
        self._metrics.labelled(self._metrics.api_errors, workspace.platform.value, kind).inc()

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        try:
            return await self._chat.post(workspace, channel_id, message, nonce)
        except ChatError as exc:
            self._failed(workspace, exc)
            raise

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        try:
            await self._chat.update(workspace, ref, message)
        except ChatError as exc:
            self._failed(workspace, exc)
            raise

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        try:
            return await self._chat.reply(workspace, parent, message, topic)
        except ChatError as exc:
            self._failed(workspace, exc)
            raise

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                      message: Message) -> None:
        try:
            await self._chat.tell(workspace, channel_id, user_id, message)
        except ChatError as exc:
            self._failed(workspace, exc)
            raise

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str) -> MessageRef:
        """A weekly post (the only kind of post the core sends with a nonce)."""
        platform = workspace.platform.value
        try:
            ref = await ports.post_once(self._chat, workspace, channel_id, message, nonce)
        except ChatError as exc:
            self._failed(workspace, exc)
            self._metrics.labelled(self._metrics.weekly_posts, platform, "schedule", "failed").inc()
            raise
        self._metrics.labelled(self._metrics.weekly_posts, platform, "schedule", "sent").inc()
        return ref

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        try:
            return await ports.find_post(self._chat, workspace, channel_id, nonce, since)
        except ChatError as exc:
            self._failed(workspace, exc)
            raise

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        chat = self._chat
        return chat.pace(workspace, kind, channel_id) if isinstance(chat, Paced) else 0.0

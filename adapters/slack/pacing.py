"""Slack's rate limits, kept before sending rather than learned from 429s.

Slack allows about one message a second per channel (short bursts pass) and gives each
Web API method a tier per workspace (Tier 3: 50+ calls a minute, Tier 4: 100+):
https://api.slack.com/apis/rate-limits. `Budgets.pace` answers how long a call must wait
to stay within them, as the outbox asks before each send (`bot.ports.Paced`). Budgets are
per process: replicas each keep their own, and a 429 is still honoured by the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from bot.domain import WorkspaceRef


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


# chat.postMessage: about one a second per channel, short bursts. A little under it, so
# that the jitter of the network and the client's own retry of a 429 stay within it.
PER_CHANNEL = Rate(0.9, 3)
TIER_3 = Rate(50 / 60, 10)  # chat.update, conversations.replies
TIER_4 = Rate(100 / 60, 20)  # chat.postEphemeral

# What each kind of outgoing call spends: (method, whether the budget is per channel).
CALLS: dict[str, tuple[str, Rate, bool]] = {
    "post": ("chat.postMessage", PER_CHANNEL, True),
    "reply": ("chat.postMessage", PER_CHANNEL, True),
    "tell": ("chat.postMessage", PER_CHANNEL, True),  # a DM: its channel is the member's
    "update": ("chat.update", TIER_3, False),
    "lookup": ("conversations.replies", TIER_3, False),
}


class TokenBucket:
    """`rate.burst` calls at once, then `rate.per_second` calls a second."""

    __slots__ = ("_at", "_rate", "_tokens")

    def __init__(self, rate: Rate, now: float) -> None:
        self._rate = rate
        self._tokens = float(rate.burst)
        self._at = now

    def take(self, now: float) -> float:
        """0 when a call may go now (and it is counted); otherwise the seconds to wait."""
        self._tokens = min(self._rate.burst, self._tokens + (now - self._at) * self._rate.per_second)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate.per_second


class Budgets:
    """The buckets of the workspaces and channels leanon sends to, the least recently used
    forgotten past `size` (a forgotten bucket starts full again: a burst, then the rate)."""

    def __init__(self, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: LRUCache[tuple[WorkspaceRef, str, str], TokenBucket] = LRUCache(size)

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        call = CALLS.get(kind)
        if call is None:
            return 0.0
        method, rate, per_channel = call
        key = (workspace, method, (channel_id or "") if per_channel else "")
        now = self._clock()
        bucket = self._buckets.get(key)  # the most recently used kept
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, now)
        return bucket.take(now)

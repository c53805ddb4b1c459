"""Answers of Slack's Web API kept for a while, for look-ups made on every reaction."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """Values trusted for `seconds` by `clock`; past `size`, the least recently used are
    forgotten one at a time (never all at once: a burst of look-ups would meet Slack's rate
    limit). Where a cachetools TTLCache runs its timer at every look-up (a reaction asks
    two or three of them), this reads the clock once."""

    def __init__(self, size: int, seconds: float, clock: Callable[[], float]) -> None:
        self._values: LRUCache[K, tuple[float, V]] = LRUCache(maxsize=size)
        self._seconds = seconds
        self._clock = clock

    def get(self, key: K) -> V | None:
        """The value kept for `key`, or None when none is, or it is too old."""
        kept = self._values.get(key)
        return kept[1] if kept is not None and self._clock() < kept[0] else None

    def put(self, key: K, value: V) -> None:
        self._values[key] = (self._clock() + self._seconds, value)

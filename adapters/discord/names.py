"""Display names for button labels ("Thank Bob"), which can't show mentions."""

from __future__ import annotations

from collections.abc import Iterable

import discord
from cachetools import LRUCache


class NameBook:
    """Names remembered from interactions; one user lookup for a name not seen yet."""

    def __init__(self, client: discord.Client, capacity: int = 5000) -> None:
        self._client = client
        self._names: LRUCache[str, str] = LRUCache(capacity)

    def remember(self, user: discord.abc.User) -> None:
        self._names[str(user.id)] = user.display_name

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """user id → display name; a member who can't be looked up is left out."""
        out: dict[str, str] = {}
        for user_id in user_ids:
            if (name := self._names.get(user_id)) is not None:
                out[user_id] = name
                continue
            user = self._client.get_user(int(user_id))
            if user is None:
                try:
                    user = await self._client.fetch_user(int(user_id))
                except (discord.HTTPException, ValueError):
                    continue
            self.remember(user)
            out[user_id] = user.display_name
        return out

"""Display names for button labels ("Thank Bob"), which can't show mentions."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import discord


class NameBook:
    """Names remembered from interactions; one user lookup for a name not seen yet."""

    def __init__(self, client: discord.Client, capacity: int = 5000) -> None:
        self._client = client
        self._capacity = capacity
        self._names: OrderedDict[str, str] = OrderedDict()

    def remember(self, user: discord.abc.User) -> None:
        key = str(user.id)
        self._names[key] = user.display_name
        self._names.move_to_end(key)
        while len(self._names) > self._capacity:
            self._names.popitem(last=False)

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """user id → display name; a member who can't be looked up is left out."""
        out: dict[str, str] = {}
        for user_id in user_ids:
            if user_id in self._names:
                out[user_id] = self._names[user_id]
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

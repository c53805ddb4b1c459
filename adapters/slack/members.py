"""What leanon needs to know about Slack members: admin, bot, display name (users.info, cached)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cachetools import TTLCache

from adapters.slack.auth import WorkspaceAuth
from adapters.slack.failures import call
from bot.domain import WorkspaceRef
from bot.errors import ChatError

log = logging.getLogger(__name__)

SLACKBOT = "USLACKBOT"


@dataclass(frozen=True, slots=True)
class MemberInfo:
    name: str
    is_admin: bool = False
    is_bot: bool = False
    time_zone: str | None = None  # the profile's IANA name ("tz")


class Members:
    """users.info answers kept for `ttl` seconds, so admin changes show up quickly."""

    def __init__(self, auth: WorkspaceAuth, ttl: float = 120.0,
                 clock: Callable[[], float] = time.monotonic, remember: int = 10_000) -> None:
        self._auth = auth
        # The least recently used are forgotten past `remember` (never all at once: a burst
        # of users.info calls would meet Slack's rate limit).
        self._cache: TTLCache[tuple[WorkspaceRef, str], MemberInfo] = TTLCache(
            maxsize=remember, ttl=ttl, timer=clock)

    async def info(self, workspace: WorkspaceRef, user_id: str) -> MemberInfo | None:
        """The member as Slack describes them; None when Slack can't say right now."""
        key = (workspace, user_id)
        if (cached := self._cache.get(key)) is not None:
            return cached
        try:
            client = await self._auth.client_for(workspace)
            user = (await call(client.users_info, "users.info", user=user_id)).get("user")
            if not isinstance(user, dict):
                raise ChatError("users.info failed: no user in the answer")
        except ChatError as exc:
            log.warning("%s", exc)
            return None
        profile = user.get("profile") or {}
        info = MemberInfo(
            name=profile.get("display_name") or profile.get("real_name") or user.get("name") or "",
            is_admin=bool(user.get("is_admin") or user.get("is_owner")
                          or user.get("is_primary_owner")),
            is_bot=bool(user.get("is_bot") or user.get("is_app_user")),
            time_zone=user["tz"] if isinstance(user.get("tz"), str) else None,
        )
        self._cache[key] = info
        return info

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """Admins and owners may resolve others' asks and change settings; unknown means no."""
        info = await self.info(workspace, user_id)
        return info is not None and info.is_admin

    async def is_bot(self, workspace: WorkspaceRef, user_id: str, own_bot: str | None = None) -> bool:
        """leanon itself (`own_bot`), Slackbot, bot users and app users count as bots."""
        if user_id in {own_bot, SLACKBOT}:
            return True
        info = await self.info(workspace, user_id)
        return info is not None and info.is_bot

    async def names(self, workspace: WorkspaceRef, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names for plain-text places (button labels); unknown members are left out."""
        out = {}
        for user_id in user_ids:
            info = await self.info(workspace, user_id)
            if info is not None and info.name:
                out[user_id] = info.name
        return out

"""What leanon needs to know about Slack members: admin, bot, display name (users.info, cached),
and which members are bots from the workspace's member list (users.list).

A reaction only counts between people, so each reactor's bot-ness is needed before the
reaction is answered. Asked of users.info member by member, a burst of reactions from
members leanon has not met (an all-hands message) would cost a Web API call each on the
answer path and meet users.info's rate limit. So the first time a workspace needs it,
leanon lists its members in the background (users.list, Tier 2: a page of ROSTER_PAGE every
ROSTER_PAUSE seconds) and lists them again every ROSTER_EVERY; a member in the list is
answered from it, one not (yet) in it from users.info as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from adapters.slack.auth import WorkspaceAuth
from adapters.slack.failures import call
from adapters.slack.kept import Kept
from bot.domain import WorkspaceRef
from bot.errors import ChatError

log = logging.getLogger(__name__)

SLACKBOT = "USLACKBOT"

ROSTER_PAGE = 500  # members a users.list page (Slack allows up to 1,000)
ROSTER_PAUSE = 3.0  # seconds between pages: users.list is Tier 2, 20 calls a minute
ROSTER_EVERY = 600.0  # a workspace's members are listed again after this long
ROSTER_RETRY = 60.0  # after a listing failed
ROSTER_MAX = 100_000  # members kept per workspace; past it, users.info as before


@dataclass
class _Roster:
    """A workspace's members as users.list gave them: id → is a bot."""

    bots: dict[str, bool] = field(default_factory=dict)
    due: float = 0.0  # when to list them (again)
    listing: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class MemberInfo:
    name: str
    is_admin: bool = False
    is_bot: bool = False
    time_zone: str | None = None  # the profile's IANA name ("tz")


class Members:
    """users.info answers kept for `ttl` seconds, so admin changes show up quickly."""

    def __init__(self, auth: WorkspaceAuth, ttl: float = 120.0,
                 clock: Callable[[], float] = time.monotonic, remember: int = 10_000,
                 roster_pause: float = ROSTER_PAUSE) -> None:
        self._auth = auth
        self._clock = clock
        self._cache: Kept[tuple[WorkspaceRef, str], MemberInfo] = Kept(remember, ttl, clock)
        self._rosters: dict[WorkspaceRef, _Roster] = {}
        self._roster_pause = roster_pause

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
        self._cache.put(key, info)
        return info

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """Admins and owners may resolve others' asks and change settings; unknown means no."""
        info = await self.info(workspace, user_id)
        return info is not None and info.is_admin

    async def is_bot(self, workspace: WorkspaceRef, user_id: str, own_bot: str | None = None) -> bool:
        """leanon itself (`own_bot`), Slackbot, bot users and app users count as bots."""
        if user_id in (own_bot, SLACKBOT):
            return True
        # The listing first: a dict (every reaction asks twice).
        listed = self.listed(workspace).get(user_id)
        if listed is not None:
            return listed
        if (cached := self._cache.get((workspace, user_id))) is not None:
            return cached.is_bot
        info = await self.info(workspace, user_id)
        return info is not None and info.is_bot

    def listed(self, workspace: WorkspaceRef) -> dict[str, bool]:
        """The workspace's members as far as they are listed (id → is a bot); a listing is
        started in the background when none was made or the last is ROSTER_EVERY old."""
        roster = self._rosters.setdefault(workspace, _Roster())
        if roster.listing is None and self._clock() >= roster.due:
            roster.listing = asyncio.get_running_loop().create_task(self._list(workspace, roster))
        return roster.bots

    async def _list(self, workspace: WorkspaceRef, roster: _Roster) -> None:
        """users.list page by page, each page's members known as soon as it comes; members
        gone from the workspace are let go once the whole list is read."""
        listed: dict[str, bool] = {}
        cursor = ""
        try:
            while True:
                client = await self._auth.client_for(workspace)
                page = await call(client.users_list, "users.list", limit=ROSTER_PAGE,
                                  **({"cursor": cursor} if cursor else {}))
                members = page.get("members")
                found = {user["id"]: bool(user.get("is_bot") or user.get("is_app_user"))
                         for user in (members if isinstance(members, list) else [])
                         if isinstance(user, dict) and isinstance(user.get("id"), str)}
                listed.update(found)
                roster.bots.update(found)
                metadata = page.get("response_metadata")
                following = metadata.get("next_cursor") if isinstance(metadata, dict) else None
                if not isinstance(following, str) or not following or len(listed) >= ROSTER_MAX:
                    break
                cursor = following
                await asyncio.sleep(self._roster_pause)
            roster.bots = listed
            roster.due = self._clock() + ROSTER_EVERY
            log.info("Slack members listed: %d", len(listed))
        except ChatError as exc:
            roster.due = self._clock() + ROSTER_RETRY
            log.info("the workspace's members could not be listed (%s); users.info until then",
                     exc)
        finally:
            roster.listing = None

    async def names(self, workspace: WorkspaceRef, user_ids: Iterable[str]) -> dict[str, str]:
        """Display names for plain-text places (button labels); unknown members are left out."""
        out = {}
        for user_id in user_ids:
            info = await self.info(workspace, user_id)
            if info is not None and info.name:
                out[user_id] = info.name
        return out

"""Which Slack workspaces leanon serves, and the Web API client for each.

`WorkspaceAuth` is the seam for installs: `SingleWorkspace` serves the one workspace of
`SLACK_BOT_TOKEN`; `installs.InstalledWorkspaces` serves every workspace that installed
leanon through OAuth, each with its own bot token. The listeners don't know which.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.failures import SLACK_FAILURES, TRANSPORT_FAILURES, error_code
from bot.domain import Platform, WorkspaceRef
from bot.errors import ChatError

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
API_TIMEOUT_SECONDS = 10

_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary())


def shared_session() -> aiohttp.ClientSession | None:
    """The HTTP session (keep-alive connection pool) of every Web API client on this loop.

    slack-sdk opens a new session, and so a new connection, for each call of a client that
    has none; sharing one saves a TCP and TLS handshake per call. None outside a loop.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    session = _SESSIONS.get(loop)
    if session is None or session.closed:
        session = _SESSIONS[loop] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS))
    return session


async def close_shared_session() -> None:
    """Close this loop's shared session (at shutdown); a later call opens a new one."""
    session = _SESSIONS.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


class PooledWebClient(AsyncWebClient):
    """An AsyncWebClient on the loop's shared session (bolt's per-request clients too)."""

    @property
    def session(self) -> aiohttp.ClientSession | None:
        return shared_session()

    @session.setter
    def session(self, _value: Any) -> None:
        pass  # the shared session is always used

    def __deepcopy__(self, _memo: dict[int, Any]) -> PooledWebClient:
        return self  # a handle on the shared pool: copies would share it anyway


def web_client(api_url: str = DEFAULT_API_URL, token: str | None = None, *,
               pooled: bool = True) -> AsyncWebClient:
    """A Web API client that waits out 429s (Retry-After) and retries dropped connections.

    `pooled=False` for bolt's own client: bolt hands each request a copy holding that
    client's session, and deep-copies requests for lazy listeners, which a live session
    can't survive; leanon's own calls go through the pooled clients of `WorkspaceAuth`.
    """
    base = api_url if api_url.endswith("/") else api_url + "/"
    kind = PooledWebClient if pooled else AsyncWebClient
    return kind(token=token, base_url=base, timeout=API_TIMEOUT_SECONDS, retry_handlers=[
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=1),
    ])


def workspace_ref(enterprise_id: str | None, team_id: str | None) -> WorkspaceRef | None:
    """The core's workspace for a Slack team (an org-wide install without a team: the org)."""
    workspace_id = team_id or enterprise_id
    return WorkspaceRef(Platform.SLACK, workspace_id) if workspace_id else None


class WorkspaceAuth(Protocol):
    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        """Bolt's authorize: the bot token for this team, or None for a team leanon doesn't serve."""
        ...

    async def client_for(self, workspace: WorkspaceRef) -> AsyncWebClient:
        """A client holding the workspace's bot token; ChatError when leanon isn't installed there."""
        ...

    async def bot_user_id(self, workspace: WorkspaceRef) -> str | None: ...

    async def team_url(self, workspace: WorkspaceRef) -> str | None:
        """The workspace's address (https://team.slack.com/), for links to messages."""
        ...

    async def revoked(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Slack revoked the team's bot token (app_uninstalled, tokens_revoked): stop serving it."""
        ...


@dataclass(frozen=True, slots=True)
class Identity:
    team_id: str
    enterprise_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    url: str | None = None


class SingleWorkspace:
    """The one workspace of a bot token; its identity comes from auth.test, asked once."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL) -> None:
        self._token = token
        self.client = web_client(api_url, token)
        self._identity: Identity | None = None
        self._lock = asyncio.Lock()
        self._revoked = False

    async def identity(self) -> Identity:
        """Who the token belongs to (raises SlackApiError when Slack refuses the token)."""
        async with self._lock:
            if self._identity is None:
                me = await self.client.auth_test()
                self._identity = Identity(team_id=str(me["team_id"]),
                                          enterprise_id=me.get("enterprise_id") or None,
                                          bot_user_id=me.get("user_id"), bot_id=me.get("bot_id"),
                                          url=me.get("url") or None)
            return self._identity

    async def verify(self) -> Identity:
        """Check the token at start; ChatError with Slack's reason when it is refused."""
        try:
            return await self.identity()
        except SlackApiError as exc:
            raise ChatError(f"SLACK_BOT_TOKEN was refused by Slack "
                            f"({error_code(exc)})") from None
        except TRANSPORT_FAILURES as exc:
            raise ChatError(f"Slack's Web API is unreachable ({type(exc).__name__})") from None

    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        me = await self.identity()
        if self._revoked or not self._is_ours(me, enterprise_id, team_id):
            return None
        return AuthorizeResult(enterprise_id=me.enterprise_id, team_id=me.team_id,
                               bot_token=self._token, bot_id=me.bot_id,
                               bot_user_id=me.bot_user_id)

    @staticmethod
    def _is_ours(me: Identity, enterprise_id: str | None, team_id: str | None) -> bool:
        return team_id == me.team_id or (not team_id and enterprise_id is not None
                                         and enterprise_id == me.enterprise_id)

    async def _serves(self, workspace: WorkspaceRef) -> Identity:
        try:
            me = await self.identity()
        except SlackApiError as exc:
            raise ChatError(f"auth.test failed: {error_code(exc)}") from None
        except TRANSPORT_FAILURES as exc:
            raise ChatError(f"auth.test failed: {type(exc).__name__}") from None
        if workspace.platform is not Platform.SLACK or workspace.workspace_id not in {
                me.team_id, me.enterprise_id}:
            raise ChatError(f"leanon is not installed in {workspace}")
        if self._revoked:
            raise ChatError(f"leanon was uninstalled from {workspace}", permanent=True)
        return me

    async def client_for(self, workspace: WorkspaceRef) -> AsyncWebClient:
        await self._serves(workspace)
        return self.client

    async def bot_user_id(self, workspace: WorkspaceRef) -> str | None:
        return (await self._serves(workspace)).bot_user_id

    async def team_url(self, workspace: WorkspaceRef) -> str | None:
        return (await self._serves(workspace)).url

    async def revoked(self, enterprise_id: str | None, team_id: str | None) -> None:
        """SLACK_BOT_TOKEN no longer works: serve nothing until leanon restarts with a new one."""
        try:
            ours = self._is_ours(await self.identity(), enterprise_id, team_id)
        except SLACK_FAILURES:
            ours = True  # the token no longer answers: there is nothing left to serve anyway
        if ours:
            self._revoked = True
            log.warning("Slack revoked SLACK_BOT_TOKEN (leanon was uninstalled); "
                        "requests from the workspace are refused until a new token is set")

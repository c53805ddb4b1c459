"""OAuth installs: every workspace that installed leanon, each with its own bot token.

`InstalledWorkspaces` is the `WorkspaceAuth` over slack_sdk's `AsyncInstallationStore`
(the composition root passes the SQL one from `storage`). The store is read on every
request and every Web API call, so an uninstall takes effect at once, on every replica.
"""

from __future__ import annotations

import logging

from cachetools import LRUCache
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.auth import DEFAULT_API_URL, web_client
from adapters.slack.failures import call
from bot.domain import Platform, WorkspaceRef
from bot.errors import ChatError, StorageError

log = logging.getLogger(__name__)

MAX_CLIENTS = 1000


class InstalledWorkspaces:
    """Serves the workspaces in the installation store, each with its own bot token."""

    def __init__(self, installations: AsyncInstallationStore,
                 api_url: str = DEFAULT_API_URL) -> None:
        self.installations = installations
        self._api_url = api_url
        self._clients: LRUCache[str, AsyncWebClient] = LRUCache(MAX_CLIENTS)
        self._urls: LRUCache[str, str | None] = LRUCache(MAX_CLIENTS)

    async def _find(self, enterprise_id: str | None, team_id: str | None) -> Bot | None:
        return await self.installations.async_find_bot(enterprise_id=enterprise_id or None,
                                                       team_id=team_id or None)

    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        """The team's own bot token; None where leanon is not installed.

        A database failure passes (bolt's error handler answers 503: Slack redelivers events).
        """
        bot = await self._find(enterprise_id, team_id)
        if bot is None:
            return None
        return AuthorizeResult(enterprise_id=bot.enterprise_id, team_id=bot.team_id,
                               bot_token=bot.bot_token, bot_id=bot.bot_id,
                               bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes)

    async def _installed(self, workspace: WorkspaceRef) -> Bot:
        if workspace.platform is not Platform.SLACK:
            raise ChatError(f"{workspace} is not a Slack workspace", permanent=True)
        try:
            bot = await self._find(None, workspace.workspace_id)
        except StorageError:
            raise ChatError(f"the installation in {workspace} can't be read now "
                            "(database unavailable)") from None
        if bot is None:
            raise ChatError(f"leanon is not installed in {workspace}", permanent=True)
        return bot

    def _client(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = web_client(self._api_url, token)
        return client

    async def client_for(self, workspace: WorkspaceRef) -> AsyncWebClient:
        return self._client((await self._installed(workspace)).bot_token)

    async def bot_user_id(self, workspace: WorkspaceRef) -> str | None:
        return (await self._installed(workspace)).bot_user_id

    async def team_url(self, workspace: WorkspaceRef) -> str | None:
        """The team's address, from auth.test (asked once per token)."""
        token = (await self._installed(workspace)).bot_token
        if token not in self._urls:
            me = await call(self._client(token).auth_test, "auth.test")
            self._urls[token] = me.get("url") or None
        return self._urls[token]

    async def revoked(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete the team's installation: its token is dead, and nothing is done there any more."""
        bot = await self._find(enterprise_id, team_id)
        await self.installations.async_delete_all(enterprise_id=enterprise_id or None,
                                                  team_id=team_id or None)
        if bot is not None:
            self._clients.pop(bot.bot_token, None)
            self._urls.pop(bot.bot_token, None)
        log.info("Slack revoked leanon's bot token in %s: installation deleted",
                 team_id or enterprise_id)

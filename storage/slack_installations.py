"""Slack OAuth installs in SQL, behind slack_sdk's async store interfaces.

`SqlInstallationStore` keeps one bot installation per workspace (no user tokens: leanon
asks for no user scopes); `SqlOAuthStateStore` keeps the one-time `state` of each
/slack/install visit. Both run their own short transactions on the store's engine, and
database failures surface as `bot.errors.StorageError` (no token in any message).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.domain import Platform
from storage.errors import translate_errors
from storage.models import SlackInstallationRow, SlackOAuthStateRow
from storage.repository import rowcount
from storage.sealing import TokenCipher, open_token

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def installation_key(enterprise_id: str | None, team_id: str | None,
                     is_enterprise_install: bool | None = False) -> str | None:
    """The workspace an installation belongs to: the team, or the org for an org-wide install."""
    if is_enterprise_install or not team_id:
        return enterprise_id or None
    return team_id


class _SqlStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = _utc_now) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._dialect = engine.dialect.name
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log


class SqlInstallationStore(_SqlStore, AsyncInstallationStore):
    """slack_sdk's `AsyncInstallationStore` over the `slack_installations` table.

    With a `cipher` (LEANON_SECRET_KEYS), bot tokens are sealed before they are stored and
    opened when read (`storage.sealing`); without one they are stored in clear.
    """

    def __init__(self, engine: AsyncEngine, clock: Clock = _utc_now,
                 cipher: TokenCipher | None = None) -> None:
        super().__init__(engine, clock)
        self._cipher = cipher

    @translate_errors
    async def seal_stored(self) -> int:
        """Seal every token stored in clear, and any sealed with an older key, with the
        newest key (at start: after a key is first set, or put in front of the others).
        The number of tokens sealed anew."""
        if self._cipher is None:
            return 0
        sealed = 0
        async with self._sessions.begin() as session:
            rows = (await session.scalars(select(SlackInstallationRow).with_for_update())).all()
            for row in rows:
                resealed = self._cipher.reseal(row.bot_token)
                if resealed is not None:
                    row.bot_token = resealed
                    sealed += 1
        return sealed

    @translate_errors
    async def async_save(self, installation: Installation) -> None:
        """Keep the installation's bot token, replacing the workspace's previous one."""
        if not installation.bot_token:
            raise ValueError("a Slack installation without a bot token (leanon needs bot scopes)")
        await self._save(installation.to_bot(), installation.user_id)

    @translate_errors
    async def async_save_bot(self, bot: Bot) -> None:
        await self._save(bot, None)

    async def _save(self, bot: Bot, installer_id: str | None) -> None:
        key = installation_key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        if key is None:
            raise ValueError("a Slack installation names neither a team nor an org")
        columns: dict[str, Any] = {
            "enterprise_id": bot.enterprise_id or None,
            "enterprise_name": bot.enterprise_name,
            "team_id": bot.team_id or None,
            "team_name": bot.team_name,
            "is_enterprise_install": bool(bot.is_enterprise_install),
            "app_id": bot.app_id,
            "bot_token": self._cipher.seal(bot.bot_token) if self._cipher else bot.bot_token,
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_scopes": ",".join(bot.bot_scopes or ()),
            "installer_id": installer_id,
            "installed_at": datetime.fromtimestamp(bot.installed_at, UTC),
        }
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = (
            insert(SlackInstallationRow)
            .values(platform=Platform.SLACK.value, workspace_id=key, **columns)
            .on_conflict_do_update(index_elements=["platform", "workspace_id"], set_=columns)
        )
        async with self._sessions.begin() as session:
            await session.execute(statement)

    async def _find(self, enterprise_id: str | None, team_id: str | None,
                    is_enterprise_install: bool | None) -> SlackInstallationRow | None:
        key = installation_key(enterprise_id, team_id, is_enterprise_install)
        if key is None:
            return None
        query = select(SlackInstallationRow).where(
            SlackInstallationRow.platform == Platform.SLACK.value,
            SlackInstallationRow.workspace_id == key,
        )
        async with self._sessions.begin() as session:
            return await session.scalar(query)

    @translate_errors
    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        """The workspace's bot installation, or None where leanon is not installed."""
        row = await self._find(enterprise_id, team_id, is_enterprise_install)
        return _to_bot(row, open_token(self._cipher, row.bot_token)) if row is not None else None

    @translate_errors
    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        """The installation (bot only; `user_id`, when given, must be the installer's)."""
        row = await self._find(enterprise_id, team_id, is_enterprise_install)
        if row is None or (user_id is not None and user_id != row.installer_id):
            return None
        return _to_installation(row, open_token(self._cipher, row.bot_token))

    @translate_errors
    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot token (the installation goes with it)."""
        await self._delete(enterprise_id, team_id)

    @translate_errors
    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        """Without `user_id`: forget the workspace's installation. With one: nothing is kept
        for a user (no user tokens), so there is nothing to delete."""
        if user_id is None:
            await self._delete(enterprise_id, team_id)

    @translate_errors
    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._delete(enterprise_id, team_id)

    async def _delete(self, enterprise_id: str | None, team_id: str | None) -> None:
        key = installation_key(enterprise_id, team_id)
        if key is None:
            return
        statement = delete(SlackInstallationRow).where(
            SlackInstallationRow.platform == Platform.SLACK.value,
            SlackInstallationRow.workspace_id == key,
        )
        async with self._sessions.begin() as session:
            await session.execute(statement.execution_options(synchronize_session=False))


def _to_bot(row: SlackInstallationRow, token: str) -> Bot:
    return Bot(app_id=row.app_id, enterprise_id=row.enterprise_id,
               enterprise_name=row.enterprise_name, team_id=row.team_id, team_name=row.team_name,
               bot_token=token, bot_id=row.bot_id, bot_user_id=row.bot_user_id,
               bot_scopes=row.bot_scopes, is_enterprise_install=row.is_enterprise_install,
               installed_at=row.installed_at.timestamp())


def _to_installation(row: SlackInstallationRow, token: str) -> Installation:
    return Installation(app_id=row.app_id, enterprise_id=row.enterprise_id,
                        enterprise_name=row.enterprise_name, team_id=row.team_id,
                        team_name=row.team_name, bot_token=token, bot_id=row.bot_id,
                        bot_user_id=row.bot_user_id, bot_scopes=row.bot_scopes,
                        user_id=row.installer_id or "",
                        is_enterprise_install=row.is_enterprise_install,
                        installed_at=row.installed_at.timestamp())


class SqlOAuthStateStore(_SqlStore, AsyncOAuthStateStore):
    """slack_sdk's `AsyncOAuthStateStore` over `slack_oauth_states`: each state works once."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = 600,
                 clock: Clock = _utc_now) -> None:
        super().__init__(engine, clock)
        self.expiration = timedelta(seconds=expiration_seconds)

    @translate_errors
    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new unguessable state (expired ones are cleared on the way)."""
        state = secrets.token_urlsafe(32)
        now = self._clock()
        async with self._sessions.begin() as session:
            await session.execute(delete(SlackOAuthStateRow).where(SlackOAuthStateRow.expires_at <= now))
            session.add(SlackOAuthStateRow(state=state, expires_at=now + self.expiration))
        return state

    @translate_errors
    async def async_consume(self, state: str) -> bool:
        """True once for a state issued here and not expired; False for any other."""
        if not state:
            return False
        statement = delete(SlackOAuthStateRow).where(
            SlackOAuthStateRow.state == state, SlackOAuthStateRow.expires_at > self._clock()
        )
        async with self._sessions.begin() as session:
            return rowcount(await session.execute(statement)) == 1

"""The Slack OAuth stores (installations, install states) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text

from bot.errors import StorageError
from storage import SqlStore
from storage.slack_installations import SqlInstallationStore, SqlOAuthStateStore, installation_key
from tests.storage.storage_testing import T0

TOKEN_A, TOKEN_B = "xoxb-team-a-secret", "xoxb-team-b-secret"


def installation(team_id: str | None = "T-a", token: str = TOKEN_A, *,
                 enterprise_id: str | None = None, org_wide: bool = False,
                 installer: str = "U-installer") -> Installation:
    return Installation(app_id="A-leanon", enterprise_id=enterprise_id, team_id=team_id,
                        team_name=f"Team {team_id}", bot_token=token, bot_id=f"B-{team_id}",
                        bot_user_id=f"U-bot-{team_id}", bot_scopes="commands,chat:write",
                        user_id=installer, is_enterprise_install=org_wide,
                        installed_at=T0.timestamp())


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_an_installation_is_saved_and_found_by_team(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-a") is None
    await installations.async_save(installation())

    bot = await installations.async_find_bot(enterprise_id=None, team_id="T-a")
    assert bot is not None
    assert (bot.team_id, bot.team_name, bot.bot_token, bot.bot_id, bot.bot_user_id) == (
        "T-a", "Team T-a", TOKEN_A, "B-T-a", "U-bot-T-a")
    assert list(bot.bot_scopes) == ["commands", "chat:write"]
    assert bot.installed_at == T0.timestamp() and bot.app_id == "A-leanon"
    found = await installations.async_find_installation(enterprise_id=None, team_id="T-a")
    assert found is not None and found.user_id == "U-installer" and found.bot_token == TOKEN_A
    assert found.user_token is None
    assert await installations.async_find_installation(
        enterprise_id=None, team_id="T-a", user_id="U-someone-else") is None


async def test_teams_are_kept_apart_and_a_reinstall_replaces_the_token(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    await installations.async_save(installation("T-a", TOKEN_A))
    await installations.async_save(installation("T-b", TOKEN_B))
    await installations.async_save(installation("T-a", "xoxb-team-a-new"))

    a = await installations.async_find_bot(enterprise_id=None, team_id="T-a")
    b = await installations.async_find_bot(enterprise_id=None, team_id="T-b")
    assert a is not None and a.bot_token == "xoxb-team-a-new"
    assert b is not None and b.bot_token == TOKEN_B
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-c") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id=None) is None


async def test_a_grid_workspace_is_found_with_or_without_its_org(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    await installations.async_save(installation("T-grid", enterprise_id="E-org"))
    for enterprise_id in ("E-org", None, ""):
        bot = await installations.async_find_bot(enterprise_id=enterprise_id, team_id="T-grid")
        assert bot is not None and bot.enterprise_id == "E-org"


async def test_an_org_wide_install_is_keyed_by_the_org(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    await installations.async_save(installation(None, enterprise_id="E-org", org_wide=True))
    bot = await installations.async_find_bot(enterprise_id="E-org", team_id="T-any",
                                             is_enterprise_install=True)
    assert bot is not None and bot.is_enterprise_install
    assert await installations.async_find_bot(enterprise_id="E-org", team_id="T-any") is None
    await installations.async_delete_all(enterprise_id="E-org", team_id=None)
    assert await installations.async_find_bot(enterprise_id="E-org", team_id=None,
                                              is_enterprise_install=True) is None


async def test_uninstall_and_revocations_forget_the_token(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    for team, token in (("T-a", TOKEN_A), ("T-b", TOKEN_B), ("T-c", "xoxb-c")):
        await installations.async_save(installation(team, token))

    await installations.async_delete_all(enterprise_id=None, team_id="T-a")
    await installations.async_delete_bot(enterprise_id=None, team_id="T-b")
    # A revoked user token: leanon keeps none, so the bot stays.
    await installations.async_delete_installation(enterprise_id=None, team_id="T-c",
                                                  user_id="U-installer")
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-a") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-b") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-c") is not None
    await installations.async_delete_installation(enterprise_id=None, team_id="T-c")
    assert await installations.async_find_bot(enterprise_id=None, team_id="T-c") is None
    await installations.async_delete_all(enterprise_id=None, team_id="T-never")  # harmless


async def test_an_installation_without_a_bot_token_is_refused(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    with pytest.raises(ValueError, match="bot token"):
        await installations.async_save(Installation(team_id="T-a", user_id="U-1"))


async def test_a_database_failure_is_a_storage_error_without_the_token(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine)
    broken = installation()
    broken.bot_user_id = None  # type: ignore[assignment]  # NOT NULL
    with pytest.raises(StorageError) as raised:
        await installations.async_save(broken)
    assert "async_save" in str(raised.value)
    assert TOKEN_A not in str(raised.value)


def test_installation_key() -> None:
    assert installation_key("E", "T") == "T"
    assert installation_key("E", "T", True) == "E"
    assert installation_key("E", None) == "E"
    assert installation_key("", "") is None


async def test_a_state_works_once(store: SqlStore) -> None:
    states = SqlOAuthStateStore(store.engine)
    state = await states.async_issue()
    other = await states.async_issue()
    assert state != other and len(state) >= 40
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("made-up-state") is False
    assert await states.async_consume("") is False
    assert await states.async_consume(other) is True


async def test_an_expired_state_is_refused_and_cleared(store: SqlStore) -> None:
    clock = Clock()
    states = SqlOAuthStateStore(store.engine, expiration_seconds=600, clock=clock)
    late = await states.async_issue()
    clock.now = T0 + timedelta(seconds=599)
    fresh = await states.async_issue()
    clock.now = T0 + timedelta(seconds=600)
    assert await states.async_consume(late) is False
    assert await states.async_consume(fresh) is True
    clock.now = T0 + timedelta(hours=1)
    await states.async_issue()  # clears the expired ones
    async with store.engine.connect() as connection:
        left = (await connection.execute(text("SELECT count(*) FROM slack_oauth_states"))).scalar()
    assert left == 1


async def test_two_replicas_consuming_one_state_only_one_wins(store: SqlStore,
                                                              other_store: SqlStore) -> None:
    state = await SqlOAuthStateStore(store.engine).async_issue()
    results = await asyncio.gather(
        *(SqlOAuthStateStore(s.engine).async_consume(state) for s in (store, other_store, store)))
    assert sorted(results) == [False, False, True]

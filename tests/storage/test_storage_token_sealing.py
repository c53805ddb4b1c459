"""Slack bot tokens at rest: sealed with LEANON_SECRET_KEYS, opened on read, tokens kept in
clear before a key was set sealed at start, keys rotated (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select

from bot.errors import ConfigError, StorageError
from storage import SqlStore
from storage.models import SlackInstallationRow
from storage.sealing import PREFIX, TokenCipher
from storage.slack_installations import SqlInstallationStore
from tests.storage.storage_testing import T0

TOKEN = "xoxb-1111-2222-very-secret"
OLD_KEY, NEW_KEY = TokenCipher.new_key(), TokenCipher.new_key()


def installation(team_id: str = "T-a", token: str = TOKEN) -> Installation:
    return Installation(app_id="A-leanon", enterprise_id=None, team_id=team_id,
                        team_name="Team", bot_token=token, bot_id="B-1", bot_user_id="U-bot",
                        bot_scopes="commands,chat:write", user_id="U-installer",
                        installed_at=T0.timestamp())


async def stored_tokens(store: SqlStore) -> list[str]:
    async with store.engine.connect() as connection:
        return list((await connection.scalars(
            select(SlackInstallationRow.bot_token).order_by(SlackInstallationRow.workspace_id))).all())


async def found_token(installations: SqlInstallationStore, team_id: str = "T-a") -> str | None:
    bot = await installations.async_find_bot(enterprise_id=None, team_id=team_id)
    return bot.bot_token if bot is not None else None


async def test_a_token_is_sealed_at_rest_and_opened_on_read(store: SqlStore) -> None:
    installations = SqlInstallationStore(store.engine, cipher=TokenCipher([NEW_KEY]))
    await installations.async_save(installation())
    [at_rest] = await stored_tokens(store)
    assert at_rest.startswith(PREFIX) and TOKEN not in at_rest
    assert await found_token(installations) == TOKEN
    found = await installations.async_find_installation(enterprise_id=None, team_id="T-a")
    assert found is not None and found.bot_token == TOKEN


async def test_tokens_kept_in_clear_are_sealed_at_start_and_still_work(store: SqlStore) -> None:
    await SqlInstallationStore(store.engine).async_save(installation("T-a"))
    await SqlInstallationStore(store.engine).async_save(installation("T-b", "xoxb-b"))
    assert await stored_tokens(store) == [TOKEN, "xoxb-b"]
    installations = SqlInstallationStore(store.engine, cipher=TokenCipher([NEW_KEY]))
    assert await found_token(installations) == TOKEN  # read before sealing: still works
    assert await installations.seal_stored() == 2
    assert all(t.startswith(PREFIX) for t in await stored_tokens(store))
    assert await installations.seal_stored() == 0  # nothing left to do
    assert await found_token(installations, "T-b") == "xoxb-b"


async def test_a_new_key_in_front_rotates_every_token(store: SqlStore) -> None:
    old = SqlInstallationStore(store.engine, cipher=TokenCipher([OLD_KEY]))
    await old.async_save(installation())
    [sealed_old] = await stored_tokens(store)
    both = SqlInstallationStore(store.engine, cipher=TokenCipher([NEW_KEY, OLD_KEY]))
    assert await found_token(both) == TOKEN
    assert await both.seal_stored() == 1
    [sealed_new] = await stored_tokens(store)
    assert sealed_new != sealed_old
    only_new = SqlInstallationStore(store.engine, cipher=TokenCipher([NEW_KEY]))
    assert await found_token(only_new) == TOKEN  # the old key can now be dropped


async def test_sealed_tokens_without_the_key_are_a_clear_storage_error(store: SqlStore) -> None:
    await SqlInstallationStore(store.engine, cipher=TokenCipher([OLD_KEY])).async_save(
        installation())
    with pytest.raises(StorageError, match="LEANON_SECRET_KEYS"):
        await found_token(SqlInstallationStore(store.engine))
    with pytest.raises(StorageError, match="none of LEANON_SECRET_KEYS"):
        await found_token(SqlInstallationStore(store.engine, cipher=TokenCipher([NEW_KEY])))


@pytest.mark.parametrize("value", ["not-a-key", "abc,def", "x" * 44])
def test_a_key_that_is_not_a_fernet_key_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^LEANON_SECRET_KEYS: "):
        TokenCipher.from_setting(value)


def test_no_keys_means_no_cipher() -> None:
    assert TokenCipher.from_setting(None) is None
    assert TokenCipher.from_setting(" , ") is None
    assert TokenCipher.from_setting(f"{NEW_KEY}, {OLD_KEY}") is not None

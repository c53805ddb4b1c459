"""`leanon run` with OAuth installs (no bot token), and how its settings are checked."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.config import Config
from bot.errors import ConfigError
from storage.sealing import TokenCipher
from tests.slack.fake_slack import CLIENT_ID, CLIENT_SECRET, TEAM_B, FakeSlack
from tests.slack.oauth_testing import Browser
from tests.slack.slack_testing import SECRET, payload, sign
from tests.slack.test_run import free_port, leanon_env, run_leanon, wait_until_serving

NEW_KEY, OLD_KEY = TokenCipher.new_key(), TokenCipher.new_key()
OAUTH = {"slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET,
         "slack_signing_secret": SECRET}


def config(**values: str) -> Config:
    return Config(_env_file=None, **values)  # type: ignore[call-arg]


def test_oauth_installs_run_in_http_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("SLACK_", "LEANON_"))]:
        monkeypatch.delenv(name)
    oauth = config(**OAUTH)
    assert (oauth.slack_mode(), oauth.slack_oauth) == ("http", True)
    single = config(slack_bot_token="xoxb-1", slack_signing_secret="s")
    assert (single.slack_mode(), single.slack_oauth) == ("http", False)


@pytest.mark.parametrize(("values", "named"), [
    ({"slack_client_id": CLIENT_ID, "slack_signing_secret": SECRET}, "SLACK_CLIENT_SECRET"),
    ({"slack_client_secret": CLIENT_SECRET}, "SLACK_CLIENT_ID"),
    ({**OAUTH, "slack_bot_token": "xoxb-1"}, "SLACK_BOT_TOKEN"),
    ({**OAUTH, "slack_app_token": "xapp-1"}, "SLACK_APP_TOKEN"),
    ({"slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}, "SLACK_SIGNING_SECRET"),
], ids=["no-secret", "no-client-id", "with-bot-token", "with-app-token", "no-signing-secret"])
def test_oauth_settings_that_do_not_fit_are_one_line(monkeypatch: pytest.MonkeyPatch,
                                                     values: dict[str, str], named: str) -> None:
    for name in [n for n in os.environ if n.startswith(("SLACK_", "LEANON_"))]:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigError) as raised:
        config(**values).slack_mode()
    message = str(raised.value)
    assert message.startswith(named) and "\n" not in message


async def test_leanon_run_installs_a_workspace_and_serves_it_with_its_token(
        fake: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fake.redirect_url = base + "/slack/oauth_redirect"
    env = leanon_env(tmp_path, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                     SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                     LEANON_PORT=str(port), LEANON_HOST="127.0.0.1",
                     LEANON_SECRET_KEYS=f"{NEW_KEY},{OLD_KEY}")
    process = await run_leanon(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_serving(session, base, process)
            done = await Browser(session, base).install(TEAM_B)
            assert done.status == 200 and "Thank you!" in done.text
            command = payload("slash_command")
            command.update(team_id=TEAM_B, response_url=fake.response_url("cmd"))
            body = urlencode(command)
            async with session.post(f"{base}/slack/events", data=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", **sign(body)}) as response:
                assert response.status == 200
        [card] = await fake.wait_for("chat.postMessage", within=10)
        assert card.token == fake.token_of(TEAM_B)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0
    assert fake.find("oauth.v2.access")[0].args["client_secret"] == CLIENT_SECRET
    # The token is sealed at rest with the first key, and opened to make the call above.
    with sqlite3.connect(tmp_path / "run.db") as db:
        [(stored,)] = db.execute("SELECT bot_token FROM slack_installations").fetchall()
    assert stored.startswith("fernet:") and fake.token_of(TEAM_B) not in stored
    assert TokenCipher([NEW_KEY]).open(stored) == fake.token_of(TEAM_B)

"""`leanon run` with Slack credentials: the real process serving /slack/events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.config import Config
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack, FakeSocketMode
from tests.slack.slack_testing import CHANNEL, SECRET, payload, sign

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def leanon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "LEANON_"))}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
            "PYTHONPATH": str(ROOT), **extra}


async def run_leanon(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def wait_until_serving(session: aiohttp.ClientSession, base: str,
                             process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        if process.returncode is not None:
            raise AssertionError((await process.communicate())[1].decode())
        try:
            async with session.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("leanon did not start serving")


async def test_leanon_run_serves_slack_http_mode_on_leanon_port(
        fake: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    env = leanon_env(tmp_path, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_API_URL=fake.api_url, LEANON_PORT=str(port), LEANON_HOST="127.0.0.1")
    process = await run_leanon(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_serving(session, base, process)
            challenge = json.dumps(payload("url_verification"))
            async with session.post(f"{base}/slack/events", data=challenge,
                                    headers={"Content-Type": "application/json",
                                             **sign(challenge)}) as response:
                assert response.status == 200
                assert (await response.json())["challenge"] == payload("url_verification")["challenge"]
            command = payload("slash_command")
            command["response_url"] = fake.response_url("cmd")
            body = urlencode(command)
            async with session.post(f"{base}/slack/events", data=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", **sign(body)}) as response:
                assert response.status == 200
        [card] = await fake.wait_for("chat.postMessage", within=10)
        assert card.args["channel"] == CHANNEL and card.token == BOT_TOKEN
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    # bolt's "`token` will be unused" (it reads SLACK_BOT_TOKEN itself) is not leanon's
    # concern: an ordinary start, ask and stop warns about nothing.
    assert [line for line in err.decode().splitlines() if '"warning"' in line] == []


async def test_a_refused_bot_token_stops_leanon_with_one_line(fake: FakeSlack,
                                                              tmp_path: Path) -> None:
    env = leanon_env(tmp_path, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-revoked",
                     SLACK_API_URL=fake.api_url, LEANON_PORT=str(free_port()))
    process = await run_leanon(env, tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert err.decode().strip() == "leanon: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)"


async def test_a_signing_secret_without_a_bot_token_is_a_config_error(tmp_path: Path) -> None:
    process = await run_leanon(leanon_env(tmp_path, SLACK_SIGNING_SECRET=SECRET), tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "SLACK_BOT_TOKEN" in err.decode() and err.decode().strip().count("\n") == 0


def test_slack_modes_and_the_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("SLACK_", "LEANON_"))]:
        monkeypatch.delenv(name)
    assert Config(_env_file=None).leanon_port == 3000  # type: ignore[call-arg]
    http = Config(_env_file=None, slack_bot_token="xoxb-1", slack_signing_secret="s")  # type: ignore[call-arg]
    socket_mode = Config(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1")  # type: ignore[call-arg]
    assert (http.slack_mode(), socket_mode.slack_mode()) == ("http", "socket")
    assert Config(_env_file=None).slack_mode() is None  # type: ignore[call-arg]


async def test_leanon_run_with_an_app_token_uses_socket_mode(fake: FakeSlack,
                                                             tmp_path: Path) -> None:
    server = await FakeSocketMode(hello=payload("socket_hello")).start()
    fake.ws_url = server.url
    env = leanon_env(tmp_path, SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN,
                     SLACK_API_URL=fake.api_url)
    process = await run_leanon(env, tmp_path)
    try:
        await server.connected(within=30)
        command = payload("slash_command")
        command["response_url"] = fake.response_url("cmd")
        await server.send({"envelope_id": "env-1", "type": "slash_commands", "payload": command,
                           "accepts_response_payload": True})
        await server.wait_ack("env-1", within=10)
        [card] = await fake.wait_for("chat.postMessage", within=10)
        assert card.args["channel"] == CHANNEL
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
        await server.stop()
    assert code == 0
    assert fake.find("apps.connections.open")[0].token == APP_TOKEN

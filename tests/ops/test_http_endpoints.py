"""The process's HTTP server: /healthz, /readyz and /metrics next to Slack's endpoint."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from adapters.ops import server as ops_server
from adapters.ops.metrics import Metrics
from adapters.ops.readiness import Readiness
from bot.app import run_bots
from bot.config import Config
from bot.messages import ActionId
from tests.ops.leanon_process import free_port
from tests.ops.slack_requests import command, press
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack
from tests.slack.slack_testing import ADMIN, ALICE, BOB, CHANNEL, SECRET

ALLOWED_LABELS = {"platform", "command", "outcome", "source", "trigger", "kind", "route", "method",
                  "status", "le"}


@pytest.fixture
async def leanon(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[str]:
    """`run_bots` in this process, Slack HTTP mode against the fake; its base URL."""
    port = free_port()
    config = Config(_env_file=None, database_url=f"sqlite:///{tmp_path}/leanon.db",  # type: ignore[call-arg]
                    slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                    slack_api_url=fake.api_url, leanon_host="127.0.0.1", leanon_port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(config, stop))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert not task.done(), task.exception()
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    yield base
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_healthz_and_readyz_answer_when_all_is_well(leanon: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{leanon}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok")
            assert response.headers["X-Request-Id"]
        async with session.get(f"{leanon}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_metrics_count_asks_offers_errors_and_requests_without_member_labels(
        leanon: str, fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        assert await command(session, leanon, fake, "/ask",
                             "How do I rotate the staging TLS certificate safely?") == 200
        [card] = await fake.wait_for("chat.postMessage", within=10)
        ts = card.result["ts"]
        assert await press(session, leanon, fake, ActionId.OFFER_HELP, "1", user=BOB,
                           message_ts=ts) == 200
        await fake.wait_for("chat.update", within=10)
        await fake.wait_for("chat.postMessage", count=2, within=10)  # and the DM to alice
        fake.failures["chat.postMessage"] = "channel_not_found"
        assert await command(session, leanon, fake, "/ask", "Where is the on-call runbook?") == 200
        await fake.wait_for("response_url", count=3, within=10)
        async with session.get(f"{leanon}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
    expected = [
        'leanon_asks_total{outcome="ok",platform="slack"} 1.0',
        'leanon_asks_total{outcome="refused",platform="slack"} 1.0',
        'leanon_offers_total{outcome="ok",platform="slack"} 1.0',
        'leanon_platform_api_errors_total{kind="permanent",platform="slack"} 1.0',
        'leanon_commands_total{command="CreateAsk",outcome="ok",platform="slack"} 1.0',
        'leanon_scheduler_leader 1.0',
    ]
    for line in expected:
        assert line in text, line
    served = re.search(r'leanon_http_request_duration_seconds_count\{method="POST",'
                       r'route="/slack/events",status="200"\} (\d+)', text)
    assert served and int(served.group(1)) == 3
    assert "leanon_command_duration_seconds_bucket" in text
    for labels in re.findall(r"^leanon_\w+\{([^}]*)\}", text, re.MULTILINE):
        assert {pair.split("=")[0] for pair in labels.split(",")} <= ALLOWED_LABELS, labels
    for member_or_place in (ALICE, BOB, ADMIN, CHANNEL, TEAM):
        assert member_or_place not in text


async def serve(readiness: Readiness) -> tuple[web.AppRunner, str]:
    application = web.Application()
    ops_server.install(application, readiness, Metrics())
    runner = await ops_server.serve(application, "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{ops_server.bound_port(runner)}"


async def test_readyz_is_503_with_a_short_reason_while_a_check_fails_or_hangs() -> None:
    readiness = Readiness(timeout=0.2)
    state = {"database": "unreachable (connection refused)"}

    async def database() -> str | None:
        return state["database"] or None

    async def slow() -> str | None:
        await asyncio.sleep(5)
        return None

    readiness.add("database", database)
    readiness.add("slack", slow)
    runner, base = await serve(readiness)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/readyz") as response:
                body = await response.json()
            assert response.status == 503
            assert body["status"] == "not ready"
            assert body["reason"] == ("database: unreachable (connection refused); "
                                      "slack: no answer within 0.2 s")
            state["database"] = ""
            readiness.add("slack", database)
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 200
            readiness.stopping = True
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 503
                assert (await response.json())["reason"] == "process: shutting down"
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200  # alive, just not taking new work
    finally:
        await runner.cleanup()


async def test_a_port_in_use_is_one_clear_config_error() -> None:
    from bot.errors import ConfigError

    runner, base = await serve(Readiness())
    port = int(base.rsplit(":", 1)[1])
    try:
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            await ops_server.serve(web.Application(), "127.0.0.1", port)
    finally:
        await runner.cleanup()


async def test_a_request_answered_well_and_soon_is_a_debug_line_and_others_are_info(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """One line per request at INFO is most of a busy process's logging CPU: a success
    answered quickly is logged at DEBUG; an error answer or a slow one at INFO."""
    application = web.Application()

    async def quick(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def refused(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "invalid request"}, status=401)

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.05)
        return web.Response(text="ok")

    application.add_routes([web.post("/quick", quick), web.post("/refused", refused),
                            web.post("/slow", slow)])
    monkeypatch.setattr(ops_server, "SLOW_REQUEST_SECONDS", 0.04)
    ops_server.install(application, Readiness(), Metrics())
    runner = await ops_server.serve(application, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{ops_server.bound_port(runner)}"
    try:
        with caplog.at_level(logging.DEBUG, logger="adapters.ops.server"):
            async with aiohttp.ClientSession() as session:
                for path in ("/quick", "/refused", "/slow", "/missing"):
                    async with session.post(f"{base}{path}") as response:
                        await response.read()
    finally:
        await runner.cleanup()
    levels = {record.route: record.levelname for record in caplog.records  # type: ignore[attr-defined]
              if record.getMessage() == "request served"}
    assert levels == {"/quick": "DEBUG", "/refused": "INFO", "/slow": "INFO",
                      "unmatched": "INFO"}

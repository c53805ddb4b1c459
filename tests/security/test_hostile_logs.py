"""Logs an outsider can neither forge nor flood: one record is one line, text they chose is
escaped and cut short, and requests the server can't parse are one WARNING per kind."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from adapters.ops import server
from tests.security.security_testing import SlackStack, json_logs
from tests.slack.fake_slack import FakeSlack

FORGED = "x\u2028{\"level\": \"error\", \"event\": \"forged\"}\u2029\u0085" + "y" * 5_000


def records(logs: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in logs.splitlines() if line.strip()]


async def raw_request(base: str, request: bytes) -> bytes:
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 5)
    writer.close()
    return answer


async def test_malformed_http_requests_are_one_warning_a_kind_without_a_traceback(
        slack: SlackStack) -> None:
    with json_logs("INFO") as logs:
        for _ in range(5):
            answer = await raw_request(slack.base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                                   b"Bad Header Without Colon\r\n\r\n")
            assert answer.split(b" ", 2)[1] == b"400"
        answer = await raw_request(slack.base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                               b"X: " + b"a" * 10_000 + b"\r\n\r\n")
        assert answer.split(b" ", 2)[1].startswith(b"4")
    lines = [r for r in records(logs.getvalue()) if "malformed HTTP request" in str(r["event"])]
    assert [r["level"] for r in lines] == ["warning", "warning"], lines  # two kinds, once each
    assert "Traceback" not in logs.getvalue() and '"level": "error"' not in logs.getvalue()
    assert all(len(str(r["event"])) < 300 for r in lines)


async def test_text_an_outsider_chose_stays_on_one_escaped_line(installs: SlackStack,
                                                                fake: FakeSlack) -> None:
    assert installs.installs is not None
    _, cookie = await installs.installs.start()
    with json_logs("INFO") as logs:
        page = await installs.installs.get("/slack/oauth_redirect", cookie=cookie,
                                           error=FORGED, state=cookie)
        assert page.status == 200
    text = logs.getvalue()
    for separator in ("\u2028", "\u2029", "\u0085"):
        assert separator not in text
    refused = [r for r in records(text) if "install was refused" in str(r["event"])]
    assert len(refused) == 1 and len(str(refused[0]["event"])) < 200
    assert not any(r.get("event") == "forged" for r in records(text))


async def _trickle(writer: asyncio.StreamWriter, header_lines: int) -> None:
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    for n in range(header_lines):
        await asyncio.sleep(0.1)
        writer.write(b"X-Slow-%d: y\r\n" % n)
        await writer.drain()


@pytest.mark.parametrize("header_lines", [0, 100], ids=["silent", "trickling headers"])
async def test_a_client_that_never_finishes_its_headers_is_cut_off(
        monkeypatch: pytest.MonkeyPatch, header_lines: int) -> None:
    """The idle deadline counts from the connection's start, and bytes of an unfinished
    request don't move it: a slow client holds a connection for one deadline at most."""
    monkeypatch.setattr(server, "KEEPALIVE_SECONDS", 0.5)
    app = server.application()
    app.router.add_get("/healthz", _ok)
    runner = server.runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        reader, writer = await asyncio.open_connection(host, port)
        sending = asyncio.create_task(_trickle(writer, header_lines))
        started = time.monotonic()
        answer = await asyncio.wait_for(reader.read(), 5)  # the server closes it: EOF
        held = time.monotonic() - started
        assert answer == b"" and held < 3, (answer, held)
        assert not sending.done() or header_lines == 0  # it was still sending when cut off
        sending.cancel()
        writer.close()
    finally:
        await runner.cleanup()


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")

"""Bad bodies at the HTTP edge: over 1 MB, the wrong or no Content-Type, bytes that are not
UTF-8, JSON cut short. Signed, so that the signature check (401) is not what refuses them.

Also a real `leanon run` process: its server has the same limit.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text

from adapters.slack.app import build_app
from adapters.slack.door import FORM_MAX_BYTES, TOO_LONG
from adapters.slack.installs import InstalledWorkspaces
from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, oauth_flow
from adapters.slack.server import MAX_BODY_BYTES, bound_port, serve_http
from bot.app import Runtime
from storage.slack_installations import SqlInstallationStore, SqlOAuthStateStore
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.robustness.robustness_testing import cases, snapshot
from tests.slack.fake_slack import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, FakeSlack
from tests.slack.slack_testing import ALICE, CHANNEL, SECRET, WS, Harness, payload, sign

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed(raw: bytes, stamp: str | None = None) -> dict[str, str]:
    """Slack's signature over the raw bytes (which need not be UTF-8)."""
    stamp = str(int(time.time())) if stamp is None else stamp
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def ask_body(size: int | None = None, fake: FakeSlack | None = None) -> bytes:
    """A signed-ready `/ask` form; padded with an extra field to exactly `size` bytes."""
    body = payload("slash_command")
    body.update(text="How do I rotate the staging keys without downtime?",
                trigger_id=f"trig.{time.monotonic_ns()}",
                response_url=fake.response_url(f"cmd-{ALICE}") if fake else "")
    raw = urlencode(body).encode()
    if size is not None:
        raw += b"&padding="
        raw += b"x" * (size - len(raw))
        assert len(raw) == size
    return raw


async def post(session: aiohttp.ClientSession, url: str, raw: bytes,
               headers: dict[str, str], method: str = "POST") -> int:
    async with session.request(method, url, data=raw, headers=headers) as response:
        await response.read()
        return response.status


async def nothing_happened(slack: Harness, before: Any) -> None:
    await slack.settle()
    assert await snapshot(slack.runtime.store) == before
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES, 8 * MAX_BODY_BYTES])
async def test_a_body_over_1_mb_to_slack_events_is_413_and_changes_nothing(
        slack: Harness, size: int) -> None:
    before = await snapshot(slack.runtime.store)
    raw = ask_body(size, slack.fake)
    assert await post(slack.session, slack.url, raw, {"Content-Type": FORM, **signed(raw)}) == 413
    await nothing_happened(slack, before)


async def test_a_form_of_exactly_the_form_limit_is_handled_normally(slack: Harness) -> None:
    raw = ask_body(FORM_MAX_BYTES, slack.fake)
    assert await post(slack.session, slack.url, raw, {"Content-Type": FORM, **signed(raw)}) == 200
    await slack.settle()
    assert len(slack.fake.posts(CHANNEL)) == 1
    assert any("Your ask is posted" in t for t in slack.private(ALICE))


async def test_a_form_over_the_form_limit_is_answered_and_not_stored(slack: Harness) -> None:
    before = await snapshot(slack.runtime.store)
    raw = ask_body(FORM_MAX_BYTES + 1, slack.fake)
    async with slack.session.post(slack.url, data=raw,
                                  headers={"Content-Type": FORM, **signed(raw)}) as response:
        assert response.status == 200 and await response.text() == TOO_LONG
    await nothing_happened(slack, before)
    async with slack.runtime.store.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM inbox_items"))).scalar() == 0


async def test_an_event_of_exactly_1_mb_is_handled_normally(slack: Harness) -> None:
    event = payload("event_reaction_added")
    event["padding"] = ""
    unpadded = len(json.dumps(event).encode())
    event["padding"] = "x" * (MAX_BODY_BYTES - unpadded)
    raw = json.dumps(event).encode()
    assert len(raw) == MAX_BODY_BYTES
    assert await post(slack.session, slack.url, raw, {"Content-Type": JSON, **signed(raw)}) == 200
    async with slack.runtime.store.unit_of_work() as uow:
        assert len(await uow.thanks.export(WS)) == 1


async def test_a_body_over_1_mb_sent_without_its_length_is_413(slack: Harness) -> None:
    """Chunked, so only reading it can tell; reading stops at the limit."""
    before = await snapshot(slack.runtime.store)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(17):  # just over the limit: the refusal comes as the last chunk goes
            yield b"x" * 65536

    async with slack.session.post(slack.url, data=chunks(),
                                  headers={"Content-Type": FORM, **sign("")}) as response:
        assert response.status == 413
    await nothing_happened(slack, before)


async def test_a_small_compressed_body_that_inflates_over_1_mb_is_415(slack: Harness) -> None:
    before = await snapshot(slack.runtime.store)
    raw = gzip.compress(ask_body(3 * MAX_BODY_BYTES, slack.fake))
    assert len(raw) < 100_000
    headers = {"Content-Type": FORM, "Content-Encoding": "gzip", **signed(raw)}
    assert await post(slack.session, slack.url, raw, headers) == 415
    await nothing_happened(slack, before)


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(bytes(256 * MAX_BODY_BYTES), compresslevel=9)


@pytest.mark.parametrize("path", ["/slack/events", "/healthz", "/nowhere"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "GZIP ", "br"])
async def test_a_compressed_body_costs_no_cpu_on_any_path(slack: Harness, path: str,
                                                          encoding: str) -> None:
    # 256 MiB of zeros in about 250 kB: the HTTP parser used to inflate it as it arrived,
    # whatever the path and after the answer, for seconds of CPU.
    bomb = _bomb()
    assert len(bomb) < MAX_BODY_BYTES
    url = slack.url.replace("/slack/events", path)
    started = time.process_time()  # the server runs in this process
    status = await post(slack.session, url, bomb, {"Content-Type": FORM,
                                                   "Content-Encoding": encoding})
    await asyncio.sleep(0.2)  # what the server would still do after its answer
    assert time.process_time() - started < 0.15
    assert status in (405, 415) if path == "/healthz" else status == 415


@pytest.fixture
async def installs_url(fake_slack: FakeSlack, runtime: Runtime) -> AsyncIterator[str]:
    """The server with OAuth installs (/slack/install, /slack/oauth_redirect): its base URL."""
    installations = SqlInstallationStore(runtime.store.engine)
    flow = oauth_flow(CLIENT_ID, CLIENT_SECRET, installations,
                      SqlOAuthStateStore(runtime.store.engine), fake_slack.api_url)
    adapter = build_app(runtime.service, InstalledWorkspaces(installations, fake_slack.api_url),
                        inbox=runtime.inbox, signing_secret=SECRET, api_url=fake_slack.api_url, oauth=flow)
    runner = await serve_http(adapter, SECRET, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{bound_port(runner)}"
    await runner.cleanup()


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/slack/events"), ("GET", "/healthz"), ("POST", "/healthz"),
    ("GET", INSTALL_PATH), ("GET", REDIRECT_PATH + "?code=x&state=y"), ("PUT", "/nowhere"),
])
async def test_every_path_answers_413_to_a_body_over_1_mb(
        installs_url: str, runtime: Runtime, fake_slack: FakeSlack, method: str,
        path: str) -> None:
    before = await snapshot(runtime.store)
    raw = b"x" * (MAX_BODY_BYTES + 1)
    async with aiohttp.ClientSession() as session:
        assert await post(session, installs_url + path, raw, {"Content-Type": FORM, **signed(raw)},
                          method) == 413
    assert await snapshot(runtime.store) == before
    assert fake_slack.calls == []


EVENT = json.dumps(payload("event_reaction_added")).encode()


@pytest.mark.parametrize(("raw", "content_type"), [
    (EVENT, None), (EVENT, "text/plain"), (EVENT, "application/xml"),
    (EVENT, "multipart/form-data; boundary=x"), (EVENT, "application/octet-stream"),
    (EVENT, FORM), (ask_body(), JSON), (ask_body(), "text/html; charset=utf-8"),
], ids=["none", "text", "xml", "multipart", "octet-stream", "json-as-form", "form-as-json",
        "form-as-html"])
async def test_a_signed_body_with_the_wrong_or_no_content_type_is_refused(
        slack: Harness, raw: bytes, content_type: str | None) -> None:
    before = await snapshot(slack.runtime.store)
    headers = signed(raw) | ({"Content-Type": content_type} if content_type else {})
    async with slack.session.post(slack.url, data=raw, headers=headers,
                                  skip_auto_headers=["Content-Type"]) as response:
        assert 400 <= response.status < 500, response.status
    await nothing_happened(slack, before)
    # The same request unsigned is refused before anything looks at its type.
    async with slack.session.post(slack.url, data=raw, skip_auto_headers=["Content-Type"],
                                  headers={"Content-Type": content_type} if content_type else {}
                                  ) as response:
        assert response.status == 401


@cases(30)
@given(cut=st.integers(1, len(EVENT) - 1), kind=st.sampled_from([JSON, FORM]))  # 0: no body, a 200
@example(cut=len(EVENT) // 2, kind=JSON)
async def test_json_cut_short_is_a_4xx_and_changes_nothing(
        slack: Harness, cut: int, kind: str) -> None:
    raw = EVENT[:cut] if kind == JSON else urlencode({"payload": EVENT[:cut].decode()}).encode()
    before = await snapshot(slack.runtime.store)
    status = await post(slack.session, slack.url, raw, {"Content-Type": kind, **signed(raw)})
    assert 400 <= status < 500
    await nothing_happened(slack, before)


@cases(30)
@given(junk=st.binary(min_size=1, max_size=8).filter(lambda b: not is_utf8(b)),
       where=st.floats(0, 1), kind=st.sampled_from([JSON, FORM]))
@example(junk=b"\xff\xfe", where=0.5, kind=JSON)
async def test_bytes_that_are_not_utf8_are_a_4xx_and_change_nothing(
        slack: Harness, junk: bytes, where: float, kind: str) -> None:
    body = EVENT if kind == JSON else ask_body(fake=slack.fake)
    at = int(len(body) * where)
    raw = body[:at] + junk + body[at:]
    before = await snapshot(slack.runtime.store)
    status = await post(slack.session, slack.url, raw, {"Content-Type": kind, **signed(raw)})
    assert 400 <= status < 500
    await nothing_happened(slack, before)


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("stamp", ["abc", "", "1e9", "١٧٠٠٠٠٠٠٠٠", "17000000000000000000000000",
                                   " 1700000000", "-1"])
async def test_a_timestamp_that_is_not_a_number_is_401_not_500(slack: Harness, stamp: str) -> None:
    before = await snapshot(slack.runtime.store)
    headers = {"Content-Type": JSON, **signed(EVENT, stamp)}
    assert await post(slack.session, slack.url, EVENT, headers) == 401
    await nothing_happened(slack, before)


async def test_leanon_run_refuses_a_body_over_1_mb_and_handles_one_of_exactly_1_mb(
        fake_slack: FakeSlack, tmp_path: Path) -> None:
    env = leanon_env(f"sqlite:///{tmp_path / 'run.db'}", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake_slack.api_url,
                     LEANON_PORT=str(free_port()))
    leanon = await LeanonProcess(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as session:
            await leanon.wait_ready(session)
            url = leanon.base + "/slack/events"
            over = ask_body(MAX_BODY_BYTES + 1, fake_slack)
            assert await post(session, url, over, {"Content-Type": FORM, **signed(over)}) == 413
            for path in ("/healthz", "/readyz", "/metrics"):
                assert await post(session, leanon.base + path, over, {}, "GET") == 413
            exact = ask_body(FORM_MAX_BYTES, fake_slack)
            assert await post(session, url, exact, {"Content-Type": FORM, **signed(exact)}) == 200
            await fake_slack.wait_for("chat.postMessage", within=20)
            await fake_slack.wait_for("response_url", within=20)
    finally:
        await leanon.stop()
    assert len(fake_slack.posts(CHANNEL)) == 1
    assert "Traceback" not in leanon.stderr()

"""Structured logs: JSON lines with request ids; no token, secret or anonymous asker in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog

from adapters.ops.logs import REDACTED, bound, configure_logging
from bot.messages import ActionId
from tests.ops.leanon_process import LeanonProcess, free_port, leanon_env
from tests.ops.slack_requests import event, interactive, press
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import ALICE, BOB, CAROL, CHANNEL, SECRET, payload


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers, root.level = saved[0], saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    structlog.reset_defaults()
    logging.captureWarnings(False)


def test_log_lines_are_json_with_the_bound_id_and_secrets_redacted(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("INFO", secrets=["my-signing-secret-value"], stream=out)
    log = logging.getLogger("leanon.test")
    with bound(request_id="req-1"):
        log.warning("slack said %s for xoxb-1234-5678-abcdef with my-signing-secret-value",
                    "invalid_auth", extra={"status": 401})
    log.info("outside")
    try:
        raise ValueError("boom with xapp-1-A0-123456-abcdef")
    except ValueError:
        log.exception("failed")
    first, second, third = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == f"slack said invalid_auth for {REDACTED} with {REDACTED}"
    assert (first["request_id"], first["status"], first["level"]) == ("req-1", 401, "warning")
    assert first["logger"] == "leanon.test" and first["timestamp"].endswith("Z")
    assert "request_id" not in second
    assert "Traceback" in third["exception"] and "xapp-1" not in third["exception"]


async def test_an_anonymous_ask_flow_logs_no_asker_token_or_secret(fake: FakeSlack,
                                                                  tmp_path: Path) -> None:
    env = leanon_env(f"sqlite:///{tmp_path / 'run.db'}", SLACK_SIGNING_SECRET=SECRET,
                     SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                     LEANON_PORT=str(free_port()), LEANON_LOG_LEVEL="DEBUG")
    fake.failures["conversations.replies"] = "missing_scope"  # some warnings to log, too
    leanon = await LeanonProcess(env, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as session:
            await leanon.wait_ready(session)
            form = payload("view_submission")  # "ask anonymously" is ticked in it
            form["user"]["id"] = ALICE
            assert await interactive(session, leanon.base, form) == 200
            [card] = await fake.wait_for("chat.postMessage", within=10)
            ts = str(card.result["ts"])
            base = leanon.base
            assert await press(session, base, fake, ActionId.OFFER_HELP, "1", BOB, ts) == 200
            await fake.wait_for("chat.update", within=10)
            # Resolved opens the resolve form, which Alice sends (its answer is an ephemeral).
            assert await press(session, base, fake, ActionId.RESOLVE, "1", ALICE, ts) == 200
            await fake.wait_for("chat.update", count=2, within=10)
            await fake.wait_for("chat.postEphemeral", within=10)
            assert await press(session, base, fake, ActionId.THANK_HELPER, f"1:{BOB}", ALICE,
                               ts) == 200
            reaction = payload("event_reaction_added")
            reaction["event"].update(user=ALICE, item_user=CAROL,
                                     item={"type": "message", "channel": CHANNEL, "ts": ts})
            assert await event(session, base, reaction) == 200
            await fake.wait_for("response_url", count=2, within=10)
        assert await leanon.terminate() == 0
    finally:
        await leanon.stop()
    text = leanon.stderr()
    for never in (ALICE, BOT_TOKEN, SECRET):
        assert never not in text
    entries = leanon.logs()
    assert len(entries) == len(leanon.lines)  # every line is JSON
    served = [e for e in entries if e["event"] == "request served" and e["route"] == "/slack/events"]
    assert len(served) == 6 and len({e["request_id"] for e in served}) == 6
    warned = [e for e in entries if "missing_scope" in e["event"]]
    assert warned and all("request_id" in e for e in warned)  # the lazy work's lines carry it

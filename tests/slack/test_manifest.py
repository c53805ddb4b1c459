"""The shipped Slack app manifest matches what the adapter listens to."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack.commands import COMMANDS, THANKS
from adapters.slack.events import EVENTS
from adapters.slack.interactions import MARK_ANSWER
from adapters.slack.oauth import BOT_SCOPES, REDIRECT_PATH
from adapters.slack.server import EVENTS_PATH

MANIFEST = (Path(__file__).resolve().parents[2] / "slack-manifest.yaml").read_text()


def listed_under(key: str) -> list[str]:
    """The `- item` lines of a YAML list under `key:` (comments dropped)."""
    block = re.search(rf"^(\s*){key}:\n((?:\1\s+- .*\n)+)", MANIFEST, re.MULTILINE)
    assert block, key
    return [ln.split("- ", 1)[1].split("#")[0].strip() for ln in block.group(2).splitlines()]


def test_every_command_is_in_the_manifest_and_thanks_gets_escaped_mentions() -> None:
    commands = re.findall(r"- command: (\S+)", MANIFEST)
    assert sorted(commands) == sorted(COMMANDS)
    thanks = MANIFEST.split(f"- command: {THANKS}")[1].split("- command:")[0]
    assert "should_escape: true" in thanks  # /thanks reads <@U…> mentions


def test_every_event_and_the_scopes_they_need() -> None:
    assert sorted(listed_under("bot_events")) == sorted(EVENTS)
    scopes = listed_under("bot")
    assert {"commands", "chat:write", "im:write", "users:read", "reactions:read"} <= set(scopes)
    assert scopes == list(BOT_SCOPES)  # what an OAuth install asks for


def test_the_message_shortcut_is_in_the_manifest() -> None:
    shortcuts = re.findall(r"callback_id: (\S+)", MANIFEST)
    assert shortcuts == [MARK_ANSWER]
    assert "type: message" in MANIFEST.split("shortcuts:")[1].split("oauth_config")[0]


def test_the_oauth_redirect_url_and_no_token_rotation() -> None:
    [redirect] = listed_under("redirect_urls")
    assert redirect.endswith(REDIRECT_PATH)
    assert "token_rotation_enabled: false" in MANIFEST  # leanon does not refresh tokens


def test_every_url_is_the_events_endpoint_and_interactivity_is_on() -> None:
    urls = re.findall(r"(?:url|request_url): (\S+)", MANIFEST)
    assert len(urls) == 5 and all(u.endswith(EVENTS_PATH) for u in urls)
    assert re.search(r"interactivity:\n\s+is_enabled: true", MANIFEST)
    assert "home_tab_enabled: true" in MANIFEST

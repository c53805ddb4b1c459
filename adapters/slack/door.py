"""The front door for Slack's commands, button presses, forms and reactions over HTTP.

A signed request for one of leanon's commands, buttons or forms is parsed here, its
workspace authorized, the delivery stored in the inbox and answered, and a reaction is
recorded and answered, without bolt's dispatch: that dispatch (a context with a new Web
API client per request, middleware, matching every listener) cost more than the store
itself on the answer path. What bolt would have known of the request (`Delivered`) is
found by bolt's own extractors, so the work done is the same as from Socket Mode, which
still goes through bolt. Everything else (other events, OAuth, URL verification) goes to
bolt as before.

Bodies are parsed by the form's fields: bolt reads any form body containing the text
"payload" as an interactive payload, which turned `/ask …webhook payload…` into an empty
request.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.internals import (
    extract_channel_id,
    extract_enterprise_id,
    extract_team_id,
    extract_user_id,
)
from slack_bolt.response import BoltResponse

from adapters.ops.logs import untrusted
from adapters.slack.bridge import Bridge
from adapters.slack.deadline import StillWorking
from adapters.slack.delivered import BUSY, Delivered
from adapters.slack.events import EVENTS, failure_answer
from bot.deps import ASK_MAX_CHARS, REASON_MAX_CHARS
from bot.errors import StorageError

log = logging.getLogger(__name__)

NOT_INSTALLED = "leanon is not installed in this workspace."
FORM = "application/x-www-form-urlencoded"
# What bolt dispatches: the events leanon does not record before the answer (App Home,
# uninstalls, …), and Slack's own checks.
FOR_BOLT = ("event_callback", "url_verification", "ssl_check", "app_rate_limited")


# A form body (a command, a button press, a form) Slack sends is far smaller: the longest
# text leanon takes, 3,000 characters of 4-byte UTF-8 (9,000 before normalising), is
# 108 kB percent-encoded. Decoding a percent-encoded body is Python work per character.
FORM_MAX_BYTES = 192 * 1024
TOO_LONG = (f"That is far over what leanon takes: the limit is {ASK_MAX_CHARS:,} characters "
            f"for an ask and {REASON_MAX_CHARS:,} for a thanks reason. Nothing was done.")


def too_long(body: bytes) -> BoltResponse:
    """A form body over FORM_MAX_BYTES: a command's member is told (Slack shows a 200's
    text), anything else gets 413; nothing is parsed or stored."""
    log.warning("a signed Slack form body of %d bytes refused (the limit is %d)",
                len(body), FORM_MAX_BYTES)
    if body.startswith(b"payload="):  # an interactive payload: a button press or a form
        return BoltResponse(status=413, body="")
    return BoltResponse(status=200, body=TOO_LONG)


class Malformed(ValueError):
    """A signed body that is not a Slack payload of a shape leanon reads."""


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """A signed Slack body as bolt's listeners see it: a JSON body, an interactive
    payload (the form's `payload` field), or a slash command's form fields. Malformed for
    anything else, and for JSON nested deeper than Slack's payloads ever are."""
    try:
        text = body.decode()
        if content_type == FORM:
            fields = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" not in fields:
                return checked(fields)
            text = fields["payload"]
        parsed = json.loads(text)  # C code, linear: deep nesting ends in a RecursionError
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError among them
        raise Malformed(type(exc).__name__) from exc
    if not isinstance(parsed, dict):
        raise Malformed("not an object")
    if not _shallow(text):  # before any Python code walks it (bolt copies bodies recursively)
        raise Malformed("nested too deeply")
    return checked(parsed)


# Slack's payloads nest about ten levels deep; the check lets at most twice this through.
MAX_NESTING = 24
_NOT_BRACKETS = {ord(c): None for c in map(chr, range(128)) if c not in "[]{}"}


def _shallow(valid_json: str) -> bool:
    """Whether JSON text (already parsed, so every string in it is closed) nests at most
    about MAX_NESTING levels; in linear time, in C: escapes out, strings out (what is
    between a quote and the next), brackets only, then innermost pairs out once a level."""
    if valid_json.count("[") + valid_json.count("{") <= MAX_NESTING:
        return True
    unescaped = valid_json.replace("\\\\", "").replace('\\"', "")
    brackets = "".join(unescaped.split('"')[0::2]).translate(_NOT_BRACKETS)
    for _ in range(MAX_NESTING):
        if not brackets:
            return True
        brackets = brackets.replace("[]", "").replace("{}", "")
    return not brackets


def checked(body: dict[str, Any]) -> dict[str, Any]:
    """`body`, or Malformed for fields bolt reads as objects without checking (it would
    fail with a 500)."""
    if not isinstance(body.get("event", {}), dict):
        raise Malformed("event is not an object")
    if not isinstance(body.get("view", {}), dict):
        raise Malformed("view is not an object")
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise Malformed("actions is not a list of objects")
    if body.get("type") == "block_actions" and not actions:
        raise Malformed("a button press without actions")
    return body


class FrontDoor:
    """Stores and answers the deliveries that `bridge.deliveries` has work for, and runs
    the events `bridge.events` has work for; None for the rest (bolt's to dispatch)."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def answer(self, body: dict[str, Any]) -> BoltResponse | None:
        """The answer to a request of leanon's (Malformed when its fields have the wrong
        types), or None when bolt should dispatch it. Over HTTP and Socket Mode alike."""
        name = self.bridge.deliveries.route(body)
        event = body.get("event") if body.get("type") == "event_callback" else None
        kind = event.get("type") if isinstance(event, dict) else None
        work = self.bridge.events.get(kind) if isinstance(kind, str) else None
        if name is None and work is None:
            if body.get("type") in FOR_BOLT and (event is None or kind in EVENTS):
                return None
            # A command, button, form, legacy attachment or workflow step leanon has no
            # work for: bolt fails on some of their shapes (empty actions, a view with
            # no type) with a 500.
            log.info("no listener for a Slack %s", untrusted(body.get("command")
                                                            or body.get("type"), 40))
            return BoltResponse(status=404, body="")
        try:
            if work is not None and isinstance(event, dict):
                # A reaction is recorded before its answer, in a batch with those beside it.
                with self.bridge.service.reaction_coming():
                    delivered = await self._authorized(body)
                    if delivered is None:
                        return await _not_installed(body)
                    await work(event, delivered)
                return BoltResponse(status=200, body="")
            delivered = await self._authorized(body)
            if delivered is None:
                return await _not_installed(body)
            if name is not None and await self.bridge.deliveries.store(name, body, delivered):
                return BoltResponse(status=200, body={"text": BUSY})  # only the member sees it
            return BoltResponse(status=200, body="")
        except (StorageError, StillWorking) as exc:
            return failure_answer(exc, body, self.bridge.event_deadline)

    async def _authorized(self, body: dict[str, Any]) -> Delivered | None:
        """What bolt's context would know of the request; None when leanon doesn't serve
        its workspace."""
        try:  # bolt's extractors expect objects where Slack sends them
            enterprise_id, team_id = extract_enterprise_id(body), extract_team_id(body)
            user_id, channel_id = extract_user_id(body), extract_channel_id(body)
        except (TypeError, AttributeError, KeyError, IndexError) as exc:
            raise Malformed(type(exc).__name__) from exc
        authorized = await self.bridge.auth.authorize(enterprise_id, team_id)
        if authorized is None:
            return None
        return Delivered(enterprise_id, team_id, user_id, channel_id, authorized.bot_user_id)


async def _not_installed(body: dict[str, Any]) -> BoltResponse:
    """Told to the member (as bolt does: through the response_url when there is one)."""
    log.warning("a Slack request from a workspace leanon does not serve")
    url = body.get("response_url")
    if isinstance(url, str) and url:
        try:
            await AsyncRespond(response_url=url)(NOT_INSTALLED)
            return BoltResponse(status=200, body="")
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.info("response_url failed: %s", type(exc).__name__)
    return BoltResponse(status=200, body=NOT_INSTALLED)


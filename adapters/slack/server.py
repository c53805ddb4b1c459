"""How Slack reaches leanon: HTTP (`POST /slack/events`, signed) or Socket Mode."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from adapters.ops import server as ops_server
from adapters.slack import door, oauth
from adapters.slack.app import SlackAdapter
from adapters.slack.auth import DEFAULT_API_URL, web_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
BODY_READ_SECONDS = 10.0
MAX_BODY_BYTES = ops_server.MAX_BODY_BYTES
# Socket Mode messages handled at once; the rest wait, as received, in the client's queue.
SOCKET_MODE_SLOTS = 128
# What Slack sends: commands, buttons and forms as a form, events as JSON.
SLACK_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")


def web_app(adapter: SlackAdapter, signing_secret: str) -> web.Application:
    """An aiohttp application serving Slack's requests (and a liveness check)."""
    verifier = SignatureVerifier(signing_secret)
    front_door = door.FrontDoor(adapter.bridge)

    async def slack_events(request: web.Request) -> web.StreamResponse:
        # Checked here, before bolt: bolt logs a refused request with its whole body (member
        # ids, ask text), and a timestamp that is not a number makes it fail with a 500.
        try:
            body = await _body(request)
        except TimeoutError:
            log.warning("a Slack request's body took over %.0f s to arrive", BODY_READ_SECONDS)
            return web.json_response({"error": "request body too slow"}, status=408)
        if not _signed(verifier, body, request):
            return web.json_response({"error": "invalid request"}, status=401)
        if request.content_type not in SLACK_CONTENT_TYPES or (  # bolt reads "{…" as JSON
                request.content_type != "application/json" and body.lstrip().startswith(b"{")):
            return web.json_response({"error": "unsupported content type"}, status=415)
        if request.content_type == door.FORM and len(body) > door.FORM_MAX_BYTES:
            return await to_aiohttp_response(door.too_long(body))
        try:
            answered = await front_door.answer(door.parse(body, request.content_type))
        except door.Malformed:
            return _malformed(body)
        if answered is not None:  # a command, button, form or reaction of leanon's
            if answered.status == 200 and answered.body == "":  # most: spared the conversion
                return web.Response(content_type="text/plain")
            return await to_aiohttp_response(answered)
        try:  # bolt's extractors read fields of the wrong types as if they were right
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError):
            return _malformed(body)
        response = await adapter.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    application = ops_server.application()
    application.add_routes([web.post(EVENTS_PATH, slack_events), web.get("/healthz", healthz)])
    if adapter.app.oauth_flow is not None:  # OAuth installs: /slack/install, /slack/oauth_redirect
        application.add_routes(oauth.routes(adapter.app.oauth_flow))
    return application


async def _body(request: web.Request) -> bytes:
    """The request's body. A client that sends it slowly does not hold a connection for
    long: it has BODY_READ_SECONDS. Most bodies arrive whole with their headers, and then
    no timer is set."""
    if request.content.is_eof():
        return await request.read()
    async with asyncio.timeout(BODY_READ_SECONDS):
        return await request.read()


def _malformed(body: bytes) -> web.Response:
    log.warning("signed Slack request with a malformed body (%d bytes)", len(body))
    return web.json_response({"error": "malformed body"}, status=400)


def _signed(verifier: SignatureVerifier, body: bytes, request: web.Request) -> bool:
    """True when Slack signed this body with the signing secret less than 5 minutes ago."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False  # not a time in seconds: an absurd one overflowed inside the check
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except (ValueError, OverflowError):
        return False


async def serve_http(adapter: SlackAdapter, signing_secret: str, host: str,
                     port: int) -> web.AppRunner:
    """Start serving; the caller cleans up with `await runner.cleanup()`."""
    runner = ops_server.runner(web_app(adapter, signing_secret))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("Slack HTTP mode: POST %s on %s:%d", EVENTS_PATH, host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port the server listens on (useful when it was started on port 0)."""
    address = runner.addresses[0]
    return int(address[1])


async def connect_socket_mode(adapter: SlackAdapter, app_token: str,
                              api_url: str = DEFAULT_API_URL,
                              slots: int = SOCKET_MODE_SLOTS) -> AsyncSocketModeHandler:
    """Open the Socket Mode connection (apps.connections.open, then the WebSocket)."""
    handler = FrontDoorSocketModeHandler(adapter, app_token=app_token,
                                         web_client=web_client(api_url, pooled=False),
                                         slots=slots)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("Slack Socket Mode connected")
    return handler


async def close_socket_mode(handler: AsyncSocketModeHandler) -> None:
    """Close the Socket Mode connection."""
    await handler.close_async()  # type: ignore[no-untyped-call]


class BoundedSocketModeClient(SocketModeClient):
    """slack_sdk's Socket Mode client, handling at most `slots` messages at once.

    slack_sdk starts a task for every message as it arrives. Slack does not wait for acks,
    so a burst of thousands would hold thousands of parsed envelopes and their handlers in
    memory at once; here the rest wait in the client's queue as the text they came as, and
    are taken in arrival order.
    """

    def __init__(self, *args: Any, slots: int = SOCKET_MODE_SLOTS, **kwargs: Any) -> None:
        self.slots = asyncio.Semaphore(slots)
        super().__init__(*args, **kwargs)

    async def process_message(self) -> None:
        await self.slots.acquire()
        try:
            raw_message = await self.message_queue.get()
        except BaseException:
            self.slots.release()
            raise
        if raw_message is None:
            self.slots.release()
            return
        message = json.loads(raw_message) if raw_message.startswith("{") else {}
        task = asyncio.ensure_future(self.run_message_listeners(message, raw_message))
        task.add_done_callback(lambda _: self.slots.release())


class FrontDoorSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode through the front door first (bolt dispatches the rest)."""

    def __init__(self, adapter: SlackAdapter, app_token: str, web_client: Any,
                 slots: int = SOCKET_MODE_SLOTS) -> None:
        # As bolt's handler, with a client that handles a bounded number of messages at once.
        self.app, self.app_token = adapter.app, app_token
        self.client = BoundedSocketModeClient(app_token=app_token, logger=adapter.app.logger,
                                              web_client=web_client, ping_interval=10,
                                              slots=slots)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
        self.front_door = door.FrontDoor(adapter.bridge)

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        payload = req.payload if isinstance(req.payload, dict) else {}
        try:
            answered = await self.front_door.answer(door.checked(payload))
        except door.Malformed:
            log.warning("a Socket Mode request with a malformed payload; not acknowledged")
            return
        if answered is None:
            answered = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, answered, started)

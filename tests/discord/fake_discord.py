"""A local fake of Discord: the REST API (recording every call) and a gateway, on 127.0.0.1.

Payload shapes follow Discord's documentation; the examples live in `payloads/`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
from aiohttp import web

from tests.discord.fake_gateway import Gateway, shard_of

PAYLOADS = Path(__file__).parent / "payloads"
APP_ID = "900000000000000001"
TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.GfAkEs.just-a-test-token-for-the-fake"
GUILD = "800000000000000001"
CHANNEL = "810000000000000001"
Json = dict[str, Any]


@dataclass
class Call:
    """One REST request leanon made."""

    method: str
    path: str
    body: Any
    query: dict[str, str]
    files: list[str] = field(default_factory=list)
    status: int = 0

    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class Answer:
    """What an interaction got back: its callback, then followups or edits."""

    kind: str  # callback, followup, edit, delete
    type: int | None
    data: Json
    message: Json | None = None  # the message it created, with its id (to press its buttons)

    @property
    def text(self) -> str:
        embeds = " ".join(f"{e.get('title') or ''} {e.get('description') or ''}"
                          for e in self.data.get("embeds") or [])
        return f"{self.data.get('content') or ''} {embeds}".strip()

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & 64)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.data.get("components") or []
                for c in row.get("components", []) if "custom_id" in c]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class FakeDiscord:
    """`rate_limit_once["POST /channels/1/messages"] = 0.05` answers that request with one 429."""

    def __init__(self, guild_ids: tuple[str, ...] = (GUILD,), shard_count: int = 1) -> None:
        self.shard_count = shard_count
        self.calls: list[Call] = []
        self.answers: dict[str, list[Answer]] = {}
        self.tokens: dict[str, str] = {}
        self.interactions: dict[str, Json] = {}
        self.messages: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self.users: dict[str, Json] = {APP_ID: self.payload("ready")["user"]}
        self.guilds: dict[str, Json] = {}
        self.rate_limit_once: dict[str, float] = {}
        self.delays: dict[str, float] = {}
        self.gateway = Gateway(self)
        self._last_id = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base = ""
        for index, guild_id in enumerate(guild_ids):
            self.add_guild(guild_id, CHANNEL if index == 0 else str(int(CHANNEL) + index))

    @staticmethod
    def payload(name: str) -> Json:
        return json.loads((PAYLOADS / f"{name}.json").read_text())  # type: ignore[no-any-return]

    def snowflake(self) -> str:
        """A new id, made like Discord's: from the current time, always increasing."""
        self._last_id = max(self._last_id + 1, discord.utils.time_snowflake(datetime.now(UTC)))
        return str(self._last_id)

    def add_guild(self, guild_id: str, channel_id: str) -> None:
        guild = self.payload("guild_create")
        guild["id"] = guild["roles"][0]["id"] = guild_id
        guild["channels"][0].update(id=channel_id, guild_id=guild_id)
        guild["system_channel_id"] = channel_id
        self.guilds[guild_id] = guild
        self.channels[channel_id] = guild["channels"][0]

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/gateway"

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests read ----------------------------------------------------------------

    def find(self, method: str, pattern: str) -> list[Call]:
        """Calls whose path matches `pattern` (a regex, whole path)."""
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    def channel_messages(self, channel_id: str) -> list[Json]:
        """Messages everyone sees in a channel (ephemeral answers left out)."""
        return [m for m in self.messages.values()
                if m["channel_id"] == channel_id and not int(m["flags"]) & 64]

    async def wait_for(self, check: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until `check()` is truthy (re-checked after every REST call); its value."""
        async def waited() -> Any:
            async with self._changed:
                await self._changed.wait_for(check)
            return check()
        return await asyncio.wait_for(waited(), within)

    async def answer(self, interaction_id: str, within: float = 5.0) -> list[Answer]:
        """Wait until the interaction is fully answered; everything it got."""
        def final() -> list[Answer] | None:
            got = self.answers.get(interaction_id, [])
            if not got:
                return None
            if got[0].type == 5 and len(got) == 1:
                return None  # deferred: the answer follows
            return got
        return await self.wait_for(final, within)  # type: ignore[no-any-return]

    # -- what members do ------------------------------------------------------------------

    def user_message(self, channel_id: str, author: Json, content: str = "") -> Json:
        """A message a member wrote (the bot receives no content; it is here for fetches)."""
        message = self._message(channel_id, {"content": content}, author)
        return message

    async def interact(self, payload: Json) -> str:
        """Send an INTERACTION_CREATE on the guild's shard; the interaction's id."""
        payload = copy.deepcopy(payload)
        payload["id"] = self.snowflake()
        payload["token"] = f"token-{payload['id']}"
        self.tokens[payload["token"]] = payload["id"]
        self.interactions[payload["id"]] = payload
        await self.gateway.dispatch(payload.get("guild_id"), "INTERACTION_CREATE", payload)
        return payload["id"]  # type: ignore[no-any-return]

    # -- the REST API ---------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await self._body(request)
        call = Call(request.method, path, body, dict(request.query), files)
        self.calls.append(call)
        key = f"{request.method} {path}"
        if key in self.delays:
            await asyncio.sleep(self.delays[key])
        if key in self.rate_limit_once:
            retry_after = self.rate_limit_once.pop(key)
            call.status = 429
            await self._notify()
            return self._json(429, {"message": "You are being rate limited.",
                                    "retry_after": retry_after, "global": False},
                              {"Via": "1.1 google", "Retry-After": str(max(1, round(retry_after))),
                               "X-RateLimit-Scope": "user"})
        status, payload = self._route(call)
        call.status = status
        await self._notify()
        return self._json(status, payload)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
        if status == 204:
            return web.Response(status=204)
        # Exactly `application/json`: discord.py parses nothing else as JSON.
        return web.Response(status=status, body=json.dumps(payload).encode(),
                            headers={"Content-Type": "application/json", **(headers or {})})

    @staticmethod
    async def _body(request: web.Request) -> tuple[Any, list[str]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [f.filename for k, f in form.items() if hasattr(f, "filename")]
            return json.loads(str(form.get("payload_json") or "{}")), files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    def _route(self, call: Call) -> tuple[int, Any]:
        from tests.discord.fake_rest import ROUTES  # the endpoints need this module: imported when used

        for method, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, call.path)
            if method == call.method and match:
                return handler(self, call, *match.groups())
        return 404, {"message": "404: Not Found", "code": 0}

    def _message(self, channel_id: str, body: Json, author: Json, flags: int = 0) -> Json:
        message: Json = {
            "id": self.snowflake(), "channel_id": channel_id, "type": 0, "author": author,
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "attachments": [], "mentions": [],
            "mention_roles": [], "mention_everyone": False, "pinned": False, "tts": False,
            "flags": flags or int(body.get("flags") or 0), "timestamp": now_iso(),
            "edited_timestamp": None, "nonce": body.get("nonce"),
        }
        guild_id = self.channels.get(channel_id, {}).get("guild_id")
        if guild_id:
            message["guild_id"] = guild_id
        self.messages[message["id"]] = message
        return message

    def shard_of(self, guild_id: str) -> int:
        return shard_of(guild_id, self.shard_count)

"""A local fake of Slack: the Web API, response_urls, file uploads, OAuth and Socket Mode.

Everything listens on 127.0.0.1 and records what it received, so tests assert on what
leanon sent to Slack. Every bot token belongs to one team (`tokens`); OAuth installs
(`/oauth/v2/authorize`, then `oauth.v2.access`) hand out a new token per install.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

TEAM = "T0001"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM_B = "T0002"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
APP_ID = "A123456"
DROP = object()  # a field left out of an answer


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    bot_user: str
    bot_id: str

    @property
    def url(self) -> str:
        return f"https://{self.name.lower()}.slack.com/"


TEAMS = {TEAM: Team(TEAM, "Example", BOT_USER, BOT_ID),
         TEAM_B: Team(TEAM_B, "Bexample", "UBOT0002", "BBOT0002")}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    target: str = ""  # the response_url's name
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered
    peer: Any = None  # the caller's (host, port): one per connection

    def text(self) -> str:
        """Everything sent, as one string (for "never contains" assertions)."""
        return json.dumps(self.args, ensure_ascii=False)


def _user(user_id: str, name: str, **flags: bool) -> dict[str, Any]:
    return {"id": user_id, "team_id": TEAM, "name": name, "is_bot": False, "is_admin": False,
            "is_owner": False, "profile": {"display_name": name, "real_name": name.title()},
            **flags}


@dataclass
class FakeSlack:
    """The Web API at `api_url`; `rate_limit_once[method] = seconds` answers one 429."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_members: int = 0
    """users.list: 0 answers no members (as if the list were not there: users.info answers
    for each); N lists `users`, N a page, the cursor an offset."""
    private_channels: set[str] = field(default_factory=set)
    rate_limit_once: dict[str, int] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    bad_answers: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    """Methods answered with (status, content type, body) that is not Slack's JSON (a proxy's page)."""
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=lambda: {BOT_TOKEN: TEAM})
    """Valid bot tokens and their team."""
    codes: dict[str, str] = field(default_factory=dict)
    """OAuth codes not yet exchanged, and the team that approved the install."""
    exchange_changes: dict[str, Any] = field(default_factory=dict)
    """Fields of oauth.v2.access's answer changed (DROP: left out)."""
    redirect_url: str = ""
    """The app's OAuth redirect URL, as configured at Slack (the app manifest's)."""
    ws_url: str | None = None
    base: str = ""
    _ts: int = 0
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        for uid, name in [("U2147483697", "alice"), ("U2147483698", "bob"),
                          ("U2147483699", "carol")]:
            self.users.setdefault(uid, _user(uid, name))
        self.users.setdefault("UADMIN01", _user("UADMIN01", "dana", is_admin=True))
        self.users.setdefault("UOTHERBOT", _user("UOTHERBOT", "deploybot", is_bot=True))
        for team in TEAMS.values():
            self.users.setdefault(team.bot_user, _user(team.bot_user, "leanon", is_bot=True))

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base}/response/{name}"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.add_routes([
            web.route("*", "/api/{method}", self._api),
            web.get("/oauth/v2/authorize", self._authorize),
            web.post("/response/{name}", self._response_url),
            web.post("/upload/{file_id}", self._upload),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # What tests look at
    def find(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.find("chat.postMessage")
                if channel is None or c.args.get("channel") == channel]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + within
        while len(self.find(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} calls, got {self.find(method)}")
            await asyncio.sleep(0.01)
        return self.find(method)

    def token_of(self, team_id: str) -> str:
        """The team's bot token (the newest, when it was installed more than once)."""
        return [token for token, team in self.tokens.items() if team == team_id][-1]

    def uninstall(self, team_id: str) -> None:
        """What Slack does when a team removes the app: its tokens stop working."""
        self.tokens = {token: team for token, team in self.tokens.items() if team != team_id}

    def add_message(self, channel: str, user: str, thread_ts: str | None = None,
                    bot: bool = False) -> str:
        """A message written in Slack by someone (for conversations.replies)."""
        ts = self._next_ts()
        self.messages[ts] = {"type": "message", "channel": channel, "user": user, "ts": ts,
                             "text": "hi", **({"thread_ts": thread_ts} if thread_ts else {}),
                             **({"bot_id": "BOTHER"} if bot else {})}
        return ts

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{1700000000 + self._ts}.{self._ts:06d}"

    # The server side
    async def _read(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read(request)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            args.update(client_id=client_id, client_secret=secret)
            auth = ""
        token = auth.removeprefix("Bearer ") if auth else args.get("token")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.calls.append(Call(method, args, token, time.monotonic(), peer=peer))
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if method in self.rate_limit_once:
            retry_after = self.rate_limit_once.pop(method)
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(retry_after)})
        if method in self.bad_answers:
            status, content_type, text = self.bad_answers[method]
            return web.Response(status=status, body=text.encode(), content_type=content_type)
        if method in self.failures:
            return web.json_response({"ok": False, "error": self.failures[method]})
        call = self.calls[-1]
        if method == "oauth.v2.access":
            call.result = self._exchange(args)
            return web.json_response(call.result)
        app_level = method == "apps.connections.open"
        if (token != APP_TOKEN) if app_level else (token not in self.tokens):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        team = TEAMS[self.tokens.get(str(token), TEAM)]
        call.result = {"ok": True, **self._answer(method, args, team)}
        return web.json_response(call.result)

    async def _authorize(self, request: web.Request) -> web.Response:
        """Slack's "allow leanon in your workspace?" page, approved at once: back to the app."""
        query = dict(request.query)
        self.calls.append(Call("oauth.authorize", query, None, time.monotonic()))
        team = query.get("team") or TEAM
        if query.get("client_id") != CLIENT_ID or team not in TEAMS or not self.redirect_url:
            return web.Response(status=400, text="bad authorize request")
        code = f"code-{team}-{next(self._serial)}"
        self.codes[code] = team
        back = urlencode({"code": code, "state": query.get("state", "")})
        raise web.HTTPFound(f"{self.redirect_url}?{back}")

    def _exchange(self, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: a code (once) and the app's credentials → the team's bot token."""
        if (args.get("client_id"), args.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client_id"}
        team_id = self.codes.pop(str(args.get("code")), None)
        if team_id is None:
            return {"ok": False, "error": "invalid_code"}
        team = TEAMS[team_id]
        token = f"xoxb-{team_id}-{next(self._serial)}"
        self.tokens[token] = team_id
        answer = {"ok": True, "access_token": token, "token_type": "bot", "app_id": APP_ID,
                  "scope": "commands,chat:write", "bot_user_id": team.bot_user,
                  "team": {"id": team.id, "name": team.name}, "enterprise": None,
                  "is_enterprise_install": False, "authed_user": {"id": "U2147483697"}}
        answer.update(self.exchange_changes)  # a value of DROP leaves the field out
        return {name: value for name, value in answer.items() if value is not DROP}

    def _members_page(self, cursor: str) -> dict[str, Any]:
        if not self.list_members:
            return {"members": [], "response_metadata": {"next_cursor": ""}}
        start = int(cursor) if cursor.isdigit() else 0
        listed = list(self.users.values())
        end = start + self.list_members
        return {"members": listed[start:end],
                "response_metadata": {"next_cursor": str(end) if end < len(listed) else ""}}

    def _answer(self, method: str, args: dict[str, Any], team: Team) -> dict[str, Any]:
        if method == "auth.test":
            return {"url": team.url, "team": team.name, "user": "leanon",
                    "team_id": team.id, "user_id": team.bot_user, "bot_id": team.bot_id}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.list":
            return self._members_page(str(args.get("cursor") or "0"))
        if method == "conversations.info":  # C…: a channel; the ids in `private_channels` are private
            channel = str(args.get("channel"))
            if not channel.startswith(("C", "G", "D")):
                return {"ok": False, "error": "channel_not_found"}
            return {"channel": {"id": channel, "is_channel": True, "is_im": channel.startswith("D"),
                                "is_private": channel in self.private_channels}}
        if method == "chat.postMessage":
            ts = self._next_ts()
            channel = str(args.get("channel"))
            self.messages[ts] = {"type": "message", "channel": channel, "user": team.bot_user,
                                 "bot_id": team.bot_id, "ts": ts,
                                 **({"thread_ts": args["thread_ts"]} if args.get("thread_ts") else {}),
                                 **({"metadata": args["metadata"]} if args.get("metadata") else {})}
            return {"channel": channel, "ts": ts, "message": self.messages[ts]}
        if method == "chat.update":
            return {"channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"message_ts": self._next_ts()}
        if method in {"views.open", "views.publish"}:
            return {"view": {"id": "V0NEW", **(args.get("view") or {})}}
        if method == "conversations.open":
            return {"channel": {"id": "D" + str(args.get("users"))[1:]}}
        if method == "conversations.replies":
            return self._replies(str(args.get("channel")), str(args.get("ts")))
        if method == "conversations.history":
            oldest = float(args.get("oldest") or 0)
            found = [m for m in self.messages.values()
                     if m["channel"] == args.get("channel") and float(m["ts"]) > oldest
                     and not m.get("thread_ts")]
            return {"messages": sorted(found, key=lambda m: m["ts"], reverse=True),
                    "has_more": False, "response_metadata": {"next_cursor": ""}}
        if method == "apps.connections.open":
            return {"url": self.ws_url}
        if method == "files.getUploadURLExternal":
            file_id = f"F{self._next_ts().replace('.', '')}"
            return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return {}

    def _replies(self, channel: str, ts: str) -> dict[str, Any]:
        found = self.messages.get(ts)
        if found is None or found["channel"] != channel:
            return {"ok": False, "error": "thread_not_found"}
        if found.get("thread_ts") and found["thread_ts"] != ts:
            return {"messages": [found]}
        replies = [m for m in self.messages.values() if m.get("thread_ts") == ts and m["ts"] != ts]
        return {"messages": [found, *replies]}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json(), None, time.monotonic(),
                               target=request.match_info["name"]))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(Call("file.upload", {"file_id": request.match_info["file_id"],
                                               "size": len(body)}, None, time.monotonic()))
        return web.Response(text="OK")


@dataclass
class FakeSocketMode:
    """Slack's Socket Mode side: says hello, sends envelopes, collects acks by envelope_id."""

    hello: dict[str, Any]
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.add_routes([web.get("/link", self._link)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/link?ticket=test"
        return self

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def connected(self, within: float = 5.0) -> None:
        await asyncio.wait_for(self._connected.wait(), within)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(self.hello)
        self._connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
        return ws

    async def send(self, envelope: dict[str, Any]) -> None:
        await self.sockets[-1].send_json(envelope)

    async def wait_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for {envelope_id}")
            await asyncio.sleep(0.01)
        return self.acks[envelope_id]

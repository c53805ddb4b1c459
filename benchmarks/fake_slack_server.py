"""The tests' fake Slack Web API (tests/slack/fake_slack.py) as its own process, for the benchmarks.

Own process so that it does not share a core with the load generator. Adds a fixed
latency per API call, a share of `429 ratelimited` answers (with `Retry-After`), and
`GET /_bench/posts`, the number of channel posts per channel; with `--channel-limit`, Slack's
posting limit per channel (a token bucket: `--channel-burst` at once, then that many a
second), its 429s counted apart from the random ones. `users.info` knows any member
whose id starts with `UBENCH` (a plain member), `conversations.replies` any message in a
channel whose id starts with `CBENCH` (a message outside threads), and `--ws-url` is what
`apps.connections.open` answers (a Socket Mode server). `users.list` lists the members
`--listed` names (`PREFIX:DIGITS:COUNT`, comma-separated: `UBENCHG:7:2000` is UBENCHG0000000
to UBENCHG0001999), page by page, and `GET /_bench/members` says how many pages were read
and whether the last one was. Prints its base URL on stdout once listening, then serves
until SIGTERM or SIGINT.

    python benchmarks/fake_slack_server.py [--latency 0.05] [--rate-limited 0.01] [--retry-after 1]
        [--channel-limit 1 --channel-burst 4] [--ws-url ws://127.0.0.1:PORT/link]
        [--listed UBENCHG:7:2000,UBENCHR:4:50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import time
from collections import Counter
from typing import Any

from aiohttp import web

from tests.slack.fake_slack import FakeSlack, Team, _user

BENCH_MEMBER = "UBENCH"  # users.info answers for any id with this prefix
KEPT_RESPONSES = "kept-"  # response_url answers to names with this prefix: /_bench/responses
BENCH_CHANNEL = "CBENCH"  # conversations.replies answers for any message in these channels


class BenchSlack(FakeSlack):
    """FakeSlack with latency, random 429s, and a cap on what it keeps in memory."""

    latency: float = 0.0
    rate_limited: float = 0.0
    retry_after: int = 1
    posts: Counter[str]  # type: ignore[assignment]
    limited: int = 0
    rng: random.Random
    channel_limit: float = 0.0  # posts a second per channel (0: no limit)
    channel_burst: int = 4
    over_pace: int = 0  # 429s of the per-channel limit
    buckets: dict[str, tuple[float, float]]  # channel → (tokens, at)
    kept: dict[str, list[dict[str, Any]]]  # response_url answers to "kept-…", by name
    listed: list[str]  # the members users.list lists (besides `users`)
    member_ids: list[str]
    member_pages: int = 0
    members_done: bool = False

    def _within_pace(self, channel: str) -> bool:
        now = time.monotonic()
        tokens, at = self.buckets.get(channel, (float(self.channel_burst), now))
        tokens = min(self.channel_burst, tokens + (now - at) * self.channel_limit)
        if tokens < 1:
            self.buckets[channel] = (tokens, now)
            return False
        self.buckets[channel] = (tokens - 1, now)
        return True

    async def _api(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        method = request.match_info["method"]
        if method == "chat.postMessage" and self.channel_limit:
            args = await self._read(request)
            if not self._within_pace(str(args.get("channel"))):
                self.over_pace += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": "1"})
        if method == "chat.postMessage" and self.rate_limited and self.rng.random() < self.rate_limited:
            self.limited += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        response = await super()._api(request)
        call = self.calls[-1]
        if method == "chat.postMessage" and call.result.get("ok"):
            self.posts[str(call.args.get("channel"))] += 1
        if len(self.calls) > 1000:  # memory: the benchmarks send many thousands
            del self.calls[:-100]
            self.messages.clear()
        return response

    def _answer(self, method: str, args: dict[str, Any], team: Team) -> dict[str, Any]:
        if method == "users.list" and self.listed:
            return self._bench_members_page(args)
        user_id = str(args.get("user"))
        if method == "users.info" and user_id.startswith(BENCH_MEMBER) and user_id not in self.users:
            if len(self.users) > 20_000:  # memory
                self.users = {k: v for k, v in self.users.items() if not k.startswith(BENCH_MEMBER)}
            self.users[user_id] = _user(user_id, user_id.lower())
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        bench_message = channel.startswith(BENCH_CHANNEL) and ts not in self.messages
        if method == "conversations.replies" and bench_message:
            return {"messages": [{"type": "message", "user": BENCH_MEMBER, "ts": ts, "text": "thanks!"}]}
        return super()._answer(method, args, team)

    def _bench_members_page(self, args: dict[str, Any]) -> dict[str, Any]:
        start = int(str(args.get("cursor") or "0"))
        end = start + min(max(int(str(args.get("limit") or 200)), 1), 1000)
        if start == 0 or not self.member_ids:  # one listing reads one snapshot
            self.member_ids = [*self.listed, *self.users]
        ids = self.member_ids
        self.member_pages += 1
        self.members_done = end >= len(ids)
        members = [self.users.get(user_id) or _user(user_id, user_id.lower())
                   for user_id in ids[start:end]]
        return {"members": members,
                "response_metadata": {"next_cursor": "" if self.members_done else str(end)}}

    async def _bench_members(self, _request: web.Request) -> web.Response:
        return web.json_response({"pages": self.member_pages, "done": self.members_done})

    async def _response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name.startswith(KEPT_RESPONSES):  # kept whole, for a benchmark to read back
            self.kept.setdefault(name, []).append(await request.json())
        return await super()._response_url(request)

    async def _bench_responses(self, _request: web.Request) -> web.Response:
        return web.json_response(self.kept)

    async def _bench_posts(self, _request: web.Request) -> web.Response:
        return web.json_response({"posts": dict(self.posts), "rate_limited": self.limited,
                                  "over_pace": self.over_pace})


async def serve(args: argparse.Namespace) -> None:
    fake = BenchSlack()
    fake.latency, fake.rate_limited, fake.retry_after = args.latency, args.rate_limited, args.retry_after
    fake.ws_url = args.ws_url
    fake.posts, fake.rng = Counter(), random.Random(3)  # noqa: S311 - which calls get a 429
    fake.channel_limit, fake.channel_burst, fake.buckets = args.channel_limit, args.channel_burst, {}
    fake.kept = {}
    fake.member_ids = []
    fake.listed = [f"{prefix}{n:0{int(digits)}d}" for spec in filter(None, args.listed.split(","))
                   for prefix, digits, count in [spec.split(":")] for n in range(int(count))]
    app = web.Application()
    app.add_routes([web.route("*", "/api/{method}", fake._api),
                    web.post("/response/{name}", fake._response_url),
                    web.get("/_bench/posts", fake._bench_posts),
                    web.get("/_bench/responses", fake._bench_responses),
                    web.get("/_bench/members", fake._bench_members)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024).start()
    fake.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    print(fake.base, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="a fake Slack Web API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    parser.add_argument("--rate-limited", type=float, default=0.0, help="share of chat.postMessage → 429")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--channel-limit", type=float, default=0.0,
                        help="chat.postMessage a second per channel, then 429 (0: no limit)")
    parser.add_argument("--channel-burst", type=int, default=4)
    parser.add_argument("--ws-url", default=None, help="apps.connections.open's answer (Socket Mode)")
    parser.add_argument("--listed", default="", help="users.list's members: PREFIX:DIGITS:COUNT,…")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()

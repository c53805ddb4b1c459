"""The tests' fake Discord (tests/discord/: fake_discord.py, fake_gateway.py, fake_rest.py) as its own
process, for the benchmarks, with the load generated inside it.

Own process so that it does not share a core with the benchmark script; the gateway
dispatches must come from the process holding the gateway sessions, so the load is sent
from here, on request (`/_bench/…` on the same port, 127.0.0.1 only):

- `POST /_bench/reactions {"count", "receivers"}`: that many MESSAGE_REACTION_ADD (🙏) as fast
  as the gateway socket takes them, each on a new message by a new member; answers when all
  are sent, with the `time.monotonic()` each one was sent and its giver, by message id;
- `POST /_bench/asks {"count"}`: that many `/ask` (a question each, a new member each);
- `POST /_bench/presses {"count"}`: "I can help" on that many of the cards leanon posted,
  by new members;
- `GET /_bench/timings`: when each interaction was sent and when its first callback and its
  final answer reached the REST API, and when each thanks DM arrived (by giver).

Times are `time.monotonic()` (CLOCK_MONOTONIC: system-wide, so the benchmark compares them
with its own). Prints its base URL on stdout once listening, then serves until SIGTERM/SIGINT.

    python benchmarks/fake_discord_server.py [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
from typing import Any

from aiohttp import web

from tests.discord.discord_testing import card_of, option, press, reaction, slash, user
from tests.discord.fake_discord import APP_ID, CHANNEL, GUILD, Call, FakeDiscord

MAX_COUNT = 50_000  # per request, whatever it asks
GIVERS = 710_000_000_000_000_000  # member ids: a new one for every reaction or interaction
RECEIVERS = 720_000_000_000_000_000
CALLBACK = re.compile(r"/interactions/(\d+)/[\w.-]+/callback")
WEBHOOK = re.compile(r"/webhooks/\d+/([\w.-]+)(/messages/@original)?")
MENTION = re.compile(r"<@!?(\d+)>")


class BenchDiscord(FakeDiscord):
    """FakeDiscord that times interaction answers and thanks DMs, and forgets old calls."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, float] = {}  # interaction id → when dispatched
        self.callbacks: dict[str, tuple[float, int]] = {}  # interaction id → (when, callback type)
        self.finals: dict[str, float] = {}  # interaction id → when its answer was complete
        self.dms: dict[str, float] = {}  # giver id → when the receiver's thanks DM arrived
        self.serial = 0

    def next_member(self) -> str:
        self.serial += 1
        member_id = str(GIVERS + self.serial)
        self.users[member_id] = user(member_id)
        return member_id

    async def serve(self, port: int, routes: list[web.RouteDef]) -> None:
        """FakeDiscord.start, on `port` and with the benchmark's routes too."""
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_routes(routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def _route(self, call: Call) -> tuple[int, Any]:
        now = time.monotonic()
        status, payload = super()._route(call)
        if len(self.calls) > 2000:  # memory: the benchmarks make tens of thousands of calls
            del self.calls[:-200]
        if status >= 300:
            return status, payload
        if (found := CALLBACK.fullmatch(call.path)) and call.method == "POST":
            kind = int((call.body or {}).get("type") or 0)
            self.callbacks.setdefault(found.group(1), (now, kind))
            if kind != 5:  # 5: deferred, the answer follows
                self.finals.setdefault(found.group(1), now)
        elif found := WEBHOOK.fullmatch(call.path):
            interaction_id = self.tokens.get(found.group(1))
            if interaction_id is not None:
                self.finals.setdefault(interaction_id, now)
        elif call.method == "POST" and call.path.startswith("/channels/"):
            channel = self.channels.get(call.path.split("/")[2], {})
            if channel.get("type") == 1 and (giver := MENTION.search(call.text())):
                self.dms.setdefault(giver.group(1), now)
        return status, payload

    # -- the load ---------------------------------------------------------------------------

    async def reactions(self, count: int, receivers: int) -> dict[str, tuple[float, str]]:
        """MESSAGE_REACTION_ADD × count on new messages by `receivers` authors, each by a new
        member: message id → (when it was sent, the giver)."""
        session = self.gateway.session_for(GUILD)
        sent: dict[str, tuple[float, str]] = {}
        for n in range(count):
            giver, message_id = self.next_member(), self.snowflake()
            payload = reaction(who=giver, message_id=message_id, author=str(RECEIVERS + n % receivers))
            sent[message_id] = (time.monotonic(), giver)
            await session.send(0, payload, "MESSAGE_REACTION_ADD")
            if len(session.sent) > 1000:
                del session.sent[:-100]
        return sent

    async def _interact(self, payload: dict[str, Any]) -> str:
        at = time.monotonic()
        interaction_id = await self.interact(payload)
        self.sent[interaction_id] = at
        return interaction_id

    async def asks(self, count: int) -> list[str]:
        out = []
        for n in range(count):
            who = self.next_member()
            question = f"How do I rotate the staging keys, take {self.serial}-{n}?"
            out.append(await self._interact(slash("ask", option("question", question), who=who)))
        return out

    async def presses(self, count: int) -> list[str]:
        """'I can help' on the newest `count` cards in the channel."""
        cards = [m for m in self.channel_messages(CHANNEL)
                 if m["author"]["id"] == APP_ID and m["embeds"] and m["components"]][-count:]
        if not cards:
            card_of(self)  # raises: there is no card at all
        out = []
        for card in cards:
            out.append(await self._interact(press(card, "I can help", who=self.next_member())))
        return out


async def serve(args: argparse.Namespace) -> None:
    fake = BenchDiscord()

    async def body(request: web.Request) -> dict[str, Any]:
        data = await request.json() if request.can_read_body else {}
        return data if isinstance(data, dict) else {}

    async def do_reactions(request: web.Request) -> web.Response:
        data = await body(request)
        count = min(max(int(data.get("count", 1000)), 1), MAX_COUNT)
        sent = await fake.reactions(count, min(max(int(data.get("receivers", 50)), 1), 10_000))
        return web.json_response({"sent": sent})

    async def do_asks(request: web.Request) -> web.Response:
        count = min(max(int((await body(request)).get("count", 100)), 1), MAX_COUNT)
        return web.json_response({"ids": await fake.asks(count)})

    async def do_presses(request: web.Request) -> web.Response:
        count = min(max(int((await body(request)).get("count", 100)), 1), MAX_COUNT)
        return web.json_response({"ids": await fake.presses(count)})

    async def timings(_request: web.Request) -> web.Response:
        return web.json_response({"sent": fake.sent, "callbacks": fake.callbacks, "finals": fake.finals,
                                  "dms": fake.dms})

    await fake.serve(args.port, [
        web.post("/_bench/reactions", do_reactions), web.post("/_bench/asks", do_asks),
        web.post("/_bench/presses", do_presses), web.get("/_bench/timings", timings)])
    print(fake.base, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="a fake Discord (REST and gateway) on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()

"""The ceiling for any bolt app: a slack-bolt AsyncApp on aiohttp that checks the signature and acks.

Same signing secret and token as leanon in the HTTP benchmark (one auth.test, cached, against
the fake Slack); `reaction_added` and `/ask` are acknowledged and nothing else happens.

    python benchmarks/bare_bolt_app.py --port 3100 --api-url http://127.0.0.1:PORT/api/
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from aiohttp import web
from common import BOT_TOKEN, SIGNING_SECRET
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(api_url: str) -> AsyncApp:
    app = AsyncApp(signing_secret=SIGNING_SECRET, client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
                   process_before_response=False)

    @app.event("reaction_added")
    async def reaction(ack: Any) -> None:
        await ack()

    @app.command("/ask")
    async def ask(ack: Any) -> None:
        await ack()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="a bolt app that only acks")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web_app = build(args.api_url).web_app(path="/slack/events", port=args.port)
    web_app.router.add_get("/readyz", lambda _request: _ok())
    web.run_app(web_app, host="127.0.0.1", port=args.port, access_log=None, print=None)


async def _ok() -> web.Response:
    return web.Response(text="ok")


if __name__ == "__main__":
    main()

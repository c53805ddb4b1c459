"""Helpers for the security suite: leanon as `leanon run` composes it (Slack HTTP mode with
the ops routes and metrics, optionally Discord beside it), fakes that also keep uploaded
files, the database as rows, logging as `leanon run` sets it up, and checks for anything
in what leanon sent that could ping someone."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy import select

from adapters.ops import server as ops_server
from adapters.ops.logs import configure_logging
from adapters.ops.metrics import Metrics
from adapters.ops.readiness import Readiness
from adapters.slack.app import build_app
from adapters.slack.auth import SingleWorkspace, WorkspaceAuth
from adapters.slack.installs import InstalledWorkspaces
from adapters.slack.oauth import oauth_flow
from adapters.slack.server import web_app
from bot.app import Runtime, bootstrap
from bot.config import Config
from bot.domain import Platform, WorkspaceRef
from storage.models import Base
from storage.slack_installations import SqlInstallationStore, SqlOAuthStateStore
from tests.discord.discord_testing import Harness as DiscordHarness
from tests.discord.discord_testing import settings_for
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, Call, FakeSlack
from tests.slack.oauth_testing import Installs
from tests.slack.slack_testing import SECRET, Harness, MovableClock

GUILD_B = "800000000000000002"
"""The second Discord server of `discord_fake` (its channel is `CHANNEL_B`)."""
CHANNEL_B = "810000000000000002"


class RecordingSlack(FakeSlack):
    """The fake Slack, also keeping the content of uploaded files (exports)."""

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(Call("file.upload", {"file_id": request.match_info["file_id"],
                                               "size": len(body),
                                               "content": body.decode("utf-8", "replace")},
                               None, time.monotonic()))
        return web.Response(text="OK")


class RecordingDiscord(FakeDiscord):
    """The fake Discord, also keeping the content of uploaded files (exports)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploads: list[tuple[str, bytes]] = []

    async def _body(self, request: web.Request) -> tuple[Any, list[str]]:
        if not request.content_type.startswith("multipart/"):
            return await FakeDiscord._body(request)
        form = await request.post()
        files = []
        for value in form.values():
            if isinstance(value, web.FileField):
                files.append(value.filename)
                self.uploads.append((value.filename, value.file.read()))
        return json.loads(str(form.get("payload_json") or "{}")), files


@dataclass
class SlackStack:
    """A running leanon with its Slack adapter: the request harness, metrics and, with
    OAuth installs, the installer's browser."""

    harness: Harness
    metrics: Metrics
    base: str
    installs: Installs | None = None

    @property
    def runtime(self) -> Runtime:
        return self.harness.runtime

    @property
    def fake(self) -> FakeSlack:
        return self.harness.fake

    async def metrics_text(self) -> str:
        """What `GET /metrics` serves."""
        async with self.harness.session.get(self.base + "/metrics") as response:
            assert response.status == 200
            return await response.text()


@contextlib.asynccontextmanager
async def slack_stack(fake: FakeSlack, tmp_path: Path, oauth: bool = False) -> AsyncIterator[SlackStack]:
    """leanon as `run_bots` builds it in Slack HTTP mode: bootstrap with metrics, the bolt
    app, its aiohttp routes plus /healthz, /readyz and /metrics, on 127.0.0.1."""
    config = Config(database_url=f"sqlite:///{tmp_path}/leanon.db")
    metrics = Metrics()
    async with bootstrap(config, clock=MovableClock(), metrics=metrics) as runtime:
        states_clock = MovableClock()
        installations = SqlInstallationStore(runtime.store.engine)
        auth: WorkspaceAuth
        if oauth:
            states = SqlOAuthStateStore(runtime.store.engine, clock=states_clock.now)
            flow = oauth_flow(CLIENT_ID, CLIENT_SECRET, installations, states, fake.api_url)
            auth = InstalledWorkspaces(installations, fake.api_url)
        else:
            flow, auth = None, SingleWorkspace(BOT_TOKEN, fake.api_url)
        adapter = build_app(runtime.service, auth, inbox=runtime.inbox, signing_secret=SECRET,
                            api_url=fake.api_url, oauth=flow)
        runtime.router.register(Platform.SLACK, adapter.chat, adapter.directory)
        application = web_app(adapter, SECRET)
        ops_server.install(application, Readiness(), metrics)
        runner = await ops_server.serve(application, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{ops_server.bound_port(runner)}"
        fake.redirect_url = base + "/slack/oauth_redirect"
        try:
            async with aiohttp.ClientSession() as session:
                harness = Harness(base + "/slack/events", fake, adapter, runtime, session)
                installs = (Installs(session, base, harness, states_clock, installations)
                            if oauth else None)
                yield SlackStack(harness, metrics, base, installs)
        finally:
            await runner.cleanup()
            await adapter.settle()


@contextlib.asynccontextmanager
async def discord_beside(runtime: Runtime, fake: FakeDiscord) -> AsyncIterator[DiscordHarness]:
    """leanon's Discord adapter on the same runtime (as `run_bots` runs both)."""
    harness = DiscordHarness(fake, runtime, settings_for(fake))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.shut()


@contextlib.asynccontextmanager
async def discord_alone(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[DiscordHarness]:
    """leanon with only its Discord adapter, on its own SQLite database."""
    config = Config(database_url=f"sqlite:///{tmp_path}/discord.db")
    async with bootstrap(config, clock=MovableClock()) as runtime, \
            discord_beside(runtime, fake) as harness:
        yield harness


def clock_of(runtime: Runtime) -> MovableClock:
    clock = runtime.service.deps.clock
    assert isinstance(clock, MovableClock)
    return clock


# -- the database ---------------------------------------------------------------------------


async def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every leanon table (for "nothing changed" assertions), but the inbox:
    each delivery is stored there before its answer, whatever it asks for."""
    tables = {}
    async with runtime.store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "inbox_items":
                continue
            rows = await connection.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
    return tables


async def workspace_rows(runtime: Runtime, workspace: WorkspaceRef) -> dict[str, list[tuple[Any, ...]]]:
    """The rows that belong to one workspace: those naming it, the help offers on its asks
    and the deliveries of its schedules."""
    tables = await snapshot(runtime)
    mine: dict[str, list[tuple[Any, ...]]] = {}
    ids: dict[str, set[Any]] = {}
    for table in Base.metadata.sorted_tables:  # parents (asks, schedules) before children
        if table.name not in tables:
            continue
        names = [c.name for c in table.columns]
        rows = tables[table.name]
        if "workspace_id" in names:
            where = names.index("platform"), names.index("workspace_id")
            keep = [r for r in rows
                    if (r[where[0]], r[where[1]]) == (workspace.platform.value, workspace.workspace_id)]
        elif "ask_id" in names:
            keep = [r for r in rows if r[names.index("ask_id")] in ids.get("asks", set())]
        elif "schedule_id" in names:
            keep = [r for r in rows if r[names.index("schedule_id")] in ids.get("schedules", set())]
        else:
            continue
        mine[table.name] = keep
        ids[table.name] = {r[0] for r in keep}
    return mine


# -- logs -----------------------------------------------------------------------------------


@contextlib.contextmanager
def json_logs(level: str = "DEBUG") -> Iterator[io.StringIO]:
    """Logging configured as `leanon run` configures it (structlog, JSON lines, redaction),
    written to the returned buffer; the previous logging set-up is restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items()
              if isinstance(logger, logging.Logger)}
    out = io.StringIO()
    configure_logging(level, secrets=[SECRET, BOT_TOKEN, CLIENT_SECRET], stream=out, as_json=True)
    try:
        yield out
    finally:
        root.handlers, root.level = saved[0], saved[1]
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
        structlog.reset_defaults()
        logging.captureWarnings(False)


# -- pings ----------------------------------------------------------------------------------

SLACK_SHOWN = {"text", "blocks", "attachments", "view", "content", "initial_comment", "title"}
"""The arguments of a Slack call that people see (the rest are ids, addresses, metadata)."""
SLACK_MARKUP = re.compile(r"<(?P<sigil>[!#]|@(?P<user>[A-Z0-9]*))")
BARE_BROADCAST = re.compile(r"(?<![\w\u200b<])@(?:here|channel|everyone)\b", re.IGNORECASE)


def _slack_texts(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string in a Slack payload with the object that holds it (JSON strings
    inside it, such as form-encoded `blocks`, are opened too)."""
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, str):
                yield item, value
            yield from _slack_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _slack_texts(item)
    elif isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(ValueError):
            yield from _slack_texts(json.loads(value))


def slack_pings(fake: FakeSlack, allowed: set[str]) -> list[str]:
    """What in leanon's requests to Slack could notify someone it should not.

    Slack notifies for `<!here>`, `<!channel>`, `<!everyone>`, `<!subteam^…>` and `<@U…>`
    in message text (and links `<#C…>`); leanon itself only ever writes `<@U…>` for the
    members it means (`allowed`), so any other markup is member text that survived. A bare
    `@here` word is inert only without `link_names` and in `verbatim` text objects (and
    the core puts a zero-width space in it anyway): all three are checked. Only what people
    see is read (`SLACK_SHOWN`: texts, blocks, views, uploaded files), not channel or
    user ids that address a call.
    """
    found = []
    for call in fake.calls:
        where = f"{call.method} {call.target}".strip()
        if call.args.get("link_names") not in (None, False, "false", "0", 0):
            found.append(f"{where}: link_names={call.args['link_names']!r}")
        if call.args.get("parse") == "full":
            found.append(f"{where}: parse=full")
        shown = {k: v for k, v in call.args.items() if k in SLACK_SHOWN}
        for text, holder in _slack_texts(shown):
            if holder.get("type") == "mrkdwn" and holder.get("verbatim") is not True:
                found.append(f"{where}: a mrkdwn text that is not verbatim: {text[:80]!r}")
            found.extend(f"{where}: {what}" for what in slack_markup(text, allowed))
    return found


def slack_markup(text: str, allowed: set[str]) -> list[str]:
    """Markup in Slack text that notifies (or links) anyone but the `allowed` members, and
    bare broadcast words."""
    found = [repr(text[max(0, m.start() - 20):m.end() + 20]) for m in SLACK_MARKUP.finditer(text)
             if m["user"] is None or m["user"] not in allowed]
    found.extend(f"bare {m.group()!r} in {text[:80]!r}" for m in BARE_BROADCAST.finditer(text))
    return found


DISCORD_MARKUP = re.compile(r"<@(?P<kind>[!&]?)(?P<id>\d+)>|@(?:everyone|here)\b")
MESSAGE_CALLS = re.compile(r"(POST|PATCH) (/channels/\d+/messages(/\d+)?"
                           r"|/interactions/\d+/[\w.-]+/callback"
                           r"|/webhooks/\d+/[\w.-]+(/messages/@original)?)")


def _message_data(method: str, path: str, body: Any) -> dict[str, Any] | None:
    """The message a REST call creates or edits (an interaction callback's `data`)."""
    if not isinstance(body, dict) or not MESSAGE_CALLS.fullmatch(f"{method} {path}"):
        return None
    if path.endswith("/callback"):
        data = body.get("data")
        return data if body.get("type") in (4, 7) and isinstance(data, dict) else None
    return body


def discord_pings(fake: FakeDiscord, allowed: set[str]) -> list[str]:
    """What in leanon's requests to Discord could notify someone it should not.

    Every message leanon creates or edits must name its allowed mentions: nothing parsed
    from the text (no @everyone, @here or roles) and no user but those it means
    (`allowed`). On top of that, no `<@&role>`, unmeant `<@user>` or unescaped
    `@everyone`/`@here` may appear in anything else leanon sends (posts, edits, direct
    messages, thread names, files), so that even without allowed mentions nothing could
    ping. The one exception: an ephemeral answer may echo what the member typed (a setting
    or a time it could not read), since only they see it and it parses no mention.
    """
    found = []
    for call in fake.calls:
        where = f"{call.method} {call.path}"
        data = _message_data(call.method, call.path, call.body)
        if data is not None and (data.get("content") or data.get("embeds")):
            mentions = data.get("allowed_mentions")
            if not isinstance(mentions, dict):
                found.append(f"{where}: no allowed_mentions")
            else:
                users = {str(u) for u in mentions.get("users") or []}
                if mentions.get("parse") != [] or mentions.get("roles") or \
                        mentions.get("replied_user") or not users <= allowed:
                    found.append(f"{where}: allowed_mentions {mentions}")
            if int(data.get("flags") or 0) & 64:
                continue
        text = json.dumps(call.body, ensure_ascii=False) + " " + call.path
        found.extend(f"{where}: {what}" for what in discord_markup(text, allowed))
    found.extend(f"upload {name}" for name, content in getattr(fake, "uploads", [])
                 if discord_markup(content.decode("utf-8", "replace"), set()))
    return found


def discord_markup(text: str, allowed: set[str]) -> list[str]:
    """Role mentions, mentions of anyone but the `allowed` members, and unescaped
    @everyone/@here in Discord text."""
    return [repr(text[max(0, m.start() - 20):m.end() + 20]) for m in DISCORD_MARKUP.finditer(text)
            if m["id"] is None or m["kind"] == "&" or m["id"] not in allowed]

"""Slack's commands, button presses and forms through the inbox: stored, then acknowledged.

A listener's ack function stores what Slack delivered (the body and the few things bolt's
authorization found out) as an inbox item keyed by the delivery's trigger id, and only
then acknowledges. A worker later decodes the item and runs the listener's work with a
`Delivered` context in place of bolt's, answering privately through the response_url
(valid for 30 minutes) as before. A delivery whose key was stored before (a replay, a
double submit) is acknowledged and nothing more.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.ops.logs import bound, log_context
from adapters.slack.auth import workspace_ref
from bot.domain import InboxItem, WorkspaceRef
from bot.inbox import GIVEN_UP, Inbox

log = logging.getLogger(__name__)

SOURCE = "slack"
BUSY = ("leanon is busy right now: your request is queued and will be done shortly. "
        "No need to send it again.")


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the work of a listener needs of bolt's context, kept with the inbox item."""

    enterprise_id: str | None
    team_id: str | None
    user_id: str | None
    channel_id: str | None
    bot_user_id: str | None

    @classmethod
    def of(cls, context: AsyncBoltContext) -> Delivered:
        return cls(context.enterprise_id, context.team_id, context.user_id, context.channel_id,
                   context.bot_user_id)

    @property
    def workspace(self) -> WorkspaceRef | None:
        return workspace_ref(self.enterprise_id, self.team_id)

    def as_json(self) -> dict[str, str | None]:
        """As stored (`dataclasses.asdict` costs ten times as much, on the answer path)."""
        return {"enterprise_id": self.enterprise_id, "team_id": self.team_id,
                "user_id": self.user_id, "channel_id": self.channel_id,
                "bot_user_id": self.bot_user_id}


Respond = Callable[..., Awaitable[Any]]
Work = Callable[[dict[str, Any], Delivered, Respond | None], Awaitable[None]]
AckListener = Callable[..., Awaitable[None]]


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def delivery_key(workspace: WorkspaceRef, name: str, body: dict[str, Any]) -> str:
    """The delivery's id: a form's view id and hash (a double submit of one form is one
    delivery), a button's trigger id and action, a command's trigger id."""
    view = body.get("view")
    view = view if isinstance(view, dict) else {}
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    if body.get("type") == "view_submission" and _str(view.get("id")):
        delivery = f"{view.get('id')}:{view.get('hash')}"
    elif trigger := _str(body.get("trigger_id")):
        delivery = f"{trigger}:{action.get('action_id')}" if action else trigger
    else:
        delivery = uuid.uuid4().hex  # Slack always sends a trigger id; without one, no dedupe
    return f"slack:{workspace.workspace_id}:{name}:{delivery}"


class Deliveries:
    """The Slack adapter's inbox source: its listeners' work, by name, and which command,
    button or form each is for (`adapters.slack.door` answers those without bolt)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._work: dict[str, Work] = {}
        self._routes: dict[tuple[str, str], str] = {}
        inbox.register(SOURCE, self.process, self.given_up)

    def serve(self, app: AsyncApp, name: str, work: Work, *, commands: Iterable[str] = (),
              actions: Iterable[str] = (), views: Iterable[str] = (),
              shortcuts: Iterable[str] = ()) -> None:
        """`work` does the slash `commands`, button `actions`, form `views` and message
        `shortcuts` named."""
        listener = self.listener(name, work)
        for shortcut in shortcuts:
            self._routes["shortcut", shortcut] = name
            app.shortcut(shortcut)(listener)
        for command in commands:
            self._routes["command", command] = name
            app.command(command)(listener)
        for action in actions:
            self._routes["action", action] = name
            app.action(action)(listener)
        for view in views:
            self._routes["view", view] = name
            app.view(view)(listener)

    def route(self, body: dict[str, Any]) -> str | None:
        """The name of the work for a delivery, as bolt would match its listener."""
        if isinstance(command := body.get("command"), str):
            return self._routes.get(("command", command))
        kind = body.get("type")
        if kind == "block_actions":
            actions = body.get("actions")
            first = actions[0] if isinstance(actions, list) and actions else None
            action = first.get("action_id") if isinstance(first, dict) else None
            return self._routes.get(("action", action)) if isinstance(action, str) else None
        if kind == "message_action":
            callback = body.get("callback_id")
            return self._routes.get(("shortcut", callback)) if isinstance(callback, str) else None
        if kind == "view_submission":
            view = body.get("view")
            callback = view.get("callback_id") if isinstance(view, dict) else None
            return self._routes.get(("view", callback)) if isinstance(callback, str) else None
        return None

    def listener(self, name: str, work: Work) -> AckListener:
        """The ack function of a listener whose `work` is done from the inbox.

        When the database can't store the delivery, StorageError passes and nothing is
        acknowledged: `events.on_error` tells a command's member so, and answers anything
        else with a failure that Slack shows (or redelivers).
        """
        self._work[name] = work

        async def store_then_ack(ack: AsyncAck, body: dict[str, Any],
                                 context: AsyncBoltContext) -> None:
            if await self.store(name, body, Delivered.of(context)):
                await ack(text=BUSY)  # shown only to the member, at once
                return
            await ack()

        return store_then_ack

    async def store(self, name: str, body: dict[str, Any], delivered: Delivered) -> bool:
        """Store a delivery for the work `name`; True when its member should be told that
        leanon is busy (a command stored while the backlog is long)."""
        workspace = delivered.workspace
        if workspace is None:
            return False
        payload = json.dumps({"work": name, "body": body, "context": delivered.as_json(),
                              "log": log_context()})
        stored = await self.inbox.put(SOURCE, delivery_key(workspace, name, body), workspace,
                                      name, payload)
        return bool(stored and self.inbox.busy and body.get("command"))

    async def process(self, item: InboxItem) -> None:
        """Do a stored delivery's work (an inbox worker calls this)."""
        stored, body, respond = _decode(item)
        work = self._work.get(str(stored.get("work")))
        if work is None:
            log.warning("no Slack work named %r; dropped", stored.get("work"))
            return
        body["leanon_delivery"] = item.key  # read by the work (CreateAsk.request_id)
        delivered = Delivered(**stored.get("context") or {})
        logged = stored.get("log")
        with bound(**(logged if isinstance(logged, dict) else {})):  # the request's request_id
            await work(body, delivered, respond)

    async def given_up(self, item: InboxItem) -> None:
        """The member who asked is told that it could not be done (when Slack gave a way)."""
        _, _, respond = _decode(item)
        if respond is None:
            return
        try:
            await respond(text=GIVEN_UP, response_type="ephemeral", replace_original=False)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.info("response_url failed: %s", type(exc).__name__)


def _decode(item: InboxItem) -> tuple[dict[str, Any], dict[str, Any], Respond | None]:
    """A stored delivery: what was stored, Slack's body, and its response_url (if any)."""
    stored = json.loads(item.payload)
    body = stored.get("body") or {}
    url = _str(body.get("response_url"))
    return stored, body, AsyncRespond(response_url=url) if url else None

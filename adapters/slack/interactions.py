"""Buttons (`block_actions`): I can help, Resolved, Thank @helper, and the forget-me choice.

The action_ids are `bot.messages.ActionId` values and each button's value is the core's.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.bridge import Bridge, Origin
from adapters.slack.delivered import Delivered, Respond
from adapters.slack.failures import call
from bot.buttons import pressed
from bot.commands import Command
from bot.domain import Actor, WorkspaceRef
from bot.errors import ChatError
from bot.messages import ActionId

log = logging.getLogger(__name__)


async def thread_repliers(bridge: Bridge, workspace: WorkspaceRef, channel_id: str | None,
                          ts: str | None) -> tuple[str, ...]:
    """Members (not bots) who wrote in the card's thread; empty when Slack won't say."""
    if not channel_id or not ts:
        return ()
    try:
        client = await bridge.auth.client_for(workspace)
        found = await call(client.conversations_replies, "conversations.replies",
                           channel=channel_id, ts=ts, limit=200)
    except ChatError as exc:
        log.info("thread repliers unknown: %s", exc)
        return ()
    users = [m.get("user") for m in found.get("messages") or []
             if m.get("ts") != ts and not m.get("bot_id") and m.get("subtype") is None]
    return tuple(dict.fromkeys(u for u in users if isinstance(u, str)))


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Add a listener for each of the core's buttons."""

    async def on_press(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        workspace = context.workspace
        actions = body.get("actions") or []
        if workspace is None or not context.user_id or not actions:
            return
        origin = Origin(workspace, context.user_id, context.channel_id, respond)
        cmd = await _command(bridge, body, origin, str(actions[0].get("action_id")),
                             str(actions[0].get("value") or ""))
        if cmd is not None:
            await bridge.run(cmd, origin)

    bridge.deliveries.serve(app, "pressed", on_press, actions=[a.value for a in ActionId])


async def _command(bridge: Bridge, body: dict[str, Any], origin: Origin, action: str,
                   value: str) -> Command | None:
    press = pressed(origin.workspace.platform, action, value)
    if press is None:
        return None
    repliers: tuple[str, ...] = ()
    if press.needs_thread:
        container = body.get("container")
        container = container if isinstance(container, dict) else {}
        repliers = await thread_repliers(bridge, origin.workspace, container.get("channel_id"),
                                         container.get("message_ts"))
    return press.command(origin.workspace, Actor(origin.user_id), repliers)

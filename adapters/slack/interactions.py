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
from bot.commands import Command, ForgetMe, OfferHelp, ResolveAsk, ThankHelper
from bot.domain import Actor, WorkspaceRef
from bot.errors import ChatError
from bot.messages import ActionId

log = logging.getLogger(__name__)


def _ask_id(value: str) -> int | None:
    return int(value) if value.isdecimal() and len(value) < 19 else None  # isdigit() takes ²


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

    async def pressed(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        workspace = context.workspace
        actions = body.get("actions") or []
        if workspace is None or not context.user_id or not actions:
            return
        origin = Origin(workspace, context.user_id, context.channel_id, respond)
        cmd = await _command(bridge, body, origin, str(actions[0].get("action_id")),
                             str(actions[0].get("value") or ""))
        if cmd is not None:
            await bridge.run(cmd, origin)

    bridge.deliveries.serve(app, "pressed", pressed, actions=[a.value for a in ActionId])


async def _command(bridge: Bridge, body: dict[str, Any], origin: Origin, action: str,
                   value: str) -> Command | None:
    actor = Actor(origin.user_id)
    workspace = origin.workspace
    if action == ActionId.OFFER_HELP:
        ask_id = _ask_id(value)
        return OfferHelp(workspace, actor, ask_id) if ask_id is not None else None
    if action == ActionId.RESOLVE:
        ask_id = _ask_id(value)
        if ask_id is None:
            return None
        container = body.get("container")
        container = container if isinstance(container, dict) else {}
        repliers = await thread_repliers(bridge, workspace, container.get("channel_id"),
                                         container.get("message_ts"))
        return ResolveAsk(workspace, actor, ask_id, thread_participants=repliers)
    if action == ActionId.THANK_HELPER:
        ask_text, _, helper = value.partition(":")
        ask_id = _ask_id(ask_text)
        return ThankHelper(workspace, actor, ask_id, helper) if ask_id is not None and helper else None
    if action in (ActionId.FORGET_DELETE_ASKS, ActionId.FORGET_KEEP_ASKS):
        return ForgetMe(workspace, actor, keep_asks=action == ActionId.FORGET_KEEP_ASKS)
    return None

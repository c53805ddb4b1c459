"""Buttons (`block_actions`): I can help, Resolved, Thank @helper, and the forget-me choice.

The action_ids are `bot.messages.ActionId` values and each button's value is the core's.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.bridge import Bridge, Origin
from adapters.slack.delivered import Delivered, Respond
from bot.buttons import pressed
from bot.commands import Command
from bot.domain import Actor
from bot.messages import ActionId


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
    return None if press is None else press.command(origin.workspace, Actor(origin.user_id))

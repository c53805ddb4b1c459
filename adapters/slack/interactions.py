"""Buttons (`block_actions`): I can help, Resolved (and its form), Thank @helper, and the
forget-me choice.

The action_ids are `bot.messages.ActionId` values and each button's value is the core's.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.bridge import Bridge, Origin
from adapters.slack.delivered import Delivered, Respond
from adapters.slack.failures import call
from adapters.slack.views import RESOLVE_MODAL, read_resolve_form, resolve_modal
from bot.buttons import pressed
from bot.commands import MarkAnswer, Person, ResolveAsk
from bot.domain import Actor, MessageRef
from bot.errors import ChatError, StorageError
from bot.messages import ActionId

log = logging.getLogger(__name__)

MARK_ANSWER = "leanon_mark_answer"  # the message shortcut's callback id


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Add a listener for each of the core's buttons, and for the resolve form."""

    async def on_press(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        workspace = context.workspace
        actions = body.get("actions") or []
        if workspace is None or not context.user_id or not actions:
            return
        origin = Origin(workspace, context.user_id, context.channel_id, respond)
        press = pressed(workspace.platform, str(actions[0].get("action_id")),
                        str(actions[0].get("value") or ""))
        cmd = press.command(workspace, Actor(context.user_id)) if press else None
        if isinstance(cmd, ResolveAsk) and await _opened_resolve_form(bridge, body, cmd, origin):
            return  # resolved when the form is sent
        if cmd is not None:
            await bridge.run(cmd, origin)

    async def resolve_form(body: dict[str, Any], context: Delivered,
                           respond: Respond | None) -> None:
        form = read_resolve_form(body.get("view") or {})
        workspace, user_id = context.workspace, context.user_id
        if form is None or workspace is None or not user_id:
            return
        await bridge.run(ResolveAsk(workspace, Actor(user_id), form.ask_id, form.note),
                         Origin(workspace, user_id, form.channel_id))

    async def mark_answer(body: dict[str, Any], context: Delivered,
                          respond: Respond | None) -> None:
        workspace, user_id = context.workspace, context.user_id
        message, channel = body.get("message"), (body.get("channel") or {}).get("id")
        if workspace is None or not user_id or not isinstance(message, dict) \
                or not isinstance(channel, str) or not isinstance(message.get("ts"), str):
            return
        ts, thread_ts = message["ts"], message.get("thread_ts")
        # A reply names its thread; the thread's parent itself is no reply.
        thread = MessageRef(channel, thread_ts) if isinstance(thread_ts, str) \
            and thread_ts != ts else None
        bot = message.get("bot_id") is not None or message.get("subtype") == "bot_message"
        author = Person(str(message.get("user") or message.get("bot_id") or ""),
                        is_bot=True if bot else None)
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        await bridge.run(MarkAnswer(workspace, Actor(user_id), MessageRef(channel, ts), author,
                                    str(text), thread), Origin(workspace, user_id, channel, respond))

    bridge.deliveries.serve(app, "pressed", on_press, actions=[a.value for a in ActionId])
    bridge.deliveries.serve(app, "resolve_form", resolve_form, views=[RESOLVE_MODAL])
    bridge.deliveries.serve(app, "mark_answer", mark_answer, shortcuts=[MARK_ANSWER])


async def _opened_resolve_form(bridge: Bridge, body: dict[str, Any], cmd: ResolveAsk,
                               origin: Origin) -> bool:
    """Open the form that asks what solved it, when the core says this member resolves
    this open ask. False when it was not opened (the press then resolves without a note:
    a form Slack no longer lets leanon open, its trigger expired, loses nothing)."""
    trigger = body.get("trigger_id")
    try:
        if not isinstance(trigger, str) or not await bridge.service.asks_what_solved_it(
                origin.workspace, cmd.actor, cmd.ask_id):
            return False
        client = await bridge.auth.client_for(origin.workspace)
        await call(client.views_open, "views.open", trigger_id=trigger,
                   view=resolve_modal(cmd.ask_id, origin.channel_id))
    except (ChatError, StorageError) as exc:
        log.info("the resolve form was not opened: %s", exc)
        return False
    return True

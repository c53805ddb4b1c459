"""Slash commands (`/ask`, `/thanks`, `/leanon`) and the ask form's submission.

Each listener stores the delivery in the inbox and then acks (Slack wants an answer
within 3 s); an inbox worker does the work and answers privately through the command's
response_url (see `adapters.slack.delivered`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.bridge import Bridge, Origin
from adapters.slack.delivered import Delivered, Respond
from adapters.slack.failures import call
from adapters.slack.views import ASK_MODAL, ask_modal, read_ask_form
from bot.commands import CreateAsk, Person, ThankMembers
from bot.domain import Actor
from bot.errors import ChatError, StorageError
from bot.messages import error
from bot.parsing import ParseError, leading_mentions, parse_leanon
from bot.service import STORAGE_TROUBLE

log = logging.getLogger(__name__)

# `<@U123>` or `<@U123|name>`, as Slack escapes user mentions in slash command text.
SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")

ASK, THANKS, LEANON = "/ask", "/thanks", "/leanon"
COMMANDS = (ASK, THANKS, LEANON)


def _origin(context: Delivered, body: dict[str, Any], respond: Respond | None) -> Origin | None:
    workspace = context.workspace
    user_id = context.user_id or body.get("user_id")
    if workspace is None or not user_id:
        return None
    return Origin(workspace, str(user_id), context.channel_id or body.get("channel_id"), respond)


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Add the slash command and ask-form listeners to `app`."""

    async def ask(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        origin = _origin(context, body, respond)
        if origin is None or origin.channel_id is None:
            return
        text = str(body.get("text") or "").strip()
        if text:
            await bridge.run(CreateAsk(origin.workspace, Actor(origin.user_id), origin.channel_id,
                                       text, request_id=body.get("leanon_delivery")), origin)
            return
        try:
            allowed = (await bridge.settings(origin.workspace)).anonymous_asks
        except StorageError:
            await bridge.tell(STORAGE_TROUBLE, origin)
            return
        try:
            client = await bridge.auth.client_for(origin.workspace)
            await call(client.views_open, "views.open", trigger_id=body["trigger_id"],
                       view=ask_modal(origin.channel_id, allowed))
        except (ChatError, KeyError) as exc:
            log.warning("the ask form was not opened: %s", exc)
            await bridge.tell(error("leanon could not open the ask form. Try "
                                    "/ask <your question> instead."), origin)

    async def thanks(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        origin = _origin(context, body, respond)
        if origin is None or origin.channel_id is None:
            return
        most = bridge.service.deps.thanks_max_members  # one more is read: the core refuses it
        ids, reason = leading_mentions(str(body.get("text") or ""), SLACK_MENTION, most + 1)
        receivers = tuple(Person(uid) for uid in ids)  # bots: the core asks (`SlackDirectory`)
        await bridge.run(ThankMembers(origin.workspace, Actor(origin.user_id), origin.channel_id,
                                      receivers, reason or None,
                                      event_id=body.get("trigger_id")), origin)

    async def leanon(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        origin = _origin(context, body, respond)
        if origin is None:
            return
        try:
            cmd = parse_leanon(str(body.get("text") or ""), origin.workspace, Actor(origin.user_id),
                               origin.channel_id or "")
        except ParseError as exc:
            await bridge.tell(error(str(exc)), origin)
            return
        await bridge.run(cmd, origin)

    async def ask_form(body: dict[str, Any], context: Delivered, respond: Respond | None) -> None:
        form = read_ask_form(body.get("view") or {})
        workspace = context.workspace
        user_id = context.user_id
        if form is None or workspace is None or not user_id:
            return
        origin = Origin(workspace, user_id, form.channel_id)
        await bridge.run(CreateAsk(workspace, Actor(user_id), form.channel_id, form.question,
                                   form.tried, form.anonymous,
                                   request_id=body.get("leanon_delivery")), origin)

    bridge.deliveries.serve(app, "ask", ask, commands=[ASK])
    bridge.deliveries.serve(app, "thanks", thanks, commands=[THANKS])
    bridge.deliveries.serve(app, "leanon", leanon, commands=[LEANON])
    bridge.deliveries.serve(app, "ask_form", ask_form, views=[ASK_MODAL])

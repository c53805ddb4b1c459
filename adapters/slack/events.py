"""Events API: thanks reactions, the App Home tab, uninstalls, and what a failure answers.

Reactions are recorded before Slack gets its answer (the app runs with
`process_before_response`), so when the database is unreachable the answer is a 503
and Slack delivers the event again; the thanks dedupe key makes redeliveries harmless.
What can wait (the receiver's note, finding the thread of a reacted reply) is written to
the outbox with the thanks and done after the answer.
`app_uninstalled` and `tokens_revoked` (bot) make `WorkspaceAuth` forget the team's token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.bridge import Bridge, EventWork
from adapters.slack.deadline import StillWorking
from adapters.slack.delivered import Delivered
from adapters.slack.failures import call
from adapters.slack.render import fallback_text
from adapters.slack.views import home_view
from bot.admin import TIPS
from bot.commands import ListAsks, Person, ReactionAdded, ReactionRemoved, ShowStats
from bot.domain import Actor, MessageRef
from bot.emoji import emoji_name
from bot.errors import ChatError, StorageError
from bot.messages import Message
from bot.service import STORAGE_TROUBLE

log = logging.getLogger(__name__)

REACTION_ADDED, REACTION_REMOVED, APP_HOME_OPENED = "reaction_added", "reaction_removed", "app_home_opened"
APP_UNINSTALLED, TOKENS_REVOKED = "app_uninstalled", "tokens_revoked"
EVENTS = (REACTION_ADDED, REACTION_REMOVED, APP_HOME_OPENED, APP_UNINSTALLED, TOKENS_REVOKED)


def base_emoji(name: str) -> str:
    """`pray::skin-tone-3` → `pray`; `thumbsup` → `+1` (leanon's one name for an emoji)."""
    return emoji_name(name.split("::", 1)[0])


Found = tuple[str, str, MessageRef, str]  # (reactor, author, message, emoji)


def _reaction(event: dict[str, Any]) -> Found | None:
    """(reactor, author, message, emoji) for a reaction on a message, else None."""
    item = event.get("item")
    if not isinstance(item, dict):
        return None
    reactor, author = event.get("user"), event.get("item_user")
    channel, ts, emoji = item.get("channel"), item.get("ts"), event.get("reaction")
    if item.get("type") != "message" or not all(
            isinstance(v, str) and v for v in (reactor, author, channel, ts, emoji)):
        return None
    return str(reactor), str(author), MessageRef(str(channel), str(ts)), base_emoji(str(emoji))


def _key(kind: str, context: Delivered, found: Found | None) -> Hashable:
    """What makes two deliveries the same reaction event (None: nothing to go by)."""
    if found is None:
        return None
    return (kind, context.enterprise_id, context.team_id, *found)


async def within_deadline(bridge: Bridge, work: Coroutine[Any, Any, None],
                          key: Hashable = None) -> None:
    """Run `work`, answering Slack in time: a redelivery of a slow event is harmless
    (the thanks dedupe key), a 200 for an event that later fails would lose it.

    A redelivery (same `key`) of an event still running waits for that run instead of
    starting a second one, so that a slow database is not given each event twice.
    """
    running = bridge.running.get(key) if key is not None else None
    if running is not None and not running.done():
        work.close()
        task = running
    else:
        task = asyncio.ensure_future(_in_turn(bridge, work))
        bridge.in_flight.keep(task)
        if key is not None:
            bridge.running[key] = task
            task.add_done_callback(lambda _: bridge.running.pop(key, None))
    await bridge.deadlines.wait(task, bridge.event_deadline)


async def _in_turn(bridge: Bridge, work: Coroutine[Any, Any, None]) -> None:
    async with bridge.event_slots:
        await work


async def ack_now(ack: AsyncAck) -> None:
    await ack()


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Add the reaction and App Home listeners, and the error handler."""
    pressure = bridge.deliveries.inbox.pressure  # recorded before their answer: answers too

    async def reaction_added(event: dict[str, Any], context: Delivered) -> None:
        pressure.note()
        found = _reaction(event)
        await within_deadline(bridge, add_reaction(found, context),
                              _key(REACTION_ADDED, context, found))

    async def reaction_removed(event: dict[str, Any], context: Delivered) -> None:
        pressure.note()
        found = _reaction(event)
        await within_deadline(bridge, remove_reaction(found, context),
                              _key(REACTION_REMOVED, context, found))

    async def add_reaction(found: Found | None, context: Delivered) -> None:
        workspace = bridge.workspace(context)
        if workspace is None or found is None:
            return
        reactor, author, ref, emoji = found
        # Whether they are bots, and whether the message is a thread reply, Slack's event
        # does not say: the core asks (`SlackDirectory`) where it matters.
        await bridge.service.handle(ReactionAdded(workspace, Actor(reactor), Person(author), ref,
                                                  emoji, thread_known=False))

    async def remove_reaction(found: Found | None, context: Delivered) -> None:
        workspace = bridge.workspace(context)
        if workspace is None or found is None:
            return
        reactor, author, ref, emoji = found
        # Retracting by key: a reaction that never counted (self, bot) has nothing to retract.
        await bridge.service.handle(ReactionRemoved(workspace, Actor(reactor), Person(author),
                                                    ref, emoji))

    async def home_opened(event: dict[str, Any], context: AsyncBoltContext,
                          client: AsyncWebClient) -> None:
        workspace, user_id = bridge.workspace(context), event.get("user")
        if workspace is None or not isinstance(user_id, str) or event.get("tab", "home") != "home":
            return
        actor = Actor(user_id)
        sections: list[Message] = []
        try:
            for cmd in (ShowStats(workspace, actor), ListAsks(workspace, actor, None)):
                sections.extend((await bridge.service.handle(cmd)).private)
        except StorageError as exc:
            log.warning("App Home without data: %s", exc)
            sections = [STORAGE_TROUBLE]
        try:
            view = home_view(sections, TIPS, await bridge.chat.team_url(workspace))
            await call(client.views_publish, "views.publish", user_id=user_id, view=view)
        except ChatError as exc:
            log.warning("%s", exc)

    async def revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # tokens_revoked may name user tokens only: leanon keeps none, so only the bot matters.
        tokens = event.get("tokens")
        if event.get("type") == APP_UNINSTALLED or (isinstance(tokens, dict) and tokens.get("bot")):
            await bridge.auth.revoked(context.enterprise_id, context.team_id)

    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        return failure_answer(error, body, bridge.event_deadline)

    # Over HTTP the front door (adapters.slack.door) runs these without bolt's dispatch.
    bridge.events[REACTION_ADDED] = reaction_added
    bridge.events[REACTION_REMOVED] = reaction_removed
    app.event(REACTION_ADDED)(_with_ids(reaction_added))
    app.event(REACTION_REMOVED)(_with_ids(reaction_removed))
    app.event(APP_HOME_OPENED)(ack=ack_now, lazy=[home_opened])
    app.event(APP_UNINSTALLED)(revoked)
    app.event(TOKENS_REVOKED)(revoked)
    app.error(on_error)


def _with_ids(work: EventWork) -> Callable[[dict[str, Any], AsyncBoltContext], Awaitable[None]]:
    """A bolt listener for `work`, given what bolt's context knows of the event."""
    async def listener(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await work(event, Delivered.of(context))

    return listener


def failure_answer(error: Exception, body: dict[str, Any], deadline: float) -> BoltResponse:
    """What Slack is answered when a request's work failed before its answer."""
    event = body.get("event") if isinstance(body, dict) else None
    kind = str((event.get("type") if isinstance(event, dict) else None)
               or (body.get("type") if isinstance(body, dict) else None) or "request")
    if isinstance(error, BoltUnhandledRequestError):
        # Bolt's own warning would log the whole payload; the kind is enough.
        log.info("no listener for a Slack %s", kind)
        return BoltResponse(status=404, body="")
    if isinstance(error, StillWorking):
        log.info("%s took over %.1fs; Slack will deliver it again", kind, deadline)
        return BoltResponse(status=503, body="")
    if isinstance(error, StorageError) and body.get("command"):
        # The delivery (or the installation) could not be read or stored: say so, privately.
        log.warning("database unavailable for %s: %s", body["command"], error)
        return BoltResponse(status=200, body=fallback_text(STORAGE_TROUBLE))
    if isinstance(error, StorageError):
        # Non-2xx: Slack redelivers an event (HTTP retries; Socket Mode: no ack), and shows
        # a button or form as failed.
        log.warning("database unavailable for %s; Slack will deliver it again: %s", kind, error)
        return BoltResponse(status=503, body="")
    log.error("leanon failed on %s: %s", kind, type(error).__name__, exc_info=error)
    return BoltResponse(status=500, body="")

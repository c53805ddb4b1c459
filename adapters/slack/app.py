"""The bolt `AsyncApp` for leanon: listeners, authorization, and how work is scheduled.

`process_before_response=True`: an event's listener finishes before Slack gets its
answer, so a failure can ask Slack to redeliver. Commands, buttons and forms are stored in
the inbox before their ack and worked by its workers (`adapters.slack.delivered`); the
App Home view is published in a lazy listener, tracked here so shutdown can wait for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncCallableAuthorize
from slack_bolt.lazy_listener.async_internals import to_runnable_function
from slack_bolt.lazy_listener.async_runner import AsyncLazyListenerRunner
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack import commands, events, interactions
from adapters.slack.auth import DEFAULT_API_URL, WorkspaceAuth, web_client
from adapters.slack.bridge import Bridge
from adapters.slack.chat import SlackChat
from adapters.slack.delivered import Deliveries
from adapters.slack.directory import SlackDirectory
from adapters.slack.door import NOT_INSTALLED
from adapters.slack.members import Members
from bot.inbox import Inbox
from bot.service import Leanon
from bot.tasks import Tasks

log = logging.getLogger(__name__)


class _TokenFromClient(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment and, given a client as well, warns
    at every start that the token is unused: leanon gives each request its workspace's
    token (`authorize`), so that warning says nothing wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class TrackedLazyRunner(AsyncLazyListenerRunner):
    """Runs lazy listeners as tasks kept in `in_flight` (never garbage-collected or forgotten)."""

    def __init__(self, logger: logging.Logger, in_flight: Tasks) -> None:
        self.logger = logger
        self.in_flight = in_flight

    def start(self, function: Callable[..., Awaitable[None]], request: AsyncBoltRequest) -> None:
        self.in_flight.spawn(to_runnable_function(
            internal_func=function, logger=self.logger, request=request))

    async def drain(self, grace: float = 10.0) -> None:
        """Wait (up to `grace` seconds) for lazy listeners and slow events still running."""
        await self.in_flight.drain(grace)


@dataclass
class SlackAdapter:
    """leanon's Slack edge: the bolt app, the Chat it gives the core, its pending work."""

    app: AsyncApp
    bridge: Bridge
    lazy: TrackedLazyRunner

    @property
    def chat(self) -> SlackChat:
        return self.bridge.chat

    @property
    def directory(self) -> SlackDirectory:
        return self.bridge.directory

    async def settle(self, grace: float = 15.0) -> None:
        """Wait until every stored delivery is worked, lazy work is done and what is due in
        the outbox is sent (for tests)."""
        await self.bridge.deliveries.inbox.settled(grace)
        await self.lazy.drain(grace)
        await self.bridge.service.outbox.settled(grace)


def build_app(service: Leanon, auth: WorkspaceAuth, *, inbox: Inbox, signing_secret: str = "",
              api_url: str = DEFAULT_API_URL, oauth: AsyncOAuthFlow | None = None) -> SlackAdapter:
    """The bolt app with every listener; `auth` decides which workspaces are served.

    Commands, buttons and forms are stored in `inbox` before they are acknowledged, and
    worked by its workers (see `adapters.slack.delivered`).

    `oauth` (HTTP mode with installs, see `oauth.oauth_flow`) adds /slack/install and
    /slack/oauth_redirect to the server; `auth` is then usually `InstalledWorkspaces`.
    """

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
        return await auth.authorize(enterprise_id, team_id)

    # Their DEBUG lines carry whole payloads (member ids, anonymous askers among them).
    for name in ("leanon.slack.bolt", "slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.INFO)
    bolt_log = logging.getLogger("leanon.slack.bolt")
    if not any(isinstance(f, _TokenFromClient) for f in bolt_log.filters):
        bolt_log.addFilter(_TokenFromClient())
    app = AsyncApp(
        name="leanon",
        logger=bolt_log,
        signing_secret=signing_secret,
        # adapters.slack.server checks every request's signature before bolt sees it (Socket
        # Mode has none to check): bolt checking it again only cost time on the answer path.
        request_verification_enabled=False,
        # No token: authorize gives each request its workspace's. Not pooled (see web_client).
        client=web_client(api_url, pooled=False),
        # bolt accepts None (not installed); an AsyncAuthorize may be combined with oauth_flow.
        authorize=AsyncCallableAuthorize(logger=bolt_log,
                                         func=authorize),  # type: ignore[arg-type]
        oauth_flow=oauth,
        process_before_response=True,
        raise_error_for_unhandled_request=True,  # handled in events.on_error, without payloads
        user_facing_authorize_error_message=NOT_INSTALLED,
    )
    members = Members(auth)
    bridge = Bridge(service=service, chat=SlackChat(auth, members),
                    directory=SlackDirectory(auth, members), auth=auth,
                    deliveries=Deliveries(inbox))
    lazy = TrackedLazyRunner(app.logger, bridge.in_flight)
    app.listener_runner.lazy_listener_runner = lazy
    commands.register(app, bridge)
    interactions.register(app, bridge)
    events.register(app, bridge)
    return SlackAdapter(app=app, bridge=bridge, lazy=lazy)

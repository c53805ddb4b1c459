"""OAuth multi-workspace install: `GET /slack/install` and `GET /slack/oauth_redirect`.

bolt's `AsyncOAuthFlow` runs it. /slack/install issues a one-time `state` (kept by the
injected `AsyncOAuthStateStore`, and set as a cookie in the installer's browser) and shows
the "Add to Slack" page. Slack sends the browser back to /slack/oauth_redirect with a code
and that state, which must match the cookie, be unused and at most 10 minutes old; then
`oauth.v2.access` on SLACK_API_URL trades the code for the team's bot token, which the
injected `AsyncInstallationStore` keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urljoin

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.ops.logs import untrusted
from adapters.slack.auth import DEFAULT_API_URL, web_client
from bot.errors import StorageError

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600

UNUSABLE = ("Slack's answer to the install could not be used (it had no bot token or no "
            "workspace), so leanon was not installed. Please try installing again.")

# The bot scopes an install asks for: the same as slack-manifest.yaml's.
BOT_SCOPES = (
    "commands", "chat:write", "chat:write.public", "im:write", "users:read", "reactions:read",
    "channels:history", "groups:history", "channels:read", "groups:read", "files:write",
)

Step = Callable[[AsyncBoltRequest], Awaitable[BoltResponse]]


def authorize_url(api_url: str = DEFAULT_API_URL) -> str:
    """Slack's authorize page beside the Web API: https://slack.com/oauth/v2/authorize."""
    return urljoin(api_url if api_url.endswith("/") else api_url + "/", "../oauth/v2/authorize")


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    installed = args.installation
    log.info("leanon was installed in Slack workspace %s",
             installed.team_id or installed.enterprise_id)
    if installed.bot_refresh_token:
        log.warning("the Slack app has token rotation on; leanon does not refresh tokens, "
                    "so turn it off (token_rotation_enabled: false) and reinstall")
    return await args.default.success(args)


async def _refused(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("a Slack install was refused: %s", untrusted(args.reason))
    return await args.default.failure(args)


def oauth_flow(client_id: str, client_secret: str, installations: AsyncInstallationStore,
               states: AsyncOAuthStateStore, api_url: str = DEFAULT_API_URL) -> AsyncOAuthFlow:
    """bolt's OAuth flow on leanon's stores; every Slack call it makes goes to `api_url`."""
    logger = logging.getLogger("leanon.slack.bolt")
    settings = AsyncOAuthSettings(
        client_id=client_id, client_secret=client_secret,
        scopes=list(BOT_SCOPES), user_scopes=[],
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorize_url(api_url),
        installation_store=installations, installation_store_bot_only=True,
        state_store=states, state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_refused),
        logger=logger,
    )
    settings.authorize_url_generator = EncodedAuthorizeUrl(
        client_id=client_id, scopes=list(BOT_SCOPES), user_scopes=[],
        authorization_url=authorize_url(api_url))
    return AsyncOAuthFlow(client=web_client(api_url), logger=logger, settings=settings)


class EncodedAuthorizeUrl(AuthorizeUrlGenerator):
    """Slack's authorize URL with every parameter encoded: slack-sdk's copies the install
    link's `team` into it as given, so `?team=T1%26scope%3Dadmin` added a parameter."""

    def generate(self, state: str, team: str | None = None) -> str:
        params = {"state": state, "client_id": self.client_id,
                  "scope": ",".join(self.scopes or []),
                  "user_scope": ",".join(self.user_scopes or [])}
        if self.redirect_uri is not None:
            params["redirect_uri"] = self.redirect_uri
        if team is not None:
            params["team"] = team
        return f"{self.authorization_url}?{urlencode(params, safe=',')}"


async def _answer(step: Step, request: web.Request) -> web.StreamResponse:
    try:
        response = await step(await to_bolt_request(request))
    except StorageError as exc:
        log.warning("Slack install: database unavailable: %s", exc)
        return web.Response(status=503, text="leanon can't reach its database right now. "
                                             "Please try again in a minute.")
    except (SlackClientError, OSError, TimeoutError) as exc:
        log.warning("Slack install: Slack's Web API failed (%s)", type(exc).__name__)
        return web.Response(status=502, text="leanon could not reach Slack to finish the "
                                             "install. Please try again in a minute.")
    return await to_aiohttp_response(response)


def routes(flow: AsyncOAuthFlow) -> list[web.RouteDef]:
    """The install page and the redirect Slack sends the installer's browser back to."""

    async def install(request: web.Request) -> web.StreamResponse:
        return await _answer(flow.handle_installation, request)

    async def redirect(request: web.Request) -> web.StreamResponse:
        try:
            return await _answer(flow.handle_callback, request)
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            # Slack answered ok, with something leanon can't use (no bot token, no team,
            # fields of other types): the store refuses it (ValueError) or bolt fails on it.
            log.warning("Slack install: Slack's answer could not be used (%s); nothing was "
                        "installed", type(exc).__name__)
            return web.Response(status=502, text=UNUSABLE)

    return [web.get(flow.install_path, install), web.get(flow.redirect_uri_path, redirect)]

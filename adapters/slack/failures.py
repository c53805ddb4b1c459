"""Every way a Slack Web API call can fail, as one `ChatError`.

slack-sdk raises `SlackApiError` for Slack's refusals, but an answer that is not Slack's
JSON (a proxy's plain-text or HTML 502, an empty body, a body cut short) reaches it in
shapes it does not expect: a `SlackApiError` whose response is a string, None or
aiohttp's own response object, or an `AttributeError` from inside its validation. Here
they all become a `ChatError` that names the method and the error code only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import ChatError

T = TypeVar("T")

# Slack errors that trying again will not fix (the scheduler pauses a channel on these).
PERMANENT = frozenset({
    "channel_not_found", "is_archived", "not_in_channel", "channel_is_archived",
    "account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired",
    "missing_scope", "no_permission", "restricted_action", "team_access_not_granted",
    "ekm_access_denied", "user_not_found", "cannot_dm_bot", "thread_not_found",
    "message_not_found", "cant_update_message",
})

# What a call may raise besides SlackApiError: network failures (aiohttp.ClientError: a
# connection Slack dropped is no OSError), timeouts, and slack-sdk tripping over a body
# that is not JSON (AttributeError, TypeError, ValueError from its validation).
TRANSPORT_FAILURES: tuple[type[Exception], ...] = (
    SlackClientError, aiohttp.ClientError, OSError, TimeoutError,
    AttributeError, TypeError, ValueError, KeyError)
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, *TRANSPORT_FAILURES)


def error_code(exc: SlackApiError) -> str:
    """Slack's error code (`channel_not_found`), or what the answer was when it had none."""
    response = exc.response
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        code = data.get("error")
        if isinstance(code, str) and code:
            return code[:80]
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return f"http_{status}" if isinstance(status, int) else "unexpected_answer"


def as_chat_error(name: str, exc: Exception) -> ChatError:
    """The ChatError for a failed call of the Web API method `name`."""
    if isinstance(exc, SlackApiError):
        code = error_code(exc)
        return ChatError(f"{name} failed: {code}", permanent=code in PERMANENT, code=code)
    return ChatError(f"{name} failed: {type(exc).__name__}")


async def call(method: Callable[..., Awaitable[T]], name: str, **kwargs: Any) -> T:
    """One Web API call; every failure becomes a ChatError (never a token or a payload)."""
    try:
        return await method(**kwargs)
    except SLACK_FAILURES as exc:
        raise as_chat_error(name, exc) from None

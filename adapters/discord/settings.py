"""The Discord adapter's settings and the one seam that points discord.py elsewhere."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.config import parse_shard_ids

DEFAULT_API_URL = "https://discord.com/api/v10"


def client_id_from_token(token: str) -> str | None:
    """The application's id, read from the first part of a bot token (no network)."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isdigit() else None


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """How the Discord adapter connects (the values come from a `Config`, which checked
    them). The last fields are tuning knobs (tests lower them)."""

    token: str = field(repr=False)
    api_url: str | None = None
    gateway_url: str | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    dev_guild_id: int | None = None
    # Answer within Discord's 3 s: past this, the interaction is deferred and answered later.
    defer_after: float = 2.0
    # Interactions worked at once, and reaction events handled at once; the rest of a burst
    # wait their turn in arrival order (an interaction still waiting at `defer_after` is
    # deferred), so that a burst neither holds all of its work in memory at once nor makes
    # every member wait for all of it.
    interactions_at_once: int = 32
    reactions_at_once: int = 64
    # Discord allows one IDENTIFY per 5 s (per max_concurrency bucket).
    identify_delay: float = 5.0
    # discord.py declares itself ready this long after the last GUILD_CREATE of the start-up
    # burst (its default: 2 s, all of it added to start-up). Guilds that come later are
    # still added; leanon needs none of them to be present at ready.
    guild_ready_timeout: float = 0.5
    # Reactions that met an unreachable database: how many are kept, how retries back off.
    retry_capacity: int = 1000
    retry_first_delay: float = 1.0
    retry_max_delay: float = 60.0
    # Where those are also written, so that a restart during the outage keeps them.
    reaction_spool: Path | None = None

    @classmethod
    def from_env(cls, token: str, api_url: str | None = None, gateway_url: str | None = None,
                 shard_count: int | None = None, shard_ids: str | None = None,
                 dev_guild_id: int | None = None) -> DiscordSettings:
        """Settings from the DISCORD_* environment values (shard ids as text, like `0-3`)."""
        return cls(token=token, api_url=api_url or None, gateway_url=gateway_url or None,
                   shard_count=shard_count,
                   shard_ids=parse_shard_ids(shard_ids) if shard_ids else None,
                   dev_guild_id=dev_guild_id)


@contextmanager
def discord_endpoints(api_url: str | None, gateway_url: str | None) -> Iterator[None]:
    """Point discord.py's REST base and default gateway elsewhere while inside.

    discord.py builds every REST URL (webhooks and interaction callbacks too) from
    `Route.BASE`, and connects to `DiscordWebSocket.DEFAULT_GATEWAY` unless Discord's
    `/gateway/bot` names another. Both are process-wide, so they are restored on exit.
    """
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if api_url:
        Route.BASE = api_url.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved

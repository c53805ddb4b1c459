"""`leanon config check`: validate the whole configuration and show it, secrets masked.

Part of the composition root (it asks the adapters and storage to validate their parts),
so that a value `leanon run` would refuse is refused here too, with the same one line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from adapters.discord import DiscordSettings
from bot.config import Config
from bot.errors import ConfigError
from storage.engine import database_url

CLEAR_TOKENS = ("warning: OAuth installs keep each workspace's bot token in the database in "
                "clear; set LEANON_SECRET_KEYS (make a key with `leanon secret-key`)")

MASK = "********"
SECRET_WORDS = ("token", "secret", "password", "key")  # masked whatever their type


def _secret_name(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def url_secrets(url: str) -> list[str]:
    """The secrets written into a URL: its password, and query parameters named like
    secrets (`?password=…`, `sslpassword=…`, `token=…`)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [value for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if _secret_name(name) and value]
    return [password, unquote(password), *found] if password else found


def masked_url(url: str) -> str:
    """`url` with its secrets hidden (`postgresql://leanon:********@db/leanon?sslpassword=********`)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:{MASK}@{netloc.rpartition('@')[2]}"
    except ValueError:
        return "(not a URL)"
    query = urlencode([(name, MASK if _secret_name(name) and value else value)
                       for name, value in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _shown(name: str, value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else "(empty)"
    if _secret_name(name):
        return MASK if value else "(empty)"
    if name.endswith("_url"):
        return masked_url(str(value))
    return str(value)


def effective(config: Config) -> list[tuple[str, str]]:
    """Every setting as (ENVIRONMENT_NAME, shown value), secrets masked."""
    return [(name.upper(), _shown(name, getattr(config, name)))
            for name in type(config).model_fields]


REACTION_SPOOL = "leanon-discord-reactions.jsonl"


def discord_settings(config: Config) -> DiscordSettings:
    """The Discord adapter's settings (ConfigError naming the variable when one is wrong)."""
    token = config.discord_token.get_secret_value() if config.discord_token else ""
    settings = DiscordSettings.from_env(
        token=token, api_url=config.discord_api_url, gateway_url=config.discord_gateway_url,
        shard_count=config.discord_shard_count, shard_ids=config.discord_shard_ids,
        dev_guild_id=config.discord_dev_guild_id)
    return replace(settings, reaction_spool=Path.cwd() / REACTION_SPOOL)


def validate(config: Config) -> list[str]:
    """What `leanon run` will start; ConfigError (one line) when a setting does not fit."""
    try:
        make_url(database_url(config.database_url))
    except ArgumentError:
        raise ConfigError("DATABASE_URL: not a database URL (sqlite:///leanon.db or "
                          "postgresql://user@host/db)") from None
    started = []
    mode = config.slack_mode()
    if mode == "socket":
        started.append("slack (Socket Mode)")
    elif mode == "http":
        installs = " with OAuth installs" if getattr(config, "slack_oauth", False) else ""
        started.append(f"slack (HTTP mode{installs}, POST /slack/events on port "
                       f"{config.leanon_port})")
    if config.has_discord:
        shards = discord_settings(config).shard_ids
        which = f"shards {','.join(map(str, shards))}" if shards else "all shards"
        started.append(f"discord ({which})")
    return started


def report(config: Config) -> str:
    """The check's output: the effective settings, then what `leanon run` starts."""
    started = validate(config)
    rows = effective(config)
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    runs = ", ".join(started) if started else "the console workspace (no Slack or Discord settings)"
    server = f"; HTTP server on {config.leanon_host}:{config.leanon_port}" if started else ""
    lines += ["", f"configuration is valid; leanon run starts: {runs}{server}"]
    if clear_tokens(config):
        lines.append(CLEAR_TOKENS)
    return "\n".join(lines)


def clear_tokens(config: Config) -> bool:
    """OAuth installs without LEANON_SECRET_KEYS: their bot tokens are stored in clear."""
    return config.slack_oauth and not secret_text(config.leanon_secret_keys)


def secret_text(value: SecretStr | None) -> str:
    """A secret setting's value, or "" when unset."""
    return value.get_secret_value() if value is not None else ""


def secret_values(config: Config) -> list[str]:
    """Every secret in the configuration, for the log redactor."""
    values = [value.get_secret_value() for name in type(config).model_fields
              if isinstance(value := getattr(config, name), SecretStr)]
    in_urls = [secret for name in type(config).model_fields if name.endswith("_url")
               and isinstance(url := getattr(config, name), str) for secret in url_secrets(url)]
    return [v for v in [*values, *in_urls] if v]

"""Configuration from the environment (and an optional `.env`), loaded once at start."""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.deps import THANKED_AT_ONCE
from bot.errors import ConfigError
from bot.text import zone_name

CONSOLE_LOG_FILE = "leanon-console.log"


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0,1` or `0-3` or `0-3,8` → the shard ids, sorted; ConfigError when it is not that."""
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d{1,6})(?:\s*-\s*(\d{1,6}))?", part)
        if match is None:
            raise ConfigError(f"DISCORD_SHARD_IDS: '{part[:20]}' is not a shard id or range "
                              "(use 0,1 or 0-3)")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ConfigError(f"DISCORD_SHARD_IDS: the range {part} runs backwards")
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite://` URL as SQLAlchemy reads it (`sqlite:///x.db` is x.db in the
    working directory, `sqlite:////srv/x.db` is /srv/x.db); None for another database, an
    in-memory one or a `file:` URI."""
    scheme, _, rest = url.strip().partition("://")
    if not scheme.lower().startswith("sqlite"):
        return None
    path = rest.split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path
    return None if not path or path == ":memory:" or path.startswith("file:") else path


def _fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.strip().encode())) == 32
    except (binascii.Error, ValueError):
        return False


class Config(BaseSettings):
    """Every setting leanon reads. Environment names are the field names in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///leanon.db"
    leanon_timezone: str = "UTC"
    leanon_log_level: str = "INFO"
    # Where log lines go: unset, stderr (the console workspace: CONSOLE_LOG_FILE, so that
    # they stay out of its transcript); "-", stderr always; else a file they are added to.
    leanon_log_file: str | None = None

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Fernet keys (comma-separated, newest first) that seal OAuth installs' bot tokens at rest.
    leanon_secret_keys: SecretStr | None = None
    # The HTTP server (Slack HTTP mode): where it listens.
    leanon_host: str = "0.0.0.0"  # noqa: S104 - a server behind Slack's requests listens on all interfaces
    leanon_port: int = Field(default=3000, ge=0, le=65535)
    # Where admins' browsers reach that server (the insights page's links start with it);
    # http://localhost:<port> when not set.
    leanon_public_url: str | None = None

    discord_token: SecretStr | None = None
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int | None = Field(default=None, ge=1)
    discord_shard_ids: str | None = None
    discord_dev_guild_id: int | None = None

    # Requests waiting in the inbox from which members are told theirs is queued.
    leanon_busy_backlog: int = Field(default=500, ge=1)
    # Thanks notes to one member within this many seconds are sent as one note (0: each alone).
    leanon_note_window: int = Field(default=60, ge=0, le=3600)
    # Members one /thanks may name; more is refused with a clear answer.
    leanon_thanks_max_members: int = Field(default=THANKED_AT_ONCE, ge=1, le=100)

    # The answered-before search (its model loads on first use); off: no suggestions at all.
    leanon_answer_search: bool = True

    # The console workspace: who may change settings there.
    leanon_console_admins: str = Field(default="alice")

    @field_validator("leanon_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if (name := zone_name(value)) is None:
            raise ValueError(f"unknown IANA timezone {value[:64]!r} (try Europe/Berlin or UTC)")
        return name

    @model_validator(mode="after")
    def _fits_together(self) -> Self:
        """Checks of more than one value, or of a value's meaning: ConfigError (one line
        naming the variable) passes through pydantic as it is."""
        self._check_database()
        if self.leanon_secret_keys is not None:
            keys = [k for k in self.leanon_secret_keys.get_secret_value().split(",") if k.strip()]
            if not all(_fernet_key(key) for key in keys):
                raise ConfigError("LEANON_SECRET_KEYS: each key must be a Fernet key (44 "
                                  "characters of url-safe base64; make one with "
                                  "`leanon secret-key`)")
        if self.slack_mode() is not None and not re.match(r"https?://[^/\s]+", self.slack_api_url):
            raise ConfigError("SLACK_API_URL: use an http(s) URL like https://slack.com/api/")
        if self.has_discord:
            self._check_discord()
        return self

    def _check_database(self) -> None:
        """The folder of a SQLite file must exist and be writable: SQLite writes its journal
        beside the database, and would fail only on the first write."""
        path = sqlite_path(self.database_url)
        if path is None:
            return
        folder = Path(path).expanduser().absolute().parent
        if not folder.is_dir():
            raise ConfigError(f"DATABASE_URL: the folder {folder} does not exist; create it or "
                              "name another")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"DATABASE_URL: leanon can't write in {folder} (SQLite keeps its "
                              "journal beside the database)")

    def _check_discord(self) -> None:
        token = self.discord_token.get_secret_value() if self.discord_token else ""
        if not token.strip():
            raise ConfigError("DISCORD_TOKEN: empty; paste the bot token from the Developer Portal")
        if self.discord_api_url and not re.match(r"https?://", self.discord_api_url):
            raise ConfigError("DISCORD_API_URL: use an http(s) URL like https://discord.com/api/v10")
        if self.discord_gateway_url and not re.match(r"wss?://", self.discord_gateway_url):
            raise ConfigError("DISCORD_GATEWAY_URL: use a ws(s) URL like wss://gateway.discord.gg/")
        if self.discord_shard_ids:
            if self.discord_shard_count is None:
                raise ConfigError("DISCORD_SHARD_IDS: needs DISCORD_SHARD_COUNT (the total over "
                                  "all processes)")
            if max(parse_shard_ids(self.discord_shard_ids)) >= self.discord_shard_count:
                raise ConfigError(f"DISCORD_SHARD_IDS: every id must be from 0 to "
                                  f"{self.discord_shard_count - 1} (DISCORD_SHARD_COUNT - 1)")

    def log_file(self, console: bool) -> str | None:
        """The file log lines are added to; None for stderr."""
        if self.leanon_log_file == "-":
            return None
        return self.leanon_log_file or (CONSOLE_LOG_FILE if console else None)

    @field_validator("leanon_log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("use sqlite:///path/to/file.db or postgresql://user@host/db")
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.leanon_timezone)

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None or self.slack_signing_secret is not None

    @property
    def slack_oauth(self) -> bool:
        """OAuth installs in many workspaces (SLACK_CLIENT_ID/SECRET) instead of one bot token."""
        return bool(self.slack_client_id or self.slack_client_secret)

    def insights_url(self) -> str:
        """The address the insights page's sign-in links start with."""
        return (self.leanon_public_url or f"http://localhost:{self.leanon_port}").rstrip("/")

    def slack_mode(self) -> str | None:
        """`socket`, `http` (one bot token, or OAuth installs: `slack_oauth`) or None (no Slack);
        ConfigError when the Slack settings don't fit."""
        if not self.has_slack and self.slack_app_token is None and not self.slack_oauth:
            return None
        if self.slack_oauth:
            return self._slack_oauth_mode()
        if self.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN: required with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET")
        if self.slack_app_token is not None:
            return "socket"
        if self.slack_signing_secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: set one to choose HTTP mode "
                              "or Socket Mode")
        return "http"

    def _slack_oauth_mode(self) -> str:
        if not (self.slack_client_id and self.slack_client_secret):
            given, missing = (("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") if self.slack_client_id
                              else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID"))
            raise ConfigError(f"{missing}: required with {given} (OAuth installs need both)")
        if self.slack_bot_token is not None:
            raise ConfigError("SLACK_BOT_TOKEN: leave it unset with SLACK_CLIENT_ID (OAuth installs "
                              "keep each workspace's own token)")
        if self.slack_app_token is not None:
            raise ConfigError("SLACK_APP_TOKEN: leave it unset with SLACK_CLIENT_ID (OAuth installs "
                              "run in HTTP mode)")
        if self.slack_signing_secret is None:
            raise ConfigError("SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID (OAuth installs "
                              "run in HTTP mode)")
        return "http"

    @property
    def has_discord(self) -> bool:
        return self.discord_token is not None

    @property
    def console_admins(self) -> set[str]:
        return {n.strip().lower() for n in self.leanon_console_admins.split(",") if n.strip()}


def load_config() -> Config:
    """Read the configuration; a wrong value raises ConfigError with one clear line."""
    try:
        return Config()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"configuration error: {problems}") from None

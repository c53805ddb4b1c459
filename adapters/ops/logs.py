"""Structured logs with structlog: JSON lines when stderr is not a terminal, readable when it is.

Every module logs through the standard `logging` module; structlog's `ProcessorFormatter`
renders those records with the bound context (`request_id` per Slack request, `event_id`
per Discord event), the `extra` fields, the level, the logger and a UTC timestamp.
The rendered line then passes a redactor: known secrets (tokens, signing secret, database
password) and anything shaped like a Slack or Discord token become `[redacted]`, and the
Unicode line separators (which many log readers split on) are escaped, so one record is
one line whatever text it carries. Text an outsider chose is logged through `untrusted`
(escaped, cut short), and a request aiohttp could not parse is one WARNING line per kind
and minute (`MalformedRequests`), not an ERROR with a traceback each.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from aiohttp.http_exceptions import HttpProcessingError

REDACTED = "[redacted]"
TOKEN_SHAPES = re.compile(
    r"xox[a-z]-[0-9A-Za-z-]{6,}"  # Slack bot/user tokens
    r"|xapp-[0-9A-Za-z-]{6,}"  # Slack app-level tokens
    r"|[A-Za-z\d_-]{23,28}\.[A-Za-z\d_-]{6,7}\.[A-Za-z\d_-]{27,}"  # Discord bot tokens
)
# Libraries whose DEBUG lines carry payloads or SQL parameters (member ids), or that are chatty.
QUIET = {"aiosqlite": logging.INFO, "sqlalchemy": logging.WARNING, "asyncpg": logging.INFO,
         "slack_sdk": logging.INFO, "slack_bolt": logging.INFO, "discord": logging.INFO,
         "websockets": logging.INFO, "apscheduler": logging.WARNING, "alembic": logging.WARNING}


# Characters that end a line for some reader, whatever the renderer left of them.
LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def untrusted(text: object, limit: int = 80) -> str:
    """Text someone outside chose, as it may be logged: on one line, escaped, cut short."""
    shown = str(text)[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("…" if len(str(text)) > limit else "")


class MalformedRequests(logging.Filter):
    """aiohttp logs every request it could not parse as an ERROR with a traceback: here it
    is one WARNING line, at most once a minute for each kind of malformation."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True  # a handler's own failure keeps its traceback: a bug to see
        kind, now = type(error).__name__, time.monotonic()
        if now - self._last.get(kind, -self.every) < self.every:
            return False
        self._last[kind] = now
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "malformed HTTP request refused (%s %s): %s"
        record.args = (kind, error.code, untrusted(error.message))
        record.exc_info, record.exc_text = None, None
        return True


class Redactor:
    """Replaces secret values and token-shaped strings in a rendered log line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self._values = values

    def __call__(self, _logger: Any, _method: str, line: Any) -> Any:
        if not isinstance(line, str):
            return line
        for value in self._values:
            line = line.replace(value, REDACTED)
        return TOKEN_SHAPES.sub(REDACTED, line).translate(LINE_BREAKS)


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (),
                      stream: TextIO | None = None, as_json: bool | None = None) -> None:
    """Send every log record to `stream` (stderr) through structlog, at `level`."""
    stream = stream or sys.stderr
    if as_json is None:
        as_json = not stream.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Any] = ([structlog.processors.format_exc_info,
                            structlog.processors.JSONRenderer(ensure_ascii=False)] if as_json
                           else [structlog.dev.ConsoleRenderer()])
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer,
                    Redactor(secrets)])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings become log lines too
    server = logging.getLogger("aiohttp.server")
    server.filters = [f for f in server.filters if not isinstance(f, MalformedRequests)]
    server.addFilter(MalformedRequests())
    for name, floor in QUIET.items():
        library = logging.getLogger(name)
        library.setLevel(max(floor, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def new_id() -> str:
    """A short random id for a request or an event (16 hex digits; a uuid4 cost eight
    times as much, on every request)."""
    return os.urandom(8).hex()


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Log lines written inside (and by tasks started inside) carry `ids`."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield


def bind(**ids: str) -> None:
    """Bind `ids` for the rest of the current task (each discord.py event has its own task)."""
    structlog.contextvars.bind_contextvars(**ids)


def log_context() -> dict[str, str]:
    """The ids bound now (`request_id`, `event_id`), to bind again where the work goes on."""
    return {key: value for key, value in structlog.contextvars.get_contextvars().items()
            if key in {"request_id", "event_id"} and isinstance(value, str)}

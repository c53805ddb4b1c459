"""Helpers for the bad-input suite: hostile text, database snapshots, answer and log checks."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.discord.client import COMMAND_FAILED
from adapters.discord.interactions import SOMETHING_WENT_WRONG as DISCORD_WENT_WRONG
from adapters.slack.bridge import SOMETHING_WENT_WRONG as SLACK_WENT_WRONG
from bot.text import clean_user_text
from storage import SqlStore
from storage.models import Base

# One app per test, its state measured before and after each example; the same examples
# on every run (CI must be deterministic), none of them remembered between runs.
SUITE = settings(derandomize=True, deadline=None, database=None, print_blob=False,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.large_base_example])


def cases(count: int) -> settings:
    """The suite's settings with `count` generated examples."""
    return settings(SUITE, max_examples=count)

# Characters that break naive text handling: NUL and other controls, bidi overrides (RTL),
# zero-width joiners and spaces, a BOM, combining marks, emoji sequences, markup and
# mention syntax of both platforms.
NASTY = (
    "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\u00a0", "\u200b", "\u200d",
    "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\ufeff", "\ufffd",
    "\u0301", "\u0308", "\u0489", "🙏", "👩\u200d💻", "🏳️\u200d🌈", "🇺🇳", "𝔘𝔫𝔦", "ﷺ",
    "<", ">", "&", "&amp;", "<@U2147483698>", "<!here>", "<!channel>", "@everyone", "<#C1>",
    "%", "+", "=", "\"", "'", "\\", "{", "}", "[", "]", "\r\n", "\t",
)
# Text that marks a crash shown to a member: tracebacks and Python's exception names.
CRASH_TEXT = re.compile(r"Traceback|File \"|line \d+, in |\b[A-Z][A-Za-z]*(?:Error|Exception)\b"
                        r"|\bError:|Internal Server Error|has no attribute|NoneType")
GENERIC_FAILURES = tuple(m.plain_text() for m in (SLACK_WENT_WRONG, DISCORD_WENT_WRONG,
                                                  COMMAND_FAILED))


def nasty_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any unicode text, heavy on the characters in NASTY."""
    piece = st.one_of(st.characters(), st.sampled_from(NASTY))
    return st.lists(piece, min_size=min_size, max_size=max_size).map("".join)


def word(max_size: int = 20) -> st.SearchStrategy[str]:
    """One word as a command parser splits text: non-empty, no whitespace in it."""
    return nasty_text(1, max_size).map(lambda t: "".join(c for c in t if not c.isspace())).filter(bool)


def huge_text(low: int, high: int) -> st.SearchStrategy[str]:
    """A repeated unit of hostile text, `low` to `high` characters long."""
    return st.builds(lambda unit, size: (unit * (size // len(unit) + 1))[:size],
                     nasty_text(1, 12), st.integers(low, high))


def fit_form(text: str, budget: int = 900_000) -> str:
    """`text` cut until it fits in a form-encoded body of `budget` bytes (under 1 MB)."""
    while len(quote_plus(text)) > budget:
        text = text[: len(text) * 3 // 4]
    return text


def long_after_cleaning(text: str, limit: int) -> bool:
    """True when `text` is still over `limit` characters once leanon cleans it."""
    return len(clean_user_text(text)) > limit


def answer_problems(answer: str, sent: str) -> list[str]:
    """What is wrong with an answer shown to a member (empty list: a clear answer).

    Text the member sent may come back in an error ("I don't know '…'"), so a crash marker
    that was already in what they sent is not held against the answer.
    """
    if not answer.strip():
        return ["the answer is empty"]
    forms = {sent, clean_user_text(sent)}
    forms |= {f.lower() for f in forms}
    problems = [f"crash text {m.group()!r} in the answer" for m in CRASH_TEXT.finditer(answer)
                if not any(m.group() in f or m.group().lower() in f for f in forms)]
    problems += [f"a generic failure instead of an answer: {answer[:120]!r}"
                 for generic in GENERIC_FAILURES if generic in answer]
    return problems


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (the texts of a Slack or Discord payload)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(store: SqlStore) -> Snapshot:
    """Every row of every table, in a stable order (but the inbox: each delivery is stored
    there before its answer, whatever it asks for, and pruned later)."""
    out: Snapshot = {}
    async with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "inbox_items":
                continue
            rows = (await connection.execute(select(table))).all()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def changed_tables(before: Snapshot, after: Snapshot) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def new_rows(before: Snapshot, after: Snapshot, table: str) -> list[tuple[Any, ...]]:
    old = set(before.get(table, []))
    return [row for row in after.get(table, []) if row not in old]


# Logged by slack_bolt at ERROR for a request from a team leanon does not serve: expected
# for bodies whose team is missing or mangled, and not a failure of leanon.
BENIGN = ("Although the app should be installed into this workspace",)
# asyncio reports what the garbage collector finds (an unclosed session, a task's exception
# never read) whenever it runs: not tied to the example at hand.
IGNORED_LOGGERS = ("asyncio",)


class LogWatch(logging.Handler):
    """Collects ERROR records, the mark of a crash (a failed listener, an unhandled request)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def crashes(self) -> list[str]:
        out = []
        for record in self.records:
            message = record.getMessage()
            if record.name in IGNORED_LOGGERS or any(benign in message for benign in BENIGN):
                continue
            cause = f" ({type(record.exc_info[1]).__name__})" if record.exc_info else ""
            out.append(f"{record.name}: {message[:200]}{cause}")
        return out


@contextmanager
def watching_logs() -> Iterator[LogWatch]:
    watch = LogWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    try:
        yield watch
    finally:
        root.removeHandler(watch)

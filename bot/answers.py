"""Known answers in and out: an existing FAQ imported into leanon's memory, and the memory
written back out (`leanon answers import|export`).

A file is CSV (a header row naming the columns) or JSON lines (one object per line), with
`question` and `answer`, and optionally `link` (the page that answers it) and `channel` (an
answer for one channel: offered there alone). Every row is checked before anything is
stored: a file with a bad row changes nothing and every problem is named with its line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.deps import ASK_MAX_CHARS
from bot.domain import Answer, NewAnswer, Platform, WorkspaceRef
from bot.ports import UnitOfWorkFactory
from bot.text import clean_user_text, neutralise_mentions, too_long

ANSWER_MAX_CHARS = 4000  # an imported answer may be a paragraph of an FAQ
FILE_MAX_BYTES = 20 * 1024 * 1024  # some thousands of answers; a larger file is refused unread
LINK_MAX_CHARS = 2000
CHANNEL_MAX_CHARS = 64
FIELDS = ("question", "answer", "link", "channel")
MOST_PROBLEMS_SHOWN = 10


class AnswersFileError(ValueError):
    """What is wrong with a file of known answers (each problem on its own line)."""


@dataclass(frozen=True, slots=True)
class KnownAnswer:
    question: str
    answer: str
    link: str | None = None
    channel: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.question, self.answer, self.link, self.channel)


def parse_workspace(text: str) -> WorkspaceRef:
    """`slack:T0123`, `discord:81234…` or `console` as a workspace; ValueError if not one."""
    platform, _, workspace_id = text.strip().partition(":")
    try:
        kind = Platform(platform.lower())
    except ValueError:
        raise ValueError(f"'{text}' is not a workspace: write slack:<team id>, "
                         "discord:<server id> or console") from None
    if kind is Platform.CONSOLE:
        return WorkspaceRef(kind, workspace_id or "console")
    if not workspace_id or not workspace_id.replace("-", "").isalnum() or len(workspace_id) > 64:
        raise ValueError(f"'{text}' names no {kind.value} workspace id after the colon")
    return WorkspaceRef(kind, workspace_id)


def read_answers(text: str, name: str) -> list[KnownAnswer]:
    """The rows of a CSV (`name` ends in .csv) or JSON-lines file, checked and cleaned;
    AnswersFileError naming every bad line (the first ten) otherwise."""
    rows = _csv_rows(text) if name.lower().endswith(".csv") else _json_rows(text)
    found: list[KnownAnswer] = []
    problems: list[str] = []
    try:
        read = list(rows)
    except csv.Error as exc:  # a stray quote, a field over csv's own limit
        raise AnswersFileError(f"nothing was imported: not a CSV file leanon can read ({exc})") from None
    for line, row in read:
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        answer = _checked(row)
        if isinstance(answer, str):
            problems.append(f"line {line}: {answer}")
        else:
            found.append(answer)
    if problems:
        more = len(problems) - MOST_PROBLEMS_SHOWN
        shown = problems[:MOST_PROBLEMS_SHOWN] + ([f"… and {more} more"] if more > 0 else [])
        raise AnswersFileError("nothing was imported:\n" + "\n".join(shown))
    if not found:
        raise AnswersFileError("nothing was imported: the file has no answers")
    return found


def _csv_rows(text: str) -> Iterable[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in ("question", "answer") if f not in (reader.fieldnames or [])]
    if missing:
        raise AnswersFileError("nothing was imported: the header row must name the columns "
                               f"question and answer (missing: {', '.join(missing)})")
    for row in reader:
        if None in row:  # more cells than the header has names
            yield reader.line_num, "more cells than the header row names"
        else:
            yield reader.line_num, dict(row)


def _json_rows(text: str) -> Iterable[tuple[int, dict[str, Any] | str]]:
    # Lines end at \n alone: U+2028 and its kind are text inside a JSON string.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):
            yield number, "not a JSON object (JSON lines: one object per line)"
            continue
        yield number, row if isinstance(row, dict) else "not a JSON object"


def _checked(row: dict[str, Any]) -> KnownAnswer | str:
    """The row as a known answer, or what is wrong with it."""
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        return f"unknown field {unknown[0]!r} (the fields are {', '.join(FIELDS)})"
    values: dict[str, str | None] = {}
    limits = {"question": ASK_MAX_CHARS, "answer": ANSWER_MAX_CHARS,
              "link": LINK_MAX_CHARS, "channel": CHANNEL_MAX_CHARS}
    for field, limit in limits.items():
        value = row.get(field)
        if value is not None and not isinstance(value, str):
            return f"{field} must be text"
        if value is not None and too_long(value, limit):
            return f"{field} is over {limit:,} characters"
        cleaned = clean_user_text(value) if value else ""
        if len(cleaned) > limit:
            return f"{field} is over {limit:,} characters"
        values[field] = cleaned or None
    question, answer, link, channel = (values[f] for f in FIELDS)
    if question is None or answer is None:
        return "question and answer must both be given"
    if link is not None and (not link.lower().startswith(("https://", "http://"))
                             or any(c.isspace() or c in "<>|" for c in link)):
        return "link must be a web address (https://…, no spaces or < > |)"
    if channel is not None and (" " in channel or not channel.isprintable()):
        return "channel must be a channel id, without spaces"
    return KnownAnswer(neutralise_mentions(question), neutralise_mentions(answer), link, channel)


def _key(answer: Answer) -> tuple[str, str | None, str | None, str | None]:
    return (answer.question, answer.note, answer.link, answer.channel_id)


async def import_answers(uow: UnitOfWorkFactory, workspace: WorkspaceRef,
                         known: list[KnownAnswer], now: datetime) -> tuple[int, int]:
    """Store `known` in the workspace's memory, in one unit of work; the number added and
    the number left out because the memory (or the file, earlier) has them already."""
    async with uow() as unit:
        seen = {_key(a) for a in await unit.answers.export(workspace)}
        added = 0
        for answer in known:
            if answer.key in seen:
                continue
            seen.add(answer.key)
            await unit.answers.add(NewAnswer(
                workspace, answer.question, now, note=answer.answer, channel_id=answer.channel,
                private=answer.channel is not None, link=answer.link))
            added += 1
        await unit.commit()
    return added, len(known) - added


async def export_answers(uow: UnitOfWorkFactory, workspace: WorkspaceRef, name: str) -> str:
    """The workspace's memory as a file `read_answers` reads back: CSV when `name` ends in
    .csv, else JSON lines. Asks resolved without saying what solved them are left out (a
    known answer has an answer)."""
    async with uow() as unit:
        answers = await unit.answers.export(workspace)
    rows = [{"question": a.question, "answer": a.note, "link": a.link or "",
             "channel": a.channel_id or ""} for a in answers if a.note]
    if name.lower().endswith(".csv"):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    return "".join(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) + "\n"
                   for row in rows)

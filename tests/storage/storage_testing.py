"""Values and builders shared by the storage tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import event, text

from bot.domain import MessageRef, NewAsk, NewThanks, Platform, Schedule, ThanksSource, WorkspaceRef
from storage import SqlStore, create_engine

WORKSPACE = WorkspaceRef(Platform.SLACK, "T-main")
OTHER_WORKSPACE = WorkspaceRef(Platform.DISCORD, "G-other")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
"""A Monday morning: the tests' "now"."""


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def new_ask(
    asker_id: str = "U-asker",
    *,
    at: datetime = T0,
    channel_id: str = "C-help",
    workspace: WorkspaceRef = WORKSPACE,
    anonymous: bool = False,
    text: str = "How do I rotate the staging certificates?",
    tried: str | None = None,
) -> NewAsk:
    return NewAsk(workspace, channel_id, asker_id, text, tried, anonymous, at)


def reaction(
    giver_id: str = "U-giver",
    receiver_id: str = "U-receiver",
    *,
    message_id: str = "1700000000.000100",
    emoji: str = "pray",
    at: datetime = T0,
    workspace: WorkspaceRef = WORKSPACE,
    ask_id: int | None = None,
    channel_id: str = "C-team",
) -> NewThanks:
    """A thanks by reaction, keyed as adapters key them: giver, message and emoji."""
    return NewThanks(
        workspace=workspace,
        giver_id=giver_id,
        receiver_id=receiver_id,
        source=ThanksSource.REACTION,
        created_at=at,
        message=MessageRef(channel_id, message_id),
        emoji=emoji,
        ask_id=ask_id,
        dedupe_key=reaction_key(giver_id, message_id, emoji, channel_id),
    )


def reaction_key(
    giver_id: str, message_id: str = "1700000000.000100", emoji: str = "pray", channel_id: str = "C-team"
) -> str:
    return f"reaction:{channel_id}:{message_id}:{emoji}:{giver_id}"


def command_thanks(
    giver_id: str = "U-giver",
    receiver_id: str = "U-receiver",
    *,
    at: datetime = T0,
    reason: str | None = "for the review",
    workspace: WorkspaceRef = WORKSPACE,
    channel_id: str | None = None,
) -> NewThanks:
    """A `/thanks` thanks: no message and no dedupe key, every command counts."""
    return NewThanks(
        workspace, giver_id, receiver_id, ThanksSource.COMMAND, at, reason=reason, channel_id=channel_id
    )


MONDAY_0930 = time(9, 30)


async def a_schedule(
    store: SqlStore,
    channel_id: str = "C-help",
    *,
    workspace: WorkspaceRef = WORKSPACE,
    weekday: int = 0,
    at: time = MONDAY_0930,
    timezone: str = "Europe/Berlin",
    paused: bool = False,
    now: datetime = T0,
) -> Schedule:
    """A committed schedule for the channel."""
    async with store.unit_of_work() as uow:
        schedule = await uow.schedules.upsert(workspace, channel_id, weekday, at, timezone, paused, now)
        await uow.commit()
    return schedule


async def terminate_backend(url: str, pid: int) -> None:
    """End a PostgreSQL server process (a connection the server dropped), from another connection."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await engine.dispose()


@contextlib.contextmanager
def selects_sent(store: SqlStore, kind: str | tuple[str, ...] = "SELECT",
                 ) -> Iterator[list[tuple[str, Any]]]:
    """The statements that begin with `kind` (with their parameters) sent inside."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(kind):
            captured.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)

"""Between rows and the domain: conversions and the workspace filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_

from bot.domain import (
    Ask,
    AskStatus,
    CloseReason,
    HelpOffer,
    MessageRef,
    Platform,
    Settings,
    Thanks,
    ThanksSource,
    WorkspaceRef,
)
from storage.models import AskRow, HelpOfferRow, ThanksRow, WorkspaceRow, WorkspaceScoped


def in_workspace(model: type[WorkspaceScoped], workspace: WorkspaceRef) -> ColumnElement[bool]:
    """The rows of `model` that belong to `workspace`."""
    return and_(
        model.platform == workspace.platform.value,
        model.workspace_id == workspace.workspace_id,
    )


def workspace_columns(workspace: WorkspaceRef) -> dict[str, str]:
    return {"platform": workspace.platform.value, "workspace_id": workspace.workspace_id}


def workspace_of(row: WorkspaceScoped) -> WorkspaceRef:
    return WorkspaceRef(Platform(row.platform), row.workspace_id)


def message_of(channel_id: str | None, message_id: str | None) -> MessageRef | None:
    if channel_id is None or message_id is None:
        return None
    return MessageRef(channel_id, message_id)


def to_ask(row: AskRow) -> Ask:
    return Ask(
        id=row.id,
        workspace=workspace_of(row),
        channel_id=row.channel_id,
        asker_id=row.asker_id,
        text=row.text,
        tried=row.tried,
        anonymous=row.anonymous,
        status=AskStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        close_reason=CloseReason(row.close_reason) if row.close_reason else None,
        message=message_of(row.message_channel_id, row.message_id),
        follow_up_at=row.follow_up_at,
    )


def to_offer(row: HelpOfferRow) -> HelpOffer:
    return HelpOffer(ask_id=row.ask_id, helper_id=row.helper_id, created_at=row.created_at)


def to_thanks(row: ThanksRow) -> Thanks:
    return Thanks(
        id=row.id,
        workspace=workspace_of(row),
        giver_id=row.giver_id,
        receiver_id=row.receiver_id,
        source=ThanksSource(row.source),
        created_at=row.created_at,
        reason=row.reason,
        message=message_of(row.message_channel_id, row.message_id),
        emoji=row.emoji,
        ask_id=row.ask_id,
        retracted_at=row.retracted_at,
    )


def settings_columns(settings: Settings) -> dict[str, Any]:
    """The `workspaces` columns holding `settings`."""
    for emoji in settings.thanks_emoji:
        if "," in emoji or not emoji.strip():
            raise ValueError(f"not a thanks emoji name: {emoji!r}")
    return {
        "thanks_emoji": ",".join(settings.thanks_emoji),
        "anonymous_asks": settings.anonymous_asks,
        "daily_allowance": settings.daily_allowance,
        "stale_after_seconds": int(settings.stale_after.total_seconds()),
        "expire_after_seconds": int(settings.expire_after.total_seconds()),
        "receiver_dm": settings.receiver_dm,
        "leaderboard": settings.leaderboard,
    }


def to_settings(row: WorkspaceRow) -> Settings:
    return Settings(
        thanks_emoji=tuple(name for name in row.thanks_emoji.split(",") if name),
        anonymous_asks=row.anonymous_asks,
        daily_allowance=row.daily_allowance,
        stale_after=timedelta(seconds=row.stale_after_seconds),
        expire_after=timedelta(seconds=row.expire_after_seconds),
        receiver_dm=row.receiver_dm,
        leaderboard=row.leaderboard,
    )

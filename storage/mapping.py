"""Between rows and the domain: conversions and the workspace filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam

from bot.domain import (
    Answer,
    Ask,
    AskStatus,
    CloseReason,
    Delivery,
    DeliveryStatus,
    HelpOffer,
    HelpRequest,
    MessageRef,
    Platform,
    RequestAnswer,
    Schedule,
    Settings,
    Suggestion,
    SuggestionMode,
    SuggestionOutcome,
    Thanks,
    ThanksSource,
    WorkspaceRef,
)
from storage.models import (
    AnswerRow,
    AskRow,
    DeliveryRow,
    HelpOfferRow,
    HelpRequestRow,
    ScheduleRow,
    SuggestionRow,
    ThanksRow,
    WorkspaceRow,
    WorkspaceScoped,
)


def in_workspace(model: type[WorkspaceScoped], workspace: WorkspaceRef) -> ColumnElement[bool]:
    """The rows of `model` that belong to `workspace`."""
    return and_(
        model.platform == workspace.platform.value,
        model.workspace_id == workspace.workspace_id,
    )


def in_bound_workspace(model: type[WorkspaceScoped]) -> ColumnElement[bool]:
    """`in_workspace` for a statement built once: the workspace comes with each execution
    as the parameters `workspace_columns` names."""
    return and_(model.platform == bindparam("platform"),
                model.workspace_id == bindparam("workspace_id"))


def workspace_columns(workspace: WorkspaceRef) -> dict[str, str]:
    return {"platform": workspace.platform.value, "workspace_id": workspace.workspace_id}


def workspace_of(row: WorkspaceScoped | Row[Any]) -> WorkspaceRef:
    return WorkspaceRef(Platform(row.platform), row.workspace_id)


def message_of(channel_id: str | None, message_id: str | None) -> MessageRef | None:
    if channel_id is None or message_id is None:
        return None
    return MessageRef(channel_id, message_id)


def to_ask(row: AskRow | Row[Any]) -> Ask:
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
        ladder_step=row.ladder_step,
        asked_helpers=row.asked_helpers,
    )


def to_answer(row: AnswerRow) -> Answer:
    return Answer(id=row.id, workspace=workspace_of(row), question=row.question,
                  created_at=row.created_at, updated_at=row.updated_at, note=row.note,
                  note_author=row.note_author_id,
                  ask_id=row.ask_id, channel_id=row.channel_id, private=row.private,
                  link=row.link, same_as=row.same_as_id)


def to_suggestion(row: SuggestionRow) -> Suggestion:
    return Suggestion(ask_id=row.ask_id, answer_id=row.answer_id, chance=row.chance,
                      shown_at=row.shown_at,
                      outcome=SuggestionOutcome(row.outcome) if row.outcome else None,
                      decided_at=row.decided_at)


def to_request(row: HelpRequestRow) -> HelpRequest:
    return HelpRequest(ask_id=row.ask_id, helper_id=row.helper_id, requested_at=row.requested_at,
                       local_date=row.local_date,
                       answer=RequestAnswer(row.answer) if row.answer else None,
                       answered_at=row.answered_at)


def to_offer(row: HelpOfferRow) -> HelpOffer:
    return HelpOffer(ask_id=row.ask_id, helper_id=row.helper_id, created_at=row.created_at)


def to_thanks(row: ThanksRow | Row[Any]) -> Thanks:
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
        channel_id=row.message_channel_id,
    )


def settings_columns(settings: Settings) -> dict[str, Any]:
    """The `workspaces` columns holding `settings`."""
    return {
        "thanks_emoji": joined_names(settings.thanks_emoji, "thanks emoji"),
        "anonymous_asks": settings.anonymous_asks,
        "daily_allowance": settings.daily_allowance,
        "stale_after_seconds": int(settings.stale_after.total_seconds()),
        "expire_after_seconds": int(settings.expire_after.total_seconds()),
        "receiver_dm": settings.receiver_dm,
        "leaderboard": settings.leaderboard,
        "suggestions": settings.suggestions.value,
        "tips_after_seconds": _seconds(settings.tips_after),
        "request_after_seconds": _seconds(settings.request_after),
        "daily_requests": settings.daily_requests,
        "escalate_after_seconds": _seconds(settings.escalate_after),
        "escalation_channel_id": settings.escalation_channel,
    }


def _seconds(span: timedelta | None) -> int | None:
    return int(span.total_seconds()) if span is not None else None


def _span(seconds: int | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


def to_settings(row: WorkspaceRow | Row[Any]) -> Settings:
    return Settings(
        thanks_emoji=split_names(row.thanks_emoji),
        anonymous_asks=row.anonymous_asks,
        daily_allowance=row.daily_allowance,
        stale_after=timedelta(seconds=row.stale_after_seconds),
        expire_after=timedelta(seconds=row.expire_after_seconds),
        receiver_dm=row.receiver_dm,
        leaderboard=row.leaderboard,
        suggestions=SuggestionMode(row.suggestions),
        tips_after=_span(row.tips_after_seconds),
        request_after=_span(row.request_after_seconds),
        daily_requests=row.daily_requests,
        escalate_after=_span(row.escalate_after_seconds),
        escalation_channel=row.escalation_channel_id,
    )


def joined_names(names: tuple[str, ...], what: str) -> str:
    """`names` as one comma-separated column value; names must be non-blank, without commas."""
    for name in names:
        if "," in name or not name.strip():
            raise ValueError(f"not a {what} name: {name!r}")
    return ",".join(names)


def split_names(value: str) -> tuple[str, ...]:
    return tuple(name for name in value.split(",") if name)


def to_schedule(row: ScheduleRow) -> Schedule:
    return Schedule(
        id=row.id,
        workspace=workspace_of(row),
        channel_id=row.channel_id,
        weekday=row.weekday,
        at=row.at_time,
        timezone=row.timezone,
        paused=row.paused,
        updated_at=row.updated_at,
        themes_used=split_names(row.themes_used),
        posts_sent=row.posts_sent,
        failures=row.failures,
    )


def to_delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        schedule_id=row.schedule_id,
        period=row.period,
        status=DeliveryStatus(row.status),
        nonce=row.nonce,
        claimed_at=row.claimed_at,
        message_id=row.message_id,
        completed_at=row.completed_at,
    )

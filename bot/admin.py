"""Administration and privacy: config, forget-me, export, help."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from bot import outbox
from bot import settings as settings_mod
from bot.buttons import Press
from bot.commands import ChangeConfig, ExportData, ForgetMe, ShowConfig, ShowHelp
from bot.deps import Deps
from bot.domain import Ask, Helper, Thanks, ThanksSource
from bot.hours import DAY_NAMES
from bot.messages import (
    ActionId,
    Attachment,
    ButtonStyle,
    Message,
    MessageKind,
    Reply,
    error,
    line,
    notice,
)
from bot.text import plural, were

log = logging.getLogger(__name__)

ADMIN_ONLY = ("Only workspace admins can {what}. (Slack: admins and owners; "
              "Discord: members with Manage Server.)")


async def show_config(cmd: ShowConfig, deps: Deps) -> Reply:
    async with deps.uow() as uow:
        current = await uow.workspaces.settings(cmd.workspace)
    lines = [line(f"{key}: {value}  ({what})")
             for key, value, what in settings_mod.describe(current)]
    lines.append(line("Admins change a setting with /leanon config set <setting> <value>."))
    return Reply.of(notice(*lines, kind=MessageKind.LIST, title="leanon settings"))


async def change_config(cmd: ChangeConfig, deps: Deps) -> Reply:
    if not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error(ADMIN_ONLY.format(what="change settings")))
    async with deps.uow() as uow:
        current = await uow.workspaces.settings(cmd.workspace)
        try:
            new = settings_mod.change(current, cmd.key, cmd.value)
        except settings_mod.SettingError as exc:
            return Reply.of(error(f"{exc} Nothing was changed."))
        await uow.workspaces.save_settings(cmd.workspace, new)
        await uow.commit()
    shown = {k: v for k, v, _ in settings_mod.describe(new)}
    key = cmd.key.strip().lower().replace("_", "-")
    return Reply.of(notice(line(f"Saved: {key} is now {shown[key]}.")))


async def forget_me(cmd: ForgetMe, deps: Deps) -> Reply:
    """Delete a member's thanks and preferences; their asks are deleted or kept anonymously."""
    if cmd.keep_asks is None:
        return Reply.of(notice(
            line("This deletes every thanks you gave and received in this workspace, and your "
                 "leanon preferences. It can't be undone."),
            line("Your asks: delete them, or keep their text with no name so the answers "
                 "stay useful to others?"),
            buttons=(
                Press(ActionId.FORGET_DELETE_ASKS).button(line("Delete my asks too"),
                                                          ButtonStyle.DANGER),
                Press(ActionId.FORGET_KEEP_ASKS).button(line("Keep my asks, anonymously")),
            ),
            title="Forget me",
        ))
    user_id, now = cmd.actor.user_id, deps.clock.now()
    async with deps.uow() as uow:
        asks = await uow.asks.by_asker(cmd.workspace, user_id)
        removed_thanks = await uow.thanks.forget_member(cmd.workspace, user_id)
        await uow.asks.forget_asker(cmd.workspace, user_id, delete=not cmd.keep_asks)
        # Their words in leanon's memory go too, but on the asks they chose to keep.
        await uow.answers.forget_author(cmd.workspace, user_id,
                                        {a.id for a in asks} if cmd.keep_asks else ())
        await uow.members.forget(cmd.workspace, user_id)
        for ask in asks:  # shown as removed, or with no name, when the card is refreshed
            await outbox.refresh_card(uow, now, ask)
        await uow.commit()
    what = "kept without your name" if cmd.keep_asks else "deleted"
    return Reply.of(notice(line(
        f"Done. {removed_thanks} thanks were deleted and your "
        f"{plural(len(asks), 'ask')} {were(len(asks))} {what}. "
        "leanon keeps nothing else about you.")))


def _plain(value: Any) -> Any:
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _ask_row(ask: Ask) -> dict[str, Any]:
    row = {k: _plain(v) for k, v in asdict(ask).items() if k not in {"workspace", "message"}}
    row["message_id"] = ask.message.message_id if ask.message else None
    if ask.anonymous:
        row["asker_id"] = None
    return row


def _helper_row(helper: Helper) -> dict[str, Any]:
    hours = helper.hours
    return {"user_id": helper.user_id, "active": helper.active, "topics": list(helper.topics),
            "hours": None if hours is None else {
                "start": hours.start.isoformat("minutes"), "end": hours.end.isoformat("minutes"),
                "days": [DAY_NAMES[d] for d in sorted(hours.days)], "zone": hours.zone}}


def _thanks_row(thanks: Thanks, anonymous_askers: dict[int, str | None]) -> dict[str, Any]:
    """A thanks as exported; on an anonymous ask, a thanks by its asker (a thank button, or
    a reaction in the ask's thread) has no giver, or it would name the asker."""
    row = {k: _plain(v) for k, v in asdict(thanks).items() if k not in {"workspace", "message"}}
    row["channel_id"] = thanks.channel_id
    row["message_id"] = thanks.message.message_id if thanks.message else None
    if thanks.ask_id in anonymous_askers and (
            thanks.source is ThanksSource.RESOLVE or thanks.giver_id == anonymous_askers[thanks.ask_id]):
        row["giver_id"] = None
    return row


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


ASK_FIELDS = ["id", "channel_id", "asker_id", "text", "tried", "anonymous", "status",
              "created_at", "closed_at", "close_reason", "message_id", "follow_up_at",
              "ladder_step", "asked_helpers"]
OFFER_FIELDS = ["ask_id", "helper_id", "created_at"]
THANKS_FIELDS = ["id", "giver_id", "receiver_id", "source", "created_at", "reason", "channel_id",
                 "message_id", "emoji", "ask_id", "retracted_at"]


async def export_data(cmd: ExportData, deps: Deps) -> Reply:
    """The workspace's data as JSON or CSV files; anonymous askers stay anonymous."""
    if not await deps.is_admin(cmd.workspace, cmd.actor):
        return Reply.of(error(ADMIN_ONLY.format(what="export the workspace's data")))
    fmt = cmd.format.strip().lower() or "json"
    if fmt not in {"json", "csv"}:
        return Reply.of(error("Export as json or csv: /leanon export json"))
    async with deps.uow() as uow:
        current = await uow.workspaces.settings(cmd.workspace)
        asks, offers = await uow.asks.export(cmd.workspace)
        thanks = await uow.thanks.export(cmd.workspace)
        helpers = await uow.members.helpers(cmd.workspace)
        requests = await uow.requests.since(cmd.workspace, datetime.min.replace(tzinfo=UTC))
    anonymous = {a.id: a.asker_id for a in asks if a.anonymous}
    ask_rows = [_ask_row(a) for a in asks]
    offer_rows = [{k: _plain(v) for k, v in asdict(o).items()} for o in offers]
    thanks_rows = [_thanks_row(t, anonymous) for t in thanks]
    stamp = deps.clock.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "json":
        doc = {"workspace": str(cmd.workspace), "exported_at": deps.clock.now().isoformat(),
               "settings": _plain(asdict(current)), "asks": ask_rows, "help_offers": offer_rows,
               "thanks": thanks_rows, "helpers": [_helper_row(h) for h in helpers],
               "help_requests": [{k: _plain(v) for k, v in asdict(r).items()} for r in requests]}
        files: tuple[Attachment, ...] = (Attachment(f"leanon-export-{stamp}.json",
                            json.dumps(doc, indent=2, ensure_ascii=False).encode(),
                            "application/json"),)
    else:
        files = (
            Attachment(f"leanon-asks-{stamp}.csv", _csv(ask_rows, ASK_FIELDS), "text/csv"),
            Attachment(f"leanon-help-offers-{stamp}.csv", _csv(offer_rows, OFFER_FIELDS),
                       "text/csv"),
            Attachment(f"leanon-thanks-{stamp}.csv", _csv(thanks_rows, THANKS_FIELDS),
                       "text/csv"),
        )
    retracted = sum(t.retracted_at is not None for t in thanks)
    also = f"; {retracted} retracted, marked retracted_at" if retracted else ""
    summary = line(f"Export of {plural(len(asks), 'ask')}, {plural(len(offers), 'help offer')} "
                   f"and {len(thanks) - retracted} thanks{also} ({fmt}).")
    return Reply.of(Message(MessageKind.EXPORT, (summary,), attachments=files))


HELP_LINES = (
    "/ask <question>: ask your teammates for help (no text opens a form).",
    "/thanks @name [@name…] <reason>: thank one or more teammates.",
    "React 🙏 or 🙌 to a teammate's message to thank its author.",
    "/leanon asks: the open asks in this channel.",
    "/leanon withdraw <ask number>: take back an ask of yours that is still open.",
    "/leanon stats: your own numbers, privately.",
    "/leanon leaderboard: most thanked members (when an admin turned it on).",
    "/leanon named on|off: be named (or not) in weekly posts and the leaderboard.",
    "/leanon helper on [topics] | off | topics <topics>: let leanon ask you to look at "
    "waiting asks (never outside your hours); /leanon hours 09:00-17:30 [days] [time zone]; "
    "/leanon helpers: the roster (admins).",
    "/leanon escalate here|off: where asks nobody took are posted (admins).",
    "/leanon insights: a private link to the insights page, trends without rankings (admins).",
    "/leanon config [set <setting> <value>]: show or (admins) change settings.",
    "/leanon nudge here [weekday] [HH:MM] [timezone]: the weekly post in this "
    "channel (default Monday 09:30); nudge off, nudge preview, nudge now (admins).",
    "/leanon forget-me: delete your data.",
    "/leanon export [json|csv]: the workspace's data (admins).",
)

TIPS = (
    "Be specific: say what you tried, what you expected and what happened.",
    "Be grateful: thank the people who helped, even for a small pointer.",
    "Reciprocate: when you see an ask you can help with, press I can help.",
)


async def show_help(cmd: ShowHelp, deps: Deps) -> Reply:
    lines = [line(text) for text in HELP_LINES]
    lines.append(line("Three habits that make asking work: " + " ".join(TIPS)))
    return Reply.of(notice(*lines, kind=MessageKind.LIST,
                           title="leanon: asking for help is a strength"))

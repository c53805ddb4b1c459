"""The neutral messages the core builds for asks: the card, the thank buttons, lists."""

from __future__ import annotations

from datetime import datetime

from bot.buttons import Press
from bot.domain import Ask, AskStatus, CloseReason
from bot.messages import (
    ActionId,
    Button,
    ButtonStyle,
    Line,
    Mention,
    Message,
    MessageKind,
    Part,
    UserText,
    line,
    notice,
)
from bot.text import ago, plural, preview


def asker_part(ask: Ask) -> Part:
    """The asker as shown in public: a mention, or "someone" when anonymous or forgotten."""
    if ask.anonymous or ask.asker_id is None:
        return "someone"
    return Mention(ask.asker_id)


ASK_GONE = "That ask no longer exists (it may have been removed)."


def people(ids: list[str]) -> Line:
    """`@a`, `@a and @b`, `@a, @b and @c`."""
    parts: list[Part] = []
    for i, user_id in enumerate(ids):
        if i:
            parts.append(" and " if i == len(ids) - 1 else ", ")
        parts.append(Mention(user_id))
    return tuple(parts)


def ask_card(ask: Ask, helper_ids: list[str]) -> Message:
    """The public card for an ask, as it should look now."""
    lines: list[Line] = [line(UserText(ask.text))]
    if ask.tried:
        lines.append(line("What I tried: ", UserText(ask.tried)))
    lines.append(line("Asked by ", asker_part(ask)))
    if helper_ids:
        count = len(helper_ids)
        noun = "person" if count == 1 else "people"
        lines.append(line(f"{count} {noun} offered to help: ", *people(helper_ids)))
    elif ask.is_open and ask.asked_helpers:
        were = "was" if ask.asked_helpers == 1 else "were"
        lines.append(line(f"No offers yet; {plural(ask.asked_helpers, 'teammate')} {were} asked "
                          "to look. Could you help, even a little?"))
    elif ask.is_open:
        lines.append(line("No offers yet. Could you help, even a little?"))
    if ask.status is AskStatus.RESOLVED:
        lines.append(line("✅ Resolved. Thank you, everyone who helped."))
        title = "Resolved ask"
    elif ask.status is AskStatus.CLOSED:
        why = "expired" if ask.close_reason is CloseReason.EXPIRED else "withdrawn"
        lines.append(line(f"Closed ({why})."))
        title = "Closed ask"
    else:
        title = "Someone is asking for help" if ask.anonymous else "Asking for help"
    buttons: tuple[Button, ...] = ()
    if ask.is_open:
        buttons = (
            Press(ActionId.OFFER_HELP, ask.id).button(line("I can help"), ButtonStyle.PRIMARY),
            Press(ActionId.RESOLVE, ask.id).button(line("Resolved")),
        )
    return Message(MessageKind.ASK_CARD, tuple(lines), title=title, buttons=buttons)


def removed_card() -> Message:
    return notice(line("This ask was removed by the person who asked."), kind=MessageKind.ASK_CARD)


def thank_buttons(ask: Ask, helper_ids: list[str]) -> Message:
    """The asker's private "be grateful" prompt after resolving."""
    if not helper_ids:
        return notice(
            line("Your ask is resolved. 🎉"),
            line("Did someone help outside the card? Thank them with /thanks @name, "
                 "or react 🙏 to their message."),
            kind=MessageKind.TIP,
        )
    buttons = tuple(
        Press(ActionId.THANK_HELPER, ask.id, h).button(line("Thank ", Mention(h)),
                                                      ButtonStyle.PRIMARY)
        for h in helper_ids
    )
    return notice(
        line("Your ask is resolved. 🎉 Be grateful: a thank-you takes a second and means a lot."),
        line("Thank the people who helped:"),
        kind=MessageKind.TIP,
        buttons=buttons,
    )


def ask_list_line(ask: Ask, offers: int, now: datetime) -> Line:
    offer_text = "no offers yet" if offers == 0 else plural(offers, "offer")
    return line(
        f"#{ask.id} · {ago(now - ask.created_at)} · ", UserText(preview(ask.text)), " · asked by ",
        asker_part(ask), f" · {offer_text}",
    )


FOLLOW_UP = notice(
    line("This ask is still waiting for a hand. A pointer, a guess or a "
         "\"me too\" all count: press I can help and say hi in this thread."),
    kind=MessageKind.FOLLOW_UP,
)

SPECIFIC_TIP = notice(
    line("Tip: be specific. Say what you are trying to do, what you expected and what "
         "happened instead; a specific ask gets a faster answer. Your ask is posted as it is."),
    kind=MessageKind.TIP,
)

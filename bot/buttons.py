"""The core's buttons, both ways: the value a button carries is written here (cards, thank
prompts, forget-me), and a press is read back here, from the action and value exactly as the
platform returned them. Adapters never split a value themselves.

A value is what each platform can carry: at most 40 characters of letters, digits and
`:._-` (a Discord custom id holds it with the action and the server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands import (
    AnswerRequest,
    Command,
    ForgetMe,
    OfferHelp,
    PostAsk,
    RejectAnswer,
    ResolveAsk,
    ReuseAnswer,
    ThankHelper,
)
from bot.domain import Actor, Platform, WorkspaceRef
from bot.messages import ActionId, Button, ButtonStyle, Line

_ASK_ID = re.compile(r"[1-9][0-9]{0,17}")
# A member's id on each platform (a thank button names one): never a word like "everyone".
MEMBER_IDS = {
    Platform.SLACK: re.compile(r"[UW][A-Z0-9]{2,20}"),
    Platform.DISCORD: re.compile(r"[0-9]{5,20}"),  # a snowflake
    Platform.CONSOLE: re.compile(r"[a-z][a-z0-9._-]{0,31}"),  # a console name
}
_FORGET_VALUES = {ActionId.FORGET_DELETE_ASKS: "delete", ActionId.FORGET_KEEP_ASKS: "keep"}
# Buttons about a remembered answer offered to an ask: "<ask id>:<answer id>".
_ANSWER_ACTIONS: dict[ActionId, type[ReuseAnswer | RejectAnswer]] = {
    ActionId.REUSE_ANSWER: ReuseAnswer, ActionId.REJECT_ANSWER: RejectAnswer}

# A helper's answers to a request to look at an ask (the value: the ask's id).
# Each acts only for a helper whom leanon asked about that ask.
REQUEST_ACTIONS = frozenset({ActionId.REQUEST_OFFER, ActionId.REQUEST_NOT_NOW, ActionId.REQUEST_STOP})
# What a direct message from leanon carries: buttons that act for the member alone.
DIRECT_ACTIONS = frozenset({ActionId.THANK_HELPER}) | REQUEST_ACTIONS


@dataclass(frozen=True, slots=True)
class Press:
    """A leanon button, pressed: what it is about."""

    action: ActionId
    ask_id: int = 0
    helper_id: str = ""
    answer_id: int = 0

    @property
    def value(self) -> str:
        if self.action is ActionId.THANK_HELPER:
            return f"{self.ask_id}:{self.helper_id}"
        if self.action in _ANSWER_ACTIONS:
            return f"{self.ask_id}:{self.answer_id}"
        if self.action in _FORGET_VALUES:
            return _FORGET_VALUES[self.action]
        return str(self.ask_id)

    def button(self, label: Line, style: ButtonStyle = ButtonStyle.DEFAULT) -> Button:
        return Button(label, self.action, self.value, style)

    def command(self, workspace: WorkspaceRef, actor: Actor) -> Command:
        if self.action is ActionId.OFFER_HELP:
            return OfferHelp(workspace, actor, self.ask_id)
        if self.action is ActionId.RESOLVE:
            return ResolveAsk(workspace, actor, self.ask_id)
        if self.action is ActionId.POST_ASK:
            return PostAsk(workspace, actor, self.ask_id)
        if self.action is ActionId.THANK_HELPER:
            return ThankHelper(workspace, actor, self.ask_id, self.helper_id)
        if self.action in _ANSWER_ACTIONS:
            return _ANSWER_ACTIONS[self.action](workspace, actor, self.ask_id, self.answer_id)
        if self.action is ActionId.REQUEST_OFFER:
            return OfferHelp(workspace, actor, self.ask_id, requested=True)
        if self.action in REQUEST_ACTIONS:
            return AnswerRequest(workspace, actor, self.ask_id,
                                 stop=self.action is ActionId.REQUEST_STOP)
        return ForgetMe(workspace, actor, keep_asks=self.action is ActionId.FORGET_KEEP_ASKS)


def pressed(platform: Platform, action: str, value: str) -> Press | None:
    """The press a button's action and value stand for, on `platform`; None when they are
    not a button leanon made (another app's, an old one, or a forged value)."""
    try:
        act = ActionId(action)
    except ValueError:
        return None
    if act in _FORGET_VALUES:
        return Press(act) if value == _FORGET_VALUES[act] else None
    if act in _ANSWER_ACTIONS:
        ask, _, answer = value.partition(":")
        if not (_ASK_ID.fullmatch(ask) and _ASK_ID.fullmatch(answer)):
            return None
        return Press(act, int(ask), answer_id=int(answer))
    ask, _, helper = value.partition(":") if act is ActionId.THANK_HELPER else (value, "", "")
    if not _ASK_ID.fullmatch(ask):
        return None
    if act is ActionId.THANK_HELPER and not MEMBER_IDS[platform].fullmatch(helper):
        return None
    return Press(act, int(ask), helper)

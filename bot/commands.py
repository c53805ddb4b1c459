"""Commands: what a member (or the scheduler) asks the core to do. Small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.domain import Actor, MessageRef, WorkspaceRef
from bot.hours import HoursSaid


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a command is about (a thanks receiver, a message author); `is_bot` None:
    the delivery did not say (see `Actor`)."""

    user_id: str
    is_bot: bool | None = None


@dataclass(frozen=True, slots=True)
class CreateAsk:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str
    text: str
    tried: str | None = None
    anonymous: bool = False
    request_id: str | None = None
    """The platform's delivery id: working the same delivery again makes no second ask."""


@dataclass(frozen=True, slots=True)
class OfferHelp:
    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    # Pressed on leanon's request to look at the ask: only a helper it asked may.
    requested: bool = False


@dataclass(frozen=True, slots=True)
class ResolveAsk:
    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    # What solved it, from the resolve form (kept in leanon's memory; None: not said).
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PostAsk:
    """"Post my ask anyway": the asker posts an ask held while they looked at what answered
    it before (`suggestions ask-first`)."""

    workspace: WorkspaceRef
    actor: Actor
    ask_id: int


@dataclass(frozen=True, slots=True)
class WithdrawAsk:
    """`/leanon withdraw <ask>`: the asker (or an admin) takes an open ask back; it closes
    as withdrawn and its ladder stops."""

    workspace: WorkspaceRef
    actor: Actor
    ask_id: int


@dataclass(frozen=True, slots=True)
class ReuseAnswer:
    """"This solved it" on a remembered answer offered to a new ask: the ask is resolved as
    answered before, and the helpers of the answer are thanked again."""

    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    answer_id: int


@dataclass(frozen=True, slots=True)
class RejectAnswer:
    """"Not it": the remembered answer offered to the ask is not what it needs."""

    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    answer_id: int


@dataclass(frozen=True, slots=True)
class RunAnswerIndexing:
    """Scheduled: make the search's vectors of answers that have none yet."""


@dataclass(frozen=True, slots=True)
class MarkAnswer:
    """A reply in an ask's thread marked as the answer (a message action): its text says
    what solved the ask, its author is credited as a helper."""

    workspace: WorkspaceRef
    actor: Actor
    message: MessageRef
    author: Person
    text: str
    # The thread's parent (the card), where the platform says it; else the core asks.
    thread: MessageRef | None = None


@dataclass(frozen=True, slots=True)
class ThankHelper:
    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    helper_id: str


@dataclass(frozen=True, slots=True)
class ListAsks:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReactionAdded:
    workspace: WorkspaceRef
    actor: Actor
    author: Person
    message: MessageRef
    emoji: str
    # The parent message when the reacted message sits in a thread.
    thread: MessageRef | None = None
    # False where the platform's event does not say whether it does (Slack): the core then
    # asks the platform (`Directory.thread_of`) after recording the thanks, only in
    # channels with ask cards.
    thread_known: bool = True


@dataclass(frozen=True, slots=True)
class ReactionRemoved:
    workspace: WorkspaceRef
    actor: Actor
    author: Person
    message: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True)
class ThankMembers:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str
    receivers: tuple[Person, ...]
    reason: str | None = None
    # The platform's id for this command delivery, so a retry records nothing twice.
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShowStats:
    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class ShowLeaderboard:
    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class SetNamed:
    """Opt in to (or out of) being named in weekly posts and the leaderboard."""

    workspace: WorkspaceRef
    actor: Actor
    named: bool


@dataclass(frozen=True, slots=True)
class SetHelper:
    """`/leanon helper [on|off] [topics…]`, `/leanon helper topics …`: whether leanon may ask
    the member to look at waiting asks, and on which topics. A part left None stays as it
    is; with both None, the member sees where they stand."""

    workspace: WorkspaceRef
    actor: Actor
    active: bool | None = None
    topics: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SetHours:
    """`/leanon hours 09:00-17:30 [days] [zone]`: when leanon may ask the member."""

    workspace: WorkspaceRef
    actor: Actor
    hours: HoursSaid


@dataclass(frozen=True, slots=True)
class ListHelpers:
    """`/leanon helpers`: the roster, for admins."""

    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """A helper's "Not now" (no more requests today) or "Stop asking me" (no longer a
    helper) on a request to look at an ask."""

    workspace: WorkspaceRef
    actor: Actor
    ask_id: int
    stop: bool


@dataclass(frozen=True, slots=True)
class SetEscalation:
    """`/leanon escalate here` (this channel gets the asks nobody took), `/leanon escalate
    off`, or `/leanon escalate` to see where they go."""

    workspace: WorkspaceRef
    actor: Actor
    here: str  # the channel the command was given in
    choice: str | None = None  # "here", "off", or None to see where they go


@dataclass(frozen=True, slots=True)
class ShowConfig:
    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class ChangeConfig:
    workspace: WorkspaceRef
    actor: Actor
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ForgetMe:
    workspace: WorkspaceRef
    actor: Actor
    # None: explain and offer the choice; True: keep asks as anonymous text; False: delete them.
    keep_asks: bool | None = None


@dataclass(frozen=True, slots=True)
class ExportData:
    workspace: WorkspaceRef
    actor: Actor
    format: str = "json"


@dataclass(frozen=True, slots=True)
class OpenInsights:
    """`/leanon insights`: an admin gets a private one-time link to the insights page."""

    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class ShowHelp:
    workspace: WorkspaceRef
    actor: Actor


@dataclass(frozen=True, slots=True)
class SetNudge:
    """`/leanon nudge here [weekday] [HH:MM] [timezone]`; None takes the default."""

    workspace: WorkspaceRef
    actor: Actor
    channel_id: str
    weekday: int | None = None
    at: time | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class NudgeOff:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str


@dataclass(frozen=True, slots=True)
class NudgePreview:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str


@dataclass(frozen=True, slots=True)
class NudgeNow:
    workspace: WorkspaceRef
    actor: Actor
    channel_id: str


@dataclass(frozen=True, slots=True)
class RunDueNudges:
    """Send every weekly post that is due (the scheduler's tick)."""


@dataclass(frozen=True, slots=True)
class RunAskMaintenance:
    """Send due waiting-ask follow-ups and close expired asks, in every workspace."""


Command = (
    CreateAsk | PostAsk | OfferHelp | ResolveAsk | WithdrawAsk | MarkAnswer | ReuseAnswer | RejectAnswer
    | RunAnswerIndexing | ThankHelper | ListAsks | ReactionAdded
    | ReactionRemoved | ThankMembers | ShowStats | ShowLeaderboard | SetNamed | SetHelper
    | SetHours | ListHelpers | AnswerRequest | SetEscalation | OpenInsights | ShowConfig
    | ChangeConfig | ForgetMe | ExportData | ShowHelp | RunAskMaintenance | SetNudge | NudgeOff
    | NudgePreview | NudgeNow | RunDueNudges
)

"""The domain of leanon: plain dataclasses and enums, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.hours import WorkingHours


class Platform(StrEnum):
    SLACK = "slack"
    DISCORD = "discord"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class WorkspaceRef:
    """A Slack team, a Discord guild or the console's one workspace."""

    platform: Platform
    workspace_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace_id}"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a platform message lives: its channel and its id (Slack ts, Discord snowflake)."""

    channel_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Actor:
    """The member who did something, as the adapter knows them. A flag the platform's
    delivery did not say is None: the core asks the platform's `Directory` when it matters
    (`Deps.is_admin`, `Deps.is_bot`)."""

    user_id: str
    is_admin: bool | None = None
    is_bot: bool | None = None


class LadderStep:
    """The escalation ladder of an ask with no offer: each step taken once, in order."""

    NONE = 0
    TIPS = 1  # the asker privately gets tips to sharpen the ask
    REQUEST = 2  # up to 3 likely helpers get a private request to look
    ESCALATION = 3  # a post in the escalation channel an admin chose


class AskStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"
    # Asked where suggestions come first (`suggestions ask-first`): the asker is looking at
    # what answered it before; posted (open) only when they press Post my ask anyway.
    HELD = "held"


class CloseReason(StrEnum):
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@dataclass(slots=True)
class Ask:
    """A request for help. `asker_id` is None once the asker asked to be forgotten."""

    id: int
    workspace: WorkspaceRef
    channel_id: str
    asker_id: str | None
    text: str
    tried: str | None
    anonymous: bool
    status: AskStatus
    created_at: datetime
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    message: MessageRef | None = None
    follow_up_at: datetime | None = None
    ladder_step: int = 0  # the escalation ladder's last step taken (LadderStep)
    asked_helpers: int = 0  # how many helpers were asked to look (never who, on the card)

    @property
    def is_open(self) -> bool:
        return self.status is AskStatus.OPEN


@dataclass(frozen=True, slots=True)
class NewAsk:
    workspace: WorkspaceRef
    channel_id: str
    asker_id: str
    text: str
    tried: str | None
    anonymous: bool
    created_at: datetime
    request_key: str | None = None
    """The platform delivery that asked for it: the same key is the same ask, however often
    the delivery is worked (an inbox item taken over after a crash)."""
    held: bool = False  # kept unposted while the asker looks at suggestions (AskStatus.HELD)


@dataclass(frozen=True, slots=True)
class Helper:
    """A member's answer to "may leanon ask you to look at waiting asks?" (`/leanon helper`,
    `/leanon hours`). Nobody is asked who is not active, nor outside their hours; a member
    with no hours set is never asked."""

    user_id: str
    active: bool = False
    topics: tuple[str, ...] = ()
    hours: WorkingHours | None = None
    quiet_on: date | None = None  # "Not now": no more requests on this day of theirs


class RequestAnswer(StrEnum):
    """What a helper did with a request to look at an ask."""

    OFFERED = "offered"  # I can help (on the request or on the card)
    NOT_NOW = "not_now"
    STOPPED = "stopped"  # Stop asking me


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """A helper asked privately to look at a waiting ask, on `local_date` of their own."""

    ask_id: int
    helper_id: str
    requested_at: datetime
    local_date: date
    answer: RequestAnswer | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HelpRecord:
    """What leanon's records say of one member and asks like a waiting one: how many
    similar asks they offered on or were thanked for, and when they last helped at all."""

    similar: int = 0
    last_helped: datetime | None = None


WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class InsightWindow:
    """The weeks the insights page counts: `weeks` spans of 7 days, the last ending at
    `until` (now), as the weekly post counts its week. An ask is judged "waited" when it is
    `late_after` old and got no offer within `late_after`."""

    until: datetime
    weeks: int
    late_after: timedelta = timedelta(hours=24)

    @property
    def since(self) -> datetime:
        return self.until - WEEK * self.weeks

    @property
    def starts(self) -> list[datetime]:
        return [self.since + WEEK * i for i in range(self.weeks)]

    def week_of(self, at: datetime) -> int | None:
        """Which week `at` falls in (0: the oldest); None outside the window."""
        if not self.since <= at < self.until:
            return None
        return min((at - self.since) // WEEK, self.weeks - 1)


@dataclass(frozen=True, slots=True)
class AskTally:
    """The asks opened in one week of an `InsightWindow` in one channel."""

    week: int
    channel_id: str
    opened: int
    judged: int  # at least `late_after` old
    late: int  # of those, no offer within `late_after`
    requested: int  # their likely helpers were asked to look (the ladder's request step)
    offered_after_request: int  # of those, an offer came
    escalated: int  # posted in the escalation channel


@dataclass(frozen=True, slots=True)
class InsightTallies:
    """What happened in a workspace in an `InsightWindow`, counted by week and channel, all
    channels: the insights page's numbers come from these (bot/insights.py). Weeks are the
    window's indexes. Anonymous asks count in `asks` only, never as an asker."""

    asks: list[AskTally]
    resolved: dict[tuple[int, str], int]  # (week closed, channel) -> asks resolved
    thanks: dict[tuple[int, str | None], int]  # (week, channel of the message) -> active thanks
    # (week, channel) -> each offered ask's wait for its first offer, in seconds
    first_offer_seconds: dict[tuple[int, str], list[float]]
    offers: dict[tuple[int, str, str], int]  # (week of the ask, channel, helper) -> offers
    askers: set[tuple[int, str, str]]  # (week, channel, asker) of the window's named asks
    # The askers of `askers` whose first ask in the workspace (named or not) is in the
    # window: when it was.
    first_asked: dict[str, datetime]
    from_memory: dict[tuple[int, str], int]  # (week decided, channel) -> "This solved it"
    unnoted_suggestions: dict[tuple[int, str], int]  # (answer, channel) -> times suggested
    # where the answer has no note of what solved it


@dataclass(frozen=True, slots=True)
class Signed:
    """Who a sign-in link or a session of the insights page is for: an admin of a workspace."""

    workspace: WorkspaceRef
    admin_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HelpOffer:
    ask_id: int
    helper_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAnswer:
    """Something leanon remembers as answered: a resolved ask, or a known answer imported."""

    workspace: WorkspaceRef
    question: str
    created_at: datetime
    note: str | None = None  # what solved it
    note_author: str | None = None  # who wrote it (forget-me clears their words)
    ask_id: int | None = None  # None: imported
    channel_id: str | None = None  # where it was asked (None: the whole workspace)
    private: bool = False  # asked in a private channel: offered in that channel alone
    link: str | None = None  # an imported answer's page
    same_as: int | None = None  # resolved by "This solved it": the answer it repeats


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer in leanon's memory (see `NewAnswer`). It never names an asker."""

    id: int
    workspace: WorkspaceRef
    question: str
    created_at: datetime
    updated_at: datetime
    note: str | None = None
    note_author: str | None = None
    ask_id: int | None = None
    channel_id: str | None = None
    private: bool = False
    link: str | None = None
    same_as: int | None = None  # the answer this one repeats ("This solved it")


@dataclass(frozen=True, slots=True)
class AnswerVector:
    """An answer as the answered-before search holds it: the language model's vector of its
    question and note (opaque bytes to the core), where it may be offered, and when the
    vector was made."""

    answer_id: int
    vector: bytes
    made_at: datetime
    channel_id: str | None = None
    private: bool = False


class ThanksSource(StrEnum):
    REACTION = "reaction"
    COMMAND = "command"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class NewThanks:
    """A thanks to record. `dedupe_key` makes repeated deliveries one thanks."""

    workspace: WorkspaceRef
    giver_id: str
    receiver_id: str
    source: ThanksSource
    created_at: datetime
    reason: str | None = None
    message: MessageRef | None = None
    emoji: str | None = None
    ask_id: int | None = None
    dedupe_key: str | None = None
    # The channel it happened in, when there is no message (a /thanks command).
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Thanks:
    id: int
    workspace: WorkspaceRef
    giver_id: str
    receiver_id: str
    source: ThanksSource
    created_at: datetime
    reason: str | None = None
    message: MessageRef | None = None
    emoji: str | None = None
    ask_id: int | None = None
    retracted_at: datetime | None = None
    channel_id: str | None = None


DEFAULT_THANKS_EMOJI: tuple[str, ...] = ("pray", "raised_hands")


class SuggestionMode(StrEnum):
    """Whether a new ask is offered remembered answers (docs/answered-before.md)."""

    ON = "on"
    OFF = "off"
    ASK_FIRST = "ask-first"  # suggestions are shown before the ask is posted


class SuggestionOutcome(StrEnum):
    SOLVED = "solved"  # "This solved it": the new ask is resolved as answered before
    NOT_IT = "not-it"  # "Not it": the match was wrong


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A remembered answer offered to a new ask: when, how likely, and what came of it."""

    ask_id: int
    answer_id: int
    chance: float
    shown_at: datetime
    outcome: SuggestionOutcome | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """A workspace's settings; the defaults are what a new workspace gets."""

    thanks_emoji: tuple[str, ...] = DEFAULT_THANKS_EMOJI
    anonymous_asks: bool = True
    daily_allowance: int | None = None
    stale_after: timedelta = timedelta(hours=2)
    expire_after: timedelta = timedelta(days=14)
    receiver_dm: bool = True
    leaderboard: bool = False
    suggestions: SuggestionMode = SuggestionMode.ON
    tips_after: timedelta | None = timedelta(minutes=15)  # None: no tips
    request_after: timedelta | None = timedelta(minutes=45)  # working time; None: no requests
    daily_requests: int = 2  # requests one helper gets at most on a day of theirs
    escalate_after: timedelta | None = timedelta(hours=4)  # working time; None: never
    escalation_channel: str | None = None  # where escalations go (/leanon escalate here)


@dataclass(frozen=True, slots=True)
class MemberStats:
    asks_opened: int = 0
    asks_resolved: int = 0
    help_offers: int = 0
    thanks_received: int = 0
    thanks_given: int = 0
    thanks_received_week: int = 0


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    user_id: str
    thanks_received: int


@dataclass(frozen=True, slots=True)
class WorkspaceExport:
    """Everything leanon keeps about one workspace, as plain rows."""

    settings: Settings
    asks: list[Ask] = field(default_factory=list)
    offers: list[HelpOffer] = field(default_factory=list)
    thanks: list[Thanks] = field(default_factory=list)


@dataclass(slots=True)
class Schedule:
    """A channel's weekly post (its schedule) and its place in the theme rotation.

    `paused` channels get no weekly post (`/leanon nudge off`) but keep their rotation.
    A fire time before `updated_at` is never due, so setting a schedule never posts at once.
    """

    id: int
    workspace: WorkspaceRef
    channel_id: str
    weekday: int  # 0 = Monday … 6 = Sunday
    at: time  # local wall-clock time
    timezone: str  # IANA name
    paused: bool
    updated_at: datetime
    themes_used: tuple[str, ...] = ()
    posts_sent: int = 0
    failures: int = 0


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"
    POSTED = "posted"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One weekly post of one schedule; `period` is the ISO week, e.g. 2026-W48."""

    id: int
    schedule_id: int
    period: str
    status: DeliveryStatus
    nonce: str
    claimed_at: datetime
    message_id: str | None = None
    completed_at: datetime | None = None


def median_span(values: Sequence[timedelta]) -> timedelta | None:
    """The middle span; the mean of the two middle ones for an even count; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True, slots=True)
class WeeklyNumbers:
    """A channel's numbers for a window (the last 7 days)."""

    asks_opened: int = 0
    asks_resolved: int = 0
    median_first_offer: timedelta | None = None
    thanks_given: int = 0
    helpers: int = 0
    first_time_askers: int = 0


@dataclass(frozen=True, slots=True)
class NewInboxItem:
    """Something a platform delivered and leanon acknowledged: stored before the answer.

    `key` is the platform's delivery id (unique: a redelivery or a replay is no new item);
    `payload` is the adapter's own encoding (JSON text) of what it needs to do the work.
    Outgoing messages are items too (`bot.outbox`): `group` names the notes that may be
    sent as one, `not_before` holds an item back until then; with `owner`, the item is
    stored already taken by that worker until `not_before` (it sends the item at once, and
    when it dies, others take the item over from then on).
    """

    source: str
    key: str
    workspace: WorkspaceRef
    kind: str
    payload: str
    received_at: datetime
    group: str | None = None
    not_before: datetime | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A stored delivery waiting for (or taken by) a worker."""

    id: int
    source: str
    key: str
    workspace: WorkspaceRef
    kind: str
    payload: str
    received_at: datetime
    attempts: int
    group: str | None = None

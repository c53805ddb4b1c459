"""The seams between the core and the world: chat platforms, storage and time."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from bot.domain import (
    Answer,
    AnswerVector,
    Ask,
    Delivery,
    Helper,
    HelpOffer,
    HelpRecord,
    HelpRequest,
    InboxItem,
    InsightTallies,
    InsightWindow,
    LeaderboardEntry,
    MemberStats,
    MessageRef,
    NewAnswer,
    NewAsk,
    NewInboxItem,
    NewThanks,
    RequestAnswer,
    Schedule,
    Settings,
    Signed,
    Suggestion,
    SuggestionOutcome,
    Thanks,
    WeeklyNumbers,
    WorkspaceRef,
)
from bot.messages import Message


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Chat(Protocol):
    """What the core asks of a chat platform. Adapters implement it per platform."""

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        """Post a public message in a channel.

        `nonce`, when given, tags the message so that the same post made again (work taken
        over after a crash) can be found (`OncePoster.find_post`) or is answered with the
        first message by the platform itself (Discord), never shown to members.
        """
        ...

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        """Replace a message the bot posted."""
        ...

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        """Post in the thread of `parent`, starting the thread if there is none; `topic`
        (what the thread is about: the ask's question) names a thread where threads have
        names (Discord)."""
        ...

    async def tell(
        self, workspace: WorkspaceRef, channel_id: str, user_id: str, message: Message
    ) -> None:
        """Tell one member privately (ephemeral or direct message, as the platform can)."""
        ...


@runtime_checkable
class OncePoster(Protocol):
    """What a platform can add to `Chat` so that a weekly post is never posted twice.

    `post_once` tags the message with `nonce` (Discord: an enforced nonce; Slack: message
    metadata); `find_post` finds the bot's message with that nonce posted since `since`,
    for recovering from a crash between posting and recording the post.
    """

    async def post_once(
        self, workspace: WorkspaceRef, channel_id: str, message: Message, nonce: str
    ) -> MessageRef: ...

    async def find_post(
        self, workspace: WorkspaceRef, channel_id: str, nonce: str, since: datetime
    ) -> MessageRef | None: ...


async def post_once(chat: Chat, workspace: WorkspaceRef, channel_id: str, message: Message,
                    nonce: str) -> MessageRef:
    """`chat.post_once` where the platform can tag a post; a plain post where it can't. The
    one place that chooses (the router, the metrics and the outbox call it)."""
    if isinstance(chat, OncePoster):
        return await chat.post_once(workspace, channel_id, message, nonce)
    return await chat.post(workspace, channel_id, message, nonce=nonce)


async def find_post(chat: Chat, workspace: WorkspaceRef, channel_id: str, nonce: str,
                    since: datetime) -> MessageRef | None:
    """`chat.find_post` where the platform can find a tagged post; None where it can't."""
    if isinstance(chat, OncePoster):
        return await chat.find_post(workspace, channel_id, nonce, since)
    return None


@runtime_checkable
class Paced(Protocol):
    """What a platform whose limits are better kept than learned from 429s adds to `Chat`."""

    def pace(self, workspace: WorkspaceRef, kind: str, channel_id: str | None) -> float:
        """Seconds to wait before a call of `kind` ("post", "reply", "tell", "update",
        "lookup") to `channel_id` keeps within the platform's limits; 0: it may go now
        (and is counted)."""
        ...


class Directory(Protocol):
    """What the core asks a platform about its members and threads, when a delivery did
    not say. Each adapter answers from its caches, looking up what they lack; the core
    alone decides what the answers mean (who may resolve, whose thanks count).
    """

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """Whether the member administers the workspace (False when the platform can't say)."""
        ...

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        """Whether the member is a bot or an app, leanon included (False when unknown)."""
        ...

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        """The thread's parent when `ref` is a reply in a thread, else None; ChatError when
        the platform can't say now (the question is asked again later)."""
        ...

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        """The members (not bots) who wrote in `parent`'s thread, first writer first; empty
        when nobody did or the platform won't say."""
        ...

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        """Whether only some members can see the channel (True when the platform can't
        say: what was asked there is then suggested there alone)."""
        ...

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        """The member's IANA time zone as their profile says (Slack); None when the platform
        does not know it (Discord, the console) or can't say now."""
        ...

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        """A web address that opens the message (an ask's card); None when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class Match:
    """A remembered answer the search offers for a new question, with its chance (0 to 1)
    of being what the question repeats."""

    answer_id: int
    chance: float


class AnswerLibrary(Protocol):
    """One workspace's remembered answers, as the search reads them (the core opens the
    units of work)."""

    async def vectors(self, after: datetime | None, from_id: int = 0,
                      limit: int | None = None) -> tuple[int, list[AnswerVector]]:
        """How many answers have a vector by the search's model, and those vectors made
        after `after` (all: None), of answers with ids above from_id, by id, at most
        `limit` (all: None): one read, which reads no vector when none was made after
        `after` (a search that finds its index up to date costs one statement)."""
        ...

    async def keyword(self, text: str, channel_id: str | None, limit: int) -> list[int]:
        """Full-text search among the answers suggested in channel_id, best first."""
        ...


class AnswerSearch(Protocol):
    """The answered-before search (docs/answered-before.md): makes each answer's vector, and
    finds the answers a new question repeats. Its model loads on first use."""

    @property
    def model(self) -> str:
        """Names the vectors it makes (stored with each; another model makes them again)."""
        ...

    async def vectorize(self, question: str, note: str | None) -> bytes:
        """An answer's vector, made from its question and what solved it."""
        ...

    async def similar(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        """At most 3 answers (among those suggested in channel_id) that question likely
        repeats, most likely first; none when nothing is likely enough."""
        ...

    async def related(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        """The answers (among those suggested in channel_id) whose asks are about what
        question is about: more than `similar` finds, and less sure (whose help was
        on asks like it, not what to suggest), most likely first."""
        ...


class AskRepository(Protocol):
    async def add(self, new: NewAsk) -> Ask: ...

    async def get(self, workspace: WorkspaceRef, ask_id: int) -> Ask | None: ...

    async def by_request(self, workspace: WorkspaceRef, request_key: str) -> Ask | None:
        """The ask made by the delivery `request_key`, if it was made already."""
        ...

    async def set_message(self, ask_id: int, ref: MessageRef) -> None: ...

    async def find_by_message(self, workspace: WorkspaceRef, ref: MessageRef) -> Ask | None:
        """The ask whose card is `ref` (for a message in a card's thread, pass the card)."""
        ...

    async def by_messages(self, workspace: WorkspaceRef,
                          refs: Collection[MessageRef]) -> dict[MessageRef, Ask]:
        """The asks whose cards are among `refs`, by card (one query for many reactions)."""
        ...

    async def has_cards_in_channel(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        """True when some ask's card was posted in the channel (its threads may hold thanks).
        Read a moment ago by this process, it may not know of a card another posted since
        (within seconds)."""
        ...

    async def count_by_asker_since(
        self, workspace: WorkspaceRef, asker_id: str, since: datetime
    ) -> int: ...

    async def add_offer(self, ask_id: int, helper_id: str, at: datetime) -> bool:
        """Record a help offer on an existing ask; False when this helper had already offered."""
        ...

    async def offers(self, ask_id: int) -> list[HelpOffer]: ...

    async def close_held(self, created_before: datetime, at: datetime) -> int:
        """Close as withdrawn, in every workspace, the held asks created before
        `created_before` (their askers never posted them); how many."""
        ...

    async def post_held(self, ask_id: int, at: datetime) -> bool:
        """Open a held ask (its asker chose to post it), as asked at `at`; False when it is
        not held (posted already, resolved or closed)."""
        ...

    async def close(self, ask: Ask) -> bool:
        """Store `ask`'s new status and closing time if it is still open (or held); False
        otherwise."""
        ...

    async def list_open(
        self, workspace: WorkspaceRef, channel_id: str | None = None, limit: int = 50
    ) -> list[Ask]:
        """Open asks, oldest first."""
        ...

    async def workspaces_with_open_asks(self) -> list[WorkspaceRef]: ...

    async def waiting_without_offer(
        self, workspace: WorkspaceRef, created_before: datetime
    ) -> list[Ask]:
        """Open asks with no offer and no follow-up yet, created before the given time."""
        ...

    async def claim_follow_up(self, ask_id: int, at: datetime) -> bool:
        """Mark the follow-up as sent; False when another worker already claimed it."""
        ...

    async def waiting_below_step(self, workspace: WorkspaceRef, step: int,
                                 created_before: datetime) -> list[Ask]:
        """Open asks with no offer whose ladder is below `step`, created before the given time."""
        ...

    async def claim_step(self, ask_id: int, step: int, asked_helpers: int | None = None) -> bool:
        """Take the ladder's `step` for the open ask with no offer (and record how many
        helpers it asks, when given); False when it was taken already (by another worker or
        replica), or the ask got an offer or closed."""
        ...

    async def open_created_before(self, workspace: WorkspaceRef, before: datetime) -> list[Ask]: ...

    async def by_asker(self, workspace: WorkspaceRef, asker_id: str) -> list[Ask]: ...

    async def forget_asker(self, workspace: WorkspaceRef, asker_id: str, delete: bool) -> int:
        """Delete the member's asks, or keep them with no asker; remove their offers."""
        ...

    async def export(self, workspace: WorkspaceRef) -> tuple[list[Ask], list[HelpOffer]]: ...


class AnswerRepository(Protocol):
    """leanon's memory of what solved each ask, and of known answers imported."""

    async def add(self, new: NewAnswer) -> Answer: ...

    async def for_ask(self, workspace: WorkspaceRef, ask_id: int) -> Answer | None: ...

    async def set_note(self, answer_id: int, note: str | None, author: str | None,
                       at: datetime) -> None:
        """Replace what solved it (None: no note) and who wrote it."""
        ...

    async def forget_author(self, workspace: WorkspaceRef, user_id: str,
                            kept_asks: Collection[int]) -> int:
        """Forget-me: the notes the member wrote are removed, but on `kept_asks` (their own
        asks, kept anonymously as they chose), where only their name goes; how many."""
        ...

    async def export(self, workspace: WorkspaceRef) -> list[Answer]:
        """Every answer of the workspace, oldest first."""
        ...

    async def get_many(self, workspace: WorkspaceRef, ids: Sequence[int]) -> list[Answer]:
        """The workspace's answers with these ids (those that still exist), in that order."""
        ...

    # The answered-before search (bot/memory.py). A vector is made from an answer's
    # question and note by a model (`model` names it); a changed note clears it.

    async def needing_vectors(self, model: str, limit: int) -> list[Answer]:
        """Answers with no vector by this model, oldest first, of the workspaces whose
        suggestions are on (a workspace with them off costs the search nothing)."""
        ...

    async def set_vector(self, answer_id: int, model: str, vector: bytes, made_from: datetime,
                         at: datetime) -> bool:
        """Store a vector made from the answer as it was at `made_from` (its `updated_at`);
        False, and nothing stored, when it changed since or is gone."""
        ...

    async def vectors(self, workspace: WorkspaceRef, model: str, after: datetime | None = None,
                      from_id: int = 0, limit: int | None = None) -> list[AnswerVector]:
        """The workspace's vectors by this model, made after `after` (all: None), of answers
        with ids above from_id, by id, at most `limit` (all: None)."""
        ...

    async def vector_state(self, workspace: WorkspaceRef, model: str) -> tuple[int, datetime | None]:
        """How many of the workspace's answers have a vector by this model, and when the
        newest of them was made (None: there is none)."""
        ...

    # Suggestions: the remembered answers suggested to a new ask, and the asker's verdict.

    async def suggest(self, workspace: WorkspaceRef, ask_id: int,
                      matches: Sequence[tuple[int, float]], at: datetime) -> None:
        """Record that these answers (id, chance) were suggested to the ask (again: no-op)."""
        ...

    async def suggestion(self, workspace: WorkspaceRef, ask_id: int,
                         answer_id: int) -> Suggestion | None: ...

    async def decide(self, workspace: WorkspaceRef, ask_id: int, answer_id: int,
                     outcome: SuggestionOutcome, at: datetime) -> bool:
        """Record the asker's verdict on a suggested answer, unless one is recorded; whether
        this one was."""
        ...

    async def shown_since(self, workspace: WorkspaceRef, since: datetime) -> list[Suggestion]:
        """The answers suggested to asks since `since`, with any verdict, oldest first."""
        ...

    async def keyword_search(self, workspace: WorkspaceRef, text: str, channel_id: str | None,
                             limit: int) -> list[int]:
        """Full-text search: the ids of the answers sharing most words with text (English
        stemming), best first, among those suggested in channel_id (public ones, and the
        channel's own)."""
        ...


class ThanksRepository(Protocol):
    async def add(self, new: NewThanks) -> Thanks | None:
        """Record a thanks; None when `dedupe_key` already names an active thanks.

        A retracted thanks with the same key becomes active again (same id, first `created_at`).
        """
        ...

    async def retract(self, workspace: WorkspaceRef, dedupe_key: str, at: datetime) -> Thanks | None:
        """Retract the active thanks with this key; None when there is none."""
        ...

    async def add_many(self, news: Sequence[NewThanks]) -> list[bool]:
        """`add` for many thanks of one workspace, each with a distinct `dedupe_key`, in a
        few statements: whether each was recorded (new, or revived), in the order of `news`."""
        ...

    async def link_to_ask(self, workspace: WorkspaceRef, dedupe_key: str, ask_id: int) -> bool:
        """Link the thanks with this key to an ask, unless it is linked already."""
        ...

    async def with_keys(self, workspace: WorkspaceRef, keys: Sequence[str]) -> dict[str, Thanks]:
        """The thanks (active or retracted) that these dedupe keys name, by key."""
        ...

    async def count_given_since(
        self, workspace: WorkspaceRef, giver_id: str, since: datetime
    ) -> int:
        """Active (not retracted) thanks the member gave since `since`."""
        ...

    async def forget_member(self, workspace: WorkspaceRef, user_id: str) -> int:
        """Delete every thanks the member gave or received; the number deleted."""
        ...

    async def export(self, workspace: WorkspaceRef) -> list[Thanks]: ...


class StatsRepository(Protocol):
    async def member_stats(
        self, workspace: WorkspaceRef, user_id: str, week_ago: datetime
    ) -> MemberStats:
        """One member's numbers; active thanks only, `week_ago` bounds the weekly count."""
        ...

    async def leaderboard(
        self, workspace: WorkspaceRef, since: datetime, exclude: set[str], limit: int = 10
    ) -> list[LeaderboardEntry]:
        """Members by active thanks received since `since`, most first, ties by user id."""
        ...

    async def channel_week(
        self, workspace: WorkspaceRef, channel_id: str, since: datetime, until: datetime
    ) -> WeeklyNumbers:
        """The channel's numbers for [since, until).

        Asks opened/resolved in the window in the channel; the median time from an ask's
        creation to its first offer (asks opened in the window that got one); active thanks
        given in the channel (thanks.channel_id or the message's channel); distinct helpers
        (suggested on the channel's asks or received thanks in it); askers whose first ask in
        the workspace was opened in the window (in this channel).
        """
        ...

    async def thanked(
        self, workspace: WorkspaceRef, channel_id: str, since: datetime, until: datetime
    ) -> list[str]:
        """Distinct receivers of active thanks in the channel in the window, first thanked first."""
        ...


class ScheduleRepository(Protocol):
    async def get(self, workspace: WorkspaceRef, channel_id: str) -> Schedule | None: ...

    async def by_id(self, schedule_id: int) -> Schedule | None: ...

    async def upsert(
        self, workspace: WorkspaceRef, channel_id: str, weekday: int, at: time, timezone: str,
        paused: bool, now: datetime,
    ) -> Schedule:
        """Create or change the channel's schedule (keeping its rotation); resets failures."""
        ...

    async def set_paused(self, schedule_id: int, paused: bool, now: datetime) -> None: ...

    async def active(self) -> list[Schedule]:
        """Every schedule that is not paused, in every workspace."""
        ...

    async def record_rotation(
        self, schedule_id: int, themes_used: tuple[str, ...], posts_sent: int
    ) -> None: ...

    async def record_failure(self, schedule_id: int) -> int:
        """Count one more failed post in a row; the new count."""
        ...

    async def reset_failures(self, schedule_id: int) -> None: ...


class DeliveryRepository(Protocol):
    async def claim(self, schedule_id: int, period: str, nonce: str, at: datetime) -> Delivery | None:
        """Claim the (schedule, period) post; None when a delivery for it exists already.

        Made atomic by a unique key on (schedule_id, period), not by a check in Python.
        """
        ...

    async def get(self, schedule_id: int, period: str) -> Delivery | None: ...

    async def reclaim(self, delivery: Delivery, at: datetime) -> bool:
        """Take over a claim left behind (a crash); False when someone else changed it first."""
        ...

    async def complete(self, delivery_id: int, message_id: str, at: datetime) -> None: ...

    async def release(self, delivery_id: int) -> None:
        """Drop a claim whose post failed, so that a later tick tries again."""
        ...

    async def skip(self, schedule_id: int, period: str, nonce: str, at: datetime) -> bool:
        """Record a missed period as skipped; False when it had a delivery already."""
        ...


class WorkspaceRepository(Protocol):
    async def settings(self, workspace: WorkspaceRef) -> Settings:
        """The workspace's settings (defaults when it has none stored)."""
        ...

    async def recent_settings(self, workspace: WorkspaceRef) -> Settings:
        """`settings` as this process read them a moment ago, for work that reads them
        often (a batch of reactions): a change made elsewhere is seen within seconds, one
        saved by this process at once. Not for read-then-save: use `settings`."""
        ...

    async def save_settings(self, workspace: WorkspaceRef, settings: Settings) -> None: ...


class MemberRepository(Protocol):
    async def opted_out(self, workspace: WorkspaceRef) -> set[str]:
        """Members who asked not to be named in posts and leaderboards."""
        ...

    async def set_opted_out(self, workspace: WorkspaceRef, user_id: str, opted_out: bool) -> None: ...

    async def forget(self, workspace: WorkspaceRef, user_id: str) -> None:
        """Delete what leanon remembers about the member beyond asks and thanks (their
        preferences and their helper entry)."""
        ...

    async def helper(self, workspace: WorkspaceRef, user_id: str) -> Helper | None:
        """The member's helper entry; None when they never set one."""
        ...

    async def save_helper(self, workspace: WorkspaceRef, helper: Helper, now: datetime) -> None: ...

    async def helpers(self, workspace: WorkspaceRef) -> list[Helper]:
        """Every helper entry of the workspace (active or not), by member id."""
        ...

    async def lock(self, workspace: WorkspaceRef, user_id: str) -> None:
        """Hold the member's lock until this unit of work ends: their concurrent units of
        work that take it run one after the other, so a count-then-insert limit holds."""
        ...


class HelpRequestRepository(Protocol):
    """Helpers asked to look at waiting asks (the ladder's request step), and the records
    that choose whom to ask."""

    async def add(self, workspace: WorkspaceRef, requests: Sequence[HelpRequest]) -> None: ...

    async def since(self, workspace: WorkspaceRef, since: datetime) -> list[HelpRequest]:
        """The requests made since `since`, oldest first."""
        ...

    async def answer(self, workspace: WorkspaceRef, ask_id: int, helper_id: str,
                     answer: RequestAnswer, at: datetime) -> bool:
        """Record what the helper did with their request about the ask (the first answer
        is kept); False when leanon never asked them about it."""
        ...

    async def answered(self, workspace: WorkspaceRef, channel_id: str, since: datetime,
                       until: datetime) -> list[str]:
        """Who offered help on a request about an ask of the channel within the window."""
        ...

    async def records(self, workspace: WorkspaceRef, ask_ids: Collection[int],
                      user_ids: Collection[str]) -> dict[str, HelpRecord]:
        """For each member of user_ids who ever helped: how many of the asks they offered
        on or were thanked for, and when they last offered help or were thanked."""
        ...


class InsightRepository(Protocol):
    """The insights page's one-time sign-in links and sessions, by their tokens' hashes."""

    async def add_link(self, token_hash: str, signed: Signed, at: datetime) -> None: ...

    async def use_link(self, token_hash: str, at: datetime) -> Signed | None:
        """The link's admin and workspace, marking it used; None when it is unknown, used
        already or expired."""
        ...

    async def add_session(self, token_hash: str, signed: Signed, at: datetime) -> None: ...

    async def session(self, token_hash: str, at: datetime) -> Signed | None:
        """The session's admin and workspace; None when unknown, ended or expired."""
        ...

    async def end_session(self, token_hash: str, at: datetime) -> bool: ...

    async def prune(self, before: datetime) -> int:
        """Delete the links and sessions expired before `before`; how many."""
        ...

    async def tallies(self, workspace: WorkspaceRef, window: InsightWindow) -> InsightTallies:
        """What happened in the workspace in the window, counted by week and channel (the
        database does the counting: a large workspace has hundreds of thousands of rows in
        a window)."""
        ...


class InboxRepository(Protocol):
    """Deliveries acknowledged to a platform and not yet worked (see `bot.inbox`).

    An item is claimed with a lease: its owner works it and completes it; when the owner
    dies, the lease runs out and any worker of any process takes the item over.
    """

    async def put_many(self, items: Sequence[NewInboxItem]) -> list[int | None]:
        """Store `items` in one statement; for each, in order, its new id, or None when an
        item with its key is stored already (or comes earlier in `items`). An item with an
        `owner` is stored as taken by it: its first attempt."""
        ...

    async def claim(self, sources: Collection[str], owner: str, now: datetime,
                    lease_until: datetime, limit: int) -> list[InboxItem]:
        """Take up to `limit` waiting items (never claimed, or their lease ran out).

        Fair between workspaces: the oldest item of each workspace with work comes before
        a second item of any of them, so that one flooding workspace delays no other.
        """
        ...

    async def renew(self, ids: Collection[int], owner: str, lease_until: datetime) -> None:
        """Extend the lease of the items `owner` is still working."""
        ...

    async def complete(self, item_ids: Collection[int], at: datetime) -> None: ...

    async def retry(self, item_id: int, not_before: datetime, error: str) -> None:
        """Give the item back, to be taken again from `not_before` on."""
        ...

    async def give_up(self, item_id: int, at: datetime, error: str) -> None:
        """Stop trying: the item is kept as done, with why."""
        ...

    async def postpone(self, item_id: int, not_before: datetime) -> None:
        """Give the item back untried (not an attempt), to be taken from `not_before` on."""
        ...

    async def waiting_in_groups(self, groups: Collection[str],
                                recent: bool = False) -> dict[str, InboxItem]:
        """By group, the newest item of each of `groups` that is waiting and not taken by
        a worker (groups with none are left out), locked until the unit of work ends: the
        caller rewrites them (`replace_payloads`), and another unit of work doing the same
        reads them once this one has committed.

        `recent`: read nothing; the items as this process last read or rewrote them, for the
        groups it knows (they may have changed since: `replace_payloads` then leaves them
        as they are)."""
        ...

    async def pending_in_groups(self, groups: Collection[str]) -> set[str]:
        """Those of `groups` with an item not done yet (waiting, or taken by a worker)."""
        ...

    async def replace_payloads(self, payloads: Mapping[int, tuple[str, str]]) -> set[int]:
        """Change waiting items' payloads, by id `(as read, new)`, in one statement; the ids
        changed. An item is changed only while it waits untaken and still holds its payload
        as read: the others were taken by a worker, or changed by another unit of work, in
        the meantime (on PostgreSQL the statement locks the items it changes, in the order
        of their ids)."""
        ...

    async def last_done_in_groups(self, groups: Collection[str],
                                  since: datetime) -> dict[str, datetime]:
        """By group, when the last item of each of `groups` done since `since` was done
        (groups with none are left out)."""
        ...

    async def waiting(self, sources: Collection[str], due_by: datetime | None = None) -> int:
        """How many items are not done yet (with `due_by`: only those that may be taken
        then, not those held back for later)."""
        ...

    async def prune(self, done_before: datetime, limit: int = 1000) -> int:
        """Forget done items (their keys no longer stop replays, which platforms stop
        making within minutes); the number removed."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the repositories. Leaving without `commit()` rolls back."""

    asks: AskRepository
    answers: AnswerRepository
    thanks: ThanksRepository
    stats: StatsRepository
    schedules: ScheduleRepository
    deliveries: DeliveryRepository
    workspaces: WorkspaceRepository
    members: MemberRepository
    requests: HelpRequestRepository
    insights: InsightRepository
    inbox: InboxRepository
    commits: int  # how many times `commit()` succeeded

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class LeaderLock(Protocol):
    """Elects the one process that runs scheduled work (a PostgreSQL advisory lock)."""

    async def acquire(self) -> bool:
        """Without waiting: True when this process holds the lock (now or already).

        StorageError when the database is unreachable: take that as "not the leader".
        """
        ...

    async def release(self) -> None:
        """Give the lock up (never raises)."""
        ...

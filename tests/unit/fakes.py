"""In-memory fakes for every port in bot.ports, in the cosmicpython style: they record.

`FakeStore` holds the data that all units of work share. A `FakeUnitOfWork` works on a
copy of that data and writes it back only on `commit()`, so leaving one without a
commit changes nothing, as with a database transaction.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

from bot.commands import Command, CreateAsk, OfferHelp
from bot.deps import Deps
from bot.domain import (
    Actor,
    Answer,
    AnswerVector,
    Ask,
    AskStatus,
    AskTally,
    CloseReason,
    Helper,
    HelpOffer,
    HelpRecord,
    HelpRequest,
    InboxItem,
    InsightTallies,
    InsightWindow,
    LadderStep,
    LeaderboardEntry,
    MemberStats,
    MessageRef,
    NewAnswer,
    NewAsk,
    NewInboxItem,
    NewThanks,
    Platform,
    RequestAnswer,
    Settings,
    Signed,
    Suggestion,
    SuggestionMode,
    SuggestionOutcome,
    Thanks,
    WeeklyNumbers,
    WorkspaceRef,
)
from bot.errors import ChatError, StorageError
from bot.messages import Mention, Message, Part, Reply, UserText
from bot.ports import (
    AnswerRepository,
    AnswerSearch,
    AskRepository,
    Chat,
    Clock,
    HelpRequestRepository,
    InboxRepository,
    InsightRepository,
    MemberRepository,
    StatsRepository,
    ThanksRepository,
    UnitOfWork,
    WorkspaceRepository,
)
from bot.service import Leanon

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday morning
WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER_WS = WorkspaceRef(Platform.DISCORD, "G9")
CHANNEL = "C1"
OTHER_CHANNEL = "C2"

# Distinctive ids, so that "does this text contain the id" has no false positives.
ASKER = "U_ASKER"
HELPER = "U_HELPER"
HELPER2 = "U_HELPER_TWO"
OTHER = "U_OTHER"
ADMIN = "U_ADMIN"
BOT = "U_LEANON_BOT"

GOOD_QUESTION = "How do I rotate the staging database keys without downtime?"


def member(user_id: str, *, admin: bool = False, bot: bool = False) -> Actor:
    return Actor(user_id=user_id, is_admin=admin, is_bot=bot)


# --- time -------------------------------------------------------------------------------


class FixedClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        assert now.tzinfo is not None, "the core works in aware UTC datetimes"
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, now: datetime) -> None:
        assert now.tzinfo is not None
        self._now = now


# --- storage ----------------------------------------------------------------------------


@dataclass
class StoredThanks:
    thanks: Thanks
    dedupe_key: str | None


@dataclass
class FakeInboxRow:
    id: int
    new: NewInboxItem
    payload: str
    attempts: int = 0
    owner: str | None = None
    lease_until: datetime | None = None
    done_at: datetime | None = None
    error: str | None = None

    def item(self) -> InboxItem:
        n = self.new
        return InboxItem(id=self.id, source=n.source, key=n.key, workspace=n.workspace,
                         kind=n.kind, payload=self.payload, received_at=n.received_at,
                         attempts=self.attempts, group=n.group)

    def waiting(self, now: datetime) -> bool:
        return self.done_at is None and (self.lease_until is None or self.lease_until <= now)


@dataclass
class StoreData:
    """Everything the fake database holds. Copied per unit of work, written back on commit."""

    asks: dict[int, Ask] = field(default_factory=dict)
    offers: list[HelpOffer] = field(default_factory=list)
    answers: dict[int, Answer] = field(default_factory=dict)
    # answer id -> (model, vector, made at); dropped when the answer's note changes
    answer_vectors: dict[int, tuple[str, bytes, datetime]] = field(default_factory=dict)
    suggestions: dict[tuple[int, int], Suggestion] = field(default_factory=dict)  # (ask, answer)
    thanks: dict[int, StoredThanks] = field(default_factory=dict)
    settings: dict[WorkspaceRef, Settings] = field(default_factory=dict)
    opted_out: dict[WorkspaceRef, set[str]] = field(default_factory=dict)
    forgotten: list[tuple[WorkspaceRef, str]] = field(default_factory=list)
    helpers: dict[WorkspaceRef, dict[str, Helper]] = field(default_factory=dict)
    requests: dict[WorkspaceRef, list[HelpRequest]] = field(default_factory=dict)
    # token hash -> (who, used or ended at)
    insight_links: dict[str, tuple[Signed, datetime | None]] = field(default_factory=dict)
    insight_sessions: dict[str, tuple[Signed, datetime | None]] = field(default_factory=dict)
    inbox: dict[int, FakeInboxRow] = field(default_factory=dict)


class FakeStore:
    """The data shared by all units of work, plus id sequences (never rolled back, like a DB)."""

    def __init__(self) -> None:
        self.data = StoreData()
        self.version = 0  # bumped by every commit
        self._ask_ids = itertools.count(1)
        self._thanks_ids = itertools.count(1)
        self.answer_ids = itertools.count(1)
        self.inbox_ids = itertools.count(1)
        self.ask_requests: dict[tuple[WorkspaceRef, str], int] = {}  # never rolled back
        self.units: list[FakeUnitOfWork] = []

    def uow(self) -> FakeUnitOfWork:
        unit = FakeUnitOfWork(self)
        self.units.append(unit)
        return unit

    @property
    def committed(self) -> int:
        """Commits over all units of work so far."""
        return sum(u.committed for u in self.units)

    # Read helpers for assertions (committed data only).

    def asks(self) -> list[Ask]:
        return [copy.copy(a) for a in sorted(self.data.asks.values(), key=lambda a: a.id)]

    def ask(self, ask_id: int) -> Ask:
        """The stored ask (it must exist; check `asks()` for one that may be gone)."""
        return copy.copy(self.data.asks[ask_id])

    def offers(self, ask_id: int | None = None) -> list[HelpOffer]:
        return [o for o in self.data.offers if ask_id is None or o.ask_id == ask_id]

    def answers(self) -> list[Answer]:
        return [a for _, a in sorted(self.data.answers.items())]

    def all_thanks(self) -> list[Thanks]:
        return [s.thanks for _, s in sorted(self.data.thanks.items())]

    def active_thanks(self) -> list[Thanks]:
        return [t for t in self.all_thanks() if t.retracted_at is None]

    def settings(self, workspace: WorkspaceRef = WS) -> Settings:
        return self.data.settings.get(workspace, Settings())

    def put_settings(self, settings: Settings, workspace: WorkspaceRef = WS) -> None:
        self.data.settings[workspace] = settings


class FakeAskRepository:
    def __init__(self, store: FakeStore, data: StoreData) -> None:
        self._store = store
        self._data = data

    async def add(self, new: NewAsk) -> Ask:
        ask = Ask(id=next(self._store._ask_ids), workspace=new.workspace, channel_id=new.channel_id,
                  asker_id=new.asker_id, text=new.text, tried=new.tried, anonymous=new.anonymous,
                  status=AskStatus.HELD if new.held else AskStatus.OPEN,
                  created_at=new.created_at)
        self._data.asks[ask.id] = ask
        if new.request_key is not None:
            self._store.ask_requests[(new.workspace, new.request_key)] = ask.id
        return copy.copy(ask)

    async def by_request(self, workspace: WorkspaceRef, request_key: str) -> Ask | None:
        ask_id = self._store.ask_requests.get((workspace, request_key))
        return await self.get(workspace, ask_id) if ask_id is not None else None

    async def get(self, workspace: WorkspaceRef, ask_id: int) -> Ask | None:
        ask = self._data.asks.get(ask_id)
        return copy.copy(ask) if ask is not None and ask.workspace == workspace else None

    async def set_message(self, ask_id: int, ref: MessageRef) -> None:
        self._data.asks[ask_id].message = ref

    async def find_by_message(self, workspace: WorkspaceRef, ref: MessageRef) -> Ask | None:
        for ask in self._data.asks.values():
            if ask.workspace == workspace and ask.message == ref:
                return copy.copy(ask)
        return None

    async def by_messages(self, workspace: WorkspaceRef,
                          refs: Collection[MessageRef]) -> dict[MessageRef, Ask]:
        found: dict[MessageRef, Ask] = {}
        for ref in refs:
            ask = await self.find_by_message(workspace, ref)
            if ask is not None:
                found[ref] = ask
        return found

    async def has_cards_in_channel(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        return any(ask.workspace == workspace and ask.message is not None
                   and ask.message.channel_id == channel_id for ask in self._data.asks.values())

    async def count_by_asker_since(self, workspace: WorkspaceRef, asker_id: str,
                                   since: datetime) -> int:
        return sum(1 for a in self._data.asks.values()
                   if a.workspace == workspace and a.asker_id == asker_id and a.created_at >= since)

    async def add_offer(self, ask_id: int, helper_id: str, at: datetime) -> bool:
        if any(o.ask_id == ask_id and o.helper_id == helper_id for o in self._data.offers):
            return False
        self._data.offers.append(HelpOffer(ask_id, helper_id, at))
        return True

    async def offers(self, ask_id: int) -> list[HelpOffer]:
        return [o for o in self._data.offers if o.ask_id == ask_id]

    async def close(self, ask: Ask) -> bool:
        stored = self._data.asks.get(ask.id)
        if stored is None or stored.status not in (AskStatus.OPEN, AskStatus.HELD):
            return False
        stored.status = ask.status
        stored.closed_at = ask.closed_at
        stored.close_reason = ask.close_reason
        return True

    async def close_held(self, created_before: datetime, at: datetime) -> int:
        held = [a for a in self._data.asks.values()
                if a.status is AskStatus.HELD and a.created_at < created_before]
        for ask in held:
            ask.status, ask.closed_at, ask.close_reason = AskStatus.CLOSED, at, CloseReason.WITHDRAWN
        return len(held)

    async def post_held(self, ask_id: int, at: datetime) -> bool:
        stored = self._data.asks.get(ask_id)
        if stored is None or stored.status is not AskStatus.HELD:
            return False
        stored.status, stored.created_at = AskStatus.OPEN, at
        return True

    def _open(self, workspace: WorkspaceRef) -> list[Ask]:
        return sorted((a for a in self._data.asks.values() if a.workspace == workspace and a.is_open),
                      key=lambda a: (a.created_at, a.id))

    async def list_open(self, workspace: WorkspaceRef, channel_id: str | None = None,
                        limit: int = 50) -> list[Ask]:
        found = [a for a in self._open(workspace) if channel_id is None or a.channel_id == channel_id]
        return [copy.copy(a) for a in found[:limit]]

    async def workspaces_with_open_asks(self) -> list[WorkspaceRef]:
        return list(dict.fromkeys(a.workspace for a in self._data.asks.values() if a.is_open))

    async def waiting_without_offer(self, workspace: WorkspaceRef,
                                    created_before: datetime) -> list[Ask]:
        offered = {o.ask_id for o in self._data.offers}
        return [copy.copy(a) for a in self._open(workspace)
                if a.id not in offered and a.follow_up_at is None and a.created_at < created_before]

    async def waiting_below_step(self, workspace: WorkspaceRef, step: int,
                                 created_before: datetime) -> list[Ask]:
        offered = {o.ask_id for o in self._data.offers}
        return [copy.copy(a) for a in self._open(workspace)
                if a.id not in offered and a.ladder_step < step and a.created_at < created_before]

    async def claim_step(self, ask_id: int, step: int, asked_helpers: int | None = None) -> bool:
        ask = self._data.asks.get(ask_id)
        offered = any(o.ask_id == ask_id for o in self._data.offers)
        if ask is None or not ask.is_open or offered or ask.ladder_step >= step:
            return False
        ask.ladder_step = step
        if asked_helpers is not None:
            ask.asked_helpers = asked_helpers
        return True

    async def claim_follow_up(self, ask_id: int, at: datetime) -> bool:
        ask = self._data.asks.get(ask_id)
        if ask is None or ask.follow_up_at is not None:
            return False
        ask.follow_up_at = at
        return True

    async def open_created_before(self, workspace: WorkspaceRef, before: datetime) -> list[Ask]:
        return [copy.copy(a) for a in self._open(workspace) if a.created_at < before]

    async def by_asker(self, workspace: WorkspaceRef, asker_id: str) -> list[Ask]:
        return [copy.copy(a) for a in sorted(self._data.asks.values(), key=lambda a: a.id)
                if a.workspace == workspace and a.asker_id == asker_id]

    async def forget_asker(self, workspace: WorkspaceRef, asker_id: str, delete: bool) -> int:
        mine = [a for a in self._data.asks.values()
                if a.workspace == workspace and a.asker_id == asker_id]
        ids = {a.id for a in mine}
        in_workspace = {a.id for a in self._data.asks.values() if a.workspace == workspace}
        if delete:
            for ask_id in ids:
                del self._data.asks[ask_id]
            self._data.answers = {k: a for k, a in self._data.answers.items()
                                  if a.ask_id not in ids}  # ON DELETE CASCADE
            self._data.answers = {  # answers.same_as_id: ON DELETE SET NULL
                k: replace(a, same_as=None) if a.same_as not in self._data.answers else a
                for k, a in self._data.answers.items()}
        else:
            for ask in mine:
                ask.asker_id = None
                ask.anonymous = True
        self._data.offers = [
            o for o in self._data.offers
            if not (delete and o.ask_id in ids)
            and not (o.ask_id in in_workspace and o.helper_id == asker_id)
        ]
        return len(mine)

    async def export(self, workspace: WorkspaceRef) -> tuple[list[Ask], list[HelpOffer]]:
        asks = [copy.copy(a) for a in sorted(self._data.asks.values(), key=lambda a: a.id)
                if a.workspace == workspace]
        ids = {a.id for a in asks}
        return asks, [o for o in self._data.offers if o.ask_id in ids]


class FakeAnswerRepository:
    def __init__(self, store: FakeStore, data: StoreData) -> None:
        self._store = store
        self._data = data

    async def add(self, new: NewAnswer) -> Answer:
        if new.ask_id is not None and any(a.ask_id == new.ask_id
                                          for a in self._data.answers.values()):
            raise StorageError("answers: one per ask")  # the unique key
        answer = Answer(id=next(self._store.answer_ids), workspace=new.workspace,
                        question=new.question, created_at=new.created_at,
                        updated_at=new.created_at, note=new.note, note_author=new.note_author,
                        ask_id=new.ask_id,
                        channel_id=new.channel_id, private=new.private, link=new.link,
                        same_as=new.same_as)
        self._data.answers[answer.id] = answer
        return answer

    async def for_ask(self, workspace: WorkspaceRef, ask_id: int) -> Answer | None:
        return next((a for a in self._data.answers.values()
                     if a.workspace == workspace and a.ask_id == ask_id), None)

    async def set_note(self, answer_id: int, note: str | None, author: str | None,
                       at: datetime) -> None:
        if (answer := self._data.answers.get(answer_id)) is not None:
            self._data.answers[answer_id] = replace(answer, note=note, note_author=author,
                                                    updated_at=at)
            self._data.answer_vectors.pop(answer_id, None)

    async def forget_author(self, workspace: WorkspaceRef, user_id: str,
                            kept_asks: Collection[int]) -> int:
        cleared = 0
        for key, answer in list(self._data.answers.items()):
            if answer.workspace != workspace or answer.note_author != user_id:
                continue
            if answer.ask_id in kept_asks:
                self._data.answers[key] = replace(answer, note_author=None)
            else:
                self._data.answers[key] = replace(answer, note=None, note_author=None)
                self._data.answer_vectors.pop(key, None)
                cleared += 1
        return cleared

    async def export(self, workspace: WorkspaceRef) -> list[Answer]:
        return [a for _, a in sorted(self._data.answers.items()) if a.workspace == workspace]

    async def get_many(self, workspace: WorkspaceRef, ids: Sequence[int]) -> list[Answer]:
        found = [self._data.answers.get(i) for i in ids]
        return [a for a in found if a is not None and a.workspace == workspace]

    async def needing_vectors(self, model: str, limit: int) -> list[Answer]:
        vectors = self._data.answer_vectors
        settings = self._data.settings
        return [a for i, a in sorted(self._data.answers.items())
                if vectors.get(i, ("",))[0] != model
                and settings.get(a.workspace, Settings()).suggestions is SuggestionMode.ON][:limit]

    async def set_vector(self, answer_id: int, model: str, vector: bytes, made_from: datetime,
                         at: datetime) -> bool:
        answer = self._data.answers.get(answer_id)
        if answer is None or answer.updated_at != made_from:
            return False
        self._data.answer_vectors[answer_id] = (model, vector, at)
        return True

    async def vectors(self, workspace: WorkspaceRef, model: str,
                      after: datetime | None = None, from_id: int = 0,
                      limit: int | None = None) -> list[AnswerVector]:
        return self._vectors(workspace, model, after, from_id)[:limit]

    def _vectors(self, workspace: WorkspaceRef, model: str, after: datetime | None = None,
                 from_id: int = 0) -> list[AnswerVector]:
        found = []
        for answer_id, (made_by, vector, at) in sorted(self._data.answer_vectors.items()):
            answer = self._data.answers.get(answer_id)
            if (answer is None or answer.workspace != workspace or made_by != model
                    or (after is not None and at <= after) or answer_id <= from_id):
                continue
            found.append(AnswerVector(answer_id, vector, at, answer.channel_id, answer.private))
        return found

    async def vector_state(self, workspace: WorkspaceRef, model: str) -> tuple[int, datetime | None]:
        found = self._vectors(workspace, model)
        return len(found), max((v.made_at for v in found), default=None)

    async def suggest(self, workspace: WorkspaceRef, ask_id: int,
                      matches: Sequence[tuple[int, float]], at: datetime) -> None:
        for answer_id, chance in matches:
            self._data.suggestions.setdefault((ask_id, answer_id),
                                              Suggestion(ask_id, answer_id, chance, at))

    async def suggestion(self, workspace: WorkspaceRef, ask_id: int,
                         answer_id: int) -> Suggestion | None:
        found = self._data.suggestions.get((ask_id, answer_id))
        ask = self._data.asks.get(ask_id)
        alive = ask is not None and ask.workspace == workspace and answer_id in self._data.answers
        return found if alive else None  # ON DELETE CASCADE, both ways

    async def decide(self, workspace: WorkspaceRef, ask_id: int, answer_id: int,
                     outcome: SuggestionOutcome, at: datetime) -> bool:
        found = await self.suggestion(workspace, ask_id, answer_id)
        if found is None or found.outcome is not None:
            return False
        self._data.suggestions[(ask_id, answer_id)] = replace(found, outcome=outcome, decided_at=at)
        return True

    async def shown_since(self, workspace: WorkspaceRef, since: datetime) -> list[Suggestion]:
        found = [s for (ask_id, answer_id), s in self._data.suggestions.items()
                 if s.shown_at >= since
                 and await self.suggestion(workspace, ask_id, answer_id) is not None]
        return sorted(found, key=lambda s: s.shown_at)

    async def keyword_search(self, workspace: WorkspaceRef, text: str, channel_id: str | None,
                             limit: int) -> list[int]:
        # Shared words (no stemming), most first: enough for the core's tests.
        asked = set(text.casefold().split())
        scored = []
        for answer in self._data.answers.values():
            if answer.workspace != workspace or (answer.private and answer.channel_id != channel_id):
                continue
            shared = len(asked & set(f"{answer.question} {answer.note or ''}".casefold().split()))
            if shared:
                scored.append((-shared, answer.id))
        return [answer_id for _, answer_id in sorted(scored)[:limit]]


class FakeThanksRepository:
    def __init__(self, store: FakeStore, data: StoreData) -> None:
        self._store = store
        self._data = data

    def _by_key(self, workspace: WorkspaceRef, key: str) -> StoredThanks | None:
        for stored in self._data.thanks.values():
            if stored.dedupe_key == key and stored.thanks.workspace == workspace:
                return stored
        return None

    async def add(self, new: NewThanks) -> Thanks | None:
        if new.dedupe_key is not None:
            existing = self._by_key(new.workspace, new.dedupe_key)
            if existing is not None:
                if existing.thanks.retracted_at is None:
                    return None
                existing.thanks = replace(existing.thanks, retracted_at=None)
                return existing.thanks
        thanks = Thanks(id=next(self._store._thanks_ids), workspace=new.workspace,
                        giver_id=new.giver_id, receiver_id=new.receiver_id, source=new.source,
                        created_at=new.created_at, reason=new.reason, message=new.message,
                        emoji=new.emoji, ask_id=new.ask_id,
                        channel_id=new.message.channel_id if new.message else new.channel_id)
        self._data.thanks[thanks.id] = StoredThanks(thanks, new.dedupe_key)
        return thanks

    async def retract(self, workspace: WorkspaceRef, dedupe_key: str, at: datetime) -> Thanks | None:
        stored = self._by_key(workspace, dedupe_key)
        if stored is None or stored.thanks.retracted_at is not None:
            return None
        stored.thanks = replace(stored.thanks, retracted_at=at)
        return stored.thanks

    async def add_many(self, news: Sequence[NewThanks]) -> list[bool]:
        keys = [new.dedupe_key for new in news]
        assert None not in keys and len(set(keys)) == len(keys)
        assert len({new.workspace for new in news}) <= 1
        return [await self.add(new) is not None for new in news]

    async def link_to_ask(self, workspace: WorkspaceRef, dedupe_key: str, ask_id: int) -> bool:
        if ask_id not in self._data.asks:  # as the database's foreign key says
            raise StorageError(f"link_to_ask failed: no ask {ask_id}")
        stored = self._by_key(workspace, dedupe_key)
        if stored is None or stored.thanks.ask_id is not None:
            return False
        stored.thanks = replace(stored.thanks, ask_id=ask_id)
        return True

    async def with_keys(self, workspace: WorkspaceRef, keys: Sequence[str]) -> dict[str, Thanks]:
        found = {key: self._by_key(workspace, key) for key in keys}
        return {key: stored.thanks for key, stored in found.items() if stored is not None}

    async def count_given_since(self, workspace: WorkspaceRef, giver_id: str,
                                since: datetime) -> int:
        return sum(1 for s in self._data.thanks.values()
                   if s.thanks.workspace == workspace and s.thanks.giver_id == giver_id
                   and s.thanks.retracted_at is None and s.thanks.created_at >= since)

    async def forget_member(self, workspace: WorkspaceRef, user_id: str) -> int:
        gone = [i for i, s in self._data.thanks.items()
                if s.thanks.workspace == workspace and user_id in (s.thanks.giver_id,
                                                                   s.thanks.receiver_id)]
        for thanks_id in gone:
            del self._data.thanks[thanks_id]
        return len(gone)

    async def export(self, workspace: WorkspaceRef) -> list[Thanks]:
        return [s.thanks for _, s in sorted(self._data.thanks.items())
                if s.thanks.workspace == workspace]


class FakeStatsRepository:
    def __init__(self, data: StoreData) -> None:
        self._data = data

    def _active(self, workspace: WorkspaceRef) -> list[Thanks]:
        return [s.thanks for s in self._data.thanks.values()
                if s.thanks.workspace == workspace and s.thanks.retracted_at is None]

    async def member_stats(self, workspace: WorkspaceRef, user_id: str,
                           week_ago: datetime) -> MemberStats:
        asks = [a for a in self._data.asks.values()
                if a.workspace == workspace and a.asker_id == user_id]
        in_workspace = {a.id for a in self._data.asks.values() if a.workspace == workspace}
        thanks = self._active(workspace)
        received = [t for t in thanks if t.receiver_id == user_id]
        return MemberStats(
            asks_opened=len(asks),
            asks_resolved=sum(1 for a in asks if a.status is AskStatus.RESOLVED),
            help_offers=sum(1 for o in self._data.offers
                            if o.helper_id == user_id and o.ask_id in in_workspace),
            thanks_received=len(received),
            thanks_given=sum(1 for t in thanks if t.giver_id == user_id),
            thanks_received_week=sum(1 for t in received if t.created_at >= week_ago),
        )

    async def leaderboard(self, workspace: WorkspaceRef, since: datetime, exclude: set[str],
                          limit: int = 10) -> list[LeaderboardEntry]:
        counts: dict[str, int] = {}
        for t in self._active(workspace):
            if t.created_at >= since and t.receiver_id not in exclude:
                counts[t.receiver_id] = counts.get(t.receiver_id, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [LeaderboardEntry(user, n) for user, n in ranked[:limit]]

    async def channel_week(self, workspace: WorkspaceRef, channel_id: str, since: datetime,
                           until: datetime) -> WeeklyNumbers:
        # The asks and thanks counted (the SQL stats tests check the rest of the numbers).
        asks = [a for a in self._data.asks.values() if a.workspace == workspace
                and a.channel_id == channel_id and since <= a.created_at < until]
        thanks = [t for t in self._active(workspace)
                  if t.channel_id == channel_id and since <= t.created_at < until]
        return WeeklyNumbers(asks_opened=len(asks),
                             asks_resolved=sum(a.status is AskStatus.RESOLVED for a in asks),
                             thanks_given=len(thanks))

    async def thanked(self, workspace: WorkspaceRef, channel_id: str, since: datetime,
                      until: datetime) -> list[str]:
        thanks = sorted((t for t in self._active(workspace)
                         if t.channel_id == channel_id and since <= t.created_at < until),
                        key=lambda t: t.created_at)
        return list(dict.fromkeys(t.receiver_id for t in thanks))


class FakeWorkspaceRepository:
    def __init__(self, data: StoreData) -> None:
        self._data = data

    async def settings(self, workspace: WorkspaceRef) -> Settings:
        return self._data.settings.get(workspace, Settings())

    async def recent_settings(self, workspace: WorkspaceRef) -> Settings:
        return await self.settings(workspace)

    async def save_settings(self, workspace: WorkspaceRef, settings: Settings) -> None:
        self._data.settings[workspace] = settings


class FakeMemberRepository:
    def __init__(self, data: StoreData) -> None:
        self._data = data
        self.locked: list[tuple[WorkspaceRef, str]] = []

    async def opted_out(self, workspace: WorkspaceRef) -> set[str]:
        return set(self._data.opted_out.get(workspace, set()))

    async def set_opted_out(self, workspace: WorkspaceRef, user_id: str, opted_out: bool) -> None:
        members = self._data.opted_out.setdefault(workspace, set())
        if opted_out:
            members.add(user_id)
        else:
            members.discard(user_id)

    async def forget(self, workspace: WorkspaceRef, user_id: str) -> None:
        self._data.opted_out.get(workspace, set()).discard(user_id)
        self._data.helpers.get(workspace, {}).pop(user_id, None)
        self._data.requests[workspace] = [r for r in self._data.requests.get(workspace, [])
                                          if r.helper_id != user_id]
        self._data.forgotten.append((workspace, user_id))

    async def helper(self, workspace: WorkspaceRef, user_id: str) -> Helper | None:
        return self._data.helpers.get(workspace, {}).get(user_id)

    async def save_helper(self, workspace: WorkspaceRef, helper: Helper, now: datetime) -> None:
        self._data.helpers.setdefault(workspace, {})[helper.user_id] = helper

    async def helpers(self, workspace: WorkspaceRef) -> list[Helper]:
        return [h for _, h in sorted(self._data.helpers.get(workspace, {}).items())]

    async def lock(self, workspace: WorkspaceRef, user_id: str) -> None:
        self.locked.append((workspace, user_id))


class FakeInsightRepository:
    def __init__(self, data: StoreData) -> None:
        self._data = data

    async def add_link(self, token_hash: str, signed: Signed, at: datetime) -> None:
        self._data.insight_links[token_hash] = (signed, None)

    async def use_link(self, token_hash: str, at: datetime) -> Signed | None:
        signed, used = self._data.insight_links.get(token_hash, (None, None))
        if signed is None or used is not None or signed.expires_at <= at:
            return None
        self._data.insight_links[token_hash] = (signed, at)
        return signed

    async def add_session(self, token_hash: str, signed: Signed, at: datetime) -> None:
        self._data.insight_sessions[token_hash] = (signed, None)

    async def session(self, token_hash: str, at: datetime) -> Signed | None:
        signed, ended = self._data.insight_sessions.get(token_hash, (None, None))
        return signed if signed is not None and ended is None and signed.expires_at > at else None

    async def end_session(self, token_hash: str, at: datetime) -> bool:
        signed, ended = self._data.insight_sessions.get(token_hash, (None, None))
        if signed is None or ended is not None:
            return False
        self._data.insight_sessions[token_hash] = (signed, at)
        return True

    async def tallies(self, workspace: WorkspaceRef, window: InsightWindow) -> InsightTallies:
        """The same counts as the database's, one row at a time."""
        until, since = window.until, window.since
        asks = {a.id: a for a in self._data.asks.values()
                if a.workspace == workspace and since <= a.created_at < until}
        firsts: dict[int, datetime] = {}
        for o in self._data.offers:
            if o.ask_id in asks and o.created_at < until:
                firsts[o.ask_id] = min(firsts.get(o.ask_id, o.created_at), o.created_at)
        tallies: dict[tuple[int, str], list[int]] = {}
        first_offer_seconds: dict[tuple[int, str], list[float]] = {}
        weeks: dict[int, int] = {}
        askers = set()
        for a in asks.values():
            week = window.week_of(a.created_at)
            assert week is not None
            weeks[a.id] = week
            first = firsts.get(a.id)
            judged = until - a.created_at >= window.late_after
            late = judged and (first is None or first - a.created_at > window.late_after)
            requested = a.ladder_step >= LadderStep.REQUEST and a.asked_helpers > 0
            counts = tallies.setdefault((week, a.channel_id), [0] * 6)
            for i, flag in enumerate((True, judged, late, requested, requested and first is not None,
                                      a.ladder_step >= LadderStep.ESCALATION)):
                counts[i] += int(flag)
            if first is not None:
                first_offer_seconds.setdefault((week, a.channel_id), []).append(
                    (first - a.created_at).total_seconds())
            if a.asker_id is not None and not a.anonymous:
                askers.add((week, a.channel_id, a.asker_id))
        offers: Counter[tuple[int, str, str]] = Counter()
        for o in self._data.offers:
            if o.ask_id in asks and o.created_at < until:
                offers[(weeks[o.ask_id], asks[o.ask_id].channel_id, o.helper_id)] += 1
        first_asked: dict[str, datetime] = {}
        named = {asker for _, _, asker in askers}
        for a in self._data.asks.values():
            if a.workspace == workspace and a.asker_id in named:
                first_asked[a.asker_id] = min(first_asked.get(a.asker_id, a.created_at), a.created_at)
        resolved: Counter[tuple[int, str]] = Counter(
            (week, a.channel_id) for a in self._data.asks.values()
            if a.workspace == workspace and a.status is AskStatus.RESOLVED and a.closed_at
            and (week := window.week_of(a.closed_at)) is not None)
        thanks: Counter[tuple[int, str | None]] = Counter(
            (week, stored.thanks.channel_id) for stored in self._data.thanks.values()
            if stored.thanks.workspace == workspace and stored.thanks.retracted_at is None
            and (week := window.week_of(stored.thanks.created_at)) is not None)
        from_memory: Counter[tuple[int, str]] = Counter()
        unnoted: Counter[tuple[int, str]] = Counter()
        for s in self._data.suggestions.values():
            asked = self._data.asks.get(s.ask_id)
            if asked is None or asked.workspace != workspace or not since <= s.shown_at < until:
                continue
            if (s.outcome is SuggestionOutcome.SOLVED and s.decided_at is not None
                    and (week := window.week_of(s.decided_at)) is not None):
                from_memory[(week, asked.channel_id)] += 1
            answer = self._data.answers.get(s.answer_id)
            if answer is not None and not answer.note:
                unnoted[(s.answer_id, asked.channel_id)] += 1
        return InsightTallies(
            asks=[AskTally(week, channel, *counts) for (week, channel), counts in tallies.items()],
            resolved=dict(resolved), thanks=dict(thanks), first_offer_seconds=first_offer_seconds,
            offers=dict(offers), askers=askers,
            first_asked={asker: at for asker, at in first_asked.items() if since <= at < until},
            from_memory=dict(from_memory), unnoted_suggestions=dict(unnoted))

    async def prune(self, before: datetime) -> int:
        gone = 0
        for table in (self._data.insight_links, self._data.insight_sessions):
            for key in [k for k, (s, _) in table.items() if s.expires_at < before]:
                del table[key]
                gone += 1
        return gone


class FakeHelpRequestRepository:
    def __init__(self, data: StoreData) -> None:
        self._data = data

    async def add(self, workspace: WorkspaceRef, requests: Sequence[HelpRequest]) -> None:
        stored = self._data.requests.setdefault(workspace, [])
        for new in requests:
            if not any((r.ask_id, r.helper_id) == (new.ask_id, new.helper_id) for r in stored):
                stored.append(new)

    async def since(self, workspace: WorkspaceRef, since: datetime) -> list[HelpRequest]:
        return sorted((r for r in self._data.requests.get(workspace, []) if r.requested_at >= since),
                      key=lambda r: r.requested_at)

    async def answer(self, workspace: WorkspaceRef, ask_id: int, helper_id: str,
                     answer: RequestAnswer, at: datetime) -> bool:
        stored = self._data.requests.get(workspace, [])
        for i, r in enumerate(stored):
            if (r.ask_id, r.helper_id) == (ask_id, helper_id):
                if r.answer is None:
                    stored[i] = replace(r, answer=answer, answered_at=at)
                return True
        return False

    async def answered(self, workspace: WorkspaceRef, channel_id: str, since: datetime,
                       until: datetime) -> list[str]:
        return sorted({r.helper_id for r in self._data.requests.get(workspace, [])
                       if r.answer is RequestAnswer.OFFERED and r.answered_at is not None
                       and since <= r.answered_at < until
                       and r.ask_id in self._data.asks
                       and self._data.asks[r.ask_id].channel_id == channel_id})

    async def records(self, workspace: WorkspaceRef, ask_ids: Collection[int],
                      user_ids: Collection[str]) -> dict[str, HelpRecord]:
        helped: dict[str, list[tuple[int | None, datetime]]] = {}
        for o in self._data.offers:
            ask = self._data.asks.get(o.ask_id)
            if ask is not None and ask.workspace == workspace and o.helper_id in user_ids:
                helped.setdefault(o.helper_id, []).append((o.ask_id, o.created_at))
        for stored in self._data.thanks.values():
            t = stored.thanks
            if t.workspace == workspace and t.receiver_id in user_ids and t.retracted_at is None:
                helped.setdefault(t.receiver_id, []).append((t.ask_id, t.created_at))
        return {member: HelpRecord(len({a for a, _ in done if a in ask_ids}),
                                   max(at for _, at in done))
                for member, done in helped.items()}



class FakeInboxRepository:
    """The inbox's table (which the outbox shares): items in the order they were stored."""

    def __init__(self, store: FakeStore, data: StoreData) -> None:
        self._store = store
        self._data = data

    def _rows(self) -> list[FakeInboxRow]:
        return sorted(self._data.inbox.values(), key=lambda r: r.id)

    async def put_many(self, items: Sequence[NewInboxItem]) -> list[int | None]:
        keys = {r.new.key for r in self._data.inbox.values()}
        results: list[int | None] = []
        for item in items:
            if item.key in keys:
                results.append(None)
                continue
            keys.add(item.key)
            row_id = next(self._store.inbox_ids)
            self._data.inbox[row_id] = FakeInboxRow(row_id, item, item.payload, owner=item.owner,
                                                    lease_until=item.not_before,
                                                    attempts=1 if item.owner else 0)
            results.append(row_id)
        return results

    def _take(self, rows: list[FakeInboxRow], owner: str, lease_until: datetime) -> list[InboxItem]:
        for row in rows:
            row.owner, row.lease_until, row.attempts = owner, lease_until, row.attempts + 1
        return [row.item() for row in rows]

    async def claim(self, sources: Collection[str], owner: str, now: datetime,
                    lease_until: datetime, limit: int) -> list[InboxItem]:
        rows = [r for r in self._rows() if r.new.source in sources and r.waiting(now)][:limit]
        return self._take(rows, owner, lease_until)

    async def renew(self, ids: Collection[int], owner: str, lease_until: datetime) -> None:
        for row in self._rows():
            if row.id in ids and row.owner == owner and row.done_at is None:
                row.lease_until = lease_until

    async def complete(self, item_ids: Collection[int], at: datetime) -> None:
        for i in item_ids:
            row = self._data.inbox.get(i)
            if row is not None and row.done_at is None:
                row.done_at, row.owner, row.lease_until = at, None, None

    async def retry(self, item_id: int, not_before: datetime, error: str) -> None:
        row = self._data.inbox[item_id]
        row.owner, row.lease_until, row.error = None, not_before, error

    async def give_up(self, item_id: int, at: datetime, error: str) -> None:
        row = self._data.inbox[item_id]
        row.done_at, row.owner, row.lease_until, row.error = at, None, None, error

    async def postpone(self, item_id: int, not_before: datetime) -> None:
        row = self._data.inbox[item_id]
        row.owner, row.lease_until, row.attempts = None, not_before, row.attempts - 1

    async def waiting_in_groups(self, groups: Collection[str],
                                recent: bool = False) -> dict[str, InboxItem]:
        if recent:  # nothing kept: every note is read
            return {}
        return {r.new.group: r.item() for r in self._rows()  # the newest wins
                if r.new.group in groups and r.done_at is None and r.owner is None}

    async def pending_in_groups(self, groups: Collection[str]) -> set[str]:
        return {r.new.group for r in self._rows()
                if r.new.group in groups and r.new.group and r.done_at is None}

    async def replace_payloads(self, payloads: Mapping[int, tuple[str, str]]) -> set[int]:
        changed = set()
        for item_id, (read, payload) in payloads.items():
            row = self._data.inbox[item_id]
            if row.done_at is None and row.owner is None and row.payload == read:
                row.payload = payload
                changed.add(item_id)
        return changed

    async def last_done_in_groups(self, groups: Collection[str],
                                  since: datetime) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for r in self._rows():
            if (r.new.group in groups and r.done_at is not None and r.done_at >= since
                    and r.error is None):
                found[r.new.group] = max(r.done_at, found.get(r.new.group, r.done_at))
        return found

    async def waiting(self, sources: Collection[str], due_by: datetime | None = None) -> int:
        return sum(1 for r in self._rows() if r.new.source in sources and r.done_at is None
                   and (due_by is None or r.lease_until is None or r.lease_until <= due_by))

    async def prune(self, done_before: datetime, limit: int = 1000) -> int:
        old = [r.id for r in self._rows() if r.done_at is not None and r.done_at < done_before]
        for i in old[:limit]:
            del self._data.inbox[i]
        return len(old[:limit])


class FakeUnitOfWork:
    """One transaction: repositories see a private copy of the store until `commit()`.

    Entering yields to the event loop (a database round trip), so that concurrent use
    cases interleave there. The core never awaits chat calls inside a unit of work, so
    each unit's body runs without interruption: units behave as serialisable
    transactions, and a conditional write (close, claim) sees every earlier commit.
    """

    asks: AskRepository
    answers: AnswerRepository
    thanks: ThanksRepository
    stats: StatsRepository
    workspaces: WorkspaceRepository
    members: MemberRepository
    requests: HelpRequestRepository
    insights: InsightRepository
    inbox: InboxRepository

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.committed = 0
        self.commits = 0
        self.entered = False
        self.exited = False

    def _bind(self, data: StoreData) -> None:
        self._working = data
        self.asks = FakeAskRepository(self.store, data)
        self.answers = FakeAnswerRepository(self.store, data)
        self.thanks = FakeThanksRepository(self.store, data)
        self.stats = FakeStatsRepository(data)
        self.workspaces = FakeWorkspaceRepository(data)
        self.members = FakeMemberRepository(data)
        self.requests = FakeHelpRequestRepository(data)
        self.insights = FakeInsightRepository(data)
        self.inbox = FakeInboxRepository(self.store, data)

    async def __aenter__(self) -> Self:
        assert not self.entered, "a unit of work is used once"
        self.entered = True
        await asyncio.sleep(0)
        self._seen_version = self.store.version
        self._bind(copy.deepcopy(self.store.data))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        # Anything not committed is dropped with the working copy (a rollback).
        self.exited = True

    async def commit(self) -> None:
        assert self.entered and not self.exited, "commit() outside `async with`"
        # Writing back a copy is only right when nobody committed since we took it.
        assert self.store.version == self._seen_version, "units of work overlapped"
        self.store.data = copy.deepcopy(self._working)
        self.store.version += 1
        self._seen_version = self.store.version
        self.committed += 1
        self.commits += 1


# --- chat -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    workspace: WorkspaceRef
    channel_id: str
    message: Message
    ref: MessageRef
    nonce: str | None = None


@dataclass(frozen=True)
class Updated:
    workspace: WorkspaceRef
    ref: MessageRef
    message: Message


@dataclass(frozen=True)
class Replied:
    workspace: WorkspaceRef
    parent: MessageRef
    message: Message
    ref: MessageRef
    topic: str | None = None


@dataclass(frozen=True)
class Told:
    workspace: WorkspaceRef
    channel_id: str
    user_id: str
    message: Message


class FakeChat:
    """Records every call; `fail("post")` makes the next calls of that kind raise ChatError.
    Also the platform's `Directory`: admins, bots and threads are what a test puts here."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.updated: list[Updated] = []
        self.replies: list[Replied] = []
        self.told: list[Told] = []
        self._failing: dict[str, int | None] = {}
        self._permanent: set[str] = set()
        self._ids = itertools.count(1)
        # Thread replies and their threads' parents (`thread_of`), and what was looked up.
        self.threads: dict[MessageRef, MessageRef] = {}
        self.thread_lookups: list[MessageRef] = []
        # Who the directory says is an admin or a bot, and who wrote in a card's thread.
        self.admins: set[str] = set()
        self.bots: set[str] = set()
        self.writers: dict[MessageRef, tuple[str, ...]] = {}
        self.private_channels: set[str] = set()
        self.zones: dict[str, str] = {}  # member -> their profile's time zone
        self.asked: list[tuple[str, str]] = []  # (question, about whom or what)

    def fail(self, method: str, times: int | None = None, *, permanent: bool = False) -> None:
        """Make `method` raise ChatError, `times` times (None: until `heal`); `permanent`:
        an error that will not pass (a channel the bot is not in)."""
        assert method in {"post", "update", "reply", "tell", "thread_of", "thread_authors"}
        self._failing[method] = times
        if permanent:
            self._permanent.add(method)
        else:
            self._permanent.discard(method)

    def heal(self) -> None:
        self._failing.clear()
        self._permanent.clear()

    async def _call(self, method: str) -> None:
        await asyncio.sleep(0)  # a network round trip: other tasks may run meanwhile
        if method not in self._failing:
            return
        left = self._failing[method]
        if left is not None:
            if left <= 1:
                del self._failing[method]
            else:
                self._failing[method] = left - 1
        raise ChatError(f"fake {method} failure", permanent=method in self._permanent)

    async def post(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                   nonce: str | None = None) -> MessageRef:
        await self._call("post")
        ref = MessageRef(channel_id, f"m{next(self._ids)}")
        self.posted.append(Posted(workspace, channel_id, message, ref, nonce))
        return ref

    async def update(self, workspace: WorkspaceRef, ref: MessageRef, message: Message) -> None:
        await self._call("update")
        self.updated.append(Updated(workspace, ref, message))

    async def reply(self, workspace: WorkspaceRef, parent: MessageRef, message: Message,
                    topic: str | None = None) -> MessageRef:
        await self._call("reply")
        ref = MessageRef(parent.channel_id, f"r{next(self._ids)}")
        self.replies.append(Replied(workspace, parent, message, ref, topic))
        return ref

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                      message: Message) -> None:
        await self._call("tell")
        self.told.append(Told(workspace, channel_id, user_id, message))

    async def thread_of(self, workspace: WorkspaceRef, ref: MessageRef) -> MessageRef | None:
        await self._call("thread_of")
        self.thread_lookups.append(ref)
        return self.threads.get(ref)

    async def is_admin(self, workspace: WorkspaceRef, user_id: str) -> bool:
        self.asked.append(("is_admin", user_id))
        return user_id in self.admins

    async def is_bot(self, workspace: WorkspaceRef, user_id: str) -> bool:
        self.asked.append(("is_bot", user_id))
        return user_id in self.bots

    async def thread_authors(self, workspace: WorkspaceRef, parent: MessageRef) -> tuple[str, ...]:
        await self._call("thread_authors")
        self.asked.append(("thread_authors", parent.message_id))
        return self.writers.get(parent, ())

    async def is_private(self, workspace: WorkspaceRef, channel_id: str) -> bool:
        self.asked.append(("is_private", channel_id))
        return channel_id in self.private_channels

    async def time_zone(self, workspace: WorkspaceRef, user_id: str) -> str | None:
        self.asked.append(("time_zone", user_id))
        return self.zones.get(user_id)

    async def message_url(self, workspace: WorkspaceRef, ref: MessageRef) -> str | None:
        return f"https://chat.example/{ref.channel_id}/{ref.message_id}"

    # Views for assertions.

    def public_messages(self) -> list[Message]:
        """What anyone in a channel can see: posts, card updates and thread replies."""
        return ([p.message for p in self.posted] + [u.message for u in self.updated]
                + [r.message for r in self.replies])

    def all_messages(self) -> list[Message]:
        return self.public_messages() + [w.message for w in self.told]

    def told_to(self, user_id: str) -> list[Message]:
        return [w.message for w in self.told if w.user_id == user_id]

    def updates_of(self, ref: MessageRef | None) -> list[Message]:
        return [u.message for u in self.updated if u.ref == ref]

    def replies_to(self, ref: MessageRef | None) -> list[Message]:
        return [r.message for r in self.replies if r.parent == ref]

    def clear(self) -> None:
        self.posted.clear()
        self.updated.clear()
        self.replies.clear()
        self.told.clear()


# --- looking inside messages ------------------------------------------------------------


def parts(message: Message) -> Iterator[Part]:
    """Every part of a message: its title, lines and button labels; button values as str."""
    if message.title:
        yield message.title
    for ln in message.lines:
        yield from ln
    for button in message.buttons:
        yield from button.label
        yield button.value


def mentions(message: Message) -> list[str]:
    return [p.user_id for p in parts(message) if isinstance(p, Mention)]


def text_of(message: Message) -> str:
    """The message as plain text, with button labels and values on their own lines."""
    out = [message.plain_text()]
    for button in message.buttons:
        out.append("".join(p.user_id if isinstance(p, Mention) else
                           p.text if isinstance(p, UserText) else p for p in button.label))
        out.append(button.value)
    return "\n".join(out)


def reveals(message: Message, user_id: str) -> bool:
    """True when `user_id` shows up anywhere in the message: mention, text, button, file."""
    for part in parts(message):
        if isinstance(part, Mention) and part.user_id == user_id:
            return True
        text = part.text if isinstance(part, UserText) else part if isinstance(part, str) else ""
        if user_id in text:
            return True
    return any(user_id.encode() in a.content or user_id in a.filename for a in message.attachments)


def reply_text(reply: Reply) -> str:
    return "\n".join(text_of(m) for m in reply.private)


# The fakes implement the ports (checked by mypy: `mypy tests/unit/fakes.py`).
_PORTS: tuple[type[UnitOfWork], type[Chat], type[Clock]] = (FakeUnitOfWork, FakeChat, FixedClock)


# --- the app ----------------------------------------------------------------------------


@dataclass
class World:
    """A Leanon over fakes, with the fakes at hand for assertions."""

    store: FakeStore
    chat: FakeChat
    clock: FixedClock
    deps: Deps
    app: Leanon

    async def handle(self, cmd: Command) -> Reply:
        """Run `cmd`, then send what is due in the outbox (the notes of reactions)."""
        reply = await self.app.handle(cmd)
        await self.app.outbox.drain()
        return reply


def make_world(store: FakeStore | None = None, chat: FakeChat | None = None,
               clock: FixedClock | None = None, timezone: str = "UTC",
               search: AnswerSearch | None = None, insights_url: str | None = None) -> World:
    """Build `bot.service.Leanon(Deps(...))` over fresh (or the given) fakes."""
    store = store or FakeStore()
    chat = chat or FakeChat()
    clock = clock or FixedClock()
    deps = Deps(uow=store.uow, chat=chat, directory=chat, clock=clock, timezone=ZoneInfo(timezone),
                search=search, insights_url=insights_url)
    return World(store, chat, clock, deps, Leanon(deps))


def card(ask: Ask) -> MessageRef:
    """The ask card's message (asks made with `open_ask` always have one)."""
    assert ask.message is not None
    return ask.message


async def open_ask(world: World, *, asker: str = ASKER, text: str = GOOD_QUESTION,
                   anonymous: bool = False, channel: str = CHANNEL, tried: str | None = None,
                   workspace: WorkspaceRef = WS) -> Ask:
    """Run /ask and return the stored ask (which has its card)."""
    reply = await world.handle(CreateAsk(workspace, member(asker), channel, text, tried, anonymous))
    assert reply.ok, reply_text(reply)
    ask = world.store.asks()[-1]
    assert ask.message is not None
    return ask


async def offer(world: World, ask: Ask, helper: str, workspace: WorkspaceRef = WS) -> Reply:
    return await world.handle(OfferHelp(workspace, member(helper), ask.id))

"""What a process read a moment ago, for work that would read it every time.

A batch of reactions needs the workspace's settings, and whether the channel has ask cards
(a reaction in a card's thread is linked to the ask): two of its six statements, and on a
quiet day every reaction is a batch of its own. Both rarely change, so each `SqlStore` keeps
them for the reaction path (`WorkspaceRepository.recent_settings`,
`AskRepository.has_cards_in_channel`):

- settings for `seconds`; a save in this process forgets them (when it is made and when it
  commits), and a read that began before either is not kept; another process's save is
  seen within `seconds`;
- a channel with cards is remembered for good (cards are not taken back; a channel that
  lost them costs a wasted thread look-up), a channel without for `seconds`, and a card
  posted by this process forgets that at once (and again as it commits). A card another
  process posted is known within `seconds`: in practice, before anyone can reply in its
  thread and react to the reply.

A batch of reactions also rewrites each thanked member's gathering note
(`bot.outbox.notes`). The note this process read or wrote last is kept with its payload
(`InboxRepository.waiting_in_groups(recent=True)`), so a busy member's next batch writes
without reading it first; the write is conditional on the payload being as kept, and a note
that changed elsewhere, or was taken by a worker, is forgotten and read again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Iterable, Mapping

from cachetools import LRUCache

from bot.domain import InboxItem, Settings, WorkspaceRef

RECENT_SECONDS = 5.0
KEPT = 10_000  # workspaces, and channels, remembered at most (the least recently used go)
NOTES_KEPT = 1_000  # gathering notes remembered at most: the busiest members' (some 2 KB each)


class Recent:
    def __init__(self, seconds: float = RECENT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._settings: LRUCache[WorkspaceRef, tuple[float, Settings]] = LRUCache(KEPT)
        self._with_cards: LRUCache[tuple[WorkspaceRef, str], bool] = LRUCache(KEPT)
        # channel id → when it was read as having no cards, by workspace
        self._without_cards: LRUCache[str, dict[WorkspaceRef, float]] = LRUCache(KEPT)
        # Changes made here (settings saved, cards posted): a read that began before one
        # is not kept, whatever it read.
        self._changes = 0
        # Gathering notes as last read or written here: by group, and their groups by id.
        self._notes: LRUCache[str, InboxItem] = LRUCache(NOTES_KEPT)
        self._note_groups: LRUCache[int, str] = LRUCache(NOTES_KEPT)

    def start(self) -> tuple[float, int]:
        """Before a read whose answer may be kept (`read_settings`, `read_cards`)."""
        return self._clock(), self._changes

    def settings(self, workspace: WorkspaceRef) -> Settings | None:
        kept = self._settings.get(workspace)
        if kept is None or self._clock() - kept[0] >= self.seconds:
            return None
        return kept[1]

    def read_settings(self, workspace: WorkspaceRef, settings: Settings,
                      started: tuple[float, int]) -> None:
        """Keep settings read from the database (`started`: `start()` before the read)."""
        at, changes = started
        if changes == self._changes:
            self._settings[workspace] = (at, settings)

    def forget_settings(self, workspace: WorkspaceRef) -> None:
        self._changes += 1
        self._settings.pop(workspace, None)

    def has_cards(self, workspace: WorkspaceRef, channel_id: str) -> bool | None:
        """True, False, or None when not known lately."""
        if (workspace, channel_id) in self._with_cards:
            return True
        read = self._without_cards.get(channel_id, {}).get(workspace)
        if read is None or self._clock() - read >= self.seconds:
            return None
        return False

    def read_cards(self, workspace: WorkspaceRef, channel_id: str, has: bool,
                   started: tuple[float, int]) -> None:
        at, changes = started
        if has:
            self._with_cards[workspace, channel_id] = True
        elif changes == self._changes:
            self._without_cards.setdefault(channel_id, {})[workspace] = at

    def card_posted(self, channel_id: str) -> None:
        self._changes += 1
        self._without_cards.pop(channel_id, None)

    def notes(self, groups: Collection[str]) -> dict[str, InboxItem]:
        """The gathering notes of `groups` as last read or written here (maybe changed since)."""
        return {group: self._notes[group] for group in groups if group in self._notes}

    def read_notes(self, items: Iterable[InboxItem]) -> None:
        for item in items:
            if item.group:
                self._notes[item.group] = item
                self._note_groups[item.id] = item.group

    def rewrote_notes(self, payloads: Mapping[int, str], missed: Collection[int]) -> None:
        """Notes rewritten here (by id, their new payloads), and those found changed
        elsewhere or taken (`missed`), forgotten."""
        for item_id, payload in payloads.items():
            group = self._group_of(item_id)
            if group is not None:
                self._notes[group] = dataclasses.replace(self._notes[group], payload=payload)
        for item_id in missed:
            group = self._group_of(item_id)
            if group is not None:
                del self._notes[group]

    def _group_of(self, item_id: int) -> str | None:
        """The group whose note kept here is the item `item_id`, if any."""
        group = self._note_groups.get(item_id)
        kept = self._notes.get(group) if group is not None else None
        return group if kept is not None and kept.id == item_id else None

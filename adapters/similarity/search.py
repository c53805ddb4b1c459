"""The answered-before search (`bot.ports.AnswerSearch`): MiniLM vectors, an in-memory
index per workspace kept up to date from the database, and the trained gate.

The model loads on first use (a workspace that never asks for it pays nothing) on a
thread of its own; every vector is made there and every question's candidates are scored
there, so the event loop never waits on numpy.
Each search catches the workspace's index up with the vectors made since the newest one
it holds. When the database then holds another number of vectors than the index (answers
forgotten or their notes changed; a vector another replica made with a clock a little
behind), the index is read again whole, as it is every FULL_READ in any case (vectors made in the same instant
as the newest it holds, after it read them, are found that way too).
The question's vector, the full-text search and the catching up run at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from adapters.similarity.encoder import VECTOR_MODEL, answer_blob, question_vector
from adapters.similarity.gate import Gate
from adapters.similarity.index import Background, BadVector, WorkspaceIndex, unpack
from adapters.similarity.minilm import MiniLM
from adapters.similarity.words import content_words
from bot.domain import AnswerVector, WorkspaceRef
from bot.ports import AnswerLibrary, Match

SUGGESTED = 3
# Asks about the same thing, for whom to ask to look at a waiting ask: more, less sure.
RELATED = 10
RELATED_CHANCE = 0.05
KEYWORD_CANDIDATES = 10
KEYWORD_WORDS = 4
# Vectors read from the database at a time.
READ_PAGE = 500
# The index is read again whole this often, whatever else happened.
FULL_READ = timedelta(minutes=15)

T = TypeVar("T")


@dataclass
class _Held:
    index: WorkspaceIndex
    newest: datetime | None = None
    read_at: float = 0.0  # when it was last read whole (time.monotonic())
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def _none() -> list[int]:
    return []


def background_file() -> Path:
    return Path(str(resources.files("adapters.similarity") / "background.npz"))


class MiniLMSearch:
    """`bot.ports.AnswerSearch` with the numpy MiniLM."""

    def __init__(self, gate: Gate | None = None, background: Background | None = None) -> None:
        self._gate = gate or Gate.load()
        self._background = background if background is not None else Background.load(
            background_file())
        self._model: MiniLM | None = None
        # The model loads and runs on this one thread: its passes take turns anyway (the
        # model's lock), and each thread numpy works in keeps a malloc arena of its own
        # (some megabytes a thread, held for good).
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leanon-model")
        self._loading = asyncio.Lock()
        self._held: dict[WorkspaceRef, _Held] = {}

    @property
    def model(self) -> str:
        return VECTOR_MODEL

    @property
    def loaded(self) -> bool:
        return self._model is not None

    async def _on_model_thread(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    async def _loaded(self) -> MiniLM:
        async with self._loading:
            if self._model is None:
                self._model = await self._on_model_thread(MiniLM)
            return self._model

    async def vectorize(self, question: str, note: str | None) -> bytes:
        model = await self._loaded()
        return await self._on_model_thread(answer_blob, model, question, note)

    async def similar(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        return await self._ranked(workspace, question, channel_id, library,
                                  lambda chances: self._gate.shown(chances, SUGGESTED))

    async def related(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        return await self._ranked(workspace, question, channel_id, library,
                                  lambda chances: Gate.above(chances, RELATED, RELATED_CHANCE))

    async def _ranked(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary,
                      pick: Callable[[np.ndarray], list[int]]) -> list[Match]:
        """The answers `pick` chooses by the gate's chances (positions, best first)."""
        held = self._held.get(workspace)
        if held is None or not len(held.index):
            # A workspace with nothing remembered yet costs one read: no model, no vector.
            if not len(await self._caught_up(workspace, library)):
                return []
            held = self._held.get(workspace)
        model = await self._loaded()
        # Full-text search looks for the question's rarest words (fewer to rank: faster),
        # as rare as the index knew them when the search began.
        rare = (held.index if held else WorkspaceIndex(self._background)).rarest(
            content_words(question), KEYWORD_WORDS)
        (vector, words), found, index = await asyncio.gather(
            self._on_model_thread(question_vector, model, question),
            library.keyword(" ".join(rare), channel_id, KEYWORD_CANDIDATES) if rare else _none(),
            self._caught_up(workspace, library))
        if not len(index):
            return []
        # On the model's thread too: numpy's products there keep to one BLAS thread (on the
        # event loop, OpenBLAS split each over both CPUs and waited for the busy one: some
        # searches took 12 to 17 ms here instead of 3), and the event loop goes on meanwhile.
        # The index is not caught up by another search while it is read.
        async with self._held[workspace].lock:
            ids, chances = await self._on_model_thread(
                self._chances, model, index, vector, words, channel_id, found)
        return [Match(ids[i], float(chances[i])) for i in pick(chances)]

    def _chances(self, model: MiniLM, index: WorkspaceIndex, vector: np.ndarray,
                 words: np.ndarray, channel_id: str | None,
                 found: list[int]) -> tuple[list[int], np.ndarray]:
        """The candidates for a question and the gate's chance of each (on the model's
        thread)."""
        with model.one_blas_thread():
            ids, features = index.candidates(vector, words, channel_id, extra=found)
            return ids, self._gate.chances(features)

    async def _caught_up(self, workspace: WorkspaceRef, library: AnswerLibrary) -> WorkspaceIndex:
        held = self._held.setdefault(workspace, _Held(WorkspaceIndex(self._background)))
        async with held.lock:
            stale = time.monotonic() - held.read_at > FULL_READ.total_seconds()
            if held.newest is not None and not stale:
                count = await self._read(held, library, held.newest)
                if count == len(held.index):
                    return held.index
            held.index, held.newest = WorkspaceIndex(self._background), None
            held.read_at = time.monotonic()
            await self._read(held, library, None)
            return held.index

    async def _read(self, held: _Held, library: AnswerLibrary, after: datetime | None) -> int:
        """Put the vectors made after `after` (all: None) into the index, a page at a time
        (the blobs of a page are let go before the next is read); how many vectors the
        database holds."""
        from_id = 0
        count, page = await library.vectors(after, from_id, READ_PAGE)
        if after is None:
            held.index.reserve(count)
        while True:
            self._put(held, page)
            if len(page) < READ_PAGE:
                return count
            from_id = page[-1].answer_id
            _, page = await library.vectors(after, from_id, READ_PAGE)

    @staticmethod
    def _put(held: _Held, vectors: list[AnswerVector]) -> None:
        items = []
        for v in vectors:
            try:
                items.append((v.answer_id, unpack(v.vector), v.channel_id, v.private))
            except BadVector:
                continue  # made by another layout under the same name: never suggested
            if held.newest is None or v.made_at > held.newest:
                held.newest = v.made_at
        held.index.put(items)

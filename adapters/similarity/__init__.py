"""The answered-before search (docs/answered-before.md): a small language model run in
numpy, an in-memory index per workspace, and a trained gate.

`answer_search()` is what leanon runs with: it imports numpy, the tokenizer and the model
only when first asked to search or make a vector, so a leanon whose workspaces never use
suggestions pays nothing for them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.domain import WorkspaceRef
from bot.ports import AnswerLibrary, AnswerSearch, Match

if TYPE_CHECKING:
    from adapters.similarity.search import MiniLMSearch

# Names the vectors' model and their layout (stored with each vector): a change makes
# every answer's vector again.
VECTOR_MODEL = "all-MiniLM-L6-v2-int8+32e8d5b6c8aa/lnv2"


class _OnFirstUse:
    """`AnswerSearch` that builds the real one the first time it is needed."""

    def __init__(self) -> None:
        self._search: MiniLMSearch | None = None
        self._building = asyncio.Lock()

    @property
    def model(self) -> str:
        return VECTOR_MODEL

    @property
    def loaded(self) -> bool:
        return self._search is not None and self._search.loaded

    async def _built(self) -> MiniLMSearch:
        async with self._building:
            if self._search is None:
                module = await asyncio.to_thread(__import__, "adapters.similarity.search",
                                                 fromlist=["MiniLMSearch"])
                self._search = module.MiniLMSearch()
            return self._search

    async def vectorize(self, question: str, note: str | None) -> bytes:
        return await (await self._built()).vectorize(question, note)

    async def similar(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        if not await self._remembers(library):
            return []
        return await (await self._built()).similar(workspace, question, channel_id, library)

    async def related(self, workspace: WorkspaceRef, question: str, channel_id: str | None,
                      library: AnswerLibrary) -> list[Match]:
        if not await self._remembers(library):
            return []
        return await (await self._built()).related(workspace, question, channel_id, library)

    async def _remembers(self, library: AnswerLibrary) -> bool:
        """Whether there is anything to search (when not, numpy and the rest stay unimported)."""
        if self._search is not None:
            return True
        remembered, _ = await library.vectors(None, 0, 0)
        return remembered > 0


def answer_search() -> AnswerSearch:
    return _OnFirstUse()

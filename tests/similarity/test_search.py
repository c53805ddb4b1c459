"""The answered-before search: its blobs, its index (scope, replacing, catching up) and the
gate, over the real model."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from adapters.similarity.encoder import VECTOR_MODEL, answer_blob
from adapters.similarity.gate import BESIDE, Gate, fit
from adapters.similarity.index import (
    FEATURES,
    Background,
    BadVector,
    WorkspaceIndex,
    pack,
    unpack,
)
from adapters.similarity.minilm import MiniLM
from adapters.similarity.search import MiniLMSearch, background_file
from adapters.similarity.words import content_words, word_hashes
from bot.domain import AnswerVector, Platform, WorkspaceRef

WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER = WorkspaceRef(Platform.SLACK, "T2")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

KNOWN = [
    ("The staging database refuses connections after the nightly restore",
     "Restart pgbouncer on staging-db-2; the restore leaves it holding dead connections."),
    ("How do I claim the learning budget for a conference ticket?",
     "Fill in the Learning form in Workday and attach the receipt; your manager approves."),
    ("Printer on the 4th floor says offline for everyone", "Power-cycle it; IT fixed its DHCP lease."),
    ("Where do I request vacation days?", "In Workday: Time Off, Request, pick the dates."),
]


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_words_leave_common_ones_out_and_hash_the_same_everywhere() -> None:
    assert content_words("How do I reset MY password, the password?") == ["reset", "password"]
    assert word_hashes("reset password").tolist() == word_hashes("Password RESET!").tolist()
    assert word_hashes("") .tolist() == []


def test_a_blob_round_trips_and_anything_else_is_refused(model: MiniLM) -> None:
    blob = answer_blob(model, *KNOWN[0])
    entry = unpack(blob)
    assert entry.vectors.shape == (2, 384)  # adapted, published
    assert entry.question_words.tolist() == word_hashes(KNOWN[0][0]).tolist()
    assert set(entry.question_words.tolist()) <= set(entry.all_words.tolist())
    assert unpack(pack(entry.vectors.astype(np.float32), entry.question_words,
                       entry.all_words)).vectors.tolist() == entry.vectors.tolist()
    earlier = b"lnv1" + blob[4:8] + bytes(384 * 2) + blob[8:]  # the earlier layout: three vectors
    for bad in (b"", b"lnv2", blob[:-1], b"xxxx" + blob[4:], blob + b"\x00", earlier):
        with pytest.raises(BadVector):
            unpack(bad)
    with pytest.raises(BadVector):
        pack(np.zeros((3, 384)), entry.question_words, entry.all_words)


def _index(model: MiniLM, rows: list[tuple[int, int, str | None, bool]]) -> WorkspaceIndex:
    index = WorkspaceIndex()
    index.put((answer_id, unpack(answer_blob(model, *KNOWN[known])), channel, private)
              for answer_id, known, channel, private in rows)
    return index


def test_the_index_ranks_what_the_asker_may_see(model: MiniLM) -> None:
    index = _index(model, [(10, 0, "C1", False), (11, 1, None, False), (12, 2, "C9", True),
                           (13, 3, "C1", False)])
    question = model.embed_both("the printer upstairs shows as offline")
    words = word_hashes("the printer upstairs shows as offline")
    ids, features = index.candidates(question, words, "C9")
    assert ids[0] == 12 and set(ids) == {10, 11, 12, 13}
    assert features.shape == (4, len(FEATURES))
    assert features[:, FEATURES.index("rank")].tolist() == [0, 1, 2, 3]
    assert features[0, FEATURES.index("overlap")] > 0  # "printer", "offline"
    ids, _ = index.candidates(question, words, "C1")
    assert 12 not in ids  # a private channel's answer, asked elsewhere
    assert index.visible(None).tolist() == [True, True, False, True]


def test_an_answer_put_again_is_replaced_and_full_text_finds_are_added(model: MiniLM) -> None:
    index = _index(model, [(10, 0, None, False), (11, 1, None, False)])
    index.put([(10, unpack(answer_blob(model, *KNOWN[2])), "C9", True)])
    assert len(index) == 2 and index.ids() == [10, 11]
    question = model.embed_both("printer offline")
    ids, _ = index.candidates(question, word_hashes("printer offline"), "C9")
    assert ids[0] == 10
    ids, _ = index.candidates(question, word_hashes("printer offline"), "C1", extra=[10, 999])
    assert ids == [11]  # 10 is private to C9 now; 999 is not in the index


def test_every_workspace_measures_against_one_background_not_a_copy_each() -> None:
    background = Background.load(background_file())
    assert background.size >= 400  # some 1.5 MB as float32 vectors (two views)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        indexes = [WorkspaceIndex(background) for _ in range(50)]
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(indexes) == 50 and grown < 2_000_000, grown  # a copy each: over 70 MB


def test_an_empty_index_or_one_the_asker_sees_nothing_of() -> None:
    index = WorkspaceIndex()
    assert index.candidates(np.zeros((2, 384), np.float32), word_hashes("x"), None)[0] == []
    index.put([(1, unpack(pack(np.eye(2, 384), word_hashes("a"), word_hashes("a"))), "C9", True)])
    assert index.candidates(np.zeros((2, 384), np.float32), word_hashes("x"), "C1")[0] == []


def test_the_gate_reads_its_file_and_refuses_another_features_numbers() -> None:
    gate = Gate.load()
    assert gate.features == FEATURES and 0 < gate.threshold < 1
    assert Gate.from_json(gate.to_json()).weights.tolist() == gate.weights.tolist()
    data = json.loads(gate.to_json())
    with pytest.raises(ValueError, match="features"):
        Gate.from_json(json.dumps({**data, "features": ["s"]}))
    with pytest.raises(ValueError, match="numbers"):
        Gate.from_json(json.dumps({**data, "mean": [0.0]}))


def test_nothing_is_shown_unless_the_best_passes_and_then_the_next_best_beside_it() -> None:
    gate = dataclasses.replace(Gate.load(), threshold=0.2)
    assert gate.shown(np.array([0.15, 0.1, 0.05]), 3) == []
    assert gate.shown(np.array([0.05, 0.3, 0.1, 0.02, 0.015]), 3) == [1, 2, 0]
    assert gate.shown(np.array([0.3, BESIDE / 2, 0.25]), 3) == [0, 2]
    assert gate.shown(np.array([0.3, 0.25]), 1) == [0]
    assert gate.shown(np.empty(0), 3) == []


def test_fitting_learns_which_feature_tells() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(400, len(FEATURES)))
    labels = (rows[:, 0] + 0.1 * rng.normal(size=400) > 0).astype(int).tolist()
    gate = fit(rows, labels)
    assert int(np.argmax(np.abs(gate.weights))) == 0 and gate.weights[0] > 0
    assert gate.chances(np.array([[2.0] + [0.0] * (len(FEATURES) - 1)]))[0] > 0.9


class Library:
    """A workspace's answers, as the core would read them."""

    def __init__(self) -> None:
        self.rows: dict[int, AnswerVector] = {}
        self.texts: dict[int, str] = {}
        self.reads: list[datetime | None] = []

    async def vectors(self, after: datetime | None, from_id: int = 0,
                      limit: int | None = None) -> tuple[int, list[AnswerVector]]:
        if from_id == 0:
            self.reads.append(after)
        found = [v for i, v in sorted(self.rows.items())
                 if (after is None or v.made_at > after) and i > from_id]
        return len(self.rows), found[:limit]

    async def keyword(self, text: str, channel_id: str | None, limit: int) -> list[int]:
        return []


async def test_the_search_finds_a_repeat_catches_up_and_forgets() -> None:
    search = MiniLMSearch()
    assert search.model == VECTOR_MODEL and not search.loaded
    library = Library()
    for answer_id, (question, note) in enumerate(KNOWN[:2], start=1):
        blob = await search.vectorize(question, note)
        library.rows[answer_id] = AnswerVector(answer_id, blob, T0, None, False)
    assert search.loaded
    repeat = "staging db won't take connections since last night's restore"
    assert [m.answer_id for m in await search.similar(WS, repeat, "C1", library)] == [1]
    assert await search.similar(WS, "what's for lunch on friday", "C1", library) == []
    # an answer made later is caught up: only what was made since the newest is read
    library.rows[3] = AnswerVector(3, await search.vectorize(*KNOWN[2]), T0 + timedelta(1))
    printer = "printer on four is offline for all of us"
    assert [m.answer_id for m in await search.similar(WS, printer, None, library)] == [3]
    assert library.reads[-1] == T0
    # one made by a replica whose clock is behind: the count tells, the index is read whole
    library.rows[4] = AnswerVector(4, await search.vectorize(*KNOWN[3]), T0 - timedelta(1))
    vacation = "where can I request vacation days"
    assert [m.answer_id for m in await search.similar(WS, vacation, None, library)] == [4]
    assert library.reads[-2:] == [T0 + timedelta(1), None]
    # forgotten: the index is read again whole, and never offers it
    del library.rows[1]
    assert await search.similar(WS, repeat, "C1", library) == []
    assert library.reads[-1] is None
    # another workspace has its own index
    assert await search.similar(OTHER, repeat, "C1", Library()) == []


async def test_the_model_loads_and_runs_on_one_thread_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each thread numpy works in keeps a malloc arena of its own: passes spread over the
    # event loop's worker threads held some megabytes in each, for good.
    from adapters.similarity import search as search_module

    threads: list[str] = []

    def on(work):  # type: ignore[no-untyped-def]
        def watched(*args):  # type: ignore[no-untyped-def]
            threads.append(threading.current_thread().name)
            return work(*args)
        return watched

    for name in ("MiniLM", "answer_blob", "question_vector"):
        monkeypatch.setattr(search_module, name, on(getattr(search_module, name)))
    search = MiniLMSearch()
    library = Library()
    for answer_id, known in enumerate(KNOWN, start=1):
        library.rows[answer_id] = AnswerVector(answer_id, await search.vectorize(*known), T0)
    await asyncio.gather(*(search.similar(WS, f"where do I ask for {n} vacation days", None, library)
                           for n in range(4)))
    await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.01) for _ in range(8)))
    await search.similar(WS, "the printer upstairs is offline", None, library)
    assert len(threads) == 1 + len(KNOWN) + 5
    assert len(set(threads)) == 1 and threads[0].startswith("leanon-model")


async def test_the_candidates_are_scored_on_the_models_thread_with_one_blas_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # On the event loop, numpy's OpenBLAS split the cosines with every answer over both
    # CPUs, and waited for the busy one (the database server, the model's pass): 12 to
    # 17 ms instead of 3 at 10,000 answers, now and then; and the loop waited meanwhile.
    # (test_minilm tests what the limit does; threadpoolctl reads no limit on other threads.)
    limited = threading.local()
    real_limit = MiniLM.one_blas_thread

    @contextlib.contextmanager
    def one_blas_thread(self):  # type: ignore[no-untyped-def]
        with real_limit(self):
            limited.on = True
            try:
                yield
            finally:
                limited.on = False

    seen: list[tuple[str, bool]] = []
    real_candidates = WorkspaceIndex.candidates

    def candidates(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((threading.current_thread().name, getattr(limited, "on", False)))
        return real_candidates(self, *args, **kwargs)

    monkeypatch.setattr(MiniLM, "one_blas_thread", one_blas_thread)
    monkeypatch.setattr(WorkspaceIndex, "candidates", candidates)
    search = MiniLMSearch()
    library = Library()
    for answer_id, known in enumerate(KNOWN, start=1):
        library.rows[answer_id] = AnswerVector(answer_id, await search.vectorize(*known), T0)
    found = await search.similar(WS, "printer on four is offline for all of us", None, library)
    assert [m.answer_id for m in found] == [3]
    assert len(seen) == 1 and seen[0][0].startswith("leanon-model") and seen[0][1]


async def test_a_vector_of_another_layout_is_never_offered() -> None:
    search = MiniLMSearch()
    library = Library()
    library.rows[1] = AnswerVector(1, b"something else", T0)
    assert await search.similar(WS, KNOWN[0][0], None, library) == []


def test_the_background_measures_a_small_workspace_and_round_trips(tmp_path, model: MiniLM) -> None:
    from adapters.similarity.index import Background
    from adapters.similarity.search import background_file

    shipped = Background.load(background_file())
    assert shipped.size >= 100 and shipped.vectors.shape == (2, shipped.size, 384)
    path = tmp_path / "b.npz"
    shipped.save(path)
    again = Background.load(path)
    assert again.size == shipped.size and again.df == shipped.df
    # one answer: measured against the background, its features are not degenerate
    alone = WorkspaceIndex(shipped)
    alone.put([(1, unpack(answer_blob(model, *KNOWN[0])), None, False)])
    repeat = "staging db won't take connections since last night's restore"
    _, features = alone.candidates(model.embed_both(repeat), word_hashes(repeat), None)
    assert features[0, FEATURES.index("gap")] > 0.1 and features[0, FEATURES.index("z")] > 2
    assert features[0, FEATURES.index("gap_published")] > 0.1
    bare = WorkspaceIndex()
    bare.put([(1, unpack(answer_blob(model, *KNOWN[0])), None, False)])
    _, features = bare.candidates(model.embed_both(repeat), word_hashes(repeat), None)
    assert features[0, FEATURES.index("gap")] == 0 == features[0, FEATURES.index("gap_published")]


async def test_the_index_is_read_a_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.similarity import search as search_module

    monkeypatch.setattr(search_module, "READ_PAGE", 2)
    search = MiniLMSearch()
    library = Library()
    for answer_id, known in enumerate(KNOWN, start=1):
        library.rows[answer_id] = AnswerVector(answer_id, await search.vectorize(*known), T0)
    found = await search.similar(WS, "where do I ask for vacation days in workday", None, library)
    assert [m.answer_id for m in found] == [4]  # the last page was read too


def test_full_text_search_looks_for_the_rarest_words(model: MiniLM) -> None:
    index = _index(model, [(1, 0, None, False), (2, 2, None, False)])
    words = content_words("printer staging database connections zebra")
    # "zebra" is in no answer (nor in the background); "printer" in one of two here
    assert index.rarest(words, 2)[0] == "zebra"
    assert len(index.rarest(words, 4)) == 4 and index.rarest([], 4) == []


async def test_a_workspace_with_nothing_remembered_loads_no_model() -> None:
    search = MiniLMSearch()
    assert await search.similar(WS, "anything at all?", None, Library()) == []
    assert not search.loaded


def test_room_is_made_for_a_whole_read_at_once(model: MiniLM) -> None:
    index = WorkspaceIndex()
    index.reserve(3)
    index.put([(1, unpack(answer_blob(model, *KNOWN[0])), None, False)])
    assert len(index) == 1 and index._private.shape[0] == 3  # no doubling for what was announced
    assert all(vectors.shape[0] == 3 for vectors in index._vectors)
    index.put((i, unpack(answer_blob(model, *KNOWN[i % 4])), None, False) for i in range(2, 6))
    assert len(index) == 5 and index._vectors[0].shape[0] >= 5
    question = model.embed_both(KNOWN[2][0])
    assert index.candidates(question, word_hashes(KNOWN[2][0]), None)[0][0] == 2

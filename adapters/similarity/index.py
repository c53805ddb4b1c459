"""A workspace's remembered answers as the search holds them in memory, and the features
that tell a repeat of an answered ask from another ask on the same topic.

Each answer is stored (in the database, as one opaque blob) as two unit vectors of its
question with its note, kept as float16: the model's with leanon's adapter, and the model's
as published (minilm.MiniLM.embed_both); and the hashes of its content words (question
alone, and question with note). A workspace's index holds them in numpy arrays: at 10,000
answers some 30 MB.

For a new question (its two vectors) the index ranks every answer the asker may see by the
cosine of the adapted vectors, keeps the best ones, and describes each with the features
the gate (gate.py) was trained on:

- ``s``: the cosine of the adapted vectors;
- ``gap``: ``s`` minus the best other answer's ``s``; ``z``: ``s`` against the spread of
  all answers' ``s`` for this question; ``rank``: its place by ``s`` (0 is best);
- ``overlap``, ``overlap_question``: the share of the question's rare words (weighted by
  how few answers have them) that the answer (question + note; question alone) has too;
- ``words``: how many content words the new question has;
- ``gap_published``: as ``gap``, with the vectors of the model as published. The adapter
  pulls a repeat toward its original, and with it some new asks toward answers on their
  topic; the model as published was not taught that, and an answer well ahead of every
  other there too is more likely the one repeated.

A workspace with few answers would make the gaps, ``z``, ``rank`` and the word weights
meaningless (one answer has no "best other"), so they are measured against the
workspace's answers together with a fixed background: some 480 answers of imaginary teams
(`Background`, background.npz, written with the gate), which are never suggested.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.similarity.words import word_hash, word_hashes

DIMENSIONS = 384
FEATURES = ("s", "gap", "z", "rank", "overlap", "overlap_question", "words", "gap_published")
# The vectors of each answer and question, in this order.
VIEWS = 2  # adapted, published
# How many answers, best by ``s``, the gate looks at for one question.
CANDIDATES = 10

_MAGIC = b"lnv2"
_HEADER = struct.Struct("<4sHH")


class BadVector(ValueError):
    """A stored blob that is not an answer vector of this format."""


@dataclass(frozen=True)
class AnswerEntry:
    """One answer's vectors (2, 384: adapted, published) and word hashes, as decoded from
    its blob."""

    vectors: np.ndarray
    question_words: np.ndarray
    all_words: np.ndarray


def pack(vectors: np.ndarray, question_words: np.ndarray, all_words: np.ndarray) -> bytes:
    """The blob stored for an answer: its two vectors and its word hashes."""
    if vectors.shape != (VIEWS, DIMENSIONS):
        raise BadVector(f"{VIEWS} vectors of {DIMENSIONS} expected, not {vectors.shape}")
    return b"".join((
        _HEADER.pack(_MAGIC, len(question_words), len(all_words)),
        vectors.astype("<f2").tobytes(),
        question_words.astype("<u4").tobytes(),
        all_words.astype("<u4").tobytes(),
    ))


def unpack(blob: bytes) -> AnswerEntry:
    if len(blob) < _HEADER.size:
        raise BadVector("too short")
    magic, n_question, n_all = _HEADER.unpack_from(blob)
    expected = _HEADER.size + VIEWS * DIMENSIONS * 2 + 4 * (n_question + n_all)
    if magic != _MAGIC or len(blob) != expected:
        raise BadVector("not an answer vector of this format")
    at = _HEADER.size
    vectors = np.frombuffer(blob, dtype="<f2", count=VIEWS * DIMENSIONS, offset=at).reshape(
        VIEWS, DIMENSIONS)
    at += VIEWS * DIMENSIONS * 2
    # Copies: a view would keep the whole blob alive as long as the index holds the words.
    question_words = np.frombuffer(blob, dtype="<u4", count=n_question, offset=at).copy()
    all_words = np.frombuffer(blob, dtype="<u4", count=n_all, offset=at + 4 * n_question).copy()
    return AnswerEntry(vectors, question_words, all_words)


def entry_words(question: str, note: str | None) -> tuple[np.ndarray, np.ndarray]:
    return word_hashes(question), word_hashes(f"{question} {note or ''}")


@dataclass(frozen=True)
class Background:
    """Answers that are never suggested, against which scores and words are measured."""

    # (views, n, 384) float32, of float16 values (as stored): question + note, adapted and
    # published. One array, shared by every workspace's index.
    vectors: np.ndarray
    df: Counter[int]  # how many of them have each word
    size: int

    @classmethod
    def of(cls, entries: Sequence[AnswerEntry]) -> Background:
        df: Counter[int] = Counter()
        for entry in entries:
            df.update(entry.all_words.tolist())
        vectors = (np.stack([e.vectors for e in entries], axis=1).astype(np.float16).astype(np.float32)
                   if entries else np.empty((VIEWS, 0, DIMENSIONS), dtype=np.float32))
        return cls(vectors, df, len(entries))

    @classmethod
    def none(cls) -> Background:
        return cls.of([])

    def save(self, path: Path) -> None:
        words = np.array(sorted(self.df), dtype=np.uint32)
        np.savez_compressed(path, vectors=self.vectors.astype(np.float16), words=words,
                            counts=np.array([self.df[w] for w in words], dtype=np.uint32),
                            size=np.array([self.size]))

    @classmethod
    def load(cls, path: Path) -> Background:
        with np.load(path) as data:
            df = Counter(dict(zip(data["words"].tolist(), data["counts"].tolist(), strict=True)))
            vectors = data["vectors"].astype(np.float32)
            size = int(data["size"][0])
        if vectors.shape != (VIEWS, size, DIMENSIONS):
            raise ValueError(f"the background holds vectors of shape {vectors.shape}, "
                             f"not {(VIEWS, size, DIMENSIONS)}")
        return cls(vectors, df, size)


class WorkspaceIndex:
    """The answers of one workspace: add or replace them, and rank them for a question."""

    def __init__(self, background: Background | None = None) -> None:
        self._background = background or Background.none()
        self._ids: list[int] = []
        self._row: dict[int, int] = {}
        # Rows [0, len) are answers; the arrays have room for more (doubled when full).
        # One float32 matrix per view, which every search multiplies whole.
        self._vectors = [np.empty((0, DIMENSIONS), dtype=np.float32) for _ in range(VIEWS)]
        self._private = np.empty(0, dtype=bool)
        self._channel = np.empty(0, dtype=np.int32)
        self._channel_codes: dict[str | None, int] = {}
        self._question_words: list[np.ndarray] = []
        self._all_words: list[np.ndarray] = []
        self._df: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> list[int]:
        return list(self._ids)

    def _code(self, channel_id: str | None) -> int:
        return self._channel_codes.setdefault(channel_id, len(self._channel_codes))

    def put(self, items: Iterable[tuple[int, AnswerEntry, str | None, bool]]) -> None:
        """Add answers, or replace those the index has: (id, entry, channel, private)."""
        new: list[tuple[int, AnswerEntry, str | None, bool]] = []
        for answer_id, entry, channel_id, private in items:
            row = self._row.get(answer_id)
            if row is None:
                new.append((answer_id, entry, channel_id, private))
                continue
            self._df.subtract(self._all_words[row].tolist())
            for view, vectors in enumerate(self._vectors):
                vectors[row] = entry.vectors[view]
            self._private[row] = private
            self._channel[row] = self._code(channel_id)
            self._question_words[row] = entry.question_words
            self._all_words[row] = entry.all_words
            self._df.update(entry.all_words.tolist())
        if not new:
            return
        start = len(self._ids)
        self._make_room(start + len(new))
        for offset, (answer_id, entry, channel_id, private) in enumerate(new):
            row = start + offset
            for view, vectors in enumerate(self._vectors):
                vectors[row] = entry.vectors[view]
            self._private[row] = private
            self._channel[row] = self._code(channel_id)
            self._ids.append(answer_id)
            self._row[answer_id] = row
            self._question_words.append(entry.question_words)
            self._all_words.append(entry.all_words)
            self._df.update(entry.all_words.tolist())

    def rarest(self, words: Sequence[str], count: int) -> list[str]:
        """The `count` words of `words` that the fewest answers have (background too)."""
        def answers_with(word: str) -> int:
            hashed = word_hash(word)
            return self._df[hashed] + self._background.df[hashed]

        return sorted(words, key=answers_with)[:count]

    def reserve(self, rows: int) -> None:
        """Make room for `rows` answers at once (a whole read knows how many are coming)."""
        self._make_room(rows, exactly=True)

    def _make_room(self, rows: int, exactly: bool = False) -> None:
        if rows <= len(self._private):
            return
        room = rows if exactly else max(rows, 2 * len(self._private), 64)
        used = len(self._ids)

        def grown(array: np.ndarray) -> np.ndarray:
            bigger = np.zeros((room, *array.shape[1:]), dtype=array.dtype)
            bigger[:used] = array[:used]
            return bigger

        self._vectors = [grown(vectors) for vectors in self._vectors]
        self._private, self._channel = grown(self._private), grown(self._channel)

    def visible(self, channel_id: str | None) -> np.ndarray:
        """Which answers a question in channel_id may be suggested: the public ones, and the
        channel's own."""
        used = len(self._ids)
        code = self._channel_codes.get(channel_id, -1)
        mask: np.ndarray = ~self._private[:used] | (self._channel[:used] == code)
        return mask

    def candidates(self, query: np.ndarray, words: np.ndarray, channel_id: str | None,
                   extra: Sequence[int] = ()) -> tuple[list[int], np.ndarray]:
        """The best answers for a question (its vectors, (2, 384), and word hashes) asked in
        channel_id, with their features (one row each, in FEATURES' order): the CANDIDATES
        best by ``s``, and the answers in extra (say, found by full-text search) that the
        asker may see."""
        if not self._ids:
            return [], np.empty((0, len(FEATURES)), dtype=np.float64)
        allowed = self.visible(channel_id)
        if not allowed.any():
            return [], np.empty((0, len(FEATURES)), dtype=np.float64)
        used = len(self._ids)
        query = query.astype(np.float32)
        views = [_Scores(self._vectors[view][:used] @ query[view],
                         self._background.vectors[view] @ query[view], allowed)
                 for view in range(VIEWS)]
        adapted, published = views
        scores = adapted.scores
        masked = np.where(allowed, scores, -np.inf)
        count = min(CANDIDATES, int(allowed.sum()))
        best = np.argpartition(-masked, count - 1)[:count] if count < len(masked) else np.arange(len(masked))
        order = sorted(best.tolist(), key=lambda row: (-masked[row], row))
        for answer_id in extra:
            row = self._row.get(answer_id)
            if row is not None and allowed[row] and row not in order:
                order.append(row)
        total = len(self._ids) + self._background.size
        idf_unknown = math.log(total + 1)
        query_words = words.tolist()
        df = {w: self._df[w] + self._background.df[w] for w in query_words}
        weights = {w: math.log((total + 1) / (df[w] + 0.5)) if df[w] > 0 else idf_unknown
                   for w in query_words}
        mass = sum(weights.values()) + 1e-6
        rows = []
        for row in order:
            s = float(scores[row])
            all_words = self._all_words[row]
            question_words = self._question_words[row]
            shared_all = sum(weights[w] for w in query_words if _has(all_words, w))
            shared_question = sum(weights[w] for w in query_words if _has(question_words, w))
            rows.append((
                s,
                adapted.gap(row),
                (s - adapted.mean) / adapted.spread,
                float(min(adapted.above(row), CANDIDATES)),
                shared_all / mass,
                shared_question / mass,
                float(len(query_words)),
                published.gap(row),
            ))
        return [self._ids[row] for row in order], np.array(rows, dtype=np.float64)


class _Scores:
    """One view's cosines of a question with the answers it may be suggested (and the
    background's), and what the features read of them."""

    def __init__(self, scores: np.ndarray, behind: np.ndarray, allowed: np.ndarray) -> None:
        self.scores = scores
        seen = np.concatenate([scores[allowed], behind])
        self.mean, self.spread = float(seen.mean()), float(seen.std()) + 1e-6
        self.ordered = np.sort(seen)[::-1]

    def gap(self, row: int) -> float:
        """The answer's score minus the best other one (the second when it is the best)."""
        s = float(self.scores[row])
        best_other = self.ordered[1:2] if s >= self.ordered[0] else self.ordered[:1]
        return s - (float(best_other[0]) if len(best_other) else s)

    def above(self, row: int) -> int:
        """How many scores are above the answer's."""
        return int(np.searchsorted(-self.ordered, -float(self.scores[row]), side="left"))


def _has(sorted_words: np.ndarray, word: int) -> bool:
    at = int(np.searchsorted(sorted_words, word))
    return at < len(sorted_words) and int(sorted_words[at]) == word

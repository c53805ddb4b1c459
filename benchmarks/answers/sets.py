"""The answered-before sets: read them, and run the search's ranking over one in memory.

A set is a directory with answers.jsonl (id, question, answer, channel), repeats.jsonl
(text, answer: the id it repeats) and unrelated.jsonl (text). `eval/` is for measuring,
`heldout/` for the final check only. Of the training sets, those in GATE_SETS fit the gate
(and make its background), the others train the model's adapter: the gate is fitted on
asks the adapter never saw, so that its threshold holds for new ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.similarity.encoder import answer_blob, question_vector
from adapters.similarity.index import AnswerEntry, Background, WorkspaceIndex, unpack
from adapters.similarity.minilm import MiniLM

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class AnswerSet:
    name: str
    answers: list[dict[str, str]]
    repeats: list[dict[str, str]]
    unrelated: list[dict[str, str]]


def _lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(directory: Path) -> AnswerSet:
    return AnswerSet(directory.name, _lines(directory / "answers.jsonl"),
                     _lines(directory / "repeats.jsonl"), _lines(directory / "unrelated.jsonl"))


GATE_SETS = ("eng", "ops", "hotel", "legal", "logistics", "mobile", "newsroom", "security")


def training_sets() -> list[AnswerSet]:
    return [load(d) for d in sorted((HERE / "train").iterdir()) if d.is_dir()]


def gate_sets() -> list[AnswerSet]:
    return [load(HERE / "train" / name) for name in sorted(GATE_SETS)]


def adapter_sets() -> list[AnswerSet]:
    return [s for s in training_sets() if s.name not in GATE_SETS]


@dataclass(frozen=True)
class Embedded:
    """A set with every text made into what the search holds (each text embedded once)."""

    answer_set: AnswerSet
    entries: list[AnswerEntry]
    # (vector, word hashes, the position of the answer it repeats or None)
    queries: list[tuple[np.ndarray, np.ndarray, int | None]]


def embed(model: MiniLM, answer_set: AnswerSet) -> Embedded:
    entries = [unpack(answer_blob(model, a["question"], a["answer"])) for a in answer_set.answers]
    position = {a["id"]: i for i, a in enumerate(answer_set.answers)}
    asked = [(r["text"], position[r["answer"]]) for r in answer_set.repeats]
    asked += [(u["text"], None) for u in answer_set.unrelated]
    queries = [(*question_vector(model, text), expected) for text, expected in asked]
    return Embedded(answer_set, entries, queries)


@dataclass(frozen=True)
class Query:
    expected: int | None  # the answer's position in the set; None: it repeats none here
    candidates: list[int]
    features: np.ndarray


def rank(embedded: Embedded, background: Background,
         answers: Sequence[int] | None = None) -> list[Query]:
    """Every repeat and unrelated ask of the set against a workspace holding the set's
    answers (or those at the given positions: a repeat of another counts as unrelated)."""
    kept = list(range(len(embedded.entries))) if answers is None else list(answers)
    index = WorkspaceIndex(background)
    index.put((i, embedded.entries[i], None, False) for i in kept)
    inside = set(kept)
    out = []
    for vector, words, expected in embedded.queries:
        ids, features = index.candidates(vector, words, None)
        out.append(Query(expected if expected in inside else None, ids, features))
    return out

"""The answered-before sets: read them, and run the search's ranking over one in memory.

A set is a directory with answers.jsonl (id, question, answer, channel), repeats.jsonl
(text, answer: the id it repeats) and unrelated.jsonl (text). `eval/` is for measuring,
`train/*` for fitting the gate, `heldout/` for the final check only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.similarity.encoder import answer_blob, question_vector
from adapters.similarity.index import WorkspaceIndex, unpack
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


@dataclass(frozen=True)
class Query:
    text: str
    expected: int | None  # the answer's position in the set; None: unrelated
    candidates: list[int]
    features: np.ndarray


def rank_in_memory(model: MiniLM, answer_set: AnswerSet) -> list[Query]:
    """Every repeat and unrelated ask of the set, with the index's candidates and features
    (all answers public, in one channel)."""
    index = WorkspaceIndex()
    index.put((i, unpack(answer_blob(model, a["question"], a["answer"])), None, False)
              for i, a in enumerate(answer_set.answers))
    position = {a["id"]: i for i, a in enumerate(answer_set.answers)}
    asked = [(r["text"], position[r["answer"]]) for r in answer_set.repeats]
    asked += [(u["text"], None) for u in answer_set.unrelated]
    queries = []
    for text, expected in asked:
        vector, words = question_vector(model, text)
        ids, features = index.candidates(vector, words, None)
        queries.append(Query(text, expected, ids, features))
    return queries

"""Fit the answered-before gate on the training sets and write adapters/similarity/gate.json.

    PYTHONPATH=. .venv/bin/python benchmarks/answers/train_gate.py

Fits on every set under benchmarks/answers/train/, picks the threshold on them (the
chance above which about 30 % of their unrelated asks are offered something), and prints
what it gives on the evaluation set, which plays no part in the fit. The held-out set is
never read here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from adapters.similarity.gate import Gate, fit
from adapters.similarity.minilm import MiniLM
from benchmarks.answers.sets import HERE, Query, load, rank_in_memory

GATE = Path(__file__).resolve().parents[2] / "adapters" / "similarity" / "gate.json"
UNRELATED_SHOWN = 0.30


def offered(gate: Gate, query: Query) -> list[int]:
    """The candidates offered for a query, best first (at most 3)."""
    chances = gate.chances(query.features)
    best = np.argsort(-chances, kind="stable")[:3]
    return [query.candidates[i] for i in best if chances[i] > gate.threshold]


def figures(gate: Gate, queries: list[Query]) -> dict[str, float]:
    repeats = [q for q in queries if q.expected is not None]
    unrelated = [q for q in queries if q.expected is None]
    shown = [offered(gate, q) for q in repeats]
    return {
        "recall@1": float(np.mean([s[:1] == [q.expected] for s, q in zip(shown, repeats, strict=True)])),
        "recall@3": float(np.mean([q.expected in s for s, q in zip(shown, repeats, strict=True)])),
        "ranked@3": float(np.mean([q.expected in q.candidates[:3] for q in repeats])),
        "unrelated shown": float(np.mean([bool(offered(gate, q)) for q in unrelated])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write gate.json")
    args = parser.parse_args()
    model = MiniLM()
    training = [q for d in sorted((HERE / "train").iterdir()) if d.is_dir()
                for q in rank_in_memory(model, load(d))]
    rows = np.vstack([q.features for q in training])
    labels = [int(c == q.expected) for q in training for c in q.candidates]
    gate = fit(rows, labels)
    best_unrelated = [float(gate.chances(q.features).max()) for q in training
                      if q.expected is None and len(q.candidates)]
    threshold = float(np.quantile(best_unrelated, 1 - UNRELATED_SHOWN))
    gate = Gate(gate.features, gate.mean, gate.scale, gate.weights, gate.bias, threshold)
    print(f"trained on {len(training)} asks ({len(rows)} candidates); threshold {threshold:.3f}")
    print("training sets:", {k: round(v, 3) for k, v in figures(gate, training).items()})
    evaluation = rank_in_memory(model, load(HERE / "eval"))
    print("evaluation set:", {k: round(v, 3) for k, v in figures(gate, evaluation).items()})
    if args.write:
        GATE.write_text(gate.to_json(), encoding="utf-8")
        print(f"wrote {GATE}")


if __name__ == "__main__":
    main()

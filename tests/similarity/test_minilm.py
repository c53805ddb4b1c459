"""The numpy MiniLM gives the ONNX runtime's vectors, from the installed wheel, offline; leanon's
adapter on top of it tells repeats from new asks on the same topic better than the model alone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from adapters.similarity import minilm
from adapters.similarity.minilm import DIMENSIONS, MiniLM, ModelUnavailable, adapter_file, model_file
from benchmarks.answers.sets import load

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "benchmarks" / "answers" / "eval" / "answers.jsonl"


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


@pytest.fixture(scope="module")
def plain() -> MiniLM:
    return MiniLM(adapted=False)


def _reference(session: onnxruntime.InferenceSession, ids: list[int]) -> np.ndarray:
    batch = np.array([ids], dtype=np.int64)
    feeds = {
        "input_ids": batch,
        "attention_mask": np.ones_like(batch),
        "token_type_ids": np.zeros_like(batch),
    }
    hidden = session.run(None, feeds)[0][0]
    pooled = hidden.mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def test_without_the_adapter_the_vectors_are_the_onnx_runtimes(plain: MiniLM) -> None:
    model = plain
    session = onnxruntime.InferenceSession(str(model_file()), providers=["CPUExecutionProvider"])
    questions = [json.loads(line)["question"] for line in EVAL.read_text().splitlines()[:20]]
    texts = [*questions, "x", "Ça coûte combien, le café ? Ünïcödé", "word " * 400, "ok 🙏 thanks <@U123>"]
    for text in texts:
        ours = model.embed(text)
        assert ours.shape == (DIMENSIONS,)
        assert ours.dtype == np.float32
        assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-5
        assert float(ours @ _reference(session, model.tokens(text))) > 0.99999, text


def test_meaning_brings_texts_together(model: MiniLM) -> None:
    question = model.embed("How do I reset my password?")
    same = model.embed("forgot my login password, how to change it")
    other = model.embed("Where is the parking for bikes at the office?")
    assert float(question @ same) > float(question @ other) + 0.2


def _separation(model: MiniLM) -> float:
    """How often a repeat is closer to its original than a same-topic new ask is to its
    nearest answer (an AUC), on a set the adapter was never trained on."""
    answer_set = load(ROOT / "benchmarks" / "answers" / "train" / "eng")
    answers = np.stack([model.embed(f"{a['question']} {a['answer']}") for a in answer_set.answers])
    position = {a["id"]: i for i, a in enumerate(answer_set.answers)}
    own = np.array([float(model.embed(r["text"]) @ answers[position[r["answer"]]])
                    for r in answer_set.repeats[:60]])
    nearest = np.array([float((answers @ model.embed(u["text"])).max()) for u in answer_set.unrelated[:60]])
    return float((own[:, None] > nearest[None, :]).mean())


def test_the_adapter_tells_repeats_from_new_asks_better(model: MiniLM, plain: MiniLM) -> None:
    adapted, alone = _separation(model), _separation(plain)
    assert adapted > alone + 0.05, (adapted, alone)


def test_the_adapter_changes_the_vectors_a_little(model: MiniLM, plain: MiniLM) -> None:
    text = "the staging database refuses connections since this morning"
    ours, base = model.embed(text), plain.embed(text)
    assert abs(float(np.linalg.norm(ours)) - 1.0) < 1e-5
    assert 0.8 < float(ours @ base) < 0.99999


def test_both_vectors_come_from_one_pass_as_each_model_makes_them(model: MiniLM,
                                                                 plain: MiniLM) -> None:
    for text in ("the staging database refuses connections since this morning", "vpn",
                 "word " * 300):  # one token, and more than the model reads
        both = model.embed_both(text)
        assert both.shape == (2, 384) and both.dtype == np.float32
        assert np.abs(both[0] - model.embed(text)).max() < 1e-5
        assert np.abs(both[1] - plain.embed(text)).max() < 1e-5
    with pytest.raises(ModelUnavailable, match="adapter"):
        plain.embed_both("the model as published has no second stream to give")


def test_a_missing_altered_or_misshapen_adapter_is_refused(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelUnavailable, match="missing"):
        MiniLM(adapter_path=tmp_path / "adapter.npz")
    altered = tmp_path / "adapter.npz"
    shipped_bytes = bytearray(adapter_file().read_bytes())
    shipped_bytes[len(shipped_bytes) // 2] ^= 0xFF  # one byte of some weight
    altered.write_bytes(bytes(shipped_bytes))
    with pytest.raises(ModelUnavailable, match="not the one"):
        MiniLM(adapter_path=altered)
    with np.load(adapter_file()) as arrays:
        shipped = {name: arrays[name] for name in arrays.files}
    for name, changed, match in [
        ("0.qkv.up", lambda a: a[:, :10], "does not fit"),
        ("0.qkv.down", None, "does not fit"),
        ("9.qkv.down", lambda a: a, "the model does not"),
    ]:
        arrays = dict(shipped)
        if changed is None:
            del arrays[name]
        else:
            arrays[name] = changed(shipped.get(name, shipped["0.qkv.down"]))
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)
        monkeypatch.setattr(minilm, "ADAPTER_SHA256", minilm._sha256(path))
        with pytest.raises(ModelUnavailable, match=match):
            MiniLM(adapter_path=path)


def test_a_candidate_adapter_loads_only_with_its_own_sha256_named(tmp_path: Path) -> None:
    with np.load(adapter_file()) as arrays:
        halved = {name: arrays[name] * (0.5 if name.endswith(".up") else 1) for name in arrays.files}
    candidate = tmp_path / "candidate.npz"
    np.savez(candidate, **halved)
    with pytest.raises(ModelUnavailable, match="not the one"):
        MiniLM(adapter_path=candidate)
    model = MiniLM(adapter_path=candidate, adapter_sha256=minilm._sha256(candidate))
    shipped = MiniLM()
    text = "the build cache fills the disk on the runner"
    assert not np.allclose(model.embed_both(text), shipped.embed_both(text))


def test_long_texts_are_cut_at_the_models_length(model: MiniLM) -> None:
    assert len(model.tokens("word " * 1000)) == 128


def test_a_missing_or_altered_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="missing"):
        MiniLM(model_path=tmp_path / "model.onnx")
    altered = tmp_path / "model.onnx"
    altered.write_bytes(model_file().read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelUnavailable, match="not the one"):
        MiniLM(model_path=altered)


def test_the_model_loads_and_runs_with_the_network_unreachable() -> None:
    # Any attempt to open a socket (a download, a telemetry call) fails the run.
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network unreachable")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from adapters.similarity.minilm import MiniLM

        vector = MiniLM().embed("the staging database refuses connections")
        print(len(vector))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "0", "NO_PROXY": "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "384"


def test_a_pass_keeps_to_one_blas_thread_and_gives_the_rest_back(
        model: MiniLM, monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy's OpenBLAS splits a product over every CPU; with the database or another replica
    # busy on one of them, a pass waited on the busy one (p99 189 ms against 29 ms on one
    # thread, 2 CPUs). The model runs one text at a time: it keeps to one thread.
    seen: list[list[int]] = []
    norm = minilm._layer_norm

    def watched(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return norm(x, weights)

    monkeypatch.setattr(minilm, "_layer_norm", watched)
    with threadpool_limits(limits=2, user_api="blas"):
        alone = model.embed("the staging database refuses connections")
        both = model.embed_both("the staging database refuses connections")
        after = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert seen and all(threads == [1] for threads in seen)
    assert after == [2]
    np.testing.assert_allclose(both[0], alone, atol=1e-6)

"""The numpy MiniLM gives the ONNX runtime's vectors, from the installed wheel, offline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from adapters.similarity.minilm import DIMENSIONS, MiniLM, ModelUnavailable, model_file

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "benchmarks" / "answers" / "eval" / "answers.jsonl"


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


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


def test_the_vectors_are_the_onnx_runtimes(model: MiniLM) -> None:
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

"""The model's pass on one BLAS thread (leanon) beside the same pass with numpy's BLAS free
to use every CPU, with the machine idle and with another process busy on one CPU (as the
database server is while it runs the full-text search beside the pass).

    PYTHONPATH=. .venv/bin/python benchmarks/answers/model_pass.py [--texts 300] [--rounds 3]

Each text is the evaluation set's repeats in turn; both vectors of it in one pass
(`MiniLM.embed_both`, what a search makes). The two ways take turns in rounds, so a slow
minute of the machine weighs on both alike. Printed: p50 and p99 of each way, in each
condition, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from adapters.similarity import minilm
from adapters.similarity.minilm import MiniLM
from benchmarks.answers.sets import HERE, load
from benchmarks.common import machine, percentile

BURN_SECONDS = 600  # the busy process never outlives a run gone wrong by more than this


def timed(model: MiniLM, texts: list[str], threads: int) -> list[float]:
    minilm.BLAS_THREADS = threads
    times = []
    for text in texts:
        start = time.perf_counter()
        model.embed_both(text)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=300, help="passes per way, condition and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    print(machine())
    repeats = [r["text"] for r in load(HERE / "eval").repeats]
    texts = [repeats[i % len(repeats)] for i in range(args.texts)]
    model = MiniLM()
    timed(model, texts[:20], 1)  # warm up
    ways = {"leanon (one BLAS thread)": 1, f"numpy's default ({cpus} BLAS threads)": cpus}
    print("\n| condition | way | p50 | p99 |\n|---|---|---:|---:|")
    for condition in ("idle", "one CPU busy"):
        burner = None
        if condition != "idle":
            burner = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
                [sys.executable, "-c", f"import time\nend = time.time() + {BURN_SECONDS}\n"
                 "while time.time() < end: pass"])
            time.sleep(0.5)
        try:
            times: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(args.rounds):
                for way, threads in ways.items():
                    times[way] += timed(model, texts, threads)
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
        p99 = {}
        for way, values in times.items():
            p99[way] = percentile(values, 99)
            print(f"| {condition} | {way} | {percentile(values, 50):.1f} ms | {p99[way]:.1f} ms |")
        leanon, default = p99.values()
        print(f"| {condition} | p99 ratio, leanon / default | | {leanon / default:.2f} |")
    minilm.BLAS_THREADS = 1


if __name__ == "__main__":
    main()

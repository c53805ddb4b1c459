"""The answered-before search, measured through leanon's own code: quality, speed, memory.

    PYTHONPATH=. .venv/bin/python benchmarks/answers/search.py [--set eval|heldout]
        [--answers 10000] [--database sqlite|postgresql]

1. Quality: the set's answers go in through `leanon answers import` (the same code), the
   scheduled job makes their vectors, and every repeat and unrelated ask is searched as a
   new ask would be (`bot.memory.likely_repeats`). Printed: recall@1 and recall@3 (the
   original among what is suggested), and the share of unrelated asks shown a suggestion.
2. Speed and memory: the workspace grows to --answers answers (made-up texts of the sets'
   words, with random vectors: only the time and memory are measured), and the repeats
   are searched again (each three times), in a new process. Printed: the search's p50 and
   p99 beside full-text search alone (the bare baseline, in the same run), the process's
   resident memory before the model, after it loaded and with the index built.

The held-out set is for the final check only: never tune anything on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.similarity import answer_search
from adapters.similarity.index import DIMENSIONS, VIEWS, pack
from adapters.similarity.words import word_hashes
from benchmarks.answers.sets import HERE, AnswerSet, gate_sets, load
from benchmarks.common import ScratchPostgres, machine, percentile
from bot import memory
from bot.app import bootstrap, import_answers_file, settle_heap
from bot.commands import RunAnswerIndexing
from bot.config import Config
from bot.deps import Deps
from bot.domain import NewAnswer, Platform, WorkspaceRef
from storage import create_engine

WORKSPACE = WorkspaceRef(Platform.SLACK, "TBENCH")
CHANNEL = "CBENCH"
# Each ask is searched this often at 10,000 answers: 241 searches make a p99 of the third
# slowest, which one slow moment of the machine moves by 10 ms.
SCALE_ROUNDS = 3


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_import_file(answer_set_dir: Path, path: Path) -> None:
    import json

    answer_set = load(answer_set_dir)
    path.write_text("".join(json.dumps({"question": a["question"], "answer": a["answer"]}) + "\n"
                            for a in answer_set.answers), encoding="utf-8")


async def measure(config: Config, set_dir: Path, scale: int) -> None:
    answer_set = load(set_dir)
    with tempfile.TemporaryDirectory() as scratch:
        faq = Path(scratch) / "faq.jsonl"
        write_import_file(set_dir, faq)
        added, _ = await import_answers_file(config, faq, WORKSPACE)
    async with bootstrap(config, send_in_background=False) as runtime:
        settle_heap()  # as `leanon run` does once it has started (the model comes later)
        deps = runtime.service.deps
        search = deps.search or answer_search()
        started = time.perf_counter()
        await runtime.service.handle(RunAnswerIndexing(), send=False)
        while True:  # one run is bounded in time: go on until every answer has its vector
            async with deps.uow() as uow:
                left = await uow.answers.needing_vectors(search.model, 1)
            if not left:
                break
            await runtime.service.handle(RunAnswerIndexing(), send=False)
        indexing = time.perf_counter() - started
        by_question = {a["question"]: a for a in answer_set.answers}
        async with deps.uow() as uow:
            stored = await uow.answers.export(WORKSPACE)
        answer_of = {by_question[a.question]["id"]: a.id for a in stored}
        print(f"{answer_set.name}: {added} answers imported, their vectors made in {indexing:.1f} s")

        asked = [(r["text"], answer_of[r["answer"]]) for r in answer_set.repeats]
        asked += [(u["text"], None) for u in answer_set.unrelated]
        hits1 = hits3 = shown_unrelated = 0
        small_times = []
        for text, expected in asked:
            t = time.perf_counter()
            matches = await memory.likely_repeats(deps, search, WORKSPACE, text, CHANNEL)
            small_times.append(time.perf_counter() - t)
            ids = [m.answer_id for m in matches]
            if expected is None:
                shown_unrelated += bool(ids)
            else:
                hits1 += ids[:1] == [expected]
                hits3 += expected in ids
        repeats = len(answer_set.repeats)
        print(f"  recall@1 {hits1 / repeats:.3f}   recall@3 {hits3 / repeats:.3f}   "
              f"({repeats} repeats)")
        print(f"  unrelated asks shown a suggestion: {shown_unrelated / len(answer_set.unrelated):.3f} "
              f"({len(answer_set.unrelated)} asks)")
        print(f"  search with {added} answers: p50 {percentile(small_times, 50) * 1e3:.1f} ms, "
              f"p99 {percentile(small_times, 99) * 1e3:.1f} ms")

        await grow(deps, answer_set, scale, search.model)
    if config.database_url.startswith("postgresql"):
        # What autovacuum (on by default; a test server may run without it) does within a
        # minute of so many new rows (PostgreSQL 13 and later vacuum a table after inserts
        # too): statistics, without which the planner takes a table it thinks nearly empty
        # through the workspace's index; and the visibility map, without which counting
        # the workspace's vectors reads every row rather than the index alone (3.2 against
        # 1.4 ms at 10,000 answers).
        engine = create_engine(config.database_url)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE answers")
        await engine.dispose()
    # Speed and memory in a process of its own, as a replica that starts with the answers
    # already there (this one made 10,000 rows: its heap would hide the index's size).
    texts = [text for text, _ in asked]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listed:
        listed.write("\n".join(texts))
    done = await asyncio.to_thread(
        subprocess.run,  # this interpreter, this script
        [sys.executable, __file__, "--scale-phase", listed.name, "--answers", str(scale)],
        env={**os.environ, "DATABASE_URL": config.database_url}, check=True,
        capture_output=True, text=True)
    os.unlink(listed.name)
    print(done.stdout, end="")


async def scale_phase(config: Config, texts: list[str], scale: int) -> None:
    """The search's speed with `scale` answers, beside full-text search alone, and the
    memory the model and the index take."""
    async with bootstrap(config, send_in_background=False) as runtime:
        settle_heap()  # as `leanon run` does once it has started (the model comes later)
        deps = runtime.service.deps
        search = deps.search or answer_search()
        before_model = rss_mb()
        await search.vectorize(texts[0], None)  # loads the model (a search of nothing would not)
        with_model = rss_mb()
        await memory.likely_repeats(deps, search, WORKSPACE, texts[0], CHANNEL)
        with_index = rss_mb()
        ours, bare = [], []
        for text in texts * SCALE_ROUNDS:
            t = time.perf_counter()
            await memory.likely_repeats(deps, search, WORKSPACE, text, CHANNEL)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            async with deps.uow() as uow:
                await uow.answers.keyword_search(WORKSPACE, text, CHANNEL, 10)
            bare.append(time.perf_counter() - t)
        print(f"  search with {scale:,} answers: p50 {percentile(ours, 50) * 1e3:.1f} ms, "
              f"p99 {percentile(ours, 99) * 1e3:.1f} ms; full-text search alone p50 "
              f"{percentile(bare, 50) * 1e3:.1f} ms, p99 {percentile(bare, 99) * 1e3:.1f} ms "
              f"(ratio at p99 {percentile(ours, 99) / percentile(bare, 99):.1f})")
        print(f"  resident memory of a new process: {before_model:.0f} MB before the model, "
              f"{with_model:.0f} MB with it (+{with_model - before_model:.0f}), {with_index:.0f} MB "
              f"with {scale:,} answers indexed (+{with_index - before_model:.0f} in all)")


async def grow(deps: Deps, answer_set: AnswerSet, scale: int, model: str) -> None:
    """Fill the workspace up to `scale` answers with random vectors and made-up texts (what
    they say is not measured, only time and memory): each a dozen words drawn from the
    sets' vocabulary, so that a word is in a few dozen answers, as in a real workspace,
    rather than in every copy of a repeated text."""
    import numpy as np

    rng = np.random.default_rng(3)
    vocabulary = sorted({w for s in (answer_set, *gate_sets()) for a in s.answers
                         for w in f"{a['question']} {a['answer']}".split()})
    async with deps.uow() as uow:
        have = len(await uow.answers.export(WORKSPACE))
    now = deps.clock.now()
    batch = 500
    for start in range(have, scale, batch):
        async with deps.uow() as uow:
            for _ in range(start, min(scale, start + batch)):
                question = " ".join(rng.choice(vocabulary, size=int(rng.integers(8, 16))))
                note = " ".join(rng.choice(vocabulary, size=int(rng.integers(6, 14))))
                made = await uow.answers.add(NewAnswer(WORKSPACE, question, now, note=note))
                vectors = rng.normal(size=(VIEWS, DIMENSIONS)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                blob = pack(vectors, word_hashes(question), word_hashes(f"{question} {note}"))
                await uow.answers.set_vector(made.id, model, blob, now, now)
            await uow.commit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="eval", choices=["eval", "heldout"])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--scale-phase", help=argparse.SUPPRESS)  # the second process
    args = parser.parse_args()
    if args.scale_phase:
        texts = (await asyncio.to_thread(Path(args.scale_phase).read_text, encoding="utf-8")
                 ).splitlines()
        await scale_phase(Config(database_url=os.environ["DATABASE_URL"]), texts, args.answers)
        return
    print(machine())
    random.seed(1)
    set_dir = HERE / args.set
    if args.database == "postgresql":
        async with ScratchPostgres() as url:
            await measure(Config(database_url=url), set_dir, args.answers)
        return
    with tempfile.TemporaryDirectory() as scratch:
        await measure(Config(database_url=f"sqlite:///{scratch}/bench.db"), set_dir, args.answers)


if __name__ == "__main__":
    os.environ.setdefault("LEANON_LOG_LEVEL", "WARNING")
    asyncio.run(main())

"""The final check of the answered-before search, the way a team would meet it: an FAQ
loaded with `leanon answers import`, then every ask of the set sent to `leanon run` (Slack
HTTP mode, SQLite, against the fake Slack Web API on 127.0.0.1) as a signed `/ask`, and
what each asker was suggested read back from their private answer.

    PYTHONPATH=. .venv/bin/python benchmarks/answers_http.py [--set heldout|eval]

Printed: recall@1 and recall@3 over the repeats (the original among the answers suggested)
and the share of unrelated asks shown a suggestion. The held-out set is never used for
anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from common import CHANNEL, ROOT, SIGNING_SECRET, TEAM, free_port, leanon_env, machine
from procs import Proc, fake_slack, leanon_command
from slack_sdk.signature import SignatureVerifier

from adapters.similarity import VECTOR_MODEL
from benchmarks.answers.sets import HERE, AnswerSet, load
from bot.domain import Platform, WorkspaceRef
from storage import SqlStore

WORKSPACE = WorkspaceRef(Platform.SLACK, TEAM)
VALUE = re.compile(r'"value": "(\d+):(\d+)"')
_verifier = SignatureVerifier(SIGNING_SECRET)


def signed_ask(text: str, n: int, api_base: str) -> tuple[bytes, dict[str, str]]:
    form = {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": CHANNEL,
            "channel_name": "help-desk", "user_id": f"UBENCH{n:05d}", "user_name": f"member{n}",
            "command": "/ask", "text": text, "api_app_id": "A123456",
            "is_enterprise_install": "false", "response_url": f"{api_base}/response/kept-{n}",
            "trigger_id": f"{n}.738474920.8088930838d88f008e0"}
    body = urlencode(form)
    stamp = str(int(time.time()))
    return body.encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": str(_verifier.generate_signature(timestamp=stamp, body=body))}


async def import_faq(set_dir: Path, database_url: str, workdir: Path) -> None:
    faq = workdir / "faq.jsonl"
    faq.write_text("".join(json.dumps({"question": a["question"], "answer": a["answer"]}) + "\n"
                           for a in load(set_dir).answers), encoding="utf-8")
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "answers", "import", str(faq), "--workspace",
        f"slack:{TEAM}", cwd=ROOT, env={**leanon_env(database_url, 0, "http://unused/")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await done.communicate()
    if done.returncode != 0:
        raise RuntimeError(f"answers import failed: {err.decode()}")
    print(f"  leanon answers import: {out.decode().strip()}")


async def wait_for_vectors(database_url: str, expected: int, within: float = 120) -> float:
    """Seconds until the running leanon made every answer's vector (its scheduled job)."""
    store = SqlStore.from_url(database_url)
    start = time.monotonic()
    try:
        while time.monotonic() - start < within:
            async with store.unit_of_work() as uow:
                if (await uow.answers.vector_state(WORKSPACE, VECTOR_MODEL))[0] >= expected:
                    return time.monotonic() - start
            await asyncio.sleep(1)
    finally:
        await store.close()
    raise RuntimeError(f"the answers' vectors were not made within {within} s")


async def answer_ids(database_url: str) -> dict[str, int]:
    store = SqlStore.from_url(database_url)
    try:
        async with store.unit_of_work() as uow:
            return {a.question: a.id for a in await uow.answers.export(WORKSPACE)}
    finally:
        await store.close()


async def run(set_dir: Path) -> None:
    answer_set = load(set_dir)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        database_url = f"sqlite:///{workdir / 'leanon.db'}"
        fake, api_base = await fake_slack(workdir)
        try:
            await import_faq(set_dir, database_url, workdir)
            ids = await answer_ids(database_url)
            port = free_port()
            leanon = await Proc(leanon_command(), leanon_env(database_url, port, f"{api_base}/api/"),
                                workdir, workdir / "leanon.log").start()
            try:
                startup = await leanon.wait_http(f"http://127.0.0.1:{port}/readyz")
                print(f"  leanon run ready in {startup:.2f} s")
                made = await wait_for_vectors(database_url, len(ids))
                print(f"  the FAQ's vectors made by leanon's scheduled job within {made:.0f} s")
                await ask_everything(answer_set, ids, port, api_base)
            finally:
                await leanon.stop()
        finally:
            await fake.stop()


async def ask_everything(answer_set: AnswerSet, ids: dict[str, int], port: int,
                         api_base: str) -> None:
    by_id = {a["id"]: ids[a["question"]] for a in answer_set.answers}
    asked = [(r["text"], by_id[r["answer"]]) for r in answer_set.repeats]
    asked += [(u["text"], None) for u in answer_set.unrelated]
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as session:
        for n, (text, _) in enumerate(asked):
            body, headers = signed_ask(text, n, api_base)
            async with session.post(url, data=body, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"/ask answered {response.status}")
        deadline = time.monotonic() + 120
        while True:
            async with session.get(f"{api_base}/_bench/responses") as response:
                kept = await response.json()
            posted = [n for n in range(len(asked)) if any(
                "Your ask is posted" in json.dumps(b) for b in kept.get(f"kept-{n}", []))]
            if len(posted) == len(asked) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    if len(posted) != len(asked):
        raise RuntimeError(f"only {len(posted)} of {len(asked)} asks were confirmed")
    hits1 = hits3 = unrelated_shown = 0
    for n, (_, expected) in enumerate(asked):
        suggested = [int(answer) for body in kept.get(f"kept-{n}", [])
                   for _, answer in VALUE.findall(json.dumps(body))]
        suggested = list(dict.fromkeys(suggested))
        if expected is None:
            unrelated_shown += bool(suggested)
        else:
            hits1 += suggested[:1] == [expected]
            hits3 += expected in suggested
    repeats, unrelated = len(answer_set.repeats), len(answer_set.unrelated)
    print(f"  recall@1 {hits1 / repeats:.3f}   recall@3 {hits3 / repeats:.3f}   ({repeats} repeats)")
    print(f"  unrelated asks shown a suggestion: {unrelated_shown / unrelated:.3f} ({unrelated} asks)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="heldout", choices=["heldout", "eval"])
    args = parser.parse_args()
    print(machine())
    print(f"{args.set}, through leanon answers import and signed /ask:")
    await run(HERE / args.set)


if __name__ == "__main__":
    asyncio.run(main())

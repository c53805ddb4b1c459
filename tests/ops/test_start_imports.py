"""What a start leaves out of memory: Alembic when the database is migrated already, and
cryptography when no secret key is set (each some 6-10 MB of every replica)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from bot.config import Config
from storage import upgrade

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, sys
from bot.app import bootstrap
from bot.config import Config

async def main():
    async with bootstrap(Config(database_url={url!r}), send_in_background=False) as runtime:
        await runtime.store.ping()
    print("alembic" in sys.modules, "cryptography" in sys.modules)

asyncio.run(main())
"""


def _start(url: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT.format(url=url))],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


async def test_a_start_on_a_migrated_database_imports_neither_alembic_nor_cryptography(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leanon.db'}"
    assert _start(url) == ["True", "False"]  # the first start migrates
    assert _start(url) == ["False", "False"]


async def test_a_start_on_a_database_behind_migrates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leanon.db'}"
    await upgrade(Config(database_url=url).database_url, "0016")
    assert _start(url) == ["True", "False"]
    assert _start(url) == ["False", "False"]

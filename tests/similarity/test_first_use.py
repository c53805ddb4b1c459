"""The search costs nothing until it has something to search: no numpy, no model."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_leanon_starts_and_searches_an_empty_workspace_without_importing_numpy(
        tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from bot.app import bootstrap
        from bot.commands import CreateAsk
        from bot.config import Config
        from bot.domain import Actor, Platform, WorkspaceRef

        async def main():
            config = Config(database_url="sqlite:///{tmp_path / 'leanon.db'}")
            async with bootstrap(config, send_in_background=False) as runtime:
                assert runtime.service.deps.search is not None
                ws = WorkspaceRef(Platform.CONSOLE, "console")
                reply = await runtime.service.handle(
                    CreateAsk(ws, Actor("alice"), "general", "How do I reset my VPN token?"),
                    send=False)
                assert reply.ok, reply
            print("numpy" in sys.modules, "tokenizers" in sys.modules)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]

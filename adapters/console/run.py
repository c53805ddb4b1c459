"""Running the console workspace on a terminal or on a script from stdin."""

from __future__ import annotations

import asyncio
from typing import TextIO

from adapters.console.workspace import ConsoleWorkspace, welcome


class TerminalSource:
    """Lines typed at a prompt (readline editing where Python has it)."""

    async def read(self, prompt: str) -> str | None:
        try:
            return await asyncio.to_thread(input, prompt)
        except EOFError:
            return None


class ScriptSource:
    """Lines from a file or a pipe, one command per line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def read(self, prompt: str) -> str | None:
        text = self.stream.readline()
        return text.rstrip("\n") if text else None


async def run_console(workspace: ConsoleWorkspace, stream: TextIO) -> None:
    """Interactive when `stream` is a terminal; otherwise run it as a script, echoing each line."""
    if stream.isatty():
        welcome(workspace)
        await workspace.run(TerminalSource(), echo=False)
    else:
        await workspace.run(ScriptSource(stream), echo=True)

"""Running the console workspace on a terminal or on a script from stdin."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from adapters.console.workspace import ConsoleWorkspace, welcome

HISTORY = Path.home() / ".leanon_history"  # the lines typed at the console's prompt
HISTORY_LINES = 1000


class TerminalSource:
    """Lines typed at a prompt, with line editing and history (readline, where Python has
    it). Ctrl-C leaves at once, as Ctrl-D does; the terminal is left as it was found."""

    interactive = True

    def __init__(self, history: Path | None = HISTORY) -> None:
        self.history = history
        self.readline: ModuleType | None
        try:
            import readline  # input() edits lines and keeps history once it is loaded
        except ImportError:  # a Python built without it: plain input
            self.readline = None
        else:
            self.readline = readline
            readline.set_history_length(HISTORY_LINES)
            if history is not None:
                with contextlib.suppress(OSError):
                    readline.read_history_file(history)
        self._terminal: list[Any] | None = None
        with contextlib.suppress(ImportError, OSError, ValueError):
            import termios

            self._terminal = termios.tcgetattr(sys.stdin.fileno())

    async def read(self, prompt: str) -> str | None:
        # input() runs on a thread of its own (daemon): waiting for a line never holds up
        # the event loop, and Ctrl-C (in the main thread) does not wait for Enter.
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str | None] = loop.create_future()

        def ask() -> None:
            try:
                result: str | None = input(prompt)
            except (EOFError, OSError, ValueError):  # Ctrl-D, or the terminal went away
                result = None
            loop.call_soon_threadsafe(_settle, line, result)

        threading.Thread(target=ask, name="leanon-console-input", daemon=True).start()
        return await line

    def unread(self, text: str) -> None:
        raise NotImplementedError("a terminal reads what is typed, in order")

    def close(self) -> None:
        """Keep the history; give the terminal back as it was (a line being edited when
        Ctrl-C came leaves it without echo otherwise)."""
        if self.readline is not None and self.history is not None:
            with contextlib.suppress(OSError):
                self.readline.write_history_file(self.history)
        if self._terminal is not None:
            with contextlib.suppress(ImportError, OSError, ValueError):
                import termios

                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._terminal)


def _settle(future: asyncio.Future[str | None], result: str | None) -> None:
    if not future.done():  # not cancelled by a Ctrl-C meanwhile
        future.set_result(result)


class ScriptSource:
    """Lines from a file or a pipe, one command per line."""

    interactive = False

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._back: list[str] = []

    async def read(self, prompt: str) -> str | None:
        if self._back:
            return self._back.pop()
        text = self.stream.readline()
        return text.rstrip("\n") if text else None

    def unread(self, text: str) -> None:
        """Give a line back: the next `read` returns it."""
        self._back.append(text)


async def run_console(workspace: ConsoleWorkspace, stream: TextIO) -> None:
    """Interactive when `stream` is a terminal; otherwise run it as a script, echoing each line."""
    if stream.isatty():
        welcome(workspace)
        source = TerminalSource()
        try:
            await workspace.run(source, echo=False)
        finally:
            source.close()
    else:
        await workspace.run(ScriptSource(stream), echo=True)

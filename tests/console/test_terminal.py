"""The console at a real terminal (a pseudo-terminal): line editing and history, Ctrl-C."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UP = b"\x1b[A"


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (so that
    Ctrl-C typed there is a SIGINT to it, as in a real terminal)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, tmp_path: Path) -> None:
        try:
            self.master, slave = os.openpty()
        except OSError as exc:
            pytest.skip(f"no pseudo-terminal on this machine: {exc}")
        self.slave = slave
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'tty.db'}",
               "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "TERM": "xterm"}
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                     "DISCORD_TOKEN"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "console"], stdin=slave, stdout=slave,
            stderr=slave, env=env, cwd=tmp_path, preexec_fn=_own_terminal)
        self.seen = b""

    def expect(self, wanted: bytes, within: float = 20.0) -> bytes:
        deadline = time.monotonic() + within
        while wanted not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{wanted!r} not seen in {self.seen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other end closed
                    chunk = b""
                assert chunk, f"the terminal closed before {wanted!r}: {self.seen[-2000:]!r}"
                self.seen += chunk
        return self.seen

    def expect_count(self, wanted: bytes, count: int, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while self.seen.count(wanted) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"{wanted!r} not seen {count} times in {self.seen[-2000:]!r}"
            self._read(min(left, 0.2))

    def _read(self, within: float) -> None:
        ready, _, _ = select.select([self.master], [], [], within)
        if ready:
            with contextlib.suppress(OSError):  # the other end closed
                self.seen += os.read(self.master, 65536)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    term = Terminal(tmp_path)
    yield term  # type: ignore[misc]
    term.close()


def test_up_brings_back_the_last_line_and_ctrl_c_leaves_at_once(terminal: Terminal,
                                                               tmp_path: Path) -> None:
    prompt = b"\r\nalice> "
    terminal.expect_count(prompt, 1)
    terminal.type(b"/leanon stats\r")
    terminal.expect_count(prompt, 2)  # answered, and asking for the next line
    terminal.type(UP + b"\r")  # the history's last line, run again
    terminal.expect_count(prompt, 3)
    assert terminal.seen.count(b"Your leanon numbers") == 2
    assert b"^[[A" not in terminal.seen and b"\x1b[A" not in terminal.seen.split(prompt)[-2]

    terminal.type(b"half a line, then Ctrl-C")
    terminal.expect(b"then Ctrl-C")
    started = time.monotonic()
    terminal.type(b"\x03")
    terminal.process.wait(10)
    assert time.monotonic() - started < 5  # no Enter needed
    assert termios.tcgetattr(terminal.slave)[3] & termios.ECHO  # the terminal echoes again
    assert "/leanon stats" in (tmp_path / ".leanon_history").read_text()

"""One 'replica' for the multi-process test: runs scheduler ticks against a shared database.

Usage: python -m tests.nudges.nudge_worker DATABASE_URL OUT_FILE NOW_ISO MODE (from the
repository's root)
MODE `ticks`: run RunDueNudges several times with no election (the delivery key alone
guards); MODE `elect`: run the real Scheduler with the real leader lock.
Every post is appended to OUT_FILE as one line: "<pid> <channel> <nonce>".
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from adapters.scheduler import Scheduler
from bot.commands import RunDueNudges
from bot.domain import MessageRef, WorkspaceRef
from bot.messages import Message
from storage.leader import leader_lock
from tests.nudges.nudge_testing import RecordingChat, SettableClock, leanon


class FileChat(RecordingChat):
    def __init__(self, clock: SettableClock, out: Path) -> None:
        super().__init__(clock)
        self.out = out

    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str | None) -> MessageRef:
        await asyncio.sleep(0.01)  # a network round trip
        ref = await super().post_once(workspace, channel_id, message, nonce)
        with self.out.open("a") as f:
            f.write(f"{os.getpid()} {channel_id} {nonce}\n")
        return ref


async def main(url: str, out: Path, now: datetime, mode: str) -> None:
    clock = SettableClock(now)
    chat = FileChat(clock, out)
    async with leanon(url, clock, chat) as runtime:
        if mode == "ticks":
            for _ in range(5):
                await runtime.service.handle(RunDueNudges())
            return
        scheduler = Scheduler(runtime.service, leader_lock(runtime.store.engine))
        await scheduler.start()
        print("leader" if scheduler.leader else "follower", flush=True)
        await asyncio.sleep(4)  # stay alive (holding the lock) while the other one starts
        await scheduler.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3]),
                     sys.argv[4]))

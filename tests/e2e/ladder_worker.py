"""One 'replica' for the ladder's process tests: runs ask maintenance on a shared database.

Usage: python -m tests.e2e.ladder_worker DATABASE_URL OUT_FILE NOW_ISO MODE (from the
repository's root)
MODE `ticks`: run RunAskMaintenance three times, then send what is left in the outbox;
MODE `slow`: the same, with each private message taking 0.2 s (to be killed meanwhile);
MODE `finish`: only send what is left in the outbox (a restarted replica).
Every private request to a helper is appended to OUT_FILE as "<pid> <helper> <ask id>".
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.commands import RunAskMaintenance
from bot.domain import WorkspaceRef
from bot.messages import ActionId, Message, MessageKind
from tests.nudges.nudge_testing import RecordingChat, SettableClock, leanon


class RequestLog(RecordingChat):
    def __init__(self, clock: SettableClock, out: Path, delay: float) -> None:
        super().__init__(clock)
        self.out = out
        self.delay = delay

    async def tell(self, workspace: WorkspaceRef, channel_id: str, user_id: str,
                   message: Message) -> None:
        await asyncio.sleep(self.delay)  # a network round trip
        if message.kind is MessageKind.HELP_REQUEST:
            [offer] = [b for b in message.buttons if b.action is ActionId.REQUEST_OFFER]
            with self.out.open("a") as f:
                f.write(f"{os.getpid()} {user_id} {offer.value}\n")


async def main(url: str, out: Path, now: datetime, mode: str) -> None:
    clock = SettableClock(now)
    chat = RequestLog(clock, out, 0.2 if mode == "slow" else 0.01)
    async with leanon(url, clock, chat) as runtime:
        print("started", flush=True)
        if mode != "finish":
            for _ in range(3):
                await runtime.service.handle(RunAskMaintenance())
        for _ in range(600):  # the outbox's workers send what is left (leases run out)
            async with runtime.store.unit_of_work() as uow:
                if not await uow.inbox.waiting(["outbox"]):
                    return
            await asyncio.sleep(0.05)
        raise SystemExit("the outbox did not empty within 30 s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3]),
                     sys.argv[4]))

"""Members' users.info answers are kept for a while and the least recently used forgotten
one at a time: a full cache never forgets everyone at once (a burst of look-ups would meet
Slack's rate limit)."""

from __future__ import annotations

from typing import Any

from adapters.slack.members import Members
from bot.domain import Platform, WorkspaceRef

WS = WorkspaceRef(Platform.SLACK, "T1")


class CountingClient:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def users_info(self, user: str) -> dict[str, Any]:
        self.asked.append(user)
        return {"ok": True, "user": {"id": user, "name": user.lower()}}


class OneClient:
    def __init__(self, client: CountingClient) -> None:
        self.client = client

    async def client_for(self, workspace: WorkspaceRef) -> CountingClient:
        return self.client


async def test_a_full_cache_forgets_the_least_recently_used_member_only() -> None:
    client, now = CountingClient(), [0.0]
    members = Members(OneClient(client), ttl=120, clock=lambda: now[0], remember=3)  # type: ignore[arg-type]
    for user in ("U1", "U2", "U3", "U1", "U4"):  # U2 is the least recently used when U4 comes
        await members.info(WS, user)
    assert client.asked == ["U1", "U2", "U3", "U4"]
    for user in ("U1", "U3", "U4"):
        assert (await members.info(WS, user)) is not None
    assert client.asked == ["U1", "U2", "U3", "U4"]  # still known: no look-up
    await members.info(WS, "U2")
    assert client.asked[-1] == "U2"

    now[0] += 121  # an answer is trusted two minutes (an admin change shows up)
    await members.info(WS, "U1")
    assert client.asked[-1] == "U1" and len(client.asked) == 6

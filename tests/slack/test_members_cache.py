"""Members' users.info answers are kept for a while and the least recently used forgotten
one at a time: a full cache never forgets everyone at once (a burst of look-ups would meet
Slack's rate limit)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.slack.members import ROSTER_EVERY, ROSTER_RETRY, Members
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


class ListingClient(CountingClient):
    """users.list over `members` (id → is a bot), `page` a page; `fail` answers an error."""

    def __init__(self, members: dict[str, bool], page: int = 2) -> None:
        super().__init__()
        self.members, self.page, self.fail, self.pages = dict(members), page, False, 0

    async def users_list(self, limit: int, cursor: str = "0") -> dict[str, Any]:
        assert 0 < limit <= 1000  # Slack's largest page
        self.pages += 1
        if self.fail:
            raise SlackApiError("ratelimited", {"ok": False, "error": "ratelimited"})
        start = int(cursor)
        ids = list(self.members)[start:start + self.page]
        following = str(start + self.page) if start + self.page < len(self.members) else ""
        return {"ok": True, "members": [{"id": u, "is_bot": self.members[u]} for u in ids],
                "response_metadata": {"next_cursor": following}}

    async def users_info(self, user: str) -> dict[str, Any]:
        self.asked.append(user)
        return {"ok": True, "user": {"id": user, "name": user.lower(),
                                     "is_bot": self.members.get(user, False)}}


async def listed(members: Members, client: ListingClient) -> None:
    """Until the listing the first look-up started has read every page."""
    for _ in range(100):
        await asyncio.sleep(0)
        if not members._rosters[WS].listing:
            return
    raise AssertionError("the listing never ended")


async def test_members_in_the_workspace_list_are_known_without_a_look_up_each() -> None:
    """A burst of reactions from members leanon has not met costs one users.list page per
    ROSTER_PAGE members, not a users.info call each (which would meet its rate limit)."""
    client = ListingClient({"U1": False, "U2": False, "UBOT": True, "U3": False, "U4": False})
    members = Members(OneClient(client), roster_pause=0)  # type: ignore[arg-type]
    assert not await members.is_bot(WS, "U1")  # the list is not read yet: users.info
    assert client.asked == ["U1"]
    await listed(members, client)
    assert client.pages == 3  # five members, two a page
    assert [await members.is_bot(WS, u) for u in ("U2", "UBOT", "U3", "U4")] == [
        False, True, False, False]
    assert client.asked == ["U1"]  # all from the list
    assert not await members.is_bot(WS, "U9")  # joined since: users.info, as before
    assert client.asked == ["U1", "U9"]


async def test_the_list_is_read_again_later_and_members_gone_are_let_go() -> None:
    client, now = ListingClient({"U1": False, "U2": True}), [0.0]
    members = Members(OneClient(client), clock=lambda: now[0], roster_pause=0)  # type: ignore[arg-type]
    members.listed(WS)
    await listed(members, client)
    assert members.listed(WS) == {"U1": False, "U2": True} and client.pages == 1
    client.members = {"U1": False, "U3": True}  # U2 left, U3 joined
    now[0] += ROSTER_EVERY - 1
    members.listed(WS)
    assert members._rosters[WS].listing is None  # not due yet
    now[0] += 2
    members.listed(WS)
    await listed(members, client)
    assert members.listed(WS) == {"U1": False, "U3": True} and client.pages == 2


async def test_a_failed_listing_falls_back_to_users_info_and_is_tried_again_later() -> None:
    client, now = ListingClient({"U1": False, "UBOT": True}), [0.0]
    client.fail = True
    members = Members(OneClient(client), clock=lambda: now[0], roster_pause=0)  # type: ignore[arg-type]
    assert not await members.is_bot(WS, "U1")
    await listed(members, client)
    assert await members.is_bot(WS, "UBOT")  # users.info said so
    assert client.asked == ["U1", "UBOT"] and client.pages == 1
    client.fail = False
    now[0] += ROSTER_RETRY + 1
    members.listed(WS)
    await listed(members, client)
    assert members.listed(WS) == {"U1": False, "UBOT": True}

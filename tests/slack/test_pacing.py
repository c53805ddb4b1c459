"""Slack's limits kept before sending: a burst, then one message a second per channel."""

from __future__ import annotations

from adapters.slack.pacing import Budgets
from bot.domain import Platform, WorkspaceRef

WS = WorkspaceRef(Platform.SLACK, "T1")
OTHER = WorkspaceRef(Platform.SLACK, "T2")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_channel_takes_a_burst_then_one_message_a_second() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    assert [budgets.pace(WS, "post", "C1") for _ in range(3)] == [0, 0, 0]
    assert 1.1 < budgets.pace(WS, "post", "C1") < 1.2  # a fourth waits (0.9 a second)
    assert 1.1 < budgets.pace(WS, "reply", "C1") < 1.2  # a thread reply posts there too
    assert budgets.pace(WS, "post", "C2") == 0  # another channel has its own budget
    assert budgets.pace(OTHER, "post", "C1") == 0  # and another workspace
    clock.now += 1.2
    assert budgets.pace(WS, "post", "C1") == 0
    assert budgets.pace(WS, "post", "C1") > 0


def test_card_updates_share_the_workspaces_tier_3_budget() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    assert all(budgets.pace(WS, "update", f"C{n}") == 0 for n in range(10))
    wait = budgets.pace(WS, "update", "C99")
    assert 1.1 < wait < 1.3  # 50 a minute
    assert budgets.pace(WS, "lookup", "C1") == 0  # another method, another budget


def test_forgotten_buckets_start_full_and_memory_stays_bounded() -> None:
    clock = Clock()
    budgets = Budgets(size=2, clock=clock)
    for channel in ("C1", "C2", "C3"):
        budgets.pace(WS, "post", channel)
    assert len(budgets._buckets) == 2
    assert budgets.pace(WS, "tell", "dm:U1") == 0
    assert budgets.pace(WS, "unknown", "C1") == 0

"""What each command adds to the metrics, and that no member reaches a label."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.ops.metrics import MeteredChat, Metrics
from bot.commands import Person, ReactionAdded, ResolveAsk, RunDueNudges, ThankHelper, ThankMembers
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Message, line, notice

WS = WorkspaceRef(Platform.DISCORD, "800000000000000001")
ALICE, BOB = Actor("700000000000000001"), Person("700000000000000002")
MESSAGE = MessageRef("810000000000000001", "1200000000000000001")


def text(metrics: Metrics) -> str:
    return metrics.exposition()[0].decode()


def test_thanks_resolves_and_scheduler_commands_are_counted_by_kind() -> None:
    metrics = Metrics()
    metrics.observe(ReactionAdded(WS, ALICE, BOB, MESSAGE, "pray"), "ok", 0.01)
    # The core's answer says a reaction thanked nobody (`Reply.ignored`): yourself, a bot.
    metrics.observe(ReactionAdded(WS, ALICE, Person(ALICE.user_id), MESSAGE, "pray"), "ignored",
                    0.01)
    metrics.observe(ThankMembers(WS, ALICE, "C1", (BOB,), "for the review"), "ok", 0.02)
    metrics.observe(ThankHelper(WS, ALICE, 1, BOB.user_id), "refused", 0.02)
    metrics.observe(ResolveAsk(WS, ALICE, 1), "storage_error", 0.5)
    metrics.observe(RunDueNudges(), "ok", 1.5)
    exposed = text(metrics)
    for wanted in (
        'leanon_thanks_total{outcome="ok",platform="discord",source="reaction"} 1.0',
        'leanon_thanks_total{outcome="ignored",platform="discord",source="reaction"} 1.0',
        'leanon_thanks_total{outcome="ok",platform="discord",source="command"} 1.0',
        'leanon_thanks_total{outcome="refused",platform="discord",source="resolve"} 1.0',
        'leanon_resolves_total{outcome="storage_error",platform="discord"} 1.0',
        'leanon_commands_total{command="RunDueNudges",outcome="ok",platform="none"} 1.0',
    ):
        assert wanted in exposed, wanted
    for member_or_place in (ALICE.user_id, BOB.user_id, WS.workspace_id, MESSAGE.channel_id):
        assert member_or_place not in exposed


def test_a_command_counted_again_adds_to_the_same_series() -> None:
    metrics = Metrics()
    for outcome in ("ok", "ok", "ignored"):
        metrics.observe(ReactionAdded(WS, ALICE, BOB, MESSAGE, "pray"), outcome, 0.01)
    exposed = text(metrics)
    assert 'leanon_thanks_total{outcome="ok",platform="discord",source="reaction"} 2.0' in exposed
    assert 'leanon_thanks_total{outcome="ignored",platform="discord",source="reaction"} 1.0' in exposed
    assert ('leanon_command_duration_seconds_count{command="ReactionAdded",platform="discord"} 3.0'
            in exposed)


class FailingChat:
    async def post_once(self, workspace: WorkspaceRef, channel_id: str, message: Message,
                        nonce: str) -> MessageRef:
        raise ChatError("chat.postMessage failed: is_archived", permanent=True)

    async def find_post(self, workspace: WorkspaceRef, channel_id: str, nonce: str,
                        since: datetime) -> MessageRef | None:
        return None


async def test_a_weekly_post_that_fails_counts_as_failed_and_as_a_platform_error() -> None:
    metrics = Metrics()
    chat = MeteredChat(FailingChat(), metrics)  # type: ignore[arg-type]
    with pytest.raises(ChatError):
        await chat.post_once(WS, "C1", notice(line("hello")), "leanon-1-2026-W48")
    assert await chat.find_post(WS, "C1", "leanon-1-2026-W48", datetime.now(UTC)) is None
    exposed = text(metrics)
    assert 'leanon_weekly_posts_total{outcome="failed",platform="discord",trigger="schedule"} 1.0' \
        in exposed
    assert 'leanon_platform_api_errors_total{kind="permanent",platform="discord"} 1.0' in exposed

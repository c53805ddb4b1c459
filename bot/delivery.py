"""Delivering the weekly posts that are due: exactly once per schedule and ISO week."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime

from bot.commands import RunDueNudges
from bot.deps import Deps
from bot.domain import Delivery, DeliveryStatus, MessageRef, Schedule
from bot.errors import ChatError
from bot.messages import Message, Reply
from bot.nudges import build_post, week_fire
from bot.ports import OncePoster

log = logging.getLogger(__name__)


def nonce_for(schedule: Schedule, period: str) -> str:
    """The same for every attempt at one post, so the platform can refuse a second copy."""
    return f"leanon-{schedule.id}-{period}"


async def run_due_nudges(cmd: RunDueNudges, deps: Deps) -> Reply:
    """Post every due weekly post; skip (and log) those missed on an earlier day."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        schedules = await uow.schedules.active()
    due: list[tuple[Schedule, str]] = []
    for schedule in schedules:
        fire, period, today = week_fire(schedule, now)
        if now < fire or fire < schedule.updated_at:
            continue
        if today:
            due.append((schedule, period))
            continue
        async with deps.uow() as uow:
            skipped = await uow.deliveries.skip(schedule.id, period,
                                                nonce_for(schedule, period), now)
            await uow.commit()
        if skipped:
            log.warning("weekly post of schedule %s for %s was missed (leanon was down on "
                        "that day); skipped", schedule.id, period)
    gate = asyncio.Semaphore(deps.fanout)

    async def one(schedule: Schedule, period: str) -> None:
        async with gate:
            try:
                await deliver(deps, schedule, period, now)
            except Exception:  # one channel's trouble never stops the others
                log.exception("weekly post of schedule %s for %s failed", schedule.id, period)

    await asyncio.gather(*(one(s, p) for s, p in due))
    return Reply()


async def _post_once(deps: Deps, schedule: Schedule, message: Message, nonce: str) -> MessageRef:
    chat = deps.chat
    if isinstance(chat, OncePoster):
        return await chat.post_once(schedule.workspace, schedule.channel_id, message, nonce)
    return await chat.post(schedule.workspace, schedule.channel_id, message)


async def _find_post(deps: Deps, schedule: Schedule, delivery: Delivery) -> MessageRef | None:
    chat = deps.chat
    if isinstance(chat, OncePoster):
        return await chat.find_post(schedule.workspace, schedule.channel_id, delivery.nonce,
                                    delivery.claimed_at)
    return None


async def _claim(deps: Deps, schedule: Schedule, period: str,
                 now: datetime) -> tuple[Delivery | None, MessageRef | None]:
    """Claim the post, or take over a claim a crashed process left (and find its post)."""
    nonce = nonce_for(schedule, period)
    async with deps.uow() as uow:
        claimed = await uow.deliveries.claim(schedule.id, period, nonce, now)
        existing = None if claimed else await uow.deliveries.get(schedule.id, period)
        await uow.commit()
    if claimed is not None:
        return claimed, None
    if existing is None or existing.status is not DeliveryStatus.CLAIMED:
        return None, None
    if existing.claimed_at > now - deps.delivery_lease:
        return None, None  # another worker is posting it right now
    async with deps.uow() as uow:
        taken = await uow.deliveries.reclaim(existing, now)
        await uow.commit()
    if not taken:
        return None, None
    log.warning("recovering the weekly post of schedule %s for %s after a crash or a failed "
                "attempt", schedule.id, period)
    return replace(existing, claimed_at=now), await _find_post(deps, schedule, existing)


async def deliver(deps: Deps, schedule: Schedule, period: str, now: datetime) -> bool:
    """Post one schedule's weekly post for `period` unless it is (being) posted; True if posted."""
    delivery, found = await _claim(deps, schedule, period, now)
    if delivery is None:
        return False
    async with deps.uow() as uow:
        current = await uow.schedules.by_id(schedule.id) or schedule
        post, rotation = await build_post(uow, deps, schedule.workspace, schedule.channel_id,
                                          current.themes_used, current.posts_sent, now)
    if found is None:
        try:
            found = await _post_once(deps, schedule, post, delivery.nonce)
        except ChatError as exc:
            await _failed(deps, schedule, delivery, exc)
            return False
    async with deps.uow() as uow:
        await uow.deliveries.complete(delivery.id, found.message_id, deps.clock.now())
        await uow.schedules.record_rotation(schedule.id, rotation, current.posts_sent + 1)
        await uow.schedules.reset_failures(schedule.id)
        await uow.commit()
    return True


async def _failed(deps: Deps, schedule: Schedule, delivery: Delivery, exc: ChatError) -> None:
    async with deps.uow() as uow:
        if exc.permanent:
            await uow.deliveries.release(delivery.id)
        else:
            # The post may have gone out all the same (a 5xx or a timeout after the platform
            # posted it): the claim stays with its lease run out, so that the next tick takes
            # it over like a crashed one's and looks for the post before posting again.
            await uow.deliveries.reclaim(delivery, delivery.claimed_at - deps.delivery_lease)
        failures = await uow.schedules.record_failure(schedule.id)
        pause = exc.permanent and failures >= deps.max_failures
        if pause:
            await uow.schedules.set_paused(schedule.id, True, deps.clock.now())
        await uow.commit()
    if pause:
        log.warning("weekly posts of schedule %s paused after %d failures in a row: %s",
                    schedule.id, failures, exc)
    else:
        log.warning("weekly post of schedule %s for %s failed (%s); retrying on the next tick",
                    schedule.id, delivery.period, exc)

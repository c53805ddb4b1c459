"""Weekly posts that are due: each written to the outbox exactly once per schedule and ISO
week, and sent by it.

A tick of the scheduler claims a schedule's week (one `deliveries` row per schedule and
period: of several replicas exactly one gets it) and writes its post to the outbox in the
same unit of work. The outbox sends it like any other message (retries, pacing, leases
any process takes over after a crash); the post carries a nonce that is the same for every
attempt, so an attempt after a failure or a crash first looks for the post in the channel.

- Sent: the delivery is completed with the post's id, the theme rotation recorded and the
  schedule's failures reset.
- Refused for good (the channel archived, the bot not in it): the claim is dropped so a
  later tick tries again, and after `Deps.max_failures` such failures in a row the
  schedule is paused.
- Failing for a while (the outbox gave up after its retries): one failure is counted and
  the claim is left to the next tick, which writes the post again, to be looked for
  before it is posted.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot import outbox
from bot.commands import RunDueNudges
from bot.deps import Deps
from bot.domain import Delivery, DeliveryStatus, InboxItem, Schedule
from bot.errors import ChatError
from bot.messages import Reply
from bot.nudges import build_post, week_fire
from bot.ports import UnitOfWork

log = logging.getLogger(__name__)

KIND = "weekly_post"


def nonce_for(schedule: Schedule, period: str) -> str:
    """The same for every attempt at one post, so the platform can refuse a second copy."""
    return f"leanon-{schedule.id}-{period}"


def _group(delivery_id: int) -> str:
    return f"weekly:{delivery_id}"


async def run_due_nudges(cmd: RunDueNudges, deps: Deps) -> Reply:
    """Write every due weekly post to the outbox; skip (and log) those missed on an
    earlier day."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        schedules = await uow.schedules.active()
    for schedule in schedules:
        fire, period, today = week_fire(schedule, now)
        if now < fire or fire < schedule.updated_at:
            continue
        try:
            if today:
                await _write(deps, schedule, period, now)
            else:
                await _skip(deps, schedule, period, now)
        except Exception:  # one schedule's trouble never stops the others
            log.exception("weekly post of schedule %s for %s failed", schedule.id, period)
    return Reply()


async def _skip(deps: Deps, schedule: Schedule, period: str, now: datetime) -> None:
    async with deps.uow() as uow:
        skipped = await uow.deliveries.skip(schedule.id, period, nonce_for(schedule, period), now)
        await uow.commit()
    if skipped:
        log.warning("weekly post of schedule %s for %s was missed (leanon was down on "
                    "that day); skipped", schedule.id, period)


async def _write(deps: Deps, schedule: Schedule, period: str, now: datetime) -> None:
    """Claim the week's post and write it to the outbox, or take over a claim whose post
    is nowhere in the outbox any more (given up, or claimed before there was an outbox)."""
    async with deps.uow() as uow:
        delivery = await uow.deliveries.claim(schedule.id, period, nonce_for(schedule, period), now)
        recovering = False
        if delivery is None:
            existing = await uow.deliveries.get(schedule.id, period)
            if (existing is None or existing.status is not DeliveryStatus.CLAIMED
                    or existing.claimed_at > now - deps.delivery_lease
                    or await uow.inbox.pending_in_groups([_group(existing.id)])
                    or not await uow.deliveries.reclaim(existing, now)):
                return  # posted, skipped, or on its way
            delivery, recovering = existing, True
        await _write_post(uow, deps, schedule, delivery, now, recovering)
        await uow.commit()
    if recovering:
        log.warning("recovering the weekly post of schedule %s for %s after a crash or a "
                    "failed attempt", schedule.id, period)


async def _write_post(uow: UnitOfWork, deps: Deps, schedule: Schedule, delivery: Delivery,
                      now: datetime, recovering: bool) -> None:
    current = await uow.schedules.by_id(schedule.id) or schedule
    post, rotation = await build_post(uow, deps, schedule.workspace, schedule.channel_id,
                                      current.themes_used, current.posts_sent, now)
    payload = {"schedule": schedule.id, "period": delivery.period, "delivery": delivery.id,
               "channel": schedule.channel_id, "nonce": delivery.nonce,
               "message": outbox.encode_message(post), "rotation": list(rotation),
               "posts_sent": current.posts_sent + 1,
               # An earlier attempt may have posted it: look for it first, from its claim on.
               "look_from": (delivery.claimed_at - timedelta(minutes=5)).isoformat()
               if recovering else None}
    await outbox.say(uow, now, schedule.workspace, KIND, payload,
                     key=f"out:weekly:{delivery.id}:{now.isoformat()}",
                     group=_group(delivery.id))


def register(sender: outbox.Outbox) -> None:
    """Have `sender` send the weekly posts."""
    sender.register(KIND, partial(_send, sender), given_up=partial(_given_up, sender.deps))


async def _send(sender: outbox.Outbox, item: InboxItem) -> None:
    deps, payload = sender.deps, json.loads(item.payload)
    channel = payload["channel"]
    sender.pace(item, "post", channel)
    look_from = payload.get("look_from")
    if item.attempts > 1:
        log.warning("recovering the weekly post of schedule %s for %s after a crash or a "
                    "failed attempt: looking for it in the channel first", payload["schedule"],
                    payload["period"])
    try:
        ref = await sender.post_once(item, channel, outbox.decode_message(payload["message"]),
                                     payload["nonce"], weekly=True,
                                     since=datetime.fromisoformat(look_from) if look_from else None)
    except ChatError as exc:
        if not exc.permanent:
            raise  # the outbox tries again
        await _refused(deps, payload, exc)
        return
    async with deps.uow() as uow:
        await uow.deliveries.complete(payload["delivery"], ref.message_id, deps.clock.now())
        await uow.schedules.record_rotation(payload["schedule"], tuple(payload["rotation"]),
                                            payload["posts_sent"])
        await uow.schedules.reset_failures(payload["schedule"])
        await uow.commit()


async def _refused(deps: Deps, payload: dict[str, Any], exc: ChatError) -> None:
    schedule_id = payload["schedule"]
    async with deps.uow() as uow:
        await uow.deliveries.release(payload["delivery"])
        failures = await uow.schedules.record_failure(schedule_id)
        pause = failures >= deps.max_failures
        if pause:
            await uow.schedules.set_paused(schedule_id, True, deps.clock.now())
        await uow.commit()
    if pause:
        log.warning("weekly posts of schedule %s paused after %d failures in a row: %s",
                    schedule_id, failures, exc)
    else:
        log.warning("weekly post of schedule %s for %s refused (%s); trying again on the "
                    "next tick", schedule_id, payload["period"], exc)


async def _given_up(deps: Deps, item: InboxItem) -> None:
    """The post may have gone out all the same (a 5xx or a timeout after the platform
    posted it): the claim is left with its lease run out, so that the next tick takes it
    over and looks for the post before posting again."""
    payload = json.loads(item.payload)
    async with deps.uow() as uow:
        await uow.schedules.record_failure(payload["schedule"])
        delivery = await uow.deliveries.get(payload["schedule"], payload["period"])
        if delivery is not None and delivery.id == payload["delivery"]:
            await uow.deliveries.reclaim(delivery, delivery.claimed_at - deps.delivery_lease)
        await uow.commit()
    log.warning("weekly post of schedule %s for %s failed; trying again on the next tick",
                payload["schedule"], payload["period"])

"""Administration and privacy: settings, forget-me, export, help."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from bot import settings as settings_mod
from bot.commands import (
    ChangeConfig,
    ExportData,
    ForgetMe,
    Person,
    ReactionAdded,
    ReactionRemoved,
    ResolveAsk,
    SetHelper,
    SetHours,
    SetNamed,
    ShowConfig,
    ShowHelp,
    ThankHelper,
    ThankMembers,
)
from bot.domain import MessageRef, Settings
from bot.hours import parse_hours
from bot.messages import ActionId, MessageKind
from tests.unit.fakes import (
    ADMIN,
    ASKER,
    CHANNEL,
    HELPER,
    HELPER2,
    OTHER,
    OTHER_WS,
    WS,
    World,
    card,
    member,
    mentions,
    offer,
    open_ask,
    reply_text,
    reveals,
)

# --- /leanon config -----------------------------------------------------------------------


async def test_config_shows_every_setting_with_its_value(world: World) -> None:
    reply = await world.handle(ShowConfig(WS, member(OTHER)))
    text = reply_text(reply)
    for shown in ("thanks-emoji: pray,raised_hands", "anonymous-asks: on", "daily-allowance: off",
                  "stale-after: 2h", "expire-after: 14d", "receiver-dm: on", "leaderboard: off"):
        assert shown in text
    assert len(reply.private[0].lines) == len(settings_mod.SPECS) + 1


async def test_config_change_by_a_member_who_is_not_admin_is_refused(world: World) -> None:
    reply = await world.handle(ChangeConfig(WS, member(OTHER), "leaderboard", "on"))
    assert not reply.ok and "Only workspace admins" in reply_text(reply)
    assert world.store.settings() == Settings()
    assert world.store.committed == 0


@pytest.mark.parametrize(("key", "value", "expected", "shown"), [
    ("thanks-emoji", ":tada:, pray", Settings(thanks_emoji=("tada", "pray")), "tada,pray"),
    ("anonymous-asks", "off", Settings(anonymous_asks=False), "off"),
    ("daily-allowance", "5", Settings(daily_allowance=5), "5"),
    ("stale-after", "90m", Settings(stale_after=timedelta(minutes=90)), "1h30m"),
    ("expire-after", "3d", Settings(expire_after=timedelta(days=3)), "3d"),
    ("receiver-dm", "no", Settings(receiver_dm=False), "off"),
    ("leaderboard", "on", Settings(leaderboard=True), "on"),
    ("Daily_Allowance", "7", Settings(daily_allowance=7), "7"),
])
async def test_config_change_by_an_admin_is_saved(world: World, key: str, value: str,
                                                  expected: Settings, shown: str) -> None:
    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), key, value))
    assert reply.ok
    assert world.store.settings() == expected
    assert f"is now {shown}" in reply_text(reply)
    listing = await world.handle(ShowConfig(WS, member(OTHER)))
    assert f"{key.lower().replace('_', '-')}: {shown}" in reply_text(listing)


@pytest.mark.parametrize(("key", "value", "hint"), [
    ("thanks-emoji", "not an emoji!", "not an emoji name"),
    ("thanks-emoji", "<@U1>", "not an emoji name"),
    ("daily-allowance", "0", "1 to 1000"),
    ("daily-allowance", "-3", "1 to 1000"),
    ("daily-allowance", "lots", "1 to 1000"),
    ("anonymous-asks", "maybe", "on or off"),
    ("stale-after", "soon", "duration"),
    ("stale-after", "1m", "from 10m"),
    ("stale-after", "8d", "to 7d"),
    ("expire-after", "2h", "shorter than expire-after"),
    ("colour", "blue", "no setting 'colour'"),
])
async def test_invalid_config_values_are_clear_errors_and_change_nothing(
        world: World, key: str, value: str, hint: str) -> None:
    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), key, value))
    assert not reply.ok
    assert hint in reply_text(reply) and "Nothing was changed" in reply_text(reply)
    assert world.store.settings() == Settings()


async def test_stale_after_must_stay_shorter_than_expire_after(world: World) -> None:
    world.store.put_settings(Settings(expire_after=timedelta(days=1)))
    for value in ("1d", "2d"):
        reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "stale-after", value))
        assert not reply.ok and "shorter than expire-after" in reply_text(reply)
    assert world.store.settings() == Settings(expire_after=timedelta(days=1))
    reply = await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "stale-after", "23h"))
    assert reply.ok and world.store.settings().stale_after == timedelta(hours=23)


async def test_config_is_per_workspace(world: World) -> None:
    await world.handle(ChangeConfig(WS, member(ADMIN, admin=True), "leaderboard", "on"))
    assert world.store.settings(OTHER_WS) == Settings()


# --- /leanon forget-me --------------------------------------------------------------------


async def seed_member_data(world: World, *, anonymous: bool = False) -> tuple[int, int]:
    """ASKER asks twice (one helped by HELPER), thanks and is thanked; others thank each other."""
    helped = await open_ask(world, anonymous=anonymous)
    other = await open_ask(world, text="Where do the grafana dashboards for billing live?")
    await offer(world, helped, HELPER)
    await world.handle(ResolveAsk(WS, member(ASKER), helped.id))
    await world.handle(ThankHelper(WS, member(ASKER), helped.id, HELPER))
    await world.handle(ThankMembers(WS, member(HELPER), "C1", (Person(ASKER),), "the context", "e1"))
    await world.handle(ThankMembers(WS, member(HELPER), "C1", (Person(HELPER2),), "pairing", "e2"))
    await world.handle(SetNamed(WS, member(ASKER), named=False))
    return helped.id, other.id


async def test_forget_me_without_a_choice_offers_the_two_choices_and_deletes_nothing(
        world: World) -> None:
    await seed_member_data(world)
    thanks_before, asks_before = world.store.all_thanks(), world.store.asks()

    reply = await world.handle(ForgetMe(WS, member(ASKER)))

    [prompt] = reply.private
    assert [b.action for b in prompt.buttons] == [ActionId.FORGET_DELETE_ASKS,
                                                  ActionId.FORGET_KEEP_ASKS]
    assert world.store.all_thanks() == thanks_before and world.store.asks() == asks_before


async def test_forget_me_delete_removes_thanks_and_asks_and_updates_the_cards(world: World) -> None:
    helped_id, other_id = await seed_member_data(world)
    cards = {a.id: a.message for a in world.store.asks()}
    world.chat.clear()

    reply = await world.handle(ForgetMe(WS, member(ASKER), keep_asks=False))

    assert reply.ok and "2 thanks were deleted" in reply_text(reply)
    assert "2 asks were deleted" in reply_text(reply)
    assert world.store.asks() == []
    assert world.store.offers() == []
    remaining = world.store.all_thanks()
    assert [(t.giver_id, t.receiver_id) for t in remaining] == [(HELPER, HELPER2)]
    assert {u.ref for u in world.chat.updated} == {cards[helped_id], cards[other_id]}
    for update in world.chat.updated:
        assert update.message.kind is MessageKind.ASK_CARD
        assert "removed" in update.message.plain_text() and update.message.buttons == ()
        assert not reveals(update.message, ASKER)
    assert world.store.data.opted_out.get(WS, set()) == set()


async def test_forget_me_keep_keeps_the_asks_without_a_name(world: World) -> None:
    helped_id, other_id = await seed_member_data(world)
    world.chat.clear()

    reply = await world.handle(ForgetMe(WS, member(ASKER), keep_asks=True))

    assert reply.ok and "kept without your name" in reply_text(reply)
    kept = world.store.asks()
    assert [a.id for a in kept] == [helped_id, other_id]
    assert all(a.asker_id is None and a.anonymous for a in kept)
    assert kept[0].text and [o.helper_id for o in world.store.offers(helped_id)] == [HELPER]
    assert [(t.giver_id, t.receiver_id) for t in world.store.all_thanks()] == [(HELPER, HELPER2)]
    assert len(world.chat.updated) == 2
    for update in world.chat.updated:
        assert not reveals(update.message, ASKER)
        assert "Asked by someone" in update.message.plain_text()
    helped_card = next(u.message for u in world.chat.updated if u.ref == kept[0].message)
    assert mentions(helped_card) == [HELPER] and "Resolved" in helped_card.plain_text()


async def test_forget_me_touches_only_the_member_and_the_workspace(world: World) -> None:
    await open_ask(world, asker=OTHER)
    await open_ask(world, workspace=OTHER_WS)
    await world.handle(ForgetMe(WS, member(ASKER), keep_asks=False))
    assert [(a.workspace, a.asker_id) for a in world.store.asks()] == [(WS, OTHER), (OTHER_WS, ASKER)]


async def test_forget_me_still_works_when_a_card_cannot_be_updated(world: World) -> None:
    await seed_member_data(world)
    world.chat.fail("update")
    reply = await world.handle(ForgetMe(WS, member(ASKER), keep_asks=False))
    assert reply.ok and world.store.asks() == []


# --- /leanon export -----------------------------------------------------------------------


async def test_export_by_a_member_who_is_not_admin_is_refused(world: World) -> None:
    await seed_member_data(world)
    reply = await world.handle(ExportData(WS, member(OTHER), "json"))
    assert not reply.ok and "Only workspace admins" in reply_text(reply)
    assert all(m.attachments == () for m in reply.private)


async def test_export_json_holds_asks_offers_and_thanks(world: World) -> None:
    helped_id, other_id = await seed_member_data(world)
    await world.handle(ReactionAdded(WS, member(HELPER2), Person(HELPER),
                                     MessageRef("C1", "123.456"), "pray"))

    reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), "json"))

    [message] = reply.private
    assert message.kind is MessageKind.EXPORT
    [file] = message.attachments
    assert file.mime_type == "application/json" and file.filename.endswith(".json")
    doc = json.loads(file.content)
    assert doc["workspace"] == str(WS)
    assert [a["id"] for a in doc["asks"]] == [helped_id, other_id]
    assert doc["asks"][0]["asker_id"] == ASKER and doc["asks"][0]["status"] == "resolved"
    assert doc["asks"][0]["message_id"] == card(world.store.ask(helped_id)).message_id
    assert [(o["ask_id"], o["helper_id"]) for o in doc["help_offers"]] == [(helped_id, HELPER)]
    assert {(t["giver_id"], t["receiver_id"], t["source"]) for t in doc["thanks"]} == {
        (ASKER, HELPER, "resolve"), (HELPER, ASKER, "command"), (HELPER, HELPER2, "command"),
        (HELPER2, HELPER, "reaction")}
    assert doc["settings"]["stale_after"] == 7200
    assert doc["helpers"] == []
    assert "4 thanks (json)" in reply_text(reply)

    await world.handle(ReactionRemoved(WS, member(HELPER2), Person(HELPER),
                                       MessageRef("C1", "123.456"), "pray"))
    again = await world.handle(ExportData(WS, member(ADMIN, admin=True), "json"))
    assert "3 thanks; 1 retracted, marked retracted_at (json)" in reply_text(again)
    rows = json.loads(again.private[0].attachments[0].content)["thanks"]
    assert sum(t["retracted_at"] is not None for t in rows) == 1


async def test_export_never_contains_an_anonymous_askers_id(world: World) -> None:
    helped = await open_ask(world, anonymous=True)
    await offer(world, helped, HELPER)
    await world.handle(ResolveAsk(WS, member(ASKER), helped.id))
    await world.handle(ThankHelper(WS, member(ASKER), helped.id, HELPER))
    in_thread = MessageRef(CHANNEL, "1700000099.000500")  # a helper's reply in the ask's thread
    await world.handle(ReactionAdded(WS, member(ASKER), Person(HELPER2), in_thread, "pray",
                                     card(helped)))

    for fmt in ("json", "csv"):
        reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), fmt))
        assert reply.private[0].attachments
        for file in reply.private[0].attachments:
            assert ASKER.encode() not in file.content, (fmt, file.filename)
    doc = json.loads((await world.handle(ExportData(WS, member(ADMIN, admin=True)))
                      ).private[0].attachments[0].content)
    assert doc["asks"][0]["asker_id"] is None and doc["asks"][0]["anonymous"] is True
    assert [(t["giver_id"], t["receiver_id"], t["ask_id"]) for t in doc["thanks"]] == [
        (None, HELPER, helped.id), (None, HELPER2, helped.id)]


async def test_export_csv_returns_three_files_with_headers(world: World) -> None:
    await seed_member_data(world)
    reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), "CSV"))
    files = reply.private[0].attachments
    assert [f.filename.split("-2")[0] for f in files] == ["leanon-asks", "leanon-help-offers",
                                                          "leanon-thanks"]
    assert all(f.mime_type == "text/csv" for f in files)
    tables = [list(csv.DictReader(io.StringIO(f.content.decode()))) for f in files]
    assert [len(t) for t in tables] == [2, 1, 3]
    assert list(tables[0][0]) == ["id", "channel_id", "asker_id", "text", "tried", "anonymous",
                                  "status", "created_at", "closed_at", "close_reason", "message_id",
                                  "follow_up_at", "ladder_step", "asked_helpers"]
    assert list(tables[1][0]) == ["ask_id", "helper_id", "created_at"]
    assert "giver_id" in tables[2][0] and "receiver_id" in tables[2][0]


async def test_export_of_an_empty_workspace_still_has_headers(world: World) -> None:
    reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), "csv"))
    for file in reply.private[0].attachments:
        header = file.content.decode().splitlines()
        assert len(header) == 1 and "," in header[0]


async def test_export_in_an_unknown_format_is_a_clear_error(world: World) -> None:
    reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), "xml"))
    assert not reply.ok and "json or csv" in reply_text(reply)


# --- /leanon help -------------------------------------------------------------------------


async def test_help_lists_the_commands_and_the_three_tips(world: World) -> None:
    text = reply_text(await world.handle(ShowHelp(WS, member(OTHER))))
    for command in ("/ask", "/thanks", "/leanon asks", "/leanon stats", "/leanon leaderboard",
                    "/leanon config", "/leanon forget-me", "/leanon export", "/leanon named"):
        assert command in text
    for tip in ("Be specific", "Be grateful", "Reciprocate"):
        assert tip in text


async def test_export_json_holds_the_helper_entries(world: World) -> None:
    await world.handle(SetHelper(WS, member(HELPER), True, ("kubernetes",)))
    await world.handle(SetHours(WS, member(HELPER), parse_hours("22:00-06:30 mon,fri Europe/Berlin")))
    await world.handle(SetHelper(WS, member(OTHER), False))
    reply = await world.handle(ExportData(WS, member(ADMIN, admin=True), "json"))
    doc = json.loads(reply.private[0].attachments[0].content)
    assert doc["helpers"] == [
        {"user_id": HELPER, "active": True, "topics": ["kubernetes"],
         "hours": {"start": "22:00", "end": "06:30", "days": ["mon", "fri"], "zone": "Europe/Berlin"}},
        {"user_id": OTHER, "active": False, "topics": [], "hours": None},
    ]

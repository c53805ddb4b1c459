"""Sharding: every shard identifies, and each server's events arrive on its own shard."""

from __future__ import annotations

from pathlib import Path

from bot.domain import Platform, WorkspaceRef
from tests.discord.discord_testing import ALICE, option, running, slash
from tests.discord.fake_discord import CHANNEL, GUILD, FakeDiscord, Json
from tests.discord.fake_gateway import shard_of

OTHER_GUILD = "800000000004194305"  # (id >> 22) % 2 == 0, while GUILD is on shard 1
OTHER_CHANNEL = str(int(CHANNEL) + 1)


async def test_two_shards_identify_and_each_serves_its_servers(tmp_path: Path) -> None:
    assert {shard_of(GUILD, 2), shard_of(OTHER_GUILD, 2)} == {0, 1}
    fake = await FakeDiscord(guild_ids=(GUILD, OTHER_GUILD), shard_count=2).start()
    try:
        async with running(tmp_path, fake, shards=2, shard_count=2) as leanon:
            sessions = fake.gateway.sessions
            assert sorted(s.identify["shard"] for s in sessions if s.identify) == [[0, 2], [1, 2]]
            for session in sessions:
                guilds = [f["d"]["id"] for f in session.sent if f["t"] == "GUILD_CREATE"]
                assert guilds == [GUILD if session.shard[0] == 1 else OTHER_GUILD]

            for guild, channel in ((GUILD, CHANNEL), (OTHER_GUILD, OTHER_CHANNEL)):
                [answer] = await leanon.run(slash(
                    "ask", option("question", f"Who knows the {guild} release steps?"),
                    guild=guild, channel=channel))
                assert "Your ask is posted" in answer.text
                session = fake.gateway.session_for(guild)
                assert any(f["t"] == "INTERACTION_CREATE" and f["d"]["guild_id"] == guild
                           for f in session.sent)
            for guild, channel in ((GUILD, CHANNEL), (OTHER_GUILD, OTHER_CHANNEL)):
                async with leanon.runtime.store.unit_of_work() as uow:
                    [ask] = await uow.asks.list_open(WorkspaceRef(Platform.DISCORD, guild))
                assert (ask.asker_id, ask.channel_id) == (ALICE, channel)
                cards: list[Json] = fake.channel_messages(channel)
                assert len(cards) == 1
    finally:
        await fake.stop()


async def test_a_process_running_some_shards_runs_only_those(tmp_path: Path) -> None:
    fake = await FakeDiscord(guild_ids=(GUILD, OTHER_GUILD), shard_count=2).start()
    try:
        async with running(tmp_path, fake, shard_count=2, shard_ids=(1,)):
            [session] = fake.gateway.sessions
            assert session.identify is not None and session.identify["shard"] == [1, 2]
        # Only the process with shard 0 publishes the commands.
        assert fake.find("PUT", r"/applications/\d+/commands") == []
    finally:
        await fake.stop()

"""Translation pieces on spec_set mocks of real discord.py classes (no gateway needed)."""

from __future__ import annotations

import logging
from unittest.mock import Mock, create_autospec

import discord
import pytest

from adapters.discord.chat import DiscordChat
from adapters.discord.directory import DiscordDirectory
from adapters.discord.interactions import actor_of
from adapters.discord.names import NameBook
from adapters.discord.reactions import ReactionQueue, reaction_command
from bot.commands import Person, ReactionAdded, ReactionRemoved
from bot.domain import Actor, MessageRef, Platform, WorkspaceRef
from bot.errors import ChatError, StorageError
from bot.messages import Reply, line, notice
from bot.service import Leanon

GUILD, CHANNEL, MESSAGE = 800000000000000001, 810000000000000001, 1200000000000000001
ALICE, BOB, ME = 700000000000000001, 700000000000000002, 900000000000000001
WS = WorkspaceRef(Platform.DISCORD, str(GUILD))


def client_mock() -> discord.Client:
    client = create_autospec(discord.Client, instance=True, spec_set=True)
    me = create_autospec(discord.ClientUser, instance=True, spec_set=True)
    me.id = ME
    client.user = me
    client.get_user.return_value = None
    client.get_channel.return_value = None
    return client  # type: ignore[no-any-return]


def payload(added: bool = True, emoji: str = "🙏", author: int | None = BOB,
            guild: int | None = GUILD, member_bot: bool = False) -> discord.RawReactionActionEvent:
    event = create_autospec(discord.RawReactionActionEvent, instance=True, spec_set=True)
    event.guild_id, event.channel_id, event.message_id, event.user_id = guild, CHANNEL, MESSAGE, ALICE
    event.emoji = discord.PartialEmoji(name=emoji)
    event.message_author_id = author
    event.member = None
    if added:
        event.member = create_autospec(discord.Member, instance=True, spec_set=True)
        event.member.bot = member_bot
    return event  # type: ignore[no-any-return]


def http_error(cls: type[discord.HTTPException], status: int, text: str) -> discord.HTTPException:
    return cls(Mock(status=status, reason=text), {"message": text, "code": 50001})


async def test_a_reaction_becomes_reaction_added_with_the_author_from_the_event() -> None:
    cmd = await reaction_command(client_mock(), payload(), added=True)
    # Whether they are bots, the core asks the directory (None: not said).
    assert cmd == ReactionAdded(WS, Actor(str(ALICE)), Person(str(BOB)),
                                MessageRef(str(CHANNEL), str(MESSAGE)), "pray", None)


async def test_a_reaction_in_a_thread_points_at_the_card() -> None:
    client = client_mock()
    thread = create_autospec(discord.Thread, instance=True, spec_set=True)
    thread.id, thread.parent_id = CHANNEL, 810000000000000042
    client.get_channel.return_value = thread  # type: ignore[attr-defined]
    cmd = await reaction_command(client, payload(), added=True)
    assert isinstance(cmd, ReactionAdded)
    assert cmd.thread == MessageRef("810000000000000042", str(CHANNEL))


async def test_bots_are_marked_by_the_event_or_known_to_the_directory() -> None:
    by_bot = await reaction_command(client_mock(), payload(member_bot=True), added=True)
    assert by_bot is not None and by_bot.actor.is_bot
    client = client_mock()
    on_mine = await reaction_command(client, payload(author=ME), added=True)
    assert on_mine is not None and on_mine.author.is_bot is None  # not said: asked
    directory = DiscordDirectory(client)
    assert await directory.is_bot(WS, str(ME))  # leanon knows itself
    assert not await directory.is_bot(WS, str(BOB))  # a user it has not seen to be a bot


async def test_the_author_is_fetched_once_when_the_event_lacks_it() -> None:
    client = client_mock()
    channel = create_autospec(discord.PartialMessageable, instance=True, spec_set=True)
    message = create_autospec(discord.Message, instance=True, spec_set=True)
    message.author = create_autospec(discord.Member, instance=True, spec_set=True)
    message.author.id, message.author.bot, message.webhook_id = BOB, False, None
    channel.fetch_message.return_value = message
    client.get_partial_messageable.return_value = channel  # type: ignore[attr-defined]
    cmd = await reaction_command(client, payload(author=None), added=True)
    assert cmd is not None and cmd.author == Person(str(BOB), is_bot=False)  # the message says
    channel.fetch_message.assert_awaited_once_with(MESSAGE)


async def test_removals_direct_messages_and_nameless_emoji() -> None:
    removed = await reaction_command(client_mock(), payload(added=False, author=None), added=False)
    assert isinstance(removed, ReactionRemoved) and removed.emoji == "pray"
    assert await reaction_command(client_mock(), payload(guild=None), added=True) is None
    assert await reaction_command(client_mock(), payload(emoji=""), added=True) is None


@pytest.mark.parametrize(("perms", "admin"), [
    (discord.Permissions(manage_guild=True), True),
    (discord.Permissions(administrator=True), True),
    (discord.Permissions(send_messages=True, manage_messages=True), False),
])
def test_admins_are_members_with_manage_server(perms: discord.Permissions, admin: bool) -> None:
    interaction = create_autospec(discord.Interaction, instance=True, spec_set=True)
    interaction.permissions = perms
    interaction.user = create_autospec(discord.Member, instance=True, spec_set=True)
    interaction.user.id, interaction.user.bot = ALICE, False
    assert actor_of(interaction) == Actor(str(ALICE), is_admin=admin, is_bot=False)


@pytest.mark.parametrize(("error", "permanent"), [
    (http_error(discord.Forbidden, 403, "Missing Access"), True),
    (http_error(discord.NotFound, 404, "Unknown Channel"), True),
    (http_error(discord.DiscordServerError, 503, "Service Unavailable"), False),
])
async def test_discord_failures_become_chat_errors(error: discord.HTTPException,
                                                   permanent: bool) -> None:
    client = client_mock()
    channel = create_autospec(discord.PartialMessageable, instance=True, spec_set=True)
    channel.send.side_effect = error
    client.get_partial_messageable.return_value = channel  # type: ignore[attr-defined]
    client.create_dm.return_value = channel  # type: ignore[attr-defined]
    chat = DiscordChat(client, NameBook(client))
    with pytest.raises(ChatError) as raised:
        await chat.post(WS, str(CHANNEL), notice(line("hello")))
    assert raised.value.permanent is permanent
    with pytest.raises(ChatError) as told:
        await chat.tell(WS, str(CHANNEL), str(BOB), notice(line("hello")))
    assert str(BOB) not in str(told.value)


async def test_the_retry_queue_is_bounded_and_says_what_it_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    service = create_autospec(Leanon, instance=True, spec_set=True)
    service.handle.side_effect = StorageError("down")
    queue = ReactionQueue(service, capacity=2, first_delay=60)
    for emoji in ("🙏", "🙌", "👍"):
        cmd = await reaction_command(client_mock(), payload(emoji=emoji), added=True)
        assert cmd is not None
        await queue.submit(cmd)
    assert queue.waiting == 2 and queue.dropped == 1
    assert "the oldest was dropped" in caplog.text
    service.handle.side_effect = None
    service.handle.return_value = Reply()
    with caplog.at_level(logging.ERROR):
        await queue.close()
    assert "2 reactions not saved" in caplog.text
    assert service.handle.await_count == 1  # later ones waited behind the first


@pytest.mark.parametrize(("everyone_sees", "private"), [(True, False), (False, True)])
async def test_a_channel_everyone_cannot_view_is_private(everyone_sees: bool, private: bool) -> None:
    client = client_mock()
    channel = create_autospec(discord.TextChannel, instance=True, spec_set=True)
    channel.permissions_for.return_value = discord.Permissions(view_channel=everyone_sees)
    client.get_channel.return_value = channel  # type: ignore[attr-defined]
    directory = DiscordDirectory(client)
    assert await directory.is_private(WS, str(CHANNEL)) is private
    client.get_channel.return_value = None  # type: ignore[attr-defined]
    assert await directory.is_private(WS, str(CHANNEL))  # unknown: kept private

"""SlackChat against the fake Web API: links, errors, and posting exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack.auth import SingleWorkspace
from adapters.slack.chat import SlackChat
from adapters.slack.directory import OWN_ID_SECONDS, SlackDirectory
from adapters.slack.members import Members
from bot.domain import MessageRef, Platform, WorkspaceRef
from bot.errors import ChatError
from bot.messages import Link, Mention, line, notice
from bot.ports import Chat, Directory, OncePoster
from tests.slack.fake_slack import BOT_TOKEN, BOT_USER, FakeSlack
from tests.slack.slack_testing import ADMIN, BOB, CAROL, CHANNEL, WS


@pytest.fixture
def chat(fake: FakeSlack) -> SlackChat:
    auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
    return SlackChat(auth, Members(auth))


def test_slack_chat_is_a_chat_and_can_post_once(chat: SlackChat) -> None:
    assert isinstance(chat, OncePoster)
    _: Chat = chat


async def test_a_link_to_a_message_is_a_slack_permalink(chat: SlackChat, fake: FakeSlack) -> None:
    ref = MessageRef(CHANNEL, "1700000123.000456")
    await chat.post(WS, CHANNEL, notice(line("Still waiting: ", Link(ref, "#4 <the VPN ask>"),
                                             " by ", Mention(BOB))))
    [post] = fake.posts(CHANNEL)
    section = post.args["blocks"][0]["text"]["text"]
    assert section == ("Still waiting: <https://example.slack.com/archives/C2147483705/"
                       f"p1700000123000456|#4 &lt;the VPN ask&gt;> by <@{BOB}>")


async def test_slack_refusals_become_chat_errors_marked_permanent_or_not(
        chat: SlackChat, fake: FakeSlack) -> None:
    fake.failures["chat.postMessage"] = "is_archived"
    with pytest.raises(ChatError) as archived:
        await chat.post(WS, CHANNEL, notice(line("hello")))
    assert archived.value.permanent and "is_archived" in str(archived.value)
    fake.failures["chat.postMessage"] = "internal_error"
    with pytest.raises(ChatError) as flaky:
        await chat.post(WS, CHANNEL, notice(line("hello")))
    assert not flaky.value.permanent
    with pytest.raises(ChatError):
        await chat.post(WorkspaceRef(Platform.SLACK, "T9999"), CHANNEL, notice(line("hello")))


async def test_a_post_tagged_with_a_nonce_is_found_again(chat: SlackChat, fake: FakeSlack) -> None:
    since = datetime.fromtimestamp(1700000000, UTC)
    await chat.post(WS, CHANNEL, notice(line("an ordinary message")))
    ref = await chat.post_once(WS, CHANNEL, notice(line("this week's post")), "w2026-48:7")
    [tagged] = [c for c in fake.posts(CHANNEL)
                if c.args.get("metadata", {}).get("event_type") == "leanon_post"]
    assert tagged.args["metadata"]["event_payload"] == {"nonce": "w2026-48:7"}
    assert await chat.find_post(WS, CHANNEL, "w2026-48:7", since) == ref
    assert await chat.find_post(WS, CHANNEL, "w2026-49:7", since) is None
    later = datetime.fromtimestamp(float(ref.message_id), UTC) + timedelta(seconds=1)
    assert await chat.find_post(WS, CHANNEL, "w2026-48:7", later) is None


async def test_calls_share_connections_and_a_dm_channel_is_opened_once(
        chat: SlackChat, fake: FakeSlack) -> None:
    for n in range(3):
        await chat.post(WS, CHANNEL, notice(line(f"hello {n}")))
        await chat.dm(WS, BOB, notice(line(f"a note {n}")))
    assert len(fake.find("conversations.open")) == 1
    posts = fake.find("chat.postMessage")
    assert len(posts) == 6 and len({c.peer for c in posts}) == 1  # one kept-alive connection



@pytest.fixture
def directory(fake: FakeSlack) -> SlackDirectory:
    auth = SingleWorkspace(BOT_TOKEN, fake.api_url)
    return SlackDirectory(auth, Members(auth))


async def test_the_thread_of_a_message_is_asked_once_and_an_unknown_message_is_in_none(
        directory: SlackDirectory, fake: FakeSlack) -> None:
    _: Directory = directory
    parent = fake.add_message(CHANNEL, BOB)
    reply = fake.add_message(CHANNEL, BOB, thread_ts=parent)
    assert await directory.thread_of(WS, MessageRef(CHANNEL, reply)) == MessageRef(CHANNEL, parent)
    assert await directory.thread_of(WS, MessageRef(CHANNEL, parent)) is None  # a parent itself
    assert await directory.thread_of(WS, MessageRef(CHANNEL, "1700009999.000001")) is None
    asked = len(fake.find("conversations.replies"))
    assert await directory.thread_of(WS, MessageRef(CHANNEL, reply)) == MessageRef(CHANNEL, parent)
    assert len(fake.find("conversations.replies")) == asked == 3  # remembered


class CountingAuth(SingleWorkspace):
    """The fake's workspace, counting how often leanon's own member id is asked for."""

    asked = 0

    async def bot_user_id(self, workspace: WorkspaceRef) -> str | None:
        self.asked += 1
        return await super().bot_user_id(workspace)


async def test_leanons_own_member_id_is_asked_once_an_hour(fake: FakeSlack) -> None:
    auth, now = CountingAuth(BOT_TOKEN, fake.api_url), [1000.0]
    directory = SlackDirectory(auth, Members(auth), clock=lambda: now[0])
    for _ in range(3):
        assert await directory.is_bot(WS, BOT_USER)
    assert auth.asked == 1
    now[0] += OWN_ID_SECONDS - 1
    assert await directory.is_bot(WS, BOT_USER) and auth.asked == 1
    now[0] += 2  # an install can change: asked again after an hour
    assert await directory.is_bot(WS, BOT_USER) and auth.asked == 2


async def test_the_directory_knows_admins_bots_and_who_wrote_in_a_thread(
        directory: SlackDirectory, fake: FakeSlack) -> None:
    assert await directory.is_admin(WS, ADMIN) and not await directory.is_admin(WS, CAROL)
    assert await directory.is_bot(WS, "UOTHERBOT") and await directory.is_bot(WS, "USLACKBOT")
    assert not await directory.is_bot(WS, CAROL)
    fake.failures["users.info"] = "ratelimited"  # leanon knows itself without users.info
    assert await directory.is_bot(WS, BOT_USER)
    del fake.failures["users.info"]
    parent = fake.add_message(CHANNEL, BOB)
    for who in (CAROL, BOB, CAROL):
        fake.add_message(CHANNEL, who, thread_ts=parent)
    assert await directory.thread_authors(WS, MessageRef(CHANNEL, parent)) == (CAROL, BOB)
    fake.private_channels.add("CSECRET01")
    assert await directory.is_private(WS, "CSECRET01") and await directory.is_private(WS, "D0DM")
    assert not await directory.is_private(WS, CHANNEL)
    assert await directory.is_private(WS, "nonsense")  # Slack can't say: kept private
    asked = len(fake.find("conversations.info"))
    assert not await directory.is_private(WS, CHANNEL) and len(fake.find("conversations.info")) == asked

"""Rendering neutral messages for Discord, button ids, emoji names, invite URL, settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.components import ButtonRef
from adapters.discord.emoji import emoji_name
from adapters.discord.invite import PERMISSIONS, invite_url
from adapters.discord.render import render
from adapters.discord.settings import DiscordSettings, client_id_from_token, discord_endpoints
from bot import cards
from bot.config import Config, parse_shard_ids
from bot.domain import Ask, AskStatus, MessageRef, Platform, WorkspaceRef
from bot.errors import ConfigError
from bot.messages import (
    ActionId,
    Button,
    Link,
    Mention,
    Message,
    MessageKind,
    UserText,
    line,
    notice,
)

GUILD = "800000000000000001"
ALICE, BOB = "700000000000000001", "700000000000000002"


def an_ask(**changes: object) -> Ask:
    fields: dict[str, object] = dict(
        id=7, workspace=WorkspaceRef(Platform.DISCORD, GUILD), channel_id="1", asker_id=ALICE,
        text="How do I **rotate** keys?", tried=None, anonymous=False, status=AskStatus.OPEN,
        created_at=discord.utils.utcnow())
    fields.update(changes)
    return Ask(**fields)  # type: ignore[arg-type]


async def test_an_ask_card_is_an_embed_with_persistent_buttons() -> None:
    rendered = render([cards.ask_card(an_ask(), [BOB])], GUILD)
    kwargs = rendered.send_kwargs({})
    [embed] = kwargs["embeds"]
    assert embed.title == "Asking for help"
    assert "How do I **rotate** keys?" in (embed.description or "")
    assert f"Asked by <@{ALICE}>" in (embed.description or "")
    assert "content" not in kwargs
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    view = kwargs["view"]
    assert view.timeout is None
    assert [(c["label"], c["custom_id"]) for row in view.to_components() for c in row["components"]] == [
        ("I can help", f"leanon_offer_help:7@{GUILD}"), ("Resolved", f"leanon_resolve:7@{GUILD}")]


async def test_an_anonymous_card_never_names_the_asker() -> None:
    rendered = render([cards.ask_card(an_ask(anonymous=True), [])], GUILD)
    assert ALICE not in str(rendered.embeds[0].to_dict())


async def test_mentions_ping_exactly_the_members_named_and_user_text_is_escaped() -> None:
    message = notice(line(Mention(BOB), " thanked ", Mention(ALICE), ": ",
                          UserText(f"@everyone <@{BOB}> <@&42> @here")))
    rendered = render([message], GUILD)
    assert rendered.content is not None
    assert rendered.content.startswith(f"<@{BOB}> thanked <@{ALICE}>: ")
    assert "@everyone" not in rendered.content and "@here" not in rendered.content
    assert rendered.content.count(f"<@{BOB}>") == 1
    allowed = dict(rendered.allowed_mentions().to_dict())
    assert allowed == {"parse": [], "users": [int(BOB), int(ALICE)]}


async def test_links_to_messages_are_masked_links_in_the_server() -> None:
    message = Message(MessageKind.WEEKLY_POST, (line("• ", Link(MessageRef("5", "6"), "a [question]")),),
                      title="It's okay to ask")
    [embed] = render([message], GUILD).embeds
    assert embed.description == f"• [a (question)](https://discord.com/channels/{GUILD}/5/6)"


async def test_several_messages_make_one_reply_and_long_text_moves_into_an_embed() -> None:
    tip = notice(line("Tip: be specific."), kind=MessageKind.TIP)
    both = render([notice(line("Posted.")), tip], GUILD)
    assert both.content == "Posted.\n\nTip: be specific."
    long = render([notice(line(Mention(BOB), " " + "x" * 2500))], GUILD)
    assert long.content is None and long.mentions == []
    assert len(long.embeds) == 1 and len(long.embeds[0].description or "") <= 4096


async def test_button_labels_show_names_not_mentions() -> None:
    buttons = (Button(line("Thank ", Mention(BOB)), ActionId.THANK_HELPER, f"7:{BOB}"),
               Button(line("Thank ", Mention(ALICE)), ActionId.THANK_HELPER, f"7:{ALICE}"))
    view = render([notice(line("Resolved."), buttons=buttons)], GUILD).view({BOB: "Bob"})
    assert view is not None
    labels = [c["label"] for row in view.to_components() for c in row["components"]]
    assert labels == ["Thank Bob", "Thank a teammate"]


def test_button_refs_round_trip_and_stay_within_discord_limits() -> None:
    ref = ButtonRef(ActionId.THANK_HELPER, f"123456789:{'9' * 20}", "9" * 20)
    assert len(ref.custom_id) <= 100
    assert ButtonRef.parse(ref.custom_id) == ref
    assert ButtonRef.parse("leanon_unknown:1@2") is None
    assert ButtonRef.parse("someone_else:1@2") is None


@pytest.mark.parametrize(("name", "expected"), [
    ("🙏", "pray"), ("🙏🏽", "pray"), ("🙌🏿", "raised_hands"), ("❤️", "heart"), ("👍", "+1"),
    ("🦄", "unicorn_face"), ("😍", "heart_eyes"), ("\ue000", "\ue000"),
])
def test_unicode_emoji_get_leanon_names(name: str, expected: str) -> None:
    assert emoji_name(discord.PartialEmoji(name=name)) == expected


def test_custom_emoji_keep_their_name() -> None:
    assert emoji_name(discord.PartialEmoji(name="Kudos", id=850000000000000001)) == "kudos"
    assert emoji_name(discord.PartialEmoji(name=None, id=850000000000000001)) is None  # type: ignore[arg-type]


def test_the_invite_asks_for_exactly_what_leanon_uses() -> None:
    url = urlparse(invite_url("900000000000000001"))
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("discord.com", "/oauth2/authorize")
    assert query["scope"] == ["bot applications.commands"]
    assert query["client_id"] == ["900000000000000001"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == PERMISSIONS
    # Discord's documented bits: VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_MESSAGE_HISTORY,
    # CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS; nothing else (no admin, no reactions).
    assert granted.value == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 35) | (1 << 38)


def test_settings_read_shards_and_explain_mistakes() -> None:
    assert parse_shard_ids("0-2, 5") == (0, 1, 2, 5)
    settings = DiscordSettings.from_env("secret-token", shard_count=8, shard_ids="4-7")
    assert settings.shard_ids == (4, 5, 6, 7)
    assert "secret-token" not in repr(settings)
    wrong: list[tuple[dict[str, object], str]] = [
        ({"discord_shard_count": 2, "discord_shard_ids": "0-3"}, "DISCORD_SHARD_IDS: every id"),
        ({"discord_shard_ids": "0"}, "DISCORD_SHARD_IDS: needs DISCORD_SHARD_COUNT"),
        ({"discord_shard_count": 2, "discord_shard_ids": "one"}, "DISCORD_SHARD_IDS: 'one'"),
        ({"discord_shard_count": 2, "discord_shard_ids": "1-0"}, "runs backwards"),
        ({"discord_api_url": "discord.com/api"}, "DISCORD_API_URL"),
        ({"discord_gateway_url": "https://gateway"}, "DISCORD_GATEWAY_URL"),
        ({"discord_token": " "}, "DISCORD_TOKEN: empty"),
    ]
    for values, message in wrong:
        with pytest.raises(ConfigError, match=message):
            Config(**{"discord_token": "t", **values})  # type: ignore[arg-type]


def test_the_client_id_is_read_from_the_token() -> None:
    assert client_id_from_token("OTAwMDAwMDAwMDAwMDAwMDAx.GfAkEs.rest") == "900000000000000001"
    assert client_id_from_token("not a token") is None


def test_the_endpoint_seam_is_restored_after_use() -> None:
    before = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    with discord_endpoints("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway"):
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gateway"
    after = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    assert after == before

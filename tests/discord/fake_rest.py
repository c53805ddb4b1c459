"""The fake Discord's REST endpoints: one function per route, returning (status, JSON)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.discord.fake_discord import APP_ID, Answer, Call, FakeDiscord, Json, now_iso

UNKNOWN_CHANNEL = {"message": "Unknown Channel", "code": 10003}
UNKNOWN_MESSAGE = {"message": "Unknown Message", "code": 10008}
Result = tuple[int, Any]


def bot_user(fake: FakeDiscord) -> Json:
    return fake.users[APP_ID]


def me(fake: FakeDiscord, call: Call) -> Result:
    return 200, bot_user(fake)


def application(fake: FakeDiscord, call: Call) -> Result:
    return 200, {"id": APP_ID, "name": "leanon", "icon": None, "description": "Asking for help",
                 "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
                 "owner": bot_user(fake), "team": None, "flags": 8953856, "summary": "",
                 "bot": bot_user(fake), "redirect_uris": [], "interactions_endpoint_url": None}


def gateway_bot(fake: FakeDiscord, call: Call) -> Result:
    return 200, {"url": fake.gateway_url, "shards": fake.shard_count,
                 "session_start_limit": {"total": 1000, "remaining": 999,
                                         "reset_after": 14_400_000, "max_concurrency": 1}}


def sync_commands(fake: FakeDiscord, call: Call, app_id: str, guild_id: str | None = None) -> Result:
    synced = []
    for command in call.body:
        data = {"description": "", "options": [], "default_member_permissions": None,
                "nsfw": False, **command, "id": fake.snowflake(), "application_id": app_id,
                "version": fake.snowflake()}
        if guild_id:
            data["guild_id"] = guild_id
        synced.append(data)
    return 200, synced


def create_message(fake: FakeDiscord, call: Call, channel_id: str) -> Result:
    if channel_id not in fake.channels:
        return 404, UNKNOWN_CHANNEL
    body = call.body or {}
    if body.get("enforce_nonce"):
        for old in fake.channel_messages(channel_id):
            if old.get("nonce") == body.get("nonce") and old["author"]["id"] == APP_ID:
                return 200, old
    return 200, fake._message(channel_id, body, bot_user(fake))


def edit_message(fake: FakeDiscord, call: Call, channel_id: str, message_id: str) -> Result:
    message = fake.messages.get(message_id)
    if message is None or message["channel_id"] != channel_id:
        return 404, UNKNOWN_MESSAGE
    for key in ("content", "embeds", "components"):
        if key in call.body:
            message[key] = call.body[key] or ([] if key != "content" else "")
    message["edited_timestamp"] = now_iso()
    return 200, message


def get_message(fake: FakeDiscord, call: Call, channel_id: str, message_id: str) -> Result:
    message = fake.messages.get(message_id)
    if message is None or message["channel_id"] != channel_id:
        return 404, UNKNOWN_MESSAGE
    return 200, {k: v for k, v in message.items() if k != "nonce"}


def list_messages(fake: FakeDiscord, call: Call, channel_id: str) -> Result:
    if channel_id not in fake.channels:
        return 404, UNKNOWN_CHANNEL
    after = int(call.query.get("after", 0))
    before = int(call.query.get("before", 1 << 63))
    found = sorted((m for m in fake.channel_messages(channel_id) if after < int(m["id"]) < before),
                   key=lambda m: int(m["id"]), reverse=True)
    # Discord does not return nonces of stored messages.
    limit = int(call.query.get("limit", 50))
    return 200, [{k: v for k, v in m.items() if k != "nonce"} for m in found[:limit]]


def get_channel(fake: FakeDiscord, call: Call, channel_id: str) -> Result:
    channel = fake.channels.get(channel_id)
    return (200, channel) if channel else (404, UNKNOWN_CHANNEL)


def start_thread(fake: FakeDiscord, call: Call, channel_id: str, message_id: str) -> Result:
    message = fake.messages.get(message_id)
    if message is None or message["channel_id"] != channel_id:
        return 404, UNKNOWN_MESSAGE
    if message_id in fake.channels:
        return 400, {"message": "A thread has already been created for this message",
                     "code": 160004}
    parent = fake.channels[channel_id]
    thread = fake.payload("thread_create")
    thread.update(id=message_id, guild_id=parent["guild_id"], parent_id=channel_id,
                  name=call.body["name"], owner_id=APP_ID)
    thread["member"]["id"] = message_id
    fake.channels[message_id] = thread
    # Discord tells the bot about its new thread on the gateway, as it does every member.
    asyncio.get_running_loop().create_task(
        fake.gateway.dispatch(parent["guild_id"], "THREAD_CREATE", thread))
    return 201, {k: v for k, v in thread.items() if k != "newly_created"}


def _record(fake: FakeDiscord, token: str, answer_kind: str, kind: int | None, data: Json,
            message: bool = True) -> Json | None:
    """Keep what the interaction got; the message it makes, in the interaction's channel."""
    interaction_id = fake.tokens.get(token, token)
    interaction = fake.interactions.get(interaction_id, {})
    made = None
    if message:
        made = fake._message(interaction.get("channel_id", "0"), data, bot_user(fake))
        made["interaction_metadata"] = {"id": interaction_id, "type": interaction.get("type", 2),
                                        "user": (interaction.get("member") or {}).get("user")
                                        or interaction.get("user"),  # a direct message
                                        "authorizing_integration_owners": {}}
    fake.answers.setdefault(interaction_id, []).append(Answer(answer_kind, kind, data, made))
    return made


def callback(fake: FakeDiscord, call: Call, interaction_id: str, token: str) -> Result:
    if fake.answers.get(interaction_id):
        return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
    kind, data = call.body["type"], call.body.get("data") or {}
    made = _record(fake, token, "callback", kind, data, message=kind in (4, 5))
    info: Json = {"id": interaction_id, "type": kind,
                  "response_message_loading": kind == 5,
                  "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64)}
    result: Json = {"interaction": info}
    if made is not None:
        info["response_message_id"] = made["id"]
        result["resource"] = {"type": kind, "message": made}
    return 200, result


def followup(fake: FakeDiscord, call: Call, app_id: str, token: str) -> Result:
    return 200, _record(fake, token, "followup", None, call.body or {})


def edit_original(fake: FakeDiscord, call: Call, app_id: str, token: str) -> Result:
    return 200, _record(fake, token, "edit", None, call.body or {})


def delete_original(fake: FakeDiscord, call: Call, app_id: str, token: str) -> Result:
    _record(fake, token, "delete", None, {}, message=False)
    return 204, None


def create_dm(fake: FakeDiscord, call: Call) -> Result:
    recipient = str(call.body["recipient_id"])
    channel_id = str(int(recipient) + 5_000_000_000_000_000)
    channel = {"id": channel_id, "type": 1, "last_message_id": None, "flags": 0,
               "recipients": [fake.users.get(recipient, {"id": recipient, "username": "member",
                                                          "discriminator": "0", "avatar": None})]}
    fake.channels[channel_id] = channel
    return 200, channel


def get_user(fake: FakeDiscord, call: Call, user_id: str) -> Result:
    user = fake.users.get(user_id)
    return (200, user) if user else (404, {"message": "Unknown User", "code": 10013})


ROUTES: list[tuple[str, str, Callable[..., Result]]] = [
    ("GET", r"/users/@me", me),
    ("GET", r"/oauth2/applications/@me", application),
    ("GET", r"/gateway/bot", gateway_bot),
    ("PUT", r"/applications/(\d+)/commands", sync_commands),
    ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", sync_commands),
    ("POST", r"/channels/(\d+)/messages", create_message),
    ("PATCH", r"/channels/(\d+)/messages/(\d+)", edit_message),
    ("GET", r"/channels/(\d+)/messages/(\d+)", get_message),
    ("GET", r"/channels/(\d+)/messages", list_messages),
    ("GET", r"/channels/(\d+)", get_channel),
    ("POST", r"/channels/(\d+)/messages/(\d+)/threads", start_thread),
    ("POST", r"/interactions/(\d+)/([\w.-]+)/callback", callback),
    ("POST", r"/webhooks/(\d+)/([\w.-]+)", followup),
    ("PATCH", r"/webhooks/(\d+)/([\w.-]+)/messages/@original", edit_original),
    ("DELETE", r"/webhooks/(\d+)/([\w.-]+)/messages/@original", delete_original),
    ("POST", r"/users/@me/channels", create_dm),
    ("GET", r"/users/(\d+)", get_user),
]

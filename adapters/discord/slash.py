"""The app commands: /ask, /thanks, the "Thank this author" menu and /leanon …"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import discord
from discord import app_commands

from adapters.discord.components import AskForm, host
from adapters.discord.interactions import (
    NOT_IN_A_SERVER,
    actor_of,
    answer,
    tell,
    workspace_of,
)
from bot import settings as settings_mod
from bot.commands import (
    ChangeConfig,
    Command,
    CreateAsk,
    ExportData,
    ForgetMe,
    ListAsks,
    ListHelpers,
    MarkAnswer,
    OpenInsights,
    Person,
    SetNamed,
    ShowConfig,
    ShowHelp,
    ShowLeaderboard,
    ShowStats,
    ThankMembers,
    WithdrawAsk,
)
from bot.domain import Actor, MessageRef, WorkspaceRef
from bot.messages import error
from bot.parsing import ParseError, leading_mentions, parse_leanon

Interaction = discord.Interaction[Any]
MENTION = re.compile(r"<@!?(\d{5,20})>")
THANK_AUTHOR = "Thank this author"
MARK_ANSWER = "Mark as the answer"


async def run(interaction: Interaction, make: Callable[[WorkspaceRef, Actor], Command]) -> None:
    """Build the command for this server and member, run it, answer privately.

    `make` may raise ParseError (text the core parses): the member sees its message.
    """
    workspace = workspace_of(interaction)
    if workspace is None:
        await tell(interaction, None, [NOT_IN_A_SERVER])
        return
    host(interaction).names.remember(interaction.user)
    try:
        cmd = make(workspace, actor_of(interaction))
    except ParseError as exc:
        await tell(interaction, workspace, [error(str(exc))])
        return
    await answer(interaction, cmd, workspace)


def _channel(interaction: Interaction) -> str:
    return str(interaction.channel_id)


@app_commands.command(name="ask", description="Ask your teammates for help (no question opens a form)")
@app_commands.describe(question="What you need help with", anonymous="Show 'someone' instead of your name")
@app_commands.guild_only()
async def ask(interaction: Interaction, question: str | None = None, anonymous: bool = False) -> None:
    if not (question or "").strip() and interaction.guild_id is not None:
        await interaction.response.send_modal(AskForm(anonymous))
        return
    await run(interaction, lambda ws, actor: CreateAsk(
        ws, actor, _channel(interaction), question or "", None, anonymous))


@app_commands.command(name="thanks",
                      description="Thank a teammate (start the reason with more @names to thank them too)")
@app_commands.describe(member="Who you are thanking", reason="What for")
@app_commands.guild_only()
async def thanks(interaction: Interaction, member: discord.User, reason: str | None = None) -> None:
    host(interaction).names.remember(member)
    # `/thanks member:@bob reason:@carol for the review` thanks Carol too.
    most = host(interaction).service.deps.thanks_max_members  # the core refuses more
    more, rest = leading_mentions(reason or "", MENTION, most)
    why = (rest if more else reason or "").strip() or None
    people = (Person(str(member.id), member.bot),
              *(Person(i) for i in more))  # bots among them: the core asks
    await run(interaction, lambda ws, actor: ThankMembers(
        ws, actor, _channel(interaction), people, why, event_id=str(interaction.id)))


@app_commands.context_menu(name=THANK_AUTHOR)
@app_commands.guild_only()
async def thank_author(interaction: Interaction, message: discord.Message) -> None:
    author = message.author
    person = Person(str(author.id), author.bot or message.webhook_id is not None)
    await run(interaction, lambda ws, actor: ThankMembers(
        ws, actor, _channel(interaction), (person,), message.jump_url, event_id=str(interaction.id)))


@app_commands.context_menu(name=MARK_ANSWER)
@app_commands.guild_only()
async def mark_answer(interaction: Interaction, message: discord.Message) -> None:
    """A reply in an ask's thread is what solved it (for the asker or an admin)."""
    author = message.author
    person = Person(str(author.id), True if author.bot or message.webhook_id else None)
    # A card's thread has the card's id, in the card's channel; the core asks otherwise.
    channel = interaction.channel
    thread = MessageRef(str(channel.parent_id), str(channel.id)) if isinstance(
        channel, discord.Thread) and channel.parent_id else None
    reply = MessageRef(str(message.channel.id), str(message.id))
    await run(interaction, lambda ws, actor: MarkAnswer(ws, actor, reply, person,
                                                        message.content, thread))


leanon = app_commands.Group(name="leanon", description="leanon: your numbers, open asks, settings",
                            guild_only=True, allowed_contexts=app_commands.AppCommandContext(guild=True))
config = app_commands.Group(name="config", description="leanon's settings for this server",
                            parent=leanon)
SETTING_CHOICES = [app_commands.Choice(name=key, value=key) for key in settings_mod.SPECS][:25]


@leanon.command(name="help", description="What leanon does and how to use it")
async def help_(interaction: Interaction) -> None:
    await run(interaction, ShowHelp)


@leanon.command(name="stats", description="Your own numbers, privately")
async def stats(interaction: Interaction) -> None:
    await run(interaction, ShowStats)


@leanon.command(name="asks", description="Open asks, oldest first")
@app_commands.describe(where="This channel (default) or the whole server")
async def asks(interaction: Interaction, where: Literal["channel", "server"] = "channel") -> None:
    channel = _channel(interaction) if where == "channel" else None
    await run(interaction, lambda ws, actor: ListAsks(ws, actor, channel))


@leanon.command(name="leaderboard", description="Most thanked members (when an admin turned it on)")
async def leaderboard(interaction: Interaction) -> None:
    await run(interaction, ShowLeaderboard)


@leanon.command(name="named", description="Whether leanon may name you in weekly posts and the leaderboard")
async def named(interaction: Interaction, choice: Literal["on", "off"]) -> None:
    await run(interaction, lambda ws, actor: SetNamed(ws, actor, choice == "on"))


@leanon.command(name="withdraw", description="Take back an ask of yours that is still open")
@app_commands.describe(ask="The ask's number (/leanon asks shows them)")
async def withdraw(interaction: Interaction, ask: app_commands.Range[int, 1, 999_999_999]) -> None:
    await run(interaction, lambda ws, actor: WithdrawAsk(ws, actor, ask))


@leanon.command(name="helper", description="Let leanon ask you to look at waiting asks (in your hours)")
@app_commands.describe(action="on: become a helper; off: stop; topics: change your topics",
                       topics="Your topics, separated by commas (e.g. kubernetes, terraform)")
async def helper(interaction: Interaction, action: Literal["on", "off", "topics"] | None = None,
                 topics: str | None = None) -> None:
    # The core parses what was said, as it does for every platform.
    text = " ".join(w for w in ("helper", action, topics if action else None) if w)
    await run(interaction, lambda ws, actor: parse_leanon(text, ws, actor, _channel(interaction)))


@leanon.command(name="hours", description="When leanon may ask you to look at waiting asks")
@app_commands.describe(hours="e.g. 09:00-17:30 mon-fri Europe/Berlin (the time zone is needed)")
async def hours_(interaction: Interaction, hours: str) -> None:
    text = f"hours {hours}"
    await run(interaction, lambda ws, actor: parse_leanon(text, ws, actor, _channel(interaction)))


@leanon.command(name="helpers", description="Who is a helper, their topics and hours (Manage Server)")
async def helpers(interaction: Interaction) -> None:
    await run(interaction, ListHelpers)


@leanon.command(name="escalate",
                description="Where asks nobody took are posted (Manage Server to change it)")
@app_commands.describe(action="here: this channel gets them; off: nowhere; none: see where")
async def escalate(interaction: Interaction, action: Literal["here", "off"] | None = None) -> None:
    text = " ".join(w for w in ("escalate", action) if w)
    await run(interaction, lambda ws, actor: parse_leanon(text, ws, actor, _channel(interaction)))


@leanon.command(name="insights", description="A private link to this server's insights page (Manage Server)")
async def insights(interaction: Interaction) -> None:
    await run(interaction, OpenInsights)


@leanon.command(name="forget-me", description="Delete what leanon keeps about you")
async def forget_me(interaction: Interaction) -> None:
    await run(interaction, ForgetMe)


@leanon.command(name="export", description="This server's leanon data (Manage Server)")
@app_commands.rename(file_format="format")
async def export(interaction: Interaction, file_format: Literal["json", "csv"] = "json") -> None:
    await run(interaction, lambda ws, actor: ExportData(ws, actor, file_format))


@leanon.command(name="nudge", description="The weekly post in this channel")
@app_commands.describe(action="here: set it up; off: stop; preview: see the next one; now: post now",
                       weekday="Day of the week (for here)", time="HH:MM (for here)",
                       timezone="IANA timezone, e.g. Europe/Berlin (for here)")
async def nudge(interaction: Interaction, action: Literal["here", "off", "preview", "now"],
                weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday",
                                 "saturday", "sunday"] | None = None,
                time: str | None = None, timezone: str | None = None) -> None:
    # The core parses nudge settings (weekday, time, timezone) as it does for every platform.
    text = " ".join(w for w in ("nudge", action, weekday, time, timezone) if w)
    await run(interaction, lambda ws, actor: parse_leanon(text, ws, actor, _channel(interaction)))


@config.command(name="show", description="Show this server's leanon settings")
async def config_show(interaction: Interaction) -> None:
    await run(interaction, ShowConfig)


@config.command(name="set", description="Change a setting (Manage Server)")
@app_commands.describe(setting="Which setting", value="The new value, e.g. on, off, 2h, pray,raised_hands")
@app_commands.choices(setting=SETTING_CHOICES)
async def config_set(interaction: Interaction, setting: app_commands.Choice[str], value: str) -> None:
    await run(interaction, lambda ws, actor: ChangeConfig(ws, actor, setting.value, value))


COMMANDS: tuple[app_commands.Command[Any, ..., Any] | app_commands.ContextMenu | app_commands.Group, ...] = (
    ask, thanks, thank_author, mark_answer, leanon)


def register_commands(tree: app_commands.CommandTree[Any]) -> None:
    """Add leanon's commands to a client's tree."""
    for command in COMMANDS:
        tree.add_command(command)

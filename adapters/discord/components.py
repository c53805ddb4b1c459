"""Persistent buttons, the ask form and the resolve form.

A button's custom id carries everything needed to act on it after a restart:
`<ActionId value>:<button value>@<guild id>`, e.g. `leanon_offer_help:42@81234`. The guild
is there so that a button pressed in a direct message still knows its server.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Protocol, cast

import discord

from adapters.discord.names import NameBook
from adapters.discord.settings import DiscordSettings
from bot.deps import NOTE_MAX_CHARS
from bot.domain import WorkspaceRef
from bot.inbox import Inbox
from bot.messages import ActionId, ButtonStyle
from bot.service import Leanon

CUSTOM_ID = re.compile(r"(?P<action>leanon_[a-z_]{1,40}):(?P<value>[\w:.-]{1,40})@(?P<guild>\d{1,20})")

STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


@dataclass(frozen=True, slots=True)
class ButtonRef:
    """What a pressed button means: the core action, its value and the server."""

    action: ActionId
    value: str
    guild_id: str

    @property
    def custom_id(self) -> str:
        return f"{self.action.value}:{self.value}@{self.guild_id}"

    @classmethod
    def parse(cls, custom_id: str) -> ButtonRef | None:
        """The ref of a leanon custom id; None for anything else."""
        match = CUSTOM_ID.fullmatch(custom_id)
        if match is None:
            return None
        try:
            action = ActionId(match["action"])
        except ValueError:
            return None
        return cls(action, match["value"], match["guild"])


class LeanonButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID):
    """A leanon button; discord.py rebuilds it from the custom id on every press."""

    def __init__(self, ref: ButtonRef, label: str = "",
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        super().__init__(discord.ui.Button(label=label or None, style=style,
                                           custom_id=ref.custom_id))
        self.ref = ref

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str]) -> LeanonButton:
        ref = ButtonRef.parse(match.string)
        if ref is None:
            raise ValueError("not a leanon button")
        if isinstance(item, discord.ui.Button):
            return cls(ref, item.label or "", item.style)
        return cls(ref)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await host(interaction).button_pressed(interaction, self.ref)


class AskForm(discord.ui.Modal, title="Ask for help"):
    """`/ask` with no question: the question and what the member tried."""

    question: discord.ui.TextInput[AskForm] = discord.ui.TextInput(
        label="Your question", custom_id="question", style=discord.TextStyle.paragraph,
        max_length=4000,
        placeholder="What are you trying to do, and where are you stuck?")
    tried: discord.ui.TextInput[AskForm] = discord.ui.TextInput(
        label="What have you tried?", custom_id="tried", style=discord.TextStyle.paragraph,
        required=False, max_length=4000)

    def __init__(self, anonymous: bool) -> None:
        super().__init__(timeout=900)
        self.anonymous = anonymous
        if anonymous:
            self.title = "Ask for help (anonymously)"

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await host(interaction).form_submitted(interaction, self.question.value,
                                               self.tried.value, self.anonymous)


RESOLVE_FORM = "leanon_resolve_form"


class ResolveForm(discord.ui.Modal, title="Resolve your ask"):
    """Resolved, pressed by the asker or an admin: what solved it (optional)."""

    solved: discord.ui.TextInput[ResolveForm] = discord.ui.TextInput(
        label="What solved it? (optional)", custom_id="solved", style=discord.TextStyle.paragraph,
        required=False, max_length=NOTE_MAX_CHARS,
        placeholder="One or two lines: leanon offers it when someone asks this again.")

    def __init__(self, workspace: WorkspaceRef, ask_id: int) -> None:
        super().__init__(timeout=900, custom_id=f"{RESOLVE_FORM}:{ask_id}")
        self.workspace = workspace
        self.ask_id = ask_id

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await host(interaction).resolve_submitted(interaction, self.workspace, self.ask_id,
                                                  self.solved.value)


class Host(Protocol):
    """What buttons, forms and interactions need of the client they arrive on (the client,
    `adapters.discord.client.LeanonClient`, is built from them, so they name it by this)."""

    service: Leanon
    settings: DiscordSettings
    inbox: Inbox | None  # interactions are stored before they are acknowledged
    live: dict[str, discord.Interaction[Any]]  # those this process answers, by inbox key
    working: asyncio.Semaphore  # interactions worked at once (the rest wait their turn)
    names: NameBook
    _connection: Any  # discord.py's state, for an interaction's webhook

    async def button_pressed(self, interaction: discord.Interaction[Any], ref: ButtonRef) -> None:
        ...

    async def form_submitted(self, interaction: discord.Interaction[Any], question: str,
                             tried: str, anonymous: bool) -> None:
        ...

    async def resolve_submitted(self, interaction: discord.Interaction[Any],
                                workspace: WorkspaceRef, ask_id: int, solved: str) -> None:
        ...


def host(interaction: discord.Interaction[Any]) -> Host:
    """leanon's client, which every interaction leanon gets arrives on."""
    return cast(Host, interaction.client)

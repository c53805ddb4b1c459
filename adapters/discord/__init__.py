"""The Discord adapter: discord.py app commands, persistent buttons, raw reactions, threads."""

from adapters.discord.client import LeanonClient, run_discord
from adapters.discord.invite import invite_url
from adapters.discord.settings import DiscordSettings, client_id_from_token

__all__ = ["DiscordSettings", "LeanonClient", "client_id_from_token", "invite_url", "run_discord"]

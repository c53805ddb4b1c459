"""Meta-tests on the command tree: unique names, and names Discord accepts."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from discord import app_commands

from adapters.discord.slash import COMMANDS, MARK_ANSWER, THANK_AUTHOR


def every_command() -> list[tuple[str, str]]:
    """(kind, qualified name) for every command, group and subcommand."""
    found: list[tuple[str, str]] = []
    for command in COMMANDS:
        if isinstance(command, app_commands.ContextMenu):
            found.append((f"menu:{command.type.name}", command.name))
            continue
        found.append(("slash", command.qualified_name))
        if isinstance(command, app_commands.Group):
            found.extend(("slash", c.qualified_name) for c in command.walk_commands())
    return found


def test_command_names_are_unique() -> None:
    counts = Counter(every_command())
    assert [name for name, n in counts.items() if n > 1] == []
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)


def test_names_and_descriptions_fit_discord_rules() -> None:
    chat_input = re.compile(r"^[-_\w]{1,32}$")
    for command in COMMANDS:
        if isinstance(command, app_commands.ContextMenu):
            assert command.name in {THANK_AUTHOR, MARK_ANSWER} and 1 <= len(command.name) <= 32
            continue
        nodes: list[Any] = [command]
        if isinstance(command, app_commands.Group):
            nodes.extend(command.walk_commands())
        for node in nodes:
            assert chat_input.match(node.name) and node.name == node.name.lower(), node.name
            assert 1 <= len(node.description) <= 100, node.qualified_name


def test_the_product_commands_are_all_there() -> None:
    names = {name for _, name in every_command()}
    assert {"ask", "thanks", THANK_AUTHOR, MARK_ANSWER, "leanon help", "leanon stats", "leanon asks",
            "leanon leaderboard", "leanon named", "leanon forget-me", "leanon export",
            "leanon nudge", "leanon config show", "leanon config set", "leanon helper",
            "leanon hours", "leanon helpers", "leanon withdraw", "leanon escalate",
            "leanon insights"} <= names

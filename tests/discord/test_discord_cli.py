"""`leanon discord invite-url` prints the invite link, or says what it needs."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    env["PYTHONPATH"] = str(ROOT)
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "bot.cli", "discord", "invite-url", *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_invite_url_reads_the_application_id_from_the_token() -> None:
    app_id = "123456789012345678"
    token = base64.b64encode(app_id.encode()).decode().rstrip("=") + ".xxxxxx.yyyyyyyy"
    result = run(token=token)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert f"client_id={app_id}" in url
    assert "scope=bot+applications.commands" in url
    assert "permissions=309237730304" in url


def test_invite_url_without_an_id_says_what_it_needs() -> None:
    result = run()
    assert result.returncode == 2
    assert "--client-id" in result.stderr
    given = run("--client-id", "42")
    assert given.returncode == 0
    assert "client_id=42" in given.stdout

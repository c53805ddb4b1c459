"""Configuration: `leanon config check`, and one clear line (never a traceback) for a bad value."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from tests.ops.leanon_process import free_port, leanon_env
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.slack_testing import SECRET

DB_PASSWORD = "hunter2-db-password"


async def leanon(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_bad_values_stop_leanon_run_with_one_line_naming_the_setting(
        fake: FakeSlack, tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'run.db'}"
    slack = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
             "SLACK_API_URL": fake.api_url}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        closed = str(free_port())
        dotenv = tmp_path / "dotenv"
        dotenv.mkdir()
        (dotenv / ".env").write_text("LEANON_LOG_LEVEL=LOUD\n")
        cases: list[tuple[dict[str, str], Path, int, str]] = [
            ({"LEANON_PORT": "abc"}, tmp_path, 2,
             "LEANON_PORT: Input should be a valid integer"),
            ({"LEANON_TIMEZONE": "Mars/Olympus_Mons"}, tmp_path, 2,
             "LEANON_TIMEZONE: Value error, unknown IANA timezone"),
            ({"DATABASE_URL": "mysql://db/leanon"}, tmp_path, 2, "DATABASE_URL: "),
            ({"DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'leanon.db'}"}, tmp_path, 2,
             f"DATABASE_URL: the folder {tmp_path / 'missing'} does not exist"),
            ({"DISCORD_TOKEN": "x.y.z", "DISCORD_SHARD_IDS": "0-3"}, tmp_path, 2,
             "DISCORD_SHARD_IDS: needs DISCORD_SHARD_COUNT"),
            ({"SLACK_SIGNING_SECRET": SECRET}, tmp_path, 2, "SLACK_BOT_TOKEN: required"),
            ({**slack, "SLACK_API_URL": "slack.example"}, tmp_path, 2, "SLACK_API_URL: use an http"),
            ({}, dotenv, 2, "LEANON_LOG_LEVEL: Value error, use DEBUG, INFO, WARNING or ERROR"),
            ({**slack, "LEANON_PORT": busy}, tmp_path, 2,
             f"LEANON_HOST/LEANON_PORT: cannot listen on 127.0.0.1:{busy}"),
            ({**slack, "DATABASE_URL": f"postgresql://leanon:{DB_PASSWORD}@127.0.0.1:{closed}/x"},
             tmp_path, 1, "the database is not usable"),
        ]
        results = await asyncio.gather(*(
            leanon(leanon_env(sqlite, **extra), cwd, "run") for extra, cwd, _, _ in cases))
    for (extra, _, code, wanted), (returncode, out, err) in zip(cases, results, strict=True):
        assert (returncode, out) == (code, ""), (extra, err)
        lines = [line for line in err.strip().splitlines() if not line.startswith("{")]  # logs
        assert len(lines) == 1 and lines[0].startswith("leanon: "), (extra, err)
        assert wanted in lines[0], (extra, err)
        assert "Traceback" not in err and DB_PASSWORD not in err and SECRET not in err


def check_env(mode: str) -> dict[str, str]:
    slack = ({"SLACK_SIGNING_SECRET": SECRET} if mode == "http"
             else {"SLACK_APP_TOKEN": "xapp-1-A1-s3cr3t"})
    return leanon_env(f"postgresql://leanon:{DB_PASSWORD}@db.internal:5432/leanon"
                      f"?sslmode=require&sslpassword={DB_PASSWORD}2",
                      SLACK_API_URL=f"https://proxy:{SECRET}3@slack.internal/api/?token={SECRET}4",
                      SLACK_BOT_TOKEN=BOT_TOKEN, DISCORD_TOKEN="discord-secret-token",
                      DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="2-3", LEANON_PORT="8080",
                      LEANON_TIMEZONE="Europe/Berlin", **slack)


async def test_config_check_prints_the_configuration_masked_and_refuses_what_run_refuses(
        tmp_path: Path) -> None:
    port = free_port()
    wrong = leanon_env("sqlite:///x.db", DISCORD_TOKEN="t", DISCORD_SHARD_COUNT="2",
                       DISCORD_SHARD_IDS="1-2")
    http, socket_mode, refused, unhealthy = await asyncio.gather(
        leanon(check_env("http"), tmp_path, "config", "check"),
        leanon(check_env("socket"), tmp_path, "config", "check"),
        leanon(wrong, tmp_path, "config", "check"),
        leanon(leanon_env("sqlite:///x.db", LEANON_PORT=str(port)), tmp_path, "healthcheck"))
    for (code, out, err), started in ((http, "slack (HTTP mode"), (socket_mode, "slack (Socket Mode)")):
        assert (code, err) == (0, "")
        settings = dict(line.split(None, 1) for line in out.splitlines() if line and "  " in line)
        assert settings["DATABASE_URL"] == ("postgresql://leanon:********@db.internal:5432/"
                                            "leanon?sslmode=require&sslpassword=********")
        assert settings["SLACK_API_URL"] == ("https://proxy:********@slack.internal/api/"
                                             "?token=********")
        assert settings["SLACK_BOT_TOKEN"] == settings["DISCORD_TOKEN"] == "********"
        assert settings["LEANON_TIMEZONE"] == "Europe/Berlin"
        assert settings["LEANON_PORT"] == "8080"
        assert settings["SLACK_CLIENT_SECRET"] == "(unset)"
        for secret in (DB_PASSWORD, BOT_TOKEN, SECRET, "discord-secret-token", "xapp-1-A1-s3cr3t"):
            assert secret not in out
        last = out.strip().splitlines()[-1]
        assert last.startswith("configuration is valid; leanon run starts: " + started)
        assert "discord (shards 2,3)" in last
    missing, version = await asyncio.gather(
        leanon(leanon_env("sqlite:///no/such/folder/x.db"), tmp_path, "config", "check"),
        leanon(leanon_env("sqlite:///x.db"), tmp_path, "--version"))
    assert missing[:2] == (2, "") and "the folder" in missing[2] and "does not exist" in missing[2]
    assert version[0] == 0 and version[1].startswith("leanon ")
    assert refused[:2] == (2, "")
    assert refused[2].strip() == ("leanon: DISCORD_SHARD_IDS: every id must be from 0 to 1 "
                                  "(DISCORD_SHARD_COUNT - 1)")
    # `leanon healthcheck` (the image's HEALTHCHECK) with nothing listening:
    assert unhealthy[:2] == (1, "")
    assert unhealthy[2].startswith(f"leanon: http://127.0.0.1:{port}/healthz did not answer")
    assert unhealthy[2].count("\n") == 1


async def test_oauth_installs_without_a_secret_key_are_flagged_and_a_made_key_is_taken(
        tmp_path: Path) -> None:
    code, key, err = await leanon(leanon_env("sqlite:///x.db"), tmp_path, "secret-key")
    assert (code, err) == (0, "") and len(key.strip()) == 44
    oauth = {"SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_ID": "1111.2222",
             "SLACK_CLIENT_SECRET": "client-secret-value"}
    clear, sealed, malformed = await asyncio.gather(
        leanon(leanon_env("sqlite:///x.db", **oauth), tmp_path, "config", "check"),
        leanon(leanon_env("sqlite:///x.db", LEANON_SECRET_KEYS=key.strip(), **oauth), tmp_path,
               "config", "check"),
        leanon(leanon_env("sqlite:///x.db", LEANON_SECRET_KEYS="not-a-key", **oauth), tmp_path,
               "config", "check"))
    assert clear[0] == 0
    assert clear[1].strip().splitlines()[-1].startswith(
        "warning: OAuth installs keep each workspace's bot token in the database in clear")
    assert sealed[0] == 0 and "warning" not in sealed[1] and key.strip() not in sealed[1]
    settings = dict(line.split(None, 1) for line in sealed[1].splitlines() if "  " in line)
    assert settings["LEANON_SECRET_KEYS"] == "********"
    assert malformed[:2] == (2, "")
    assert malformed[2].startswith("leanon: LEANON_SECRET_KEYS: each key must be a Fernet key")

"""The `leanon` command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from bot.config import Config, load_config
from bot.errors import ChatError, ConfigError, StorageError


def _version() -> str:
    try:
        return importlib.metadata.version("leanon")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leanon", description="A Slack and Discord bot that makes asking for help normal.")
    parser.add_argument("--version", action="version", version=f"leanon {_version()}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run leanon (the console workspace when no Slack or Discord "
                               "credentials are set)")
    sub.add_parser("console", help="open the console workspace in this terminal")
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply every migration (leanon also does this on start)")
    down = db_sub.add_parser("downgrade", help="revert migrations down to a revision")
    down.add_argument("revision", help="an Alembic revision id, or 'base'")
    discord = sub.add_parser("discord", help="Discord helpers")
    discord_sub = discord.add_subparsers(dest="discord_command", required=True)
    invite = discord_sub.add_parser("invite-url", help="print the link that adds leanon to a "
                                                       "server, with the scopes and permissions "
                                                       "it needs")
    invite.add_argument("--client-id", help="the application id (default: read from "
                                            "DISCORD_TOKEN)")
    answers = sub.add_parser("answers", help="known answers: an FAQ into leanon's memory, or "
                             "the memory out to a file")
    answers_sub = answers.add_subparsers(dest="answers_command", required=True)
    load = answers_sub.add_parser("import", help="add a file's answers (CSV with a header row, "
                                  "or JSON lines: question, answer, link, channel)")
    load.add_argument("path", help="the file (.csv, or JSON lines)")
    save = answers_sub.add_parser("export", help="write the answers leanon knows (JSON lines, "
                                  "or CSV when the file name ends in .csv)")
    save.add_argument("path", nargs="?", default="-", help="the file (default: standard output)")
    for command in (load, save):
        command.add_argument("--workspace", required=True, metavar="PLATFORM:ID",
                             help="slack:<team id>, discord:<server id> or console")
    config = sub.add_parser("config", help="leanon's own configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    config_sub.add_parser("check", help="validate the configuration and print it, secrets masked")
    sub.add_parser("secret-key", help="print a new key for LEANON_SECRET_KEYS (seals OAuth "
                   "installs' bot tokens at rest)")
    sub.add_parser("healthcheck", help="exit 0 when the leanon on this machine answers GET "
                                       "/healthz on LEANON_PORT (for container health checks)")
    return parser


def _config_check(config: Config) -> int:
    from bot.config_check import report

    print(report(config))
    return 0


def _healthcheck(config: Config) -> int:
    host = config.leanon_host if config.leanon_host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
    url = f"http://{host}:{config.leanon_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"leanon: {url} did not answer ({exc})", file=sys.stderr)
        return 1
    return 0 if healthy else 1


def _discord_invite(config: Config, args: argparse.Namespace) -> int:
    from adapters.discord import client_id_from_token, invite_url

    token = config.discord_token.get_secret_value() if config.discord_token else ""
    client_id = args.client_id or client_id_from_token(token)
    if not client_id or not str(client_id).isdigit():
        print("leanon: give --client-id (the application id from the Discord developer "
              "portal) or set DISCORD_TOKEN", file=sys.stderr)
        return 2
    print(invite_url(client_id))
    return 0


async def _db(config: Config, args: argparse.Namespace) -> None:
    from storage.migrate import downgrade, upgrade

    if args.db_command == "upgrade":
        await upgrade(config.database_url)
        print("database is up to date")
    else:
        await downgrade(config.database_url, args.revision)
        print(f"database downgraded to {args.revision}")


async def _answers(config: Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.answers import AnswersFileError, parse_workspace
    from bot.app import export_answers_file, import_answers_file

    try:
        workspace = parse_workspace(args.workspace)
        if args.answers_command == "import":
            added, known = await import_answers_file(config, Path(args.path), workspace)
            print(f"{added} answers added to {args.workspace}"
                  + (f"; {known} it knew already" if known else ""))
            return 0
        text = await export_answers_file(config, workspace, args.path)
        if args.path == "-":
            sys.stdout.write(text)
        else:
            await asyncio.to_thread(Path(args.path).write_text, text, encoding="utf-8")
        return 0
    except (ValueError, AnswersFileError) as exc:
        print(f"leanon answers {args.answers_command}: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"leanon answers {args.answers_command}: {args.path}: {exc.strerror}",
              file=sys.stderr)
    return 2


async def _main(args: argparse.Namespace, config: Config) -> int:
    from bot.app import run_bots, run_console_workspace

    if args.command == "answers":
        return await _answers(config, args)
    if args.command == "db":
        await _db(config, args)
        return 0
    if args.command == "discord":
        return _discord_invite(config, args)
    if args.command == "run" and (config.slack_mode() is not None or config.has_discord):
        await run_bots(config)
        return 0
    await run_console_workspace(config)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `leanon` console script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        args.command = "run"
    if args.command == "secret-key":
        from storage.sealing import TokenCipher

        print(TokenCipher.new_key())
        return 0
    try:
        config = load_config()
        if args.command == "config":
            return _config_check(config)
        if args.command == "healthcheck":
            return _healthcheck(config)
        from adapters.ops.logs import configure_logging
        from bot.config_check import secret_values

        console = args.command == "console" or (
            args.command == "run" and config.slack_mode() is None and not config.has_discord)
        log_file = config.log_file(console)
        try:
            stream = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115 - for the whole run
        except OSError as exc:
            raise ConfigError(f"LEANON_LOG_FILE: can't write {log_file}: {exc.strerror}") from None
        configure_logging(config.leanon_log_level, secrets=secret_values(config), stream=stream)
        return asyncio.run(_main(args, config))
    except ConfigError as exc:
        print(f"leanon: {exc}", file=sys.stderr)
        return 2
    except ChatError as exc:
        print(f"leanon: {exc}", file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"leanon: the database is not usable: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

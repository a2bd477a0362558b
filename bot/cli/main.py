"""The ``distbot`` command.

Start-up time matters here (``distbot --help``, ``check-config`` in ``make run``): this module
imports only the standard library and light argument builders; each command imports what it
needs (the configuration's pydantic and YAML, the database, the web stack) when it runs.
``bench/cli_start.py`` measures it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.base.startup import StartupError
from bot.cli.colearning import add_colearning_commands
from bot.cli.fleet import add_fleet_commands
from bot.cli.users import add_users_commands

if TYPE_CHECKING:
    from bot.base.config import ConfigError, Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from bot.base.logs import configure_logging  # after parsing: --help needs no logging

    configure_logging()
    try:
        return int(args.func(args))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        problem = _config_error(exc)
        if problem is None:
            raise
        for line in problem.describe():
            print(f"error: {line}", file=sys.stderr)
        print(f"{problem.source}: {len(problem.problems)} error(s); nothing was loaded", file=sys.stderr)
        return 1


def _config_error(exc: Exception) -> ConfigError | None:
    """``exc`` if it is a ``bot.base.config.ConfigError``, told without importing bot.base.config: only a
    command that loaded it can raise one, and importing it up front (pydantic, YAML) would slow
    every command."""
    config = sys.modules.get("bot.base.config")
    return exc if config is not None and isinstance(exc, config.ConfigError) else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distbot", description="distbot: the distribution platform's helper bot")
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", help="configuration file (default: $DISTBOT_CONFIG or ./config.yaml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="check a configuration file and explain what is wrong")
    check.add_argument("path", nargs="?", help="the file (default: $DISTBOT_CONFIG or ./config.yaml)")
    check.set_defaults(func=check_config)

    run = commands.add_parser("run", parents=[config], help="run the bot (web, scheduler) until Ctrl-C")
    run.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs your own webhook secret and admin token)",
    )
    run.add_argument("--port", type=int, default=8080)
    run.add_argument(
        "--allow-remote-sim",
        action="store_true",
        help="let the WeChat simulator (no login) listen beyond loopback, on a network you trust",
    )
    run.set_defaults(func=run_bot)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    upgrade = db_commands.add_parser("upgrade", parents=[config], help="apply database migrations")
    upgrade.set_defaults(func=db_upgrade)

    imports = commands.add_parser("import-orders", parents=[config], help="back-fill order events from a CSV file")
    imports.add_argument("file", type=Path)
    imports.add_argument("--no-progress", action="store_true", help="no progress bar")
    imports.set_defaults(func=import_orders)

    codes = commands.add_parser("codes", help="single-use platform codes")
    codes_commands = codes.add_subparsers(dest="codes_command", required=True, metavar="SUBCOMMAND")
    issue = codes_commands.add_parser("issue", parents=[config], help="issue new single-use codes")
    issue.add_argument("--count", type=int, required=True)
    issue.set_defaults(func=issue_codes)

    add_colearning_commands(commands, config)
    add_users_commands(commands, config)
    add_fleet_commands(commands, config)

    for name, func, summary in (
        ("earnings", earnings, "a distributor's earnings"),
        ("progress", progress, "a distributor's upgrade progress"),
    ):
        report = commands.add_parser(name, parents=[config], help=summary)
        report.add_argument("code", help="the distributor's personal code")
        report.add_argument("--json", action="store_true", help="print JSON")
        report.set_defaults(func=func)

    what = commands.add_parser("whatif", parents=[config], help="replay the orders under other commission plans")
    what.add_argument("--plan", action="append", default=[], metavar="NAME", help="a plan to compare (repeat it)")
    what.add_argument("--plans-file", type=Path, help="YAML file mapping plan names to plans")
    what.add_argument("--from", dest="first", metavar="DATE", help="first day replayed (platform timezone)")
    what.add_argument("--to", dest="last", metavar="DATE", help="last day replayed, included")
    what.add_argument("--orders", type=Path, metavar="FILE.csv", help="replay this CSV (import format) instead")
    what.add_argument("--json", action="store_true", help="print JSON")
    what.add_argument("--chart", type=Path, metavar="PATH.png", help="also draw a PNG chart")
    what.add_argument("--below", default="100.00", metavar="AMOUNT", help="count who earned less (default 100.00)")
    what.add_argument("--no-progress", action="store_true", help="no progress bar")
    what.set_defaults(func=whatif)
    return parser


def check_config(args: argparse.Namespace) -> int:
    from bot.base.config import load_settings, where
    from bot.base.startup import secret_warnings

    settings = load_settings(args.path)
    warnings = [*settings.warnings(), *secret_warnings(settings)]
    lines = _lines_of(settings)
    for problem in warnings:
        print(f"warning: {where(settings.source, lines, problem)}")
    _print_summary(settings, len(warnings))
    return 0


def run_bot(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_env, serve

    env = build_env(args.config)
    if env.settings.raw.runtime.log_format == "json":
        from bot.base.logs import configure_logging

        configure_logging(json_lines=True)
    # What stops it from starting is a StartupError, said in one line by the caller.
    asyncio.run(serve(env, args.host, args.port, allow_remote_sim=args.allow_remote_sim))
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_env, prepare

    env = build_env(args.config)

    async def go() -> None:
        try:
            await prepare(env)
        finally:
            await env.db.dispose()

    asyncio.run(go())
    print(f"database at {env.db.engine.url.render_as_string(hide_password=True)} is up to date")
    return 0


def import_orders(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_env
    from bot.cli.backfill import import_file, print_summary
    from services.order_file import ImportFileError

    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 1
    env = build_env(args.config)
    try:
        summary = asyncio.run(import_file(env, args.file, progress=not args.no_progress))
    except ImportFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_summary(summary)
    return 0 if not summary.rejected else 2


def issue_codes(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_env, prepare
    from bot.cli.users import cli_actor
    from services.codes import issue_platform_codes

    if not 1 <= args.count <= 10_000:
        print("error: --count must be between 1 and 10000", file=sys.stderr)
        return 1
    env = build_env(args.config)

    async def go() -> list[str]:
        try:
            await prepare(env)  # a fresh database is migrated first
            return await issue_platform_codes(env, args.count, cli_actor())
        finally:
            await env.db.dispose()

    for code in asyncio.run(go()):
        print(code)
    return 0


def earnings(args: argparse.Namespace) -> int:
    from bot.cli.reports import cli_report

    return cli_report(args.config, "earnings", args.code, as_json=args.json)


def progress(args: argparse.Namespace) -> int:
    from bot.cli.reports import cli_report

    return cli_report(args.config, "progress", args.code, as_json=args.json)


def whatif(args: argparse.Namespace) -> int:
    from bot.cli.whatif_report import cli_whatif

    return cli_whatif(
        args.config,
        args.plan,
        plans_file=args.plans_file,
        orders=args.orders,
        first=args.first,
        last=args.last,
        as_json=args.json,
        chart=args.chart,
        below=args.below,
        progress=not args.no_progress,
    )


def _lines_of(settings: Settings) -> dict[str, int]:
    from bot.base.yamlfile import line_index

    try:
        return line_index(Path(settings.source).read_text(encoding="utf-8"))
    except OSError:
        return {}


def _print_summary(settings: Settings, warning_count: int) -> None:
    from decimal import Decimal

    from core.commission import Party, split_sale
    from core.money import yuan

    raw = settings.raw
    courses = sum(len(b.courses) for b in raw.brands)
    print(
        f"{settings.source}: OK — {raw.platform.name}, {len(raw.levels)} levels"
        f" ({' < '.join(settings.level_codes)}), {len(raw.brands)} brands, {courses} courses,"
        f" {warning_count} warning(s)"
    )
    for name, plan in settings.plans.items():
        print(f"plan {name} ({plan.model}):")
        for line in plan.describe():
            print(f"  {line}")
    levels = settings.level_codes
    example = split_sale(settings.plan, Decimal("180.00"), Party("seller", levels[0]), Party("recruiter", levels[1]))
    print(
        f"example: pool 180.00, a {levels[0]} sells, recruited by a {levels[1]} →"
        f" {levels[0]} {yuan(example.amount_for('seller'))},"
        f" {levels[1]} {yuan(example.amount_for('recruiter'))},"
        f" platform {yuan(example.platform)}"
    )

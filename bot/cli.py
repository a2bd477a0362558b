"""The ``distbot`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal

from bot.config import ConfigError, Settings, load_settings, where
from core.commission import Party, split_sale
from core.money import yuan


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="distbot", description="distbot: the distribution platform's helper bot")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="check a configuration file and explain what is wrong")
    check.add_argument("path", nargs="?", help="the file (default: $DISTBOT_CONFIG or ./config.yaml)")
    check.set_defaults(func=check_config)

    args = parser.parse_args(argv)
    return int(args.func(args))


def check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.path)
    except ConfigError as exc:
        for line in exc.describe():
            print(f"error: {line}", file=sys.stderr)
        print(f"{exc.source}: {len(exc.problems)} error(s); nothing was loaded", file=sys.stderr)
        return 1
    warnings = settings.warnings()
    lines = _lines_of(settings)
    for problem in warnings:
        print(f"warning: {where(settings.source, lines, problem)}")
    _print_summary(settings, len(warnings))
    return 0


def _lines_of(settings: Settings) -> dict[str, int]:
    from bot.yamlfile import line_index

    try:
        with open(settings.source, encoding="utf-8") as f:
            return line_index(f.read())
    except OSError:
        return {}


def _print_summary(settings: Settings, warning_count: int) -> None:
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


if __name__ == "__main__":
    raise SystemExit(main())

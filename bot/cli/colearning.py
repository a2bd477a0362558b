"""``distbot colearning …``: co-learning sessions (共学营) and applications from the command
line — the same operations as the ops API (``services.colearning``). A running bot picks changes
up at its next sync (``colearning.sync_seconds``).

    distbot colearning create --title 数学思维公开课 --source room-lecture --lecturers wx-teacher \\
        --start "2026-11-26 20:00" --end "2026-11-26 21:00" --course XH-MATH-S1 --cards 30m
    distbot colearning list | show ID | edit ID --start … | cancel ID --reason …
    distbot colearning applications [--status pending] | approve ID | reject ID --reason …
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from services.session_draft import SessionDraft

# The statuses of models.statuses (SessionStatus, ApplicationStatus) and "all", spelt out: the
# command's help starts without SQLAlchemy (tests/test_cli_start.py); tests/test_colearning_cli.py
# checks they are the services' own.
SESSION_CHOICES = ("scheduled", "cancelled", "all")
APPLICATION_CHOICES = ("pending", "approved", "enrolled", "rejected", "left", "all")
OPTIONS = (
    ("--title", "title", "the session's name, shown before every relayed line"),
    ("--source", "source_room", "the lecturer room whose messages are relayed"),
    ("--lecturers", "lecturers", "lecturers' contact ids, comma-separated"),
    ("--start", "starts_at", 'start, e.g. "2026-11-26 20:00" (local time) or ISO 8601 with offset'),
    ("--end", "ends_at", "end, same forms as --start"),
    ("--course", "course", "the course sku (for the course card)"),
    ("--brand", "brand", "the brand id (default: the course's)"),
    ("--groups", "groups", 'application ids, comma-separated, or "all" (default)'),
    ("--remind", "reminders", "reminders before the start, e.g. 24h,1h,10m (the default)"),
    ("--cards", "cards", "course-card posts after the start, e.g. 30m,50m"),
    ("--keyword", "keyword", "the keyword to buy on the course card (default: the brand's)"),
)


def add_colearning_commands(subparsers: Any, config_parent: argparse.ArgumentParser) -> None:
    """``distbot colearning list|show|create|edit|cancel|applications|approve|reject``."""
    parser = subparsers.add_parser("colearning", help="co-learning sessions (共学营) and the groups that applied")
    commands = parser.add_subparsers(dest="colearning_command", required=True, metavar="SUBCOMMAND")

    listing = commands.add_parser("list", parents=[config_parent], help="sessions, newest first")
    listing.add_argument("--status", choices=SESSION_CHOICES, default="all")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_list)

    show = commands.add_parser("show", parents=[config_parent], help="a session and what each group got")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)

    create = commands.add_parser("create", parents=[config_parent], help="schedule a session")
    edit = commands.add_parser("edit", parents=[config_parent], help="change a session (its jobs move)")
    edit.add_argument("id", type=int)
    for command in (create, edit):
        for flag, dest, what in OPTIONS:
            command.add_argument(flag, dest=dest, help=what, default=argparse.SUPPRESS)
        command.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(func=_create)
    edit.set_defaults(func=_edit)

    cancel = commands.add_parser("cancel", parents=[config_parent], help="cancel a session; the groups are told")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--reason", default="", help="told to the groups")
    cancel.set_defaults(func=_cancel)

    apps = commands.add_parser("applications", parents=[config_parent], help="groups that applied")
    apps.add_argument("--status", default="pending", choices=APPLICATION_CHOICES)
    apps.add_argument("--json", action="store_true", help="print JSON")
    apps.set_defaults(func=_applications)

    approve = commands.add_parser("approve", parents=[config_parent], help="the helper joins; the group is enrolled")
    approve.add_argument("id", type=int)
    approve.add_argument("--by", default="ops", help="who decided (recorded)")
    approve.set_defaults(func=_approve)

    reject = commands.add_parser("reject", parents=[config_parent], help="the distributor is told the reason")
    reject.add_argument("id", type=int)
    reject.add_argument("--reason", required=True, help="told to the distributor")
    reject.add_argument("--by", default="ops", help="who decided (recorded)")
    reject.set_defaults(func=_reject)


def _run(config: str | None, work: Callable[[Any], Awaitable[Any]]) -> tuple[Any, ZoneInfo]:
    """The work's result, and the platform's time zone for printing."""
    import asyncio

    from bot.app import build_env, prepare

    env = build_env(config)

    async def go() -> Any:
        try:
            await prepare(env)
            return await work(env)
        finally:
            await env.db.dispose()

    return asyncio.run(go()), ZoneInfo(env.settings.raw.platform.timezone)


def _at(value: datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(zone).strftime(fmt)


def _change(args: argparse.Namespace, action: Callable[[Any], Awaitable[Any]]) -> int:
    """One change in a unit of work; a refusal prints every problem and exits 1."""
    from bot.cli.users import cli_actor
    from services.errors import ServiceError

    async def work(env: Any) -> Any:
        async with env.context(cli_actor()) as ctx:
            return await action(ctx)

    try:
        result, zone = _run(args.config, work)
    except ServiceError as refusal:
        for problem in refusal.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        _print_json(result)
    else:
        print("\n".join(_lines(result, zone)))
    return 0


def _draft(args: argparse.Namespace, ctx: Any) -> SessionDraft:
    """The options given, as the service's SessionDraft (times in the platform's zone)."""
    from services.reports import local_zone
    from services.session_draft import SessionDraft

    given = {dest: getattr(args, dest) for _, dest, _ in OPTIONS if hasattr(args, dest)}
    return SessionDraft.parse(given, local_zone(ctx.settings))


def _headline(s: dict[str, Any], zone: ZoneInfo) -> str:
    when = f"{_at(s['starts_at'], zone)}–{_at(s['ends_at'], zone, '%H:%M')}"
    return f"#{s['id']} {s['title']} [{s['status']}] {when}"


def _lines(result: Any, zone: ZoneInfo) -> list[str]:
    if "session" in result:
        s = result["session"]
        groups = "all enrolled groups" if s["groups"] == "all" else f"groups {s['groups']}"
        lines = [_headline(s, zone), f"  source {s['source_room']}, lecturers {', '.join(s['lecturers'])}, {groups}"]
        lines += [f"  {_at(m['at'], zone)}  {m['key']}" for m in s["moments"]]
        return lines
    return [f"{result['id']}: {result['status']}" + (f" ({result['reason']})" if result.get("reason") else "")]


def _create(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def action(ctx: Any) -> dict[str, Any]:
        return {"session": ops.session_view(await ops.create_session(ctx, _draft(args, ctx)))}

    return _change(args, action)


def _edit(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def action(ctx: Any) -> dict[str, Any]:
        return {"session": ops.session_view(await ops.edit_session(ctx, args.id, _draft(args, ctx)))}

    return _change(args, action)


def _cancel(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def action(ctx: Any) -> dict[str, Any]:
        return {"session": ops.session_view(await ops.cancel_session(ctx, args.id, args.reason))}

    return _change(args, action)


def _approve(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def action(ctx: Any) -> dict[str, Any]:
        app = await ops.approve_application(ctx, args.id, args.by)
        return {"id": app.id, "status": app.status}

    return _change(args, action)


def _reject(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def action(ctx: Any) -> dict[str, Any]:
        app = await ops.reject_application(ctx, args.id, args.reason, args.by)
        return {"id": app.id, "status": app.status, "reason": app.reason}

    return _change(args, action)


def _list(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def work(env: Any) -> list[dict[str, Any]]:
        async with env.db.reading() as session:
            return await ops.list_sessions(session, args.status)

    sessions, zone = _run(args.config, work)
    if args.json:
        _print_json(sessions)
        return 0
    if not sessions:
        print("no co-learning sessions")
    for s in sessions:
        print(_headline(s, zone))
    return 0


def _show(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def work(env: Any) -> dict[str, Any] | None:
        async with env.db.reading() as session:
            return await ops.session_report(session, args.id)

    report, zone = _run(args.config, work)
    if report is None:
        print(f"error: no co-learning session has the id {args.id}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(report)
        return 0
    print("\n".join(_lines(report, zone)))
    for g in report["groups"]:
        members = "?" if g["members_at_start"] is None else g["members_at_start"]
        print(
            f"  group {g['application']} 「{g['topic']}」 {g['distributor']['name']} ({g['distributor']['code']}):"
            f" {members} members at start, {g['relayed']} relayed, {g['orders']} orders, {g['amount']} yuan"
        )
    return 0


def _applications(args: argparse.Namespace) -> int:
    from services import colearning as ops

    async def work(env: Any) -> list[dict[str, Any]]:
        async with env.db.reading() as session:
            return await ops.list_applications(session, args.status)

    apps, zone = _run(args.config, work)
    if args.json:
        _print_json(apps)
        return 0
    if not apps:
        print(f"no {args.status} applications")
    for a in apps:
        who = a["distributor"] or {"name": "?", "code": "?"}
        print(
            f"#{a['id']} [{a['status']}] 「{a['topic']}」 {a['member_count']} members,"
            f" {who['name']} ({who['code']}), received {_at(a['received_at'], zone)}"
        )
    return 0


def _print_json(value: Any) -> None:
    from bot.base.jsonutil import dumps  # with aiohttp: imported by the commands that print JSON only

    print(dumps(value, indent=2))

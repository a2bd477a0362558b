"""``distbot fleet status``: who leads, who sends for which helper account and since when, how
long until each lease runs out, and each account's queue — read from the database the fleet
shares (``--json`` for scripts). It changes nothing, and on a database whose leases have never
been taken (SQLite: one process owns everything) says so."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any


def add_fleet_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], config_parent: argparse.ArgumentParser
) -> None:
    fleet = subparsers.add_parser("fleet", help="several processes on one PostgreSQL")
    commands = fleet.add_subparsers(dest="fleet_command", required=True, metavar="SUBCOMMAND")
    status = commands.add_parser("status", parents=[config_parent], help="leader, senders, leases and queues")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=fleet_status)


def fleet_status(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import build_env, prepare

    env = build_env(args.config)

    async def go() -> dict[str, Any]:
        try:
            await prepare(env)  # a database that cannot be read is said in one line; an old one migrated
            return await read(env)
        finally:
            await env.db.dispose()

    report = asyncio.run(go())
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else "\n".join(describe(report)))
    return 0


async def read(env: Any) -> dict[str, Any]:
    """The leases and the queues, as ``--json`` prints them."""
    from sqlalchemy import func, select

    from models.fleet import FleetLease
    from models.fleet_queries import queues

    async with env.db.reading() as session:
        rows = list(await session.scalars(select(FleetLease).order_by(FleetLease.name)))
        waiting = await queues(session)
        # Leases run on the database's clock; rows are stamped by the process's (the same in production).
        queued_at = env.clock.now()
        now = queued_at if env.db.is_sqlite else await session.scalar(select(func.clock_timestamp()))
    return {
        "database": env.db.engine.url.render_as_string(hide_password=True),
        "single_process": env.db.is_sqlite,
        "now": now.isoformat(),
        "leases": [_lease(row, now) for row in rows],
        "queues": [
            {
                "account": q.account,
                "queued": q.queued,
                "oldest_queued_seconds": round((queued_at - q.oldest_queued).total_seconds(), 1)
                if q.oldest_queued
                else None,
                "sending": q.sending,
                "dead": q.dead,
            }
            for q in waiting
        ],
    }


def _lease(row: Any, now: datetime) -> dict[str, Any]:
    live = row.expires_at > now
    return {
        "name": row.name,
        "holder": row.holder,
        "held": live,
        "held_seconds": round((now - row.acquired_at).total_seconds(), 1),
        "renewed_seconds_ago": round((now - row.renewed_at).total_seconds(), 1),
        "expires_in_seconds": round((row.expires_at - now).total_seconds(), 1),
    }


def describe(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""
    lines = [f"database: {report['database']}"]
    if report["single_process"]:
        lines.append("SQLite: one process leads and sends for every account (no leases)")
    elif not report["leases"]:
        lines.append("no lease taken yet: no process has run on this database")
    for lease in report["leases"]:
        name = lease["name"]
        if name.startswith("period:"):
            ago = lease["held_seconds"]
            lines.append(f"{name[7:]}: last run by {lease['holder']} {_age(ago)} ago")
        elif lease["held"]:
            lines.append(
                f"{name}: {lease['holder']}, held {_age(lease['held_seconds'])},"
                f" renewed {_age(lease['renewed_seconds_ago'])} ago, runs out in {_age(lease['expires_in_seconds'])}"
            )
        else:
            lines.append(f"{name}: FREE (last {lease['holder']}, ran out {_age(-lease['expires_in_seconds'])} ago)")
    lines.append("queues:" if report["queues"] else "queues: nothing queued, sending or dead")
    for q in report["queues"]:
        oldest = q["oldest_queued_seconds"]
        lines.append(
            f"  {q['account']}: {q['queued']} queued"
            + (f" (oldest {_age(oldest)})" if oldest is not None else "")
            + f", {q['sending']} sending, {q['dead']} dead"
        )
    return lines


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

"""``distbot users add NAME --role ops|manager [--brand ID ...]``: console accounts. The
password comes from a prompt (asked twice) or, with ``--password-stdin``, from the first line
of standard input."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.base.context import Actor

ROLES = ("ops", "manager")  # as bot.console.auth has them; not imported here so every command starts fast


def add_users_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], config_parent: argparse.ArgumentParser
) -> None:
    users = subparsers.add_parser("users", help="ops console accounts")
    commands = users.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    add = commands.add_parser("add", parents=[config_parent], help="create a console account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES, help="ops: everything; manager: their brands only")
    add.add_argument("--brand", action="append", default=[], metavar="ID", help="a brand a manager runs (repeat it)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=users_add)


def cli_actor() -> Actor:
    """Who the audit log names for a change made with ``distbot``: the operating-system user
    running it (ops, by having the machine and the configuration)."""
    from bot.base.context import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "cli"
    return Actor(name, "ops", "cli")


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return first


def users_add(args: argparse.Namespace) -> int:
    import asyncio

    from sqlalchemy import select

    from bot.app import build_env, prepare
    from bot.base.context import Context
    from bot.base.uow import UnitOfWork
    from bot.console.auth import AccountError, add_user
    from models.catalog import Brand
    from services import audit

    if args.role == "ops" and args.brand:
        print("error: --brand is for managers; ops see every brand", file=sys.stderr)
        return 1
    password = _password(args.password_stdin)
    if password is None:
        return 1
    env = build_env(args.config)

    async def go() -> str | None:
        try:
            await prepare(env)
            async with env.db.unit_of_work() as session:
                known = set(await session.scalars(select(Brand.id)))
                unknown = [b for b in args.brand if b not in known]
                if unknown:
                    return f"no brand has the id {', '.join(map(repr, unknown))} (brands: {', '.join(sorted(known))})"
                user = await add_user(session, args.name, password, args.role, args.brand)
                ctx = Context(
                    session, env.settings, env.renderer, env.clock.now(), UnitOfWork(session), env.kept, cli_actor()
                )
                audit.record(
                    ctx,
                    "settings",
                    "console_user.add",
                    subject=user.name,
                    brand_id=args.brand[0] if len(args.brand) == 1 else None,
                    after={"role": user.role, "brands": list(user.brand_ids)},
                )
            return None
        except AccountError as exc:
            return str(exc)
        finally:
            await env.db.dispose()

    problem = asyncio.run(go())
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    brands = f" for {', '.join(args.brand)}" if args.brand else ""
    print(f"account {args.name.strip()!r} ({args.role}{brands}) created")
    return 0

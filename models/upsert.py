"""INSERT … ON CONFLICT on either database, written once.

SQLite and PostgreSQL both speak ``ON CONFLICT (…) DO NOTHING | DO UPDATE``, but SQLAlchemy
builds it from each dialect's own ``insert``. Every statement that must be safe when two
processes (or two transactions) write the same key at once goes through here: marks, order
events, buyers, delivery guards, showcase red packets, the outbox's drop counts.

Example — count one more drop of a template today, whoever counts first::

    statement = upsert(
        session, OutboxDrop, [{"day": day, "account": "a", "reason": "cap", "template": "menu", "count": 1}],
        on=["day", "account", "reason", "template"],
        set_=lambda excluded: {"count": OutboxDrop.count + excluded.count},
    )
    session.execute(statement)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

# The statement both dialects build: ``.on_conflict_do_nothing``, ``.on_conflict_do_update``,
# ``.excluded`` and ``.returning`` mean the same on each.
Insert = postgresql.Insert | sqlite.Insert
Rows = Mapping[str, Any] | Sequence[Mapping[str, Any]]


Bind = AsyncSession | AsyncConnection | Session | Connection


def dialect_name(bind: Bind | Engine) -> str:
    """The name of the database dialect ``bind`` talks to ("sqlite", "postgresql")."""
    engine = bind if isinstance(bind, AsyncConnection | Connection | Engine) else bind.get_bind()
    return str(engine.dialect.name)


def dialect_insert(session: Bind | Engine, table: Any) -> Insert:
    """``INSERT INTO table`` in the dialect of the database ``session`` talks to, ready for
    an ``ON CONFLICT`` clause. Only SQLite and PostgreSQL are supported: another database is
    refused here rather than handed a statement it would misread."""
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"INSERT … ON CONFLICT is written for SQLite and PostgreSQL, not {name}")


def insert_or_ignore(session: Bind, table: Any, rows: Rows, *, on: Sequence[Any] | None = None) -> Insert:
    """Insert ``rows``, skipping each one whose key (``on``: the conflict target's columns;
    None: any unique constraint) is already there — including one another transaction has
    just written (on PostgreSQL the insert waits for it to commit, then skips). Add
    ``.returning(…)`` to learn which rows this statement wrote."""
    return dialect_insert(session, table).values(rows).on_conflict_do_nothing(index_elements=on)


def upsert(
    session: Bind,
    table: Any,
    rows: Rows,
    *,
    on: Sequence[Any],
    set_: Callable[[Any], Mapping[Any, Any]],
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """Insert ``rows``; where a row's key (``on``) exists, update that row with
    ``set_(excluded)`` instead (``excluded``: the columns of the row that was refused, e.g.
    ``excluded.count``) — only when ``where`` holds, if given. Atomic on both databases."""
    insert = dialect_insert(session, table).values(rows)
    return insert.on_conflict_do_update(index_elements=on, set_=set_(insert.excluded), where=where)

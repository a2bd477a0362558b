"""Rows inserted in one statement, their new ids in the rows' order, on either database.

A traced call's log names the ledger lines and outbox rows it wrote (:mod:`bot.base.tracing`),
so a unit of work serving several calls (a batch of webhook orders) must know which new id
belongs to which row. SQLAlchemy's ``returning(…, sort_by_parameter_order=True)`` says so in
one statement on PostgreSQL (``INSERT … SELECT … ORDER BY`` a counter: the sequence gives the
rows their ids in that order) but runs one statement per row on SQLite. There a single INSERT
holds the database's one write lock while its VALUES rows go in, in order, each taking the
next rowid, so the ids it returns, sorted, are the rows' ids in order — whatever order
RETURNING lists them in (which SQLite leaves open).

Example: three outbox rows queued by the calls a, b, a → ids [41, 42, 43], so a wrote 41 and
43, b wrote 42 — one round trip, not three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.upsert import dialect_name


async def insert_ids(bind: AsyncConnection | AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` (its primary key a generated ``id``); their ids in order."""
    if not rows:
        return []
    if dialect_name(bind) == "postgresql":
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list((await bind.execute(statement, list(rows))).scalars())
    ids = sorted((await bind.execute(insert(table).returning(table.c.id), list(rows))).scalars())
    if len(ids) != len(rows):  # never seen; a guard against pairing ids with the wrong rows
        raise RuntimeError(f"{len(rows)} rows inserted into {table.name}, {len(ids)} ids returned")
    return ids


def by_call(ids: Sequence[int], calls: Sequence[str]) -> dict[str, list[int]]:
    """The ids of rows each call (trace) wrote, from the rows' ids and calls in the same order."""
    grouped: dict[str, list[int]] = {}
    for new_id, call in zip(ids, calls, strict=True):
        if call:
            grouped.setdefault(call, []).append(new_id)
    return grouped

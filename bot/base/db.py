"""Database engine, one unit of work per message or event, and migrations.

SQLite (the default, a file in the working directory) allows one writer at a time: writes in
one process are serialised by an asyncio lock instead of failing with "database is locked",
and WAL lets readers go on meanwhile. PostgreSQL (asyncpg) is the production target; there the
database's own row locks serialise what must be serialised (stock).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.base.faults import Outage, doing

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///distbot.db"
MIGRATIONS = Path(__file__).resolve().parents[2] / "models" / "migrations"


def database_url(configured: str | None = None) -> str:
    """``DISTBOT_DATABASE_URL``, else the configured URL, else ./distbot.db; plain
    ``postgresql://`` and ``sqlite://`` URLs get their async drivers."""
    url = os.environ.get("DISTBOT_DATABASE_URL") or configured or DEFAULT_DATABASE_URL
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


# PostgreSQL advisory lock keys (any 64-bit number, unique to distbot's uses).
STARTING = 0x64697374_0001  # migrating and preparing at start


class Database:
    """The engine, its session factory, and the unit of work. Every unit of work and read tells
    :attr:`outage` how it went, so an outage is logged once when it starts and once when it ends
    (``bot.base.faults``)."""

    def __init__(self, url: str, **engine_options: Any):
        self.url = database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if not self.is_sqlite:
            engine_options.setdefault("pool_size", 10)
            engine_options.setdefault("max_overflow", 20)
            engine_options.setdefault("pool_pre_ping", True)
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=False
        )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.outage = Outage()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.
        Handlers never commit; this does."""
        try:
            if self._write_lock is not None:
                async with self._write_lock, self.sessions() as session, session.begin():
                    yield session
            else:
                async with self.sessions() as session, session.begin():
                    yield session
        except Exception as error:
            self.outage.failed(error, doing.get())
            raise
        self.outage.ok()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (no lock taken on SQLite, thanks to WAL)."""
        try:
            async with self.sessions() as session:
                yield session
        except Exception as error:
            self.outage.failed(error, doing.get())
            raise
        self.outage.ok()

    async def ping(self) -> None:
        """One round trip (``SELECT 1``); raises when the database cannot be reached. Callers
        bound it with a timeout: a database that hangs must not hang them."""
        async with self.reading() as session:
            await session.execute(text("SELECT 1"))

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (``distbot db upgrade``). Processes starting
        together on one PostgreSQL take turns (one migrates, the others then find it done)."""
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTING})
            await connection.run_sync(_upgrade)

    async def one_at_a_time(self, session: AsyncSession, key: int = STARTING) -> None:
        """Hold PostgreSQL's transaction advisory lock ``key`` until ``session`` commits: what
        every starting process does once (the catalog, the demo seed) is done by one at a time.
        Nothing on SQLite, where one process runs."""
        if self.engine.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")

"""PostgreSQL databases for one test process (one xdist worker), kept for its whole session.

Creating a database from a template takes a few tenths of a second on PostgreSQL and dropping
one about a second (``DROP DATABASE`` waits for a checkpoint), so a database a test gives back
is emptied (every row deleted, every sequence restarted) and handed to the next test: each test still
starts on a freshly migrated, empty database. One given back with another schema than the
migrated one (a test that migrated down) is dropped instead.

The databases are named ``<db>_t<token>_<n>`` after the database of
``DISTBOT_TEST_DATABASE_URL``, ``<token>`` being this process's; the process holds an advisory
lock on its token for the session, so a later session drops the databases of a process that
died (its lock is free) and leaves those of a process still running alone. The pool's
statements run on an event loop of its own (a thread), where its lock connection lives: each
test runs on a loop of its own.

A commit does not wait for the WAL to reach the disk (``synchronous_commit = off`` on each
database): what a commit makes visible to the other sessions is the same, and the tests never
crash the server, where it would differ.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

T = TypeVar("T")
LOCKS = 0x64697374  # the advisory-lock class of the pool's tokens

# The schema as a test could change it: tables, columns, indexes, constraints, other objects,
# triggers, functions, types, database settings and the migration the database is at.
FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
  SELECT 'c ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
         || coalesce(column_default, '') AS x
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'k ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'o ' || relname || ' ' || relkind::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
  UNION ALL SELECT 't ' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'f ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'y ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
  UNION ALL SELECT 's ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL SELECT 'v ' || version_num FROM alembic_version
) AS schema
"""


class PgPool:
    """Hands out migrated PostgreSQL databases (:meth:`new`) and takes them back (:meth:`give_back`)."""

    def __init__(self, url: str):
        self.url = url
        self.admin = _asyncpg_dsn(url)
        self.base = make_url(url).database or "postgres"
        self.token = secrets.randbelow(2**31)
        self.prefix = f"{self.base}_t{self.token:08x}_"
        self.template: str | None = None
        self.fingerprint = ""
        self.reset = ""  # the statements that empty a database of the template's schema
        self.free: list[str] = []
        self.busy: set[str] = set()
        self.made = 0
        self.owner: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()  # one statement at a time on the owner's connection
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pg-pool", daemon=True)
        self.thread.start()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await ``coroutine`` on the pool's loop (from any other loop)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def run_sync(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def url_of(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def owns(self, name: str | None) -> bool:
        return name is not None and name.startswith(self.prefix)

    async def new(self) -> str:
        """The name of an empty, migrated database, the test's until :meth:`give_back`."""
        async with self.lock:
            return await self._new()

    async def give_back(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if its schema is no longer the template's."""
        async with self.lock:
            await self._give_back(name)

    async def _new(self) -> str:
        if self.template is None:
            await self._start()
        assert self.template is not None
        if self.free:
            name = self.free.pop()
        else:
            self.made += 1
            name = f"{self.prefix}{self.made}"
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            await self._admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        self.busy.add(name)
        return name

    async def _give_back(self, name: str) -> None:
        self.busy.discard(name)
        try:
            await self._admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # a fault drill may have left it off
            await self._admin(
                f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'"
                " AND pid <> pg_backend_pid()"
            )
            connection = await asyncpg.connect(_asyncpg_dsn(self.url_of(name)))
            try:
                if self.reset and await connection.fetchval(FINGERPRINT) == self.fingerprint:
                    await connection.execute(self.reset)
                    self.free.append(name)
                    return
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError):
            pass
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def give_back_all(self) -> None:
        async with self.lock:
            for name in sorted(self.busy):
                await self._give_back(name)

    async def close(self) -> None:
        """Drop every database of the pool and release the token."""
        async with self.lock:
            await self._close()

    async def _close(self) -> None:
        for name in sorted({*self.free, *self.busy, *([self.template] if self.template else [])}):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.free.clear()
        self.busy.clear()
        if self.owner is not None:
            await self.owner.close()

    def stop(self) -> None:
        self.run_sync(self.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        from tests.support import migrate

        self.owner = await asyncpg.connect(self.admin)
        await self.owner.fetchval("SELECT pg_advisory_lock($1, $2)", LOCKS, self.token)
        await self._drop_stale()
        name = f"{self.prefix}tpl"
        await self._admin(f'CREATE DATABASE "{name}"')
        await self._admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        self.template = name
        await migrate(self.url_of(name))
        connection = await asyncpg.connect(_asyncpg_dsn(self.url_of(name)))
        try:
            self.fingerprint = await connection.fetchval(FINGERPRINT)
            tables = await connection.fetch(
                "SELECT format('%I', tablename) AS t FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version' ORDER BY tablename"
            )
            sequences = await connection.fetch(
                "SELECT format('%I', sequencename) AS s FROM pg_sequences WHERE schemaname = 'public'"
            )
            filled = [r["t"] for r in tables if await connection.fetchval(f"SELECT EXISTS (SELECT FROM {r['t']})")]
        finally:
            await connection.close()
        if not filled:  # a template with rows would need them back after each test: then no reuse
            # DELETE with the triggers off (the foreign keys' and the audit log's append-only
            # one): on tables this small, a tenth of the time TRUNCATE takes (new files each).
            statements = ["BEGIN", "SET LOCAL session_replication_role = replica"]
            statements += [f"DELETE FROM {r['t']}" for r in tables]
            statements += [f"ALTER SEQUENCE {r['s']} RESTART" for r in sequences]
            self.reset = "; ".join([*statements, "COMMIT"])

    async def _drop_stale(self) -> None:
        """Drop the databases of earlier sessions on this database whose process is gone."""
        assert self.owner is not None
        pattern = re.compile(re.escape(self.base) + r"_t([0-9a-f]{8})_(?:tpl|\d+)$")
        names: dict[int, list[str]] = {}
        for row in await self.owner.fetch("SELECT datname FROM pg_database"):
            found = pattern.match(row["datname"])
            if found and int(found[1], 16) != self.token:
                names.setdefault(int(found[1], 16), []).append(row["datname"])
        for token, stale in names.items():
            if await self.owner.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCKS, token):
                try:
                    for name in stale:
                        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await self.owner.fetchval("SELECT pg_advisory_unlock($1, $2)", LOCKS, token)

    async def _admin(self, statement: str) -> None:
        if self.owner is not None and not self.owner.is_closed():
            await self.owner.execute(statement)
        else:
            await _pg(self.admin, statement)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()

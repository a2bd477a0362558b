"""The migrations match the models, and ``distbot db upgrade`` is safe to run again, on every
database the suite runs on."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from bot.cli import main
from bot.db import Database, alembic_config
from models import Base, Brand, Course, Distributor
from tests.support import ROOT


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
    return list(compare_metadata(context, Base.metadata))


def _state(connection: Connection) -> tuple[str | None, dict[str, list[str]]]:
    tables = {name: sorted(c["name"] for c in inspect(connection).get_columns(name)) for name in Base.metadata.tables}
    return MigrationContext.configure(connection).get_current_revision(), tables


async def test_after_upgrade_the_database_has_exactly_the_tables_and_columns_the_models_describe(databases, dialect):
    url = await databases.new(dialect)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            revision, _ = await connection.run_sync(_state)
    finally:
        await db.dispose()
        await databases.drop(url)

    assert differences == []
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_running_the_upgrade_twice_is_harmless_and_keeps_the_data(databases, dialect):
    url = await databases.new(dialect)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.unit_of_work() as session:
            session.add(Brand(id="b-1", name="品牌"))
        async with db.engine.connect() as connection:
            before = await connection.run_sync(_state)

        await db.upgrade()

        async with db.engine.connect() as connection:
            assert await connection.run_sync(_state) == before
        async with db.reading() as session:
            assert await session.scalar(select(Brand.name).where(Brand.id == "b-1")) == "品牌"
    finally:
        await db.dispose()
        await databases.drop(url)


async def demo_rows(url: str) -> tuple[int, int, list[str]]:
    db = Database(url)
    try:
        async with db.reading() as session:
            people = int(await session.scalar(select(func.count(Distributor.id))))
            courses = int(await session.scalar(select(func.count(Course.sku))))
            codes = sorted(await session.scalars(select(Distributor.code)))
        return people, courses, codes
    finally:
        await db.dispose()


def test_db_upgrade_on_a_fresh_database_creates_the_tables_and_seeds_the_four_demo_distributors_once(
    databases, dialect, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    database = tmp_path / "fresh.db"
    url = f"sqlite+aiosqlite:///{database}" if dialect == "sqlite" else asyncio.run(databases.new(dialect))
    config = tmp_path / "config.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert text.count("sqlite+aiosqlite:///distbot.db") == 1
    config.write_text(text.replace("sqlite+aiosqlite:///distbot.db", url), encoding="utf-8")

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert dialect != "sqlite" or database.is_file()
    first = asyncio.run(demo_rows(url))

    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert asyncio.run(demo_rows(url)) == first
    assert first == (4, 6, ["DEMOA001", "DEMOB001", "DEMOC001", "DEMOC002"])

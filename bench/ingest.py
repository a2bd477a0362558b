"""Paid orders per second through the whole webhook pipeline, beside the raw single-row
INSERT rate of the same database, in one run, for SQLite and (when reachable) PostgreSQL.

    .venv/bin/python bench/ingest.py [--orders 2000] [--concurrency 16] [--pg URL]

The pipeline figure is measured end to end: a real aiohttp server on 127.0.0.1, signed
requests from an aiohttp client with N in flight, one transaction per order (attribution,
ledger lines, stock, outbox). The raw figure is one committed INSERT of one row per
transaction through the same engine. Aim: pipeline ≥ 30% of raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, update  # noqa: E402

from bot.app import (  # noqa: E402
    build_env,
    prepare,
    web_app,
)
from bot.base.config import load_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.base.db import Database  # noqa: E402
from bot.web.webhooks import sign  # noqa: E402
from models import Course  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def raw_insert_rate(url: str, rows: int) -> float:
    metadata = MetaData()
    table = Table("bench_raw_insert", metadata, Column("id", Integer, primary_key=True), Column("v", String(64)))
    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    started = time.perf_counter()
    for i in range(rows):
        async with db.unit_of_work() as session:
            await session.execute(insert(table).values(v=f"row {i}"))
    rate = rows / (time.perf_counter() - started)
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
    await db.dispose()
    return rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def pipeline_rate(url: str, orders: int, concurrency: int) -> tuple[float, dict[str, int]]:
    env = build_env(settings=load_settings(ROOT / "config.yaml"), database_url=url, clock=FixedClock(NOW))
    await prepare(env)
    async with env.db.unit_of_work() as session:  # enough stock for the run
        await session.execute(update(Course).where(Course.sku == "KX-BOX").values(stock=orders * 10))
    secret = env.settings.webhook_secret or ""
    runner = web.AppRunner(web_app(env), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    refs = ["DEMOC001", "DEMOC002", "DEMOB001", None]
    bodies = []
    for i in range(orders):
        event = {
            "event_id": f"bench-{i}",
            "type": "paid",
            "order_id": f"bench-o-{i}",
            "course_sku": "KX-BOX",
            "quantity": 1,
            "amount": "199.00",
            "buyer": {"id": f"bench-b-{i % 1000}", "name": "测试买家"},
            "occurred_at": (NOW + timedelta(seconds=i)).isoformat(),
        }
        if refs[i % 4]:
            event["ref"] = refs[i % 4]
        bodies.append(json.dumps(event, ensure_ascii=False).encode())
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    timestamp = str(int(NOW.timestamp()))

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            headers = {"X-Distbot-Timestamp": timestamp, "X-Distbot-Signature": sign(secret, timestamp, body)}
            async with session.post(f"http://127.0.0.1:{port}/webhooks/orders", data=body, headers=headers) as r:
                status = (await r.json())["status"]
                statuses[status] = statuses.get(status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        rate = orders / (time.perf_counter() - started)
    await runner.cleanup()
    await env.db.dispose()
    return rate, statuses


async def reset_pg(url: str) -> bool:
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
        return True
    except Exception as exc:
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); skipping it")
        return False
    finally:
        await db.dispose()


async def fresh_pg_database(url: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"distbot_bench_{os.getpid()}"
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str, bench_url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'DROP DATABASE IF EXISTS "{make_url(bench_url).database}" WITH (FORCE)')
    await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg", default=os.environ.get("DISTBOT_TEST_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()
    print(f"{args.orders} paid orders, {args.concurrency} in flight, each its own transaction")
    print(f"{'database':<12}{'raw INSERT/s':>14}{'pipeline/s':>12}{'ratio':>8}   statuses")
    with tempfile.TemporaryDirectory() as workdir:
        targets = [("SQLite", f"sqlite+aiosqlite:///{workdir}/bench.db", None)]
        if await reset_pg(args.pg):
            targets.append(("PostgreSQL", await fresh_pg_database(args.pg), args.pg))
        for name, url, admin in targets:
            raw = await raw_insert_rate(url, args.orders)
            rate, statuses = await pipeline_rate(url, args.orders, args.concurrency)
            print(f"{name:<12}{raw:>14.0f}{rate:>12.0f}{rate / raw:>8.0%}   {statuses}")
            if admin:
                await drop_pg_database(admin, url)


if __name__ == "__main__":
    asyncio.run(main())

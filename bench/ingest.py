"""Paid orders per second through the whole webhook pipeline, beside the raw single-row
INSERT rate of the same database, in one run, for SQLite and (when reachable) PostgreSQL.

    .venv/bin/python bench/ingest.py [--orders 2000] [--concurrency 16] [--batch 1,16] [--runs 3] [--pg URL]

The pipeline figure is measured end to end: a real aiohttp server on 127.0.0.1, signed
requests from an aiohttp client in a process of its own with N in flight (attribution, ledger
lines, stock, outbox), once per ``--batch`` size (``orders.batch_max``: 1 = one transaction
per order). The raw figure is one committed INSERT of one row per transaction through the
same engine, measured just before and just after each pass (their mean is the pass's
baseline). CPU ms per order is the bot's process's (the server;
the client, as the shop's servers are, runs apart).
Refused: as many orders again once the stock is empty, each answered 409. Aim: pipeline ≥ 1.0×
raw. Each line is min / median / max of ``--runs`` runs; the load average is printed first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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
from services.order_batch import OrderBatcher  # noqa: E402

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


@dataclass
class Pass:
    """One pass of orders: orders/s, CPU ms per order, the answers' statuses."""

    rate: float
    cpu_ms: float
    statuses: dict[str, int]
    paths: str = ""  # how the batches ran (services.order_batch.OrderBatcher's counts)


async def pipeline_rate(url: str, orders: int, concurrency: int, batch: int, tag: str) -> tuple[Pass, Pass]:
    """The accepted pass, then as many orders again refused for want of stock."""
    env = build_env(settings=load_settings(ROOT / "config.yaml"), database_url=url, clock=FixedClock(NOW))
    batcher = env.keep(OrderBatcher(env, batch, float(env.settings.raw.orders.batch_window_ms) / 1000))
    await prepare(env)
    async with env.db.unit_of_work() as session:  # exactly enough stock for the accepted pass
        await session.execute(update(Course).where(Course.sku == "KX-BOX").values(stock=orders))
    secret = env.settings.webhook_secret or ""
    runner = web.AppRunner(web_app(env), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    accepted = await _pass(port, secret, tag, 0, orders, concurrency)
    refused = await _pass(port, secret, tag, orders, orders, concurrency)
    await runner.cleanup()
    await env.db.dispose()
    accepted.paths = f"sets {batcher.sets}, statement by statement {batcher.batches}, alone {batcher.replayed}"
    return accepted, refused


REFS = ["DEMOC001", "DEMOC002", "DEMOB001", None]


def body(tag: str, i: int) -> bytes:
    """The ``i``-th paid order of a pass: one box each, a quarter of them with no ref code."""
    event: dict[str, object] = {
        "event_id": f"bench-{tag}-{i}",
        "type": "paid",
        "order_id": f"bench-{tag}-o-{i}",
        "course_sku": "KX-BOX",
        "quantity": 1,
        "amount": "199.00",
        "buyer": {"id": f"bench-b-{i % 1000}", "name": "测试买家"},
        "occurred_at": (NOW + timedelta(milliseconds=i)).isoformat(),  # within the 5 minutes allowed
    }
    if ref := REFS[i % 4]:
        event["ref"] = ref
    return json.dumps(event, ensure_ascii=False).encode()


async def _pass(port: int, secret: str, tag: str, first: int, count: int, concurrency: int) -> Pass:
    """Orders ``first`` … ``first + count - 1`` sent by a client in a process of its own, as the
    shop's servers are: the bot's process does the bot's work only, and its CPU is what is
    counted. The client says when it starts and, at the end, how long it took."""
    client = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        json.dumps([port, secret, tag, first, count, concurrency]),
        stdout=asyncio.subprocess.PIPE,
    )
    assert client.stdout is not None
    assert (await client.stdout.readline()).strip() == b"ready"
    cpu = time.process_time()
    result = json.loads(await client.stdout.readline())
    cpu = time.process_time() - cpu
    if await client.wait() != 0:
        raise RuntimeError("the client process failed")
    return Pass(count / result["seconds"], cpu * 1000 / count, result["statuses"])


async def client(port: int, secret: str, tag: str, first: int, count: int, concurrency: int) -> None:
    """The client process: ``concurrency`` requests in flight, each signed as the shop signs."""
    bodies = [body(tag, i) for i in range(first, first + count)]
    timestamp = str(int(NOW.timestamp()))
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for one in bodies:
        queue.put_nowait(one)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            one = queue.get_nowait()
            headers = {"X-Distbot-Timestamp": timestamp, "X-Distbot-Signature": sign(secret, timestamp, one)}
            async with session.post(f"http://127.0.0.1:{port}/webhooks/orders", data=one, headers=headers) as r:
                status = (await r.json())["status"]
                statuses[status] = statuses.get(status, 0) + 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        print("ready", flush=True)
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        print(json.dumps({"seconds": time.perf_counter() - started, "statuses": statuses}), flush=True)


def spread(values: list[float], fmt: str) -> str:
    return "/".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "?"


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
    parser.add_argument("--batch", default="1,16", help="orders.batch_max values to compare")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg", default=os.environ.get("DISTBOT_TEST_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()
    batches = [int(b) for b in args.batch.split(",")]
    print(f"{args.orders} paid orders accepted then {args.orders} refused (no stock), {args.concurrency} in flight")
    print(f"load average before: {loadavg()}; min/median/max of {args.runs} runs")
    header = f"{'database':<11}{'batch':>6} {'raw INSERT/s':>16} {'orders/s':>14} {'× raw':>16} {'CPU ms/order':>16}"
    print(header + f" {'refused/s':>14} {'CPU ms/refused':>16}   statuses")
    with tempfile.TemporaryDirectory() as workdir:
        targets = [("SQLite", f"sqlite+aiosqlite:///{workdir}/bench.db", None)]
        if not args.sqlite_only and await reset_pg(args.pg):
            targets.append(("PostgreSQL", await fresh_pg_database(args.pg), args.pg))
        for name, url, admin in targets:
            raws: dict[int, list[float]] = {b: [] for b in batches}
            results: dict[int, list[tuple[Pass, Pass]]] = {b: [] for b in batches}
            for run in range(args.runs):
                # The baseline just before and just after each pass, averaged: a shared machine's
                # disk and CPU drift within seconds, and the ratio should compare like with like.
                before = await raw_insert_rate(url, args.orders)
                for batch in batches:
                    results[batch].append(
                        await pipeline_rate(url, args.orders, args.concurrency, batch, f"{run}-{batch}")
                    )
                    after = await raw_insert_rate(url, args.orders)
                    raws[batch].append((before + after) / 2)
                    before = after
            for batch in batches:
                ok = [a for a, _ in results[batch]]
                no = [r for _, r in results[batch]]
                ratios = [a.rate / raw for a, raw in zip(ok, raws[batch], strict=True)]
                print(
                    f"{name:<11}{batch:>6}{spread(raws[batch], '.0f'):>16}{spread([a.rate for a in ok], '.0f'):>14}"
                    f" {spread(ratios, '.2f'):>16} {spread([a.cpu_ms for a in ok], '.1f'):>16}"
                    f" {spread([r.rate for r in no], '.0f'):>14} {spread([r.cpu_ms for r in no], '.1f'):>16}"
                    f"   {ok[-1].statuses} {no[-1].statuses}; last run's batches, both passes: {ok[-1].paths}"
                )
            if admin:
                await drop_pg_database(admin, url)
    print(f"load average after: {loadavg()}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        asyncio.run(client(*json.loads(sys.argv[2])))
    else:
        asyncio.run(main())

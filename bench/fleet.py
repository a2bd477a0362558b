"""A fleet on one PostgreSQL: how many paid orders and DMs a second 1, 2 and 3 `distbot run`
processes take in, and how long a killed leader's work takes to move.

    DISTBOT_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/fleet.py [--runs 3] [--orders 90] [--dms 150]

Each fleet size gets a fresh database (created beside the one the URL names, dropped after) and
that many real processes on the simulator, every one serving the helper accounts ``helper`` and
``helper2`` (the processes' own accounts alternate). Per run:

- orders: ``--orders`` signed paid-order events posted 12 at a time, round robin over the
  processes' webhooks (the shop behind a load balancer); seconds until every one is accepted.
- DMs: ``--dms`` messages posted to the processes' simulator pages, round robin; seconds until
  the processes' dispatchers have handled them all (``/healthz``: ``chat.handled``).

Then, with three processes, the takeover: the leader is killed with SIGKILL and the seconds until
another process holds its leases are measured (database time of the kill to the first poll that
finds them held elsewhere, 50 ms polls), ``--runs`` times, a fresh process replacing the dead one.

Figures: min / median / max over the runs, and each median's ratio to one process's. Sending
is not measured here: one process sends for an account at a time, at the account's pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.base.db import Database  # noqa: E402
from bot.web.webhooks import sign  # noqa: E402
from tests.fleet.support import BOUND, Member, fleet_config, holders  # noqa: E402
from tests.support import SECRET, order_event  # noqa: E402

CONTACTS = ["wx-lina", "wx-wangfang", "wx-linxiao", "wx-zhangwei"]
WORDS = ["帮助", "收益", "升级", "邀请码"]


async def _admin(url: str, sql: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        user=parsed.username, password=parsed.password, host=parsed.host, port=parsed.port, database="postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _start(members: list[Member], url: str) -> None:
    for member in members:
        member.start(fleet_config(member.folder, url, 0.004), datetime.now(UTC))
    for member in members:
        await _until(member.running, 120)


async def _until(predicate: object, seconds: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not within {seconds} s")


async def _orders(http: aiohttp.ClientSession, members: list[Member], count: int, tag: str) -> float:
    gate = asyncio.Semaphore(12)

    async def post(n: int) -> None:
        event = order_event(f"o-{tag}-{n}", ref="DEMOC001", event_id=f"e-{tag}-{n}", at=datetime.now(UTC))
        body = json.dumps(event).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Distbot-Timestamp": stamp}
        headers["X-Distbot-Signature"] = sign(SECRET, stamp, body)
        async with (
            gate,
            http.post(f"{members[n % len(members)].base}/webhooks/orders", data=body, headers=headers) as r,
        ):
            if r.status != 200:
                raise RuntimeError(f"order {n}: {r.status} {await r.text()}")

    began = time.monotonic()
    await asyncio.gather(*(post(n) for n in range(count)))
    return time.monotonic() - began


async def _handled(http: aiohttp.ClientSession, members: list[Member]) -> int:
    total = 0
    for member in members:
        async with http.get(f"{member.base}/healthz") as response:
            total += int((await response.json())["checks"]["chat"]["handled"])
    return total


async def _dms(http: aiohttp.ClientSession, members: list[Member], count: int) -> float:
    before = await _handled(http, members)
    began = time.monotonic()
    for n in range(count):
        body = {"from": CONTACTS[n % 4], "text": WORDS[(n // 4) % 4]}
        async with http.post(f"{members[n % len(members)].base}/sim/messages", json=body) as response:
            assert response.status == 202
    await _until(lambda: _all_handled(http, members, before + count), 120)
    return time.monotonic() - began


async def _all_handled(http: aiohttp.ClientSession, members: list[Member], target: int) -> bool:
    return await _handled(http, members) >= target


def _stop(members: list[Member]) -> None:
    for member in members:
        if member.alive():
            assert member.process is not None
            member.process.terminate()
            member.process.wait(30)


async def fleet_size(url: str, size: int, args: argparse.Namespace, work: Path) -> dict[str, list[float]]:
    name = f"distbot_bench_{uuid.uuid4().hex[:8]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    db_url = _with_db(url, name)
    members = [Member(work / f"{size}-p{i}", ("helper", "helper2")[i % 2]) for i in range(size)]
    figures: dict[str, list[float]] = {"orders/s": [], "DMs/s": [], "takeover s": []}
    try:
        await _start(members, db_url)
        async with aiohttp.ClientSession() as http:
            for run in range(args.runs):
                figures["orders/s"].append(args.orders / await _orders(http, members, args.orders, f"{size}-{run}"))
                figures["DMs/s"].append(args.dms / await _dms(http, members, args.dms))
        if size == 3:
            figures["takeover s"] = await _takeovers(members, db_url, args.runs, work)
    finally:
        _stop(members)
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return figures


async def _takeovers(members: list[Member], url: str, runs: int, work: Path) -> list[float]:
    db, seconds = Database(url), []
    try:
        for run in range(runs):
            await _until(lambda: _all_held(db, members), BOUND * 3)
            leading = (await holders(db))["leader"]
            leader = next(m for m in members if m.pid == leading)
            leader.kill()
            killed = time.monotonic()
            await _until(lambda dead=leading: _taken(db, dead), BOUND * 3)
            seconds.append(time.monotonic() - killed)
            replacement = Member(work / f"takeover-{run}", leader.account)
            members[members.index(leader)] = replacement
            await _start([replacement], url)
    finally:
        await db.dispose()
    return seconds


async def _all_held(db: Database, members: list[Member]) -> bool:
    alive = {m.pid for m in members if m.alive()}
    held = await holders(db)
    return all(held.get(name) in alive for name in ("leader", "sender:helper", "sender:helper2"))


async def _taken(db: Database, dead: int) -> bool:
    held = (await holders(db)).get("leader")
    return held is not None and held != dead


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=90)
    parser.add_argument("--dms", type=int, default=150)
    args = parser.parse_args()
    url = os.environ.get("DISTBOT_TEST_DATABASE_URL")
    if not url:
        sys.exit("set DISTBOT_TEST_DATABASE_URL to a PostgreSQL database (a fleet needs PostgreSQL)")
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        results = {size: await fleet_size(url, size, args, Path(tmp)) for size in (1, 2, 3)}
    load = os.getloadavg()
    print(f"{args.runs} runs each; {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    for metric in ("orders/s", "DMs/s"):
        base = statistics.median(results[1][metric])
        for size in (1, 2, 3):
            values = results[size][metric]
            median = statistics.median(values)
            print(
                f"  {metric:8} {size} process(es): {min(values):7.1f} / {median:7.1f} / {max(values):7.1f}"
                f"   {median / base:4.2f}× one process"
            )
    takeover = results[3]["takeover s"]
    print(
        f"  leader takeover after SIGKILL (bound {BOUND} s with the bench's 4 s lease and 1 s heartbeat):"
        f" {min(takeover):.1f} / {statistics.median(takeover):.1f} / {max(takeover):.1f} s"
    )


if __name__ == "__main__":
    asyncio.run(main())

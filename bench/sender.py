"""The outbox sender's database work with a big queue and a long history, on PostgreSQL.

    .venv/bin/python bench/sender.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/distbot_bench_sender]
                                     [--queued 100000] [--sent 1000000] [--runs 3] [--picks 200]

The database named in ``--url`` is DROPPED and created again (it must be a scratch database),
migrated, and filled with set-based ``INSERT … SELECT generate_series`` statements:

- ``--sent`` sent rows, one every 5 s back from now (1M: 58 days, so about half are past the
  30-day ``outbox.keep_sent_days``);
- ``--queued`` queued rows of one helper account: 30% relay lines to 60 rooms (priority 0,
  coalescing per room; bursts of 300 lines a room in a row, so a busy room's backlog lies in
  the way of the next room's), 40% "you earned" DMs to 30,000 people (priority 1), 3% room adds
  (priority 2, paced by their room), 20% command answers (3), 5% menus (4), and 2% waiting out
  a retry (``not_before`` 10 minutes ahead).

Each run times, as the median of ``--picks`` calls in one session, both the round trip from
Python and the database's own execution time (EXPLAIN ANALYZE):

- baseline: one row by primary key (``SELECT … WHERE id = ?``), the cheapest read there is;
- pick: :func:`models.outbox_queries.next_due` with no room waiting its turn;
- pick, 4 rooms busy: the same with the four rooms at the head of the queue waiting their turn
  (at the configured pace — account 3 s, room 8 s — at most about four rooms wait at once);
- coalesce: :func:`models.outbox_queries.coalescible_lines` after a relay line (up to 29 lines);
- full rows: the old read (200 whole rows in the sender's order), for what loading only the
  needed columns saves;
- send (end to end): :meth:`bot.runtime.sender.OutboxSender.send_next` end to end (pick, coalesce, claim,
  read back, a no-op transport, settle) at zero pacing.

Then, once: the EXPLAIN (ANALYZE, BUFFERS) of the busy pick, and :func:`services.outbox.prune_sent`
deleting everything sent more than 30 days ago (timed, rows/s). Prints min/median/max of the
runs and each figure as a ratio to the baseline of the same run, with /proc/loadavg.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import RateLimits, load_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.runtime.sender import OutboxSender  # noqa: E402
from models import OutboxMessage  # noqa: E402
from models import outbox_queries as box  # noqa: E402
from models.statuses import OutboxStatus  # noqa: E402
from services.outbox import prune_sent  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ACCOUNT = "helper"

SENT_ROWS = """
INSERT INTO outbox (account, kind, target, target_is_room, template, text, payload, coalesce_key, status,
                    priority, attempts, last_error, created_at, not_before, sent_at)
SELECT :account, 'text', CASE WHEN g % 4 = 0 THEN 'room-' || (g % 60) ELSE 'wx-' || (g % 50000) END, g % 4 = 0,
       'earned_dm', '🎉 您有一笔新收益 144.00 元：李** 购买 星火思维秋季课 ×1（订单 o-' || g || '）',
       '{}', NULL, 'sent', 1, 1, '', at, at, at + interval '3 seconds'
FROM (
  SELECT g, CAST(:now AS timestamptz) - (CAST(:sent AS integer) - g) * interval '5 seconds' AS at
  FROM generate_series(1, CAST(:sent AS integer)) AS g
) AS rows
"""

QUEUED_ROWS = """
INSERT INTO outbox (account, kind, target, target_is_room, template, text, payload, coalesce_key, status,
                    priority, attempts, last_error, created_at, not_before, sent_at)
SELECT :account, kind, target, is_room, template, body, payload, key, 'queued', priority, 0, '', at,
       CASE WHEN g % 50 = 49 THEN CAST(:now AS timestamptz) + interval '10 minutes' ELSE at END, NULL
FROM (
  SELECT g, CAST(:now AS timestamptz) - (CAST(:queued AS integer) - g) * interval '10 milliseconds' AS at,
    CASE WHEN g % 100 BETWEEN 70 AND 72 THEN 'room_add' ELSE 'text' END AS kind,
    CASE WHEN g % 100 < 30 THEN 'room-' || ((g / 1000) % 60) ELSE 'wx-' || (g % 30000) END AS target,
    g % 100 < 30 AS is_room,
    CASE WHEN g % 100 < 30 THEN 'relay_line' WHEN g % 100 < 70 THEN 'earned_dm' WHEN g % 100 < 73 THEN ''
         WHEN g % 100 < 93 THEN 'earnings' ELSE 'menu' END AS template,
    CASE WHEN g % 100 < 30 THEN g || '. 李** 出单 星火思维秋季课' ELSE '您的收益：本月 1,234.00 元 …' END AS body,
    CASE WHEN g % 100 BETWEEN 70 AND 72 THEN json_build_object('room', 'room-' || (g % 60))
         ELSE '{}'::json END AS payload,
    CASE WHEN g % 100 < 30 THEN 'relay:room-' || ((g / 1000) % 60) WHEN g % 100 < 70 THEN 'earned:wx-' || (g % 30000)
         END AS key,
    CASE WHEN g % 100 < 30 THEN 0 WHEN g % 100 < 70 THEN 1 WHEN g % 100 < 73 THEN 2
         WHEN g % 100 < 93 THEN 3 ELSE 4 END AS priority
  FROM generate_series(1, CAST(:queued AS integer)) AS g
) AS rows
"""


class NoTransport:
    """Takes every message at once (the bench measures the database side)."""

    name, account = "bench", ACCOUNT

    def can_send(self) -> bool:
        return True

    async def send_text(self, target: str, text: str, **_: Any) -> str:
        return "m"

    async def send_image(self, target: str, image: bytes, **_: Any) -> str:
        return "m"

    async def add_to_room(self, room: str, contact: str, **_: Any) -> None:
        return None

    async def invite_to_room(self, room: str, contact: str, **_: Any) -> None:
        return None


async def fresh_database(url: str) -> None:
    parsed = make_url(url)
    name = parsed.database
    if not name or not name.startswith("distbot_bench"):
        raise SystemExit("--url must name a scratch database whose name starts with distbot_bench (it is dropped)")
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password, database="postgres"
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def median_ms(calls: int, call: Callable[[int], Awaitable[object]]) -> float:
    times = []
    for i in range(calls):
        started = time.perf_counter()
        await call(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def server_ms(session: Any, statement: Any, calls: int) -> float:
    """The database's own execution time of ``statement`` (EXPLAIN ANALYZE's "Execution Time"),
    median of ``calls``: what the query costs apart from the driver and the Python around it."""
    compiled = statement.compile(session.bind.sync_engine, compile_kwargs={"literal_binds": True})
    times = []
    for _ in range(calls):
        plan = (await session.execute(text(f"EXPLAIN (ANALYZE) {compiled}"))).scalars().all()
        times.append(float(next(line for line in plan if line.startswith("Execution Time")).split()[2]))
    return statistics.median(times)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/distbot_bench_sender")
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--sent", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--picks", type=int, default=200)
    args = parser.parse_args()
    print(f"distbot sender bench: {args.queued:,} queued + {args.sent:,} sent rows on PostgreSQL; load {loadavg()}")
    await fresh_database(args.url)
    env = build_env(settings=load_settings(ROOT / "config.yaml"), database_url=args.url, clock=FixedClock(NOW))
    await prepare(env)
    started = time.perf_counter()
    async with env.db.unit_of_work() as session:
        params = {"account": ACCOUNT, "now": NOW, "sent": args.sent, "queued": args.queued}
        await session.execute(text(SENT_ROWS), params)
        await session.execute(text(QUEUED_ROWS), params)
    async with env.db.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE outbox"))
    print(f"generated in {time.perf_counter() - started:.1f} s (set-based INSERT … SELECT generate_series)")

    async with env.db.reading() as session:
        ids = list(await session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        head_rooms: list[str] = []
        while len(head_rooms) < 4:  # the rooms the sender would take first, each then waiting its turn
            head = await box.next_due(session, ACCOUNT, NOW, head_rooms)
            assert head is not None and head.room
            head_rooms.append(head.room)
        relay = await box.next_due(session, ACCOUNT, NOW)
        assert relay is not None and relay.coalesce_key
    by_key = select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.target).where(
        OutboxMessage.id == ids[len(ids) // 2]
    )
    old_read = (
        select(OutboxMessage)
        .where(*box._due(ACCOUNT, NOW))
        .order_by(OutboxMessage.priority, OutboxMessage.target_is_room.desc(), OutboxMessage.id)
        .limit(200)
    )
    statements = {
        "baseline (row by key)": by_key,
        "pick": box.next_due_query(ACCOUNT, NOW),
        "pick, 4 rooms busy": box.next_due_query(ACCOUNT, NOW, head_rooms),
        "coalesce": box.coalescible_lines_query(ACCOUNT, relay, NOW, 29),
        "full rows (old read)": old_read,
    }
    names = [*statements, "send (end to end)"]
    round_trip: dict[str, list[float]] = {name: [] for name in names}
    server: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(args.runs):
        async with env.db.reading() as session:
            for name, statement in statements.items():
                calls = args.picks if name != "full rows (old read)" else max(args.picks // 10, 5)
                round_trip[name].append(await median_ms(calls, lambda i, st=statement: session.execute(st)))
                server[name].append(await server_ms(session, statement, max(calls // 4, 5)))
        sender = OutboxSender(env, NoTransport(), RateLimits(  # type: ignore[arg-type]
            account_interval_seconds=Decimal(0), room_interval_seconds=Decimal(0), jitter_seconds=Decimal(0)
        ))  # fmt: skip
        round_trip[names[-1]].append(await median_ms(args.picks, lambda i, s=sender: s.send_next()))
        print("  run: " + ", ".join(f"{name} {values[-1]:.3f} ms" for name, values in round_trip.items()))

    print(f"\nload {loadavg()}; {args.runs} runs; each figure the median of its calls in a run")
    for title, figures in (
        ("in the database (EXPLAIN ANALYZE execution time)", server),
        ("round trip from Python (SQLAlchemy + asyncpg)", round_trip),
    ):
        base = figures[names[0]]
        print(f"\n{title}")
        print(f"  {'':<24}{'min ms':>9}{'median':>9}{'max':>9}{'× baseline':>12}")
        for name, values in figures.items():
            ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
            print(f"  {name:<24}{min(values):>9.3f}{statistics.median(values):>9.3f}{max(values):>9.3f}{ratio:>11.1f}×")

    async with env.db.reading() as session:
        compiled = statements["pick, 4 rooms busy"].compile(
            env.db.engine.sync_engine, compile_kwargs={"literal_binds": True}
        )
        plan = (await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))).scalars().all()
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the pick with 4 rooms busy:")
    print("\n".join(f"  {line}" for line in plan))

    async with env.db.reading() as session:
        before = await session.scalar(select(text("count(*)")).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.SENT
        ))  # fmt: skip
    started = time.perf_counter()
    pruned = await prune_sent(env)
    elapsed = time.perf_counter() - started
    print(
        f"\nprune (outbox.keep_sent_days {env.settings.raw.outbox.keep_sent_days}): {pruned:,} of {before:,} sent rows"
        f" deleted in {elapsed:.1f} s ({pruned / elapsed:,.0f} rows/s, batches of 5,000); load {loadavg()}"
    )
    await env.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

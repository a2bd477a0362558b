"""A sales burst during relay pushes: how many messages each brand group gets, and how long an
order waits for its relay line to be sent, under the configured outbox limits.

    .venv/bin/python bench/relay.py [--orders 5000] [--seconds 60] [--seed 7]

The orders go through the real pipeline (services.orders, one unit of work each, SQLite in a
temporary directory), spread evenly over ``--seconds`` across the three demo brands, each of
which has a relay push open; sellers are the demo distributors. Then the real outbox sender
(bot.runtime.sender.OutboxSender, limits from config.yaml ``outbox.limits``: account 3 s, room 8 s,
jitter 0–2 s, 30 lines per coalesced message) drains the outbox into a recording transport.

Time is SIMULATED for the sending: the sender's monotonic clock and sleep, and the root object's
clock, are one fake clock that jumps instead of waiting, so hours of pacing take a minute or
two of real time. Rows become visible to the sender at their order's time (``not_before``).

Three modes on the same orders, each run ``--runs`` times (the pacing jitter's seed changes
between runs):
  before. everything queued, relay lines coalesced 30 to a message and never digested (the
     sender as it was): the baseline of the run;
  A. everything the burst queued — relay lines, and the "you earned …" DMs (one per payee per
     order) that the sender serves in the same queue — with the relay digest: a room whose
     waiting lines are more than one message holds gets one digest of them all
     (core.relay_digest);
  B. the relay lines alone (every other row — the earned DMs too — set aside): what the room
     limits alone allow.

Aim: every order visible in its group (its own line, or a digest counting it) within 2 minutes,
and the earned DMs still all sent. Prints min/median/max over the runs, the worst wait as a
ratio to the baseline's, and /proc/loadavg.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, or_, select, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import load_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.base.env import Env  # noqa: E402
from bot.runtime.sender import OutboxSender  # noqa: E402
from core.relay_digest import Digest  # noqa: E402
from models import Course, OutboxMessage, RelayPush  # noqa: E402
from models import outbox_queries as box  # noqa: E402
from models.statuses import OutboxStatus  # noqa: E402
from services.order_events import OrderEventIn  # noqa: E402
from services.orders import handle_order_event  # noqa: E402

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
COURSES = [("XH-MATH-S1", "399.00"), ("HB-YEAR", "1280.00"), ("KX-BOX", "199.00")]
SELLERS = ["DEMOC001", "DEMOC002", "DEMOB001", "DEMOA001"]


class SimTime:
    """One fake clock for the sender (monotonic, sleep) and the root object (now)."""

    def __init__(self, at: datetime):
        self.start, self.elapsed = at, 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.elapsed += max(0.0, seconds)


class Recorder:
    """A transport that records when (simulated) each message went out, and to whom."""

    name, account = "bench", "helper"

    def __init__(self, time: SimTime):
        self.time = time
        self.sent: list[tuple[float, str, bool, int]] = []  # (at, target, room, rows in it)
        self.digests = 0

    async def send_text(self, target, text, *, room, mentions=(), ref=None) -> str:
        self.digests += "过去" in text and "分钟出单" in text
        self.sent.append((self.time.elapsed, target, room, len((ref or "").split(","))))
        return str(len(self.sent))

    async def send_image(self, target, image, *, room, name, ref=None) -> str:
        return await self.send_text(target, name, room=room, ref=ref)


async def burst(env: Env, orders: int, seconds: float, seed: int) -> None:
    async with env.context() as ctx:
        await ctx.session.execute(update(Course).where(Course.stock.is_not(None)).values(stock=orders * 10))
        for brand in env.settings.raw.brands:
            ctx.session.add(RelayPush(brand_id=brand.id, title="bench", started_at=START, started_by="bench"))
    rng = random.Random(seed)
    clock = env.clock
    assert isinstance(clock, FixedClock)
    for i in range(orders):
        at = START + timedelta(seconds=seconds * i / orders)
        sku, price = COURSES[i % len(COURSES)]
        clock.at = at
        event = OrderEventIn.model_validate(
            {
                "event_id": f"e-{i}",
                "type": "paid",
                "order_id": f"o-{i}",
                "course_sku": sku,
                "quantity": 1,
                "amount": price,
                "buyer": {"id": f"b-{i}", "name": "家长"},
                "ref": rng.choice(SELLERS),
                "occurred_at": at.isoformat(),
            }
        )
        async with env.context() as ctx:
            await handle_order_event(ctx, event)


class SenderBefore(OutboxSender):
    """The sender before the digest: relay lines coalesced ``coalesce_max_lines`` at a time."""

    async def _relay_group(
        self, session: AsyncSession, first: box.Due, now: datetime
    ) -> tuple[list[int], Digest | None]:
        more = await box.coalescible_lines(session, self.account, first, now, self.max_lines - 1)
        return [first.id, *more], None


async def drain(env: Env, time: SimTime, seed: int, before: bool = False) -> Recorder:
    transport = Recorder(time)
    limits = env.settings.raw.outbox.limits
    sender = (SenderBefore if before else OutboxSender)(
        env,
        transport,
        limits,
        rng=random.Random(seed),
        monotonic=time.monotonic,
        sleep=time.sleep,  # type: ignore[arg-type]
    )
    while True:
        wait = await sender.send_next()
        if wait is None:
            async with env.db.reading() as session:
                due = await session.scalar(
                    select(OutboxMessage.not_before)
                    .where(OutboxMessage.status == OutboxStatus.QUEUED)
                    .order_by(OutboxMessage.not_before)
                    .limit(1)
                )
            if due is None:
                return transport
            wait = max((due - time.now()).total_seconds(), 0.01)
        await time.sleep(wait)


def minutes(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.1f} min" if seconds >= 120 else f"{seconds:,.1f} s"


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def report(env: Env, transport: Recorder, label: str, detail: bool) -> dict[str, float]:
    async with env.db.reading() as session:
        relay = (
            await session.execute(
                select(OutboxMessage.target, OutboxMessage.created_at, OutboxMessage.sent_at).where(
                    OutboxMessage.coalesce_key.like("relay:%"), OutboxMessage.status == OutboxStatus.SENT
                )
            )
        ).all()
        earned = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.template == "earned_dm")
                    .group_by(OutboxMessage.status)
                )
            ).all()
        )
        last_dm = await session.scalar(
            select(func.max(OutboxMessage.sent_at)).where(OutboxMessage.template == "earned_dm")
        )
    per_room: dict[str, list[float]] = defaultdict(list)
    for target, created, sent in relay:
        per_room[target].append((sent - created).total_seconds())
    messages = Counter(target for _, target, room, _ in transport.sent if room)
    lines: Counter[str] = Counter()
    for _, target, room, count in transport.sent:
        if room:
            lines[target] += count
    dms = sum(1 for _, _, room, _ in transport.sent if not room)
    span = transport.sent[-1][0] if transport.sent else 0.0
    every = [w for waits in per_room.values() for w in waits]
    figures = {
        "messages": float(len(transport.sent)),
        "digests": float(transport.digests),
        "span": span,
        "median": statistics.median(every) if every else 0.0,
        "p95": quantile(every, 0.95) if every else 0.0,
        "worst": max(every) if every else 0.0,
        "earned sent": float(earned.get(OutboxStatus.SENT, 0)),
        "earned queued": float(sum(earned.values())),
        "last earned": (last_dm - START).total_seconds() if last_dm is not None else 0.0,
    }
    if not detail:
        return figures
    print(f"\n{label}")
    print(
        f"  sent {len(transport.sent):,} messages in {minutes(span)} of simulated time ({dms:,} of them DMs,"
        f" {transport.digests:,} relay digests)"
    )
    print(
        f"  {'room':<18} {'messages':>9} {'relay lines':>12} {'lines/msg':>10} {'median wait':>12} {'worst wait':>11}"
    )
    for room in sorted(messages):
        waits = per_room.get(room, [0.0])
        print(
            f"  {room:<18} {messages[room]:>9,} {lines[room]:>12,} {lines[room] / messages[room]:>10.1f}"
            f" {minutes(statistics.median(waits)):>12} {minutes(max(waits)):>11}"
        )
    if every:
        print(
            f"  order → visible in its group (its line or a digest): median {minutes(figures['median'])},"
            f" p95 {minutes(figures['p95'])}, worst {minutes(figures['worst'])}"
        )
    if figures["earned queued"]:
        print(
            f"  earned DMs: {figures['earned sent']:,.0f} of {figures['earned queued']:,.0f} rows sent,"
            f" the last {minutes(figures['last earned'])} after the burst began"
        )
    return figures


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.yaml")
    limits = settings.raw.outbox.limits
    print(
        f"distbot relay bench: {args.orders:,} paid orders in {args.seconds:g} s across 3 brands, a push open in each;"
        f" limits account {limits.account_interval_seconds} s, room {limits.room_interval_seconds} s,"
        f" jitter 0–{limits.jitter_seconds} s, {settings.raw.outbox.coalesce_max_lines} lines per message;"
        f" load {loadavg()}."
        "\nSending time is SIMULATED (a fake clock for the sender's monotonic/sleep and the root object's now)."
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = build_env(
            settings=settings, database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'relay.db'}", clock=FixedClock(START)
        )
        await prepare(env)
        started = time.perf_counter()
        await burst(env, args.orders, args.seconds, args.seed)
        print(f"ingest: {args.orders:,} orders through the pipeline in {time.perf_counter() - started:.1f} s (real)")
        async with env.db.reading() as session:
            kinds = Counter((await session.scalars(select(OutboxMessage.template))).all())
        print("queued: " + ", ".join(f"{n:,} {name}" for name, n in kinds.most_common()))

        modes = {
            "before": ("before: everything queued, 30 lines a message, no digest (baseline)", False, True),
            "A": ("A. everything queued (relay lines and DMs, one queue), with digests", False, False),
            "B": ("B. relay lines alone (every other row set aside)", True, False),
        }
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for run in range(args.runs):
            for mode, (label, relay_only, before) in modes.items():
                async with env.db.unit_of_work() as session:
                    await session.execute(
                        update(OutboxMessage).values(status=OutboxStatus.QUEUED, sent_at=None, attempts=0)
                    )
                    if relay_only:  # set aside as dropped, a status the sender never takes
                        await session.execute(
                            update(OutboxMessage)
                            .where(
                                or_(OutboxMessage.coalesce_key.is_(None), ~OutboxMessage.coalesce_key.like("relay:%"))
                            )
                            .values(status=OutboxStatus.DROPPED)
                        )
                sim = SimTime(START)
                env.clock = sim
                started = time.perf_counter()
                transport = await drain(env, sim, args.seed + run, before=before)
                results[mode].append(await report(env, transport, label, detail=run == 0))
                if run == 0:
                    print(f"  (simulated in {time.perf_counter() - started:.1f} s of real time)")
        print(f"\nover {args.runs} runs (min / median / max); load {loadavg()}")
        for mode, (label, _, _) in modes.items():
            rows = results[mode]

            def span(key: str, rows: list[dict[str, float]] = rows) -> str:
                values = [r[key] for r in rows]
                return " / ".join(minutes(v) for v in (min(values), statistics.median(values), max(values)))

            ratio = statistics.median(
                r["worst"] / b["worst"] for r, b in zip(rows, results["before"], strict=True) if b["worst"]
            )
            print(f"  {label}")
            print(
                f"    messages {statistics.median(r['messages'] for r in rows):,.0f}"
                f" ({statistics.median(r['digests'] for r in rows):,.0f} digests);"
                f" order → visible: median {span('median')}, worst {span('worst')} ({ratio:.3f}× the baseline's worst);"
                f" earned DMs sent {min(r['earned sent'] for r in rows):,.0f}/{rows[0]['earned queued']:,.0f},"
                f" the last after {span('last earned')}"
            )
        await env.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())

"""Plan what-if: order events replayed per second, for generated histories, and the memory a
replay takes per event.

    .venv/bin/python bench/whatif.py [--orders 100000] [--distributors 5000] [--no-end-to-end] [--repeat 3]
                                     [--memory 100000,300000] [--held]

Generates a platform on the demo configuration: distributors in a recruiter tree (a few A at
the roots, B and C below, some of them shop customers too), buyers arriving through codes,
and events over 90 days on every demo course — paid orders, refunds (~5%), CPA trials
qualifying, check-ins completed. Then measures, in one run (best of ``--repeat`` runs each):

- core: :func:`core.whatif.replay` alone, three plans at once (configured, team, sales), on
  the events in a list: the baseline;
- end to end: ``distbot whatif --json --chart`` on an SQLite file holding those
  distributors and events (read-only open, events streamed from the database, replay,
  report, chart), as a ratio to the core's rate (aim: ≥ 0.8);
- memory: for each size of ``--memory`` (orders), a fresh process runs the load and the
  replay of ``distbot whatif`` (services.whatif.gather) on such a database and reports the
  peak of what they allocate (tracemalloc, started after the imports) and its peak resident
  memory (ru_maxrss, the interpreter and libraries included); the slope between two sizes is
  the memory per event (aim: ≤ 700 B). With ``--held``, the same with the events first
  gathered in a list shows what streaming saves.

Min/median/max over ``--repeat`` runs, with /proc/loadavg.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.base.config import load_settings  # noqa: E402
from bot.base.db import Database  # noqa: E402
from bot.cli import main  # noqa: E402
from core.products import EventType  # noqa: E402
from core.whatif import Event, Member, replay  # noqa: E402
from models.orders import OrderEvent  # noqa: E402
from models.people import Distributor  # noqa: E402
from services.whatif import resolve_plans, terms_of  # noqa: E402

START = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
PLANS = ["configured", "team", "sales"]


def generate(orders: int, distributors: int, seed: int = 7) -> tuple[list[Member], list[Event]]:
    rng = random.Random(seed)
    settings = load_settings(ROOT / "config.yaml")
    courses = list(settings.courses.values())
    weights = [{"standard": 6, "trial": 2, "cpa": 2, "checkin_cashback": 1}[c.type.value] for c in courses]
    members: list[Member] = []
    for i in range(distributors):
        level = "A" if i < 10 else rng.choices(["C", "B", "A"], [85, 13, 2])[0]
        recruiter = None if i < 10 else members[rng.randrange(max(10, i // 2), i) if i > 20 else rng.randrange(i)].id
        members.append(
            Member(
                id=str(i + 1),
                code=f"D{i + 1:07d}",
                level=level,
                recruiter=recruiter,
                buyer_id=f"buyer-d{i + 1}" if rng.random() < 0.1 else None,
                joined_at=START - timedelta(days=30),
                name=f"分销员{i + 1}",
            )
        )
    buyers = [f"buyer-{i}" for i in range(orders // 3)] + [m.buyer_id for m in members if m.buyer_id]
    events: list[Event] = []
    step = timedelta(days=90) / orders
    for n in range(orders):
        at = START + step * n
        course = rng.choices(courses, weights)[0]
        quantity = 1 if course.type.value in ("cpa", "checkin_cashback") else rng.choice([1, 1, 1, 2])
        ref = rng.choice(members).code if rng.random() < 0.6 else None
        order = f"o-{n}"
        amount = course.price * quantity
        events.append(Event(f"p-{n}", EventType.PAID, order, course.sku, at, quantity, amount, rng.choice(buyers), ref))
        if course.type.value == "cpa" and rng.random() < 0.6:
            events.append(Event(f"q-{n}", EventType.QUALIFIED, order, course.sku, at + timedelta(days=1), 1))
        if course.type.value == "checkin_cashback" and rng.random() < 0.5:
            events.append(Event(f"c-{n}", EventType.CHECKIN_COMPLETED, order, course.sku, at + timedelta(days=21)))
        if rng.random() < 0.05:
            back = (amount * rng.choice([1, 1, Decimal("0.5")])).quantize(Decimal("0.01"))
            events.append(Event(f"r-{n}", EventType.REFUNDED, order, course.sku, at + timedelta(days=3), 0, back))
    events.sort(key=lambda e: e.at)
    return members, events


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def bench_core(members: list[Member], events: list[Event], repeat: int) -> list[float]:
    """Events per second of the core replay, one figure per run."""
    settings = load_settings(ROOT / "config.yaml")
    plans = resolve_plans(settings, PLANS, None)
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = replay(members, events, plans, terms_of(settings))
        rates.append(len(events) / (time.perf_counter() - started))
    paid = ", ".join(f"{o.plan.name} {o.paid:,}" for o in result.plans)
    print(f"core replay: {len(events):,} events, {spread(rates, ',.0f')} events/s (min / median / max)")
    print(f"  ({result.orders:,} orders, {len(result.upgrades):,} upgrades; paid: {paid}); load {loadavg()}")
    return rates


async def write_database(url: str, members: list[Member], events: list[Event]) -> None:
    db = Database(url)
    try:
        await db.upgrade()
        async with db.engine.begin() as connection:
            rows = [
                {
                    "id": int(m.id),
                    "code": m.code,
                    "name": m.name,
                    "level": m.level,
                    "recruiter_id": int(m.recruiter) if m.recruiter else None,
                    "buyer_id": m.buyer_id,
                    "joined_at": m.joined_at,
                    "level_since": m.joined_at,
                }
                for m in members
            ]
            await connection.execute(insert(Distributor), rows)
            for chunk in range(0, len(events), 20_000):
                await connection.execute(insert(OrderEvent), [_row(e) for e in events[chunk : chunk + 20_000]])
    finally:
        await db.dispose()


def _row(e: Event) -> dict[str, object]:
    payload = {
        "event_id": e.event_id,
        "type": e.type.value,
        "order_id": e.order_id,
        "course_sku": e.sku,
        "quantity": e.quantity,
        "amount": f"{e.amount:.2f}",
        "buyer": {"id": e.buyer, "name": "顾客", "phone": None} if e.buyer else None,
        "ref": e.ref,
        "occurred_at": e.at.isoformat(),
    }
    return {
        "event_id": e.event_id,
        "order_id": e.order_id,
        "type": e.type.value,
        "occurred_at": e.at,
        "received_at": e.at,
        "source": "import",
        "payload": payload,
        "course_sku": e.sku,
        "quantity": e.quantity,
        "amount": e.amount,
        "buyer_id": e.buyer,
        "ref": e.ref,
    }


def database_with(workdir: Path, orders: int, distributors: int) -> tuple[Path, int]:
    """An SQLite database and its configuration holding a generated history; the events count."""
    members, events = generate(orders, distributors)
    workdir = Path(tempfile.mkdtemp(dir=workdir))  # a database of its own, whatever was made before
    url = f"sqlite+aiosqlite:///{workdir / f'bench-{orders}.db'}"
    asyncio.run(write_database(url, members, events))
    text = (ROOT / "config.yaml").read_text(encoding="utf-8").replace("sqlite+aiosqlite:///distbot.db", url)
    config = workdir / f"config-{orders}.yaml"
    config.write_text(text, encoding="utf-8")
    return config, len(events)


def bench_end_to_end(config: Path, events: int, repeat: int) -> list[float]:
    argv = ["whatif", "--config", str(config), "--json", "--no-progress", "--chart", str(config.parent / "c.png")]
    for plan in PLANS:
        argv += ["--plan", plan]
    rates = []
    for _ in range(repeat):
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        rates.append(events / (time.perf_counter() - started))
        assert code == 0, out.getvalue()[-2000:]
    print(f"end to end (distbot whatif --json --chart, SQLite): {events:,} events, {spread(rates, ',.0f')} events/s")
    return rates


def memory_child(config: str, hold: bool, traced: bool) -> None:
    """In a fresh process: the load and replay of distbot whatif; prints the peak RSS, and
    with ``traced`` the peak of what tracemalloc saw (its own bookkeeping inflates the RSS of
    that run, so the RSS comes from a run without it)."""
    import services.whatif as whatif

    if hold:  # the events gathered in a list first, as before they were streamed
        stream = whatif._database_events
        whatif._database_events = lambda connection, until: iter(list(stream(connection, until)))  # type: ignore[assignment]
    settings = load_settings(Path(config))
    baseline = peak_rss()  # the interpreter and libraries
    if traced:
        tracemalloc.start()  # after the imports: what the load and the replay allocate
    started = time.perf_counter()
    result, inputs, _, _ = whatif.gather(settings, PLANS, None, None, None, None, progress=False)
    seconds = time.perf_counter() - started
    peak_traced = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    peak = peak_rss()
    found = {"peak": peak, "baseline": baseline, "traced": peak_traced, "seconds": seconds}
    print(json.dumps(found | {"events": inputs.span.count, "orders": result.orders}))


def peak_rss() -> int:
    """This process's peak resident memory, in bytes: VmHWM, which starts afresh at exec —
    ru_maxrss does not (a child started by a big parent reports the parent's size)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_memory(config: Path, hold: bool, traced: bool = True) -> dict[str, float]:
    def child(traced: bool) -> dict[str, float]:
        argv = [sys.executable, __file__, "--memory-child", str(config)]
        argv += (["--hold"] if hold else []) + (["--traced"] if traced else [])
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        return dict(json.loads(out.splitlines()[-1]))

    plain = child(False)
    return plain | {"traced": child(True)["traced"] if traced else 0}


def bench_memory(
    workdir: Path, sizes: list[int], distributors: int, held: bool, made: dict[int, Path], traced: bool = True
) -> None:
    """``made``: databases built already, by orders (the end-to-end run's is reused)."""
    found: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for orders in sizes:
        config = made[orders] if orders in made else database_with(workdir, orders, distributors)[0]
        for hold in (False, True) if held else (False,):
            m = measure_memory(config, hold, traced)
            found[hold].append(m)
            how = "events held in a list" if hold else "streamed"
            print(
                f"memory: {orders:,} orders = {m['events']:,} events, {how}: peak traced {m['traced'] / 2**20:,.1f} MiB"
                f" ({m['traced'] / m['events']:,.0f} B per event), peak RSS {m['peak'] / 2**20:,.0f} MiB"
                f" ({m['baseline'] / 2**20:,.0f} MiB of it the interpreter and libraries,"
                f" {(m['peak'] - m['baseline']) / m['events']:,.0f} B per event beyond);"
                f" {m['events'] / m['seconds']:,.0f} events/s; load {loadavg()}"
            )
    for hold in (False, True):
        if not found[hold]:
            continue
        small, big = found[hold][0], found[hold][-1]
        if big["events"] > small["events"]:
            events = big["events"] - small["events"]
            how = "events held in a list" if hold else "streamed"
            print(
                f"memory per event ({how}, slope {small['events']:,} → {big['events']:,} events):"
                f" traced {(big['traced'] - small['traced']) / events:,.0f} B,"
                f" RSS {(big['peak'] - small['peak']) / events:,.0f} B"
            )


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--distributors", type=int, default=5_000)
    parser.add_argument("--no-end-to-end", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--memory", default="100000,300000", help="orders at which to measure memory ('' for none)")
    parser.add_argument("--held", action="store_true", help="measure memory with the events held in a list too")
    parser.add_argument("--rss-only", action="store_true", help="measure memory without tracemalloc (quicker)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.hold, args.traced)
        return
    print(f"distbot what-if bench; load {loadavg()}")
    started = time.perf_counter()
    members, events = generate(args.orders, args.distributors)
    print(
        f"generated {len(members):,} distributors, {args.orders:,} orders = {len(events):,} events"
        f" in {time.perf_counter() - started:.1f} s"
    )
    made: dict[int, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.no_end_to_end:
            bench_core(members, events, args.repeat)
        else:  # each run: the core, then end to end at once, so a ratio's two figures share the load
            config, count = database_with(workdir, args.orders, args.distributors)
            made[args.orders] = config
            core: list[float] = []
            e2e: list[float] = []
            for _ in range(args.repeat):
                core += bench_core(members, events, 1)
                e2e += bench_end_to_end(config, count, 1)
            print(f"core: {spread(core, ',.0f')} events/s; end to end: {spread(e2e, ',.0f')} events/s")
            ratios = [e / c for e, c in zip(e2e, core, strict=True)]
            print(f"end to end / core, run by run: {spread(ratios, '.2f')} (aim ≥ 0.80); load {loadavg()}")
        sizes = [int(n) for n in args.memory.split(",") if n.strip()]
        if sizes:
            bench_memory(workdir, sizes, args.distributors, args.held, made, not args.rss_only)


if __name__ == "__main__":
    run()

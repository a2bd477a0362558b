"""Inbound DMs per second through one process, and the latency from a DM received by the
transport to its reply written (committed) to the outbox — beside a no-op handler on the same
transport in the same run (the baseline), and with the simulator's journal off, so the
simulator's own cost is told apart from the bot's.

    .venv/bin/python bench/dispatch.py [--dms 5000] [--rate 2000] [--runs 3]

Each DM is someone new writing "帮助" to the helper through the simulator transport (recorded
in the simulated world and its journal, exactly as POST /sim/messages does); the real routers
answer with the brand menu (a template rendered, an outbox row written). The no-op run has a
router whose one handler does nothing. "journal off" replaces the world's journal with one
that writes nothing: the difference is what the simulator's journal costs, which a real
WeChat transport does not have. The journal is also timed alone (one append per DM).

Aim: a steady 2,000 DMs/s with p99 ≤ 100 ms in every run, on SQLite. Prints min/median/max of
the runs and /proc/loadavg.

The menu runs once more with the pre-routing stage as ``bot.app`` wires it (the event figures'
hook before the answer limits) instead of the answer limits alone: the figures' cost per DM.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import parse_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.base.heap import settle  # noqa: E402
from bot.runtime.dispatch import Dispatcher  # noqa: E402
from bot.runtime.metrics import EventMetrics, MetricsHook  # noqa: E402
from bot.runtime.middleware import AnswerLimiter  # noqa: E402
from bot.runtime.router import Router  # noqa: E402
from bot.transports.sim import SimTransport  # noqa: E402
from bot.transports.sim_journal import Journal, Record  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
GC_SEEN: dict[str, list[str]] = {}  # run's name → the collector's pauses in it


def noop_routers() -> list[Router]:
    router = Router("noop")

    @router.on()
    async def nothing(ctx):
        return None

    return [router]


class GcPauses:
    """The garbage collector's pauses during a run (gc.callbacks): generation and seconds."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        full = [s for g, s in self.pauses if g == 2]
        longest = max((s for _, s in self.pauses), default=0.0)
        return (
            f"{len(self.pauses)} collections ({len(full)} full), longest {longest * 1000:.1f} ms,"
            f" full ones {sum(full) * 1000:.1f} ms in all"
        )


class NoJournal:
    """A journal that writes nothing (the world still applies every change)."""

    def append(self, record: Record) -> None:
        return None

    def close(self) -> None:
        return None


async def run(
    workdir: Path,
    label: str,
    routers: list[Router],
    dms: int,
    rate: float | None = None,
    journal: bool = True,
    figures: bool = False,
) -> tuple[float, list[float]]:
    """Deliver ``dms`` DMs all at once (``rate`` None) or paced at ``rate`` per second; with
    ``figures``, the figures' hook before the answer limits (as bot.app wires them)."""
    # Without the cap on queued menus: every DM's reply is written, as this bench measures.
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = config.replace("low_priority_cap: 200", "low_priority_cap: null")
    env = build_env(
        settings=parse_settings(config, "config.yaml"),
        database_url=f"sqlite+aiosqlite:///{workdir / label}.db",
        clock=FixedClock(NOW),
    )
    await prepare(env)
    transport = SimTransport.from_settings(env.settings, workdir / f"{label}.jsonl")
    limiter = AnswerLimiter.for_env(env, person=10**9, room=10**9)
    stage = [MetricsHook(EventMetrics()), limiter] if figures else [limiter]
    dispatcher = Dispatcher(env, routers, transport, middlewares=stage)
    received: dict[str, float] = {}
    latencies: list[float] = []

    async def sink(event):
        await dispatcher.submit(event)
        latencies.append(time.perf_counter() - received[event.id])

    dispatcher.start()
    await transport.start(sink)
    world = transport.world
    people = [f"bench-{i}" for i in range(dms)]
    for person in people:
        world.add_contact(person, "家长")
        world.befriend(person)
    if not journal:
        world._journal.close()
        world._journal = NoJournal()  # type: ignore[assignment]
    settle()  # as bot.app.serve does once started: the set-up's objects are out of the collector's walks
    pauses = GcPauses().__enter__()
    started = time.perf_counter()
    for i, person in enumerate(people):
        if rate is not None:  # arrivals as from a socket: the bot gets its turn between them
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        event = world.message_event(world.say(person, "帮助"))
        received[event.id] = time.perf_counter()
        transport.deliver(event)
        if rate is None and i % 200 == 199:
            await asyncio.sleep(0)  # let the bot run while DMs keep arriving
    await transport.idle()
    elapsed = time.perf_counter() - started
    pauses.__exit__()
    GC_SEEN.setdefault(label, []).append(pauses.summary())
    await transport.stop()
    await dispatcher.stop()
    await env.db.dispose()
    return dms / elapsed, latencies


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def journal_alone(workdir: Path, records: int) -> float:
    """Microseconds per append of a DM's record to a journal file, nothing else."""
    journal = Journal(workdir / "alone.jsonl")
    record = {"op": "say", "id": "m-1", "from": "bench-1", "name": "家长", "text": "帮助", "kind": "text"}
    started = time.perf_counter()
    for i in range(records):
        journal.append({**record, "id": f"m-{i}", "at": "2026-11-25T02:00:00+00:00"})
    elapsed = time.perf_counter() - started
    journal.close()
    return elapsed / records * 1e6


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dms", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=2000.0, help="pace of the paced runs, DMs/s")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="runs with and without the figures' hook")
    args = parser.parse_args()
    print(f"{args.dms} DMs from {args.dms} people, simulator transport, SQLite, one process; load {loadavg()}")
    setups = [
        ("no-op (baseline)", noop_routers(), True),
        ("menu", handlers.ROUTERS, True),
        ("menu, journal off", handlers.ROUTERS, False),
    ]
    results: dict[tuple[str, float | None], list[tuple[float, float, float]]] = {}
    alone: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for run_number in range(args.runs):
            for label, routers, journal in setups:
                for pace in (None, args.rate):
                    name = f"{run_number}-{label}-{pace}".replace(" ", "_").replace(",", "")
                    rate, latencies = await run(workdir, name, routers, args.dms, pace, journal)
                    results.setdefault((label, pace), []).append((rate, ms(latencies, 50), ms(latencies, 99)))
            alone.append(journal_alone(workdir, args.dms))
            print(f"  run {run_number + 1} done; load {loadavg()}")
        # The figures' hook: runs with and without it alternated, so a busy machine weighs on both.
        hook_ratios: list[float] = []
        for n in range(args.repeats):
            without, _ = await run(workdir, f"menu-plain-{n}", handlers.ROUTERS, args.dms)
            rate, latencies = await run(workdir, f"menu-figures-{n}", handlers.ROUTERS, args.dms, figures=True)
            hook_ratios.append(without / rate)
    print(f"\n{args.runs} runs, min / median / max; load {loadavg()}")
    print(f"{'run':<36}{'DMs/s':>24}{'p50 ms':>26}{'p99 ms':>26}")
    for (label, pace), rows in results.items():
        name = f"{label}, {'all at once' if pace is None else f'paced {pace:.0f}/s'}"
        rates, p50s, p99s = ([row[i] for row in rows] for i in range(3))
        print(f"{name:<36}{spread(rates, ',.0f'):>24}  {spread(p50s, '.1f'):>24}  {spread(p99s, '.1f'):>24}")
    for label in ("menu", "menu, journal off"):
        ratios = [b[0] / m[0] for b, m in zip(results[("no-op (baseline)", None)], results[(label, None)], strict=True)]
        print(f"cost per DM, {label}, vs the no-op (all at once): {spread(ratios, '.2f')}×")
    on = [1 / r[0] for r in results[("menu", None)]]
    off = [1 / r[0] for r in results[("menu, journal off", None)]]
    share = [(a - b) / a * 100 for a, b in zip(on, off, strict=True)]
    print(f"the journal's share of a DM's cost (all at once, on vs off): {spread(share, '.1f')} %")
    print(
        f"the journal alone: {spread(alone, '.1f')} µs per append"
        f" ({statistics.median(alone) / (1e6 / args.rate) * 100:.1f}% of the {1e6 / args.rate:.0f} µs a DM may take"
        f" at {args.rate:.0f}/s)"
    )
    paced = results[("menu", args.rate)]
    kept = sum(1 for rate, _, p99 in paced if p99 <= 100 and rate >= args.rate * 0.95)
    print(f"menu paced at {args.rate:.0f}/s kept up with p99 ≤ 100 ms in {kept} of {len(paced)} runs")
    print(f"cost per DM with the figures' hook vs without: {spread(hook_ratios, '.2f')}×")
    print("the garbage collector during the paced runs:")
    for name, seen in GC_SEEN.items():
        if name.endswith(f"-{args.rate}"):
            print(f"  {name}: {'; '.join(seen)}")


if __name__ == "__main__":
    asyncio.run(main())

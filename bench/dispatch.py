"""Inbound DMs per second through one process, and the latency from a DM received by the
transport to its reply written (committed) to the outbox — beside a no-op handler on the same
transport in the same run.

    .venv/bin/python bench/dispatch.py [--dms 5000]

Each DM is someone new writing "帮助" to the helper through the simulator transport (recorded
in the simulated world, exactly as POST /sim/messages does); the real routers answer with the
brand menu (a template rendered, an outbox row written). The no-op run has a router whose one
handler does nothing. Aim: ≥ 2,000 DMs/s on SQLite and ≤ 2× the no-op's cost per DM.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bot.runtime.dispatch import Dispatcher  # noqa: E402
from bot.runtime.middleware import AnswerLimiter  # noqa: E402
from bot.runtime.router import Router  # noqa: E402
from bot.transports.sim import SimTransport  # noqa: E402

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def noop_routers() -> list[Router]:
    router = Router("noop")

    @router.on()
    async def nothing(ctx):
        return None

    return [router]


async def run(
    workdir: Path, label: str, routers: list[Router], dms: int, rate: float | None = None
) -> tuple[float, list[float]]:
    """Deliver ``dms`` DMs all at once (``rate`` None) or paced at ``rate`` per second."""
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
    dispatcher = Dispatcher(env, routers, transport, middlewares=[AnswerLimiter.for_env(env, person=10**9, room=10**9)])
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
    started = time.perf_counter()
    for i, person in enumerate(people):
        if rate is not None:
            ahead = started + i / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        event = world.message_event(world.say(person, "帮助"))
        received[event.id] = time.perf_counter()
        transport.deliver(event)
        if rate is None and i % 200 == 199:
            await asyncio.sleep(0)  # let the bot run while DMs keep arriving
    await transport.idle()
    elapsed = time.perf_counter() - started
    await transport.stop()
    await dispatcher.stop()
    await env.db.dispose()
    return dms / elapsed, latencies


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dms", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=2000.0, help="pace of the second run, DMs/s")
    args = parser.parse_args()
    print(f"{args.dms} DMs from {args.dms} people, simulator transport, SQLite, one process")
    print(f"{'run':<28}{'DMs/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {}
        for label, routers in (("no-op", noop_routers()), ("menu", handlers.ROUTERS)):
            for pace in (None, args.rate):
                name = f"{label}, {'all at once' if pace is None else f'paced {pace:.0f}/s'}"
                rate, latencies = await run(workdir, f"{label}-{pace}", routers, args.dms, pace)
                results[(label, pace)] = rate
                print(f"{name:<28}{rate:>9.0f}{ms(latencies, 50):>9.1f}{ms(latencies, 99):>9.1f}")
    print(f"cost per DM vs no-op (all at once): {results[('no-op', None)] / results[('menu', None)]:.2f}×")


if __name__ == "__main__":
    asyncio.run(main())

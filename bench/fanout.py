"""How long one lecturer message takes to reach 50 and 200 co-learning groups through the
outbox sender at the configured pace, beside the least time that pace allows.

    .venv/bin/python bench/fanout.py [--groups 50,200] [--lines 1] [--seed 7]

For each group count: a fresh SQLite database, that many groups applied (a distributor's
invitation through the real handlers) and approved, a session live, then the lecturer says
``--lines`` lines in the source room (through the dispatcher and the co-learning router) and
one OutboxSender drains the outbox with ``outbox.limits`` from config.yaml (3 s between two
sends of the account, + 0–2 s of random jitter, 8 s per room). Time is simulated, not waited:
the clock moves by the sender's sleeps plus the real time spent working (database, rendering),
so the figure is what a real account would see, minus WeChat's own latency.

The least time the limit allows to reach k groups is the sum of the first k-1 account gaps the
sender drew (interval + jitter: the same random draws); the floor (no jitter) and the mean
(jitter 1 s on average) are printed beside it. Aim: within 1.1x of that least time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from bot import colearning  # noqa: E402
from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import load_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.base.transport import WECHAT, Message, RoomInvitation, TransportStatus  # noqa: E402
from bot.runtime.dispatch import Dispatcher  # noqa: E402
from bot.runtime.middleware import AnswerLimiter  # noqa: E402
from bot.runtime.scheduler import changed  # noqa: E402
from bot.runtime.sender import OutboxSender  # noqa: E402
from handlers import colearning as colearning_handlers  # noqa: E402
from models import OutboxMessage  # noqa: E402
from models.statuses import OutboxStatus  # noqa: E402

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SOURCE, LECTURER, DISTRIBUTORS = "room-lecture", "wx-teacher", ("wx-lina", "wx-zhangwei", "wx-wangfang", "wx-linxiao")


class SimTime:
    """Monotonic time = real time spent working + the sleeps, which are not waited."""

    def __init__(self) -> None:
        self.t0, self.slept = time.perf_counter(), 0.0

    def monotonic(self) -> float:
        return time.perf_counter() - self.t0 + self.slept

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        await asyncio.sleep(0)


class Draws(random.Random):
    """The sender's random source, remembering each jitter it drew."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.values: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        value = super().uniform(a, b)
        self.values.append(value)
        return value


class Recorder:
    """A transport that notes when each room first got a message (simulated seconds)."""

    name, account = "bench", "helper"
    capabilities = WECHAT

    def __init__(self, clock: SimTime) -> None:
        self.clock, self.reached, self.sends, self.last = clock, {}, 0, 0.0

    async def send_text(self, target: str, text: str, *, room: bool, mentions=(), ref=None) -> str:
        self.sends += 1
        self.last = self.clock.monotonic()
        self.reached.setdefault(target, self.last)
        return f"m{self.sends}"

    async def room_members(self, room: str) -> list[str]:
        return []

    def status(self) -> TransportStatus:
        return TransportStatus(self.name, self.account, True)


async def fan_out(workdir: Path, groups: int, lines: int, seed: int) -> dict[str, object]:
    settings = load_settings(ROOT / "config.yaml")
    env = build_env(
        settings=settings,
        database_url=f"sqlite+aiosqlite:///{workdir / f'fanout-{groups}.db'}",
        clock=FixedClock(START),
    )
    await prepare(env)
    routers = [colearning_handlers.router, *handlers.ROUTERS]
    try:
        limiter = AnswerLimiter.for_env(env, person=10**9, room=10**9)
        dispatcher = Dispatcher(env, routers, Recorder(SimTime()), middlewares=[limiter])
        dispatcher.start()
        for i in range(groups):
            who = DISTRIBUTORS[i % len(DISTRIBUTORS)]
            await dispatcher.submit(RoomInvitation(f"inv-{i}", f"room-{i:03d}", f"群{i}", who, START, 200))
        await dispatcher.stop()
        async with env.context() as ctx:
            for application in range(1, groups + 1):
                await colearning.approve_application(ctx, application, "bench")
            session = {"title": "数学思维公开课", "source_room": SOURCE, "lecturers": [LECTURER]}
            session |= {"starts_at": START + timedelta(days=1), "ends_at": START + timedelta(days=1, hours=1)}
            await colearning.create_session(ctx, session)
        async with env.db.unit_of_work() as db:  # applying and approving are not what is measured
            await db.execute(OutboxMessage.__table__.update().values(status=OutboxStatus.SENT))
        env.clock.at = START + timedelta(days=1, minutes=1)  # type: ignore[attr-defined]
        await changed(env)

        clock, rng = SimTime(), Draws(seed)
        transport = Recorder(clock)
        limiter = AnswerLimiter.for_env(env, person=10**9, room=10**9)
        dispatcher = Dispatcher(env, routers, transport, middlewares=[limiter])
        dispatcher.start()
        at = env.clock.now()
        for n in range(lines):
            await dispatcher.submit(Message(f"m{n}", LECTURER, "王老师", f"第 {n + 1} 句", at, room=SOURCE))
        await dispatcher.stop()
        limits = settings.raw.outbox.limits
        sender = OutboxSender(env, transport, limits, rng=rng, monotonic=clock.monotonic, sleep=clock.sleep)
        wall = time.perf_counter()
        while (wait := await sender.send_next()) is not None:
            if wait:
                await clock.sleep(wait)
        wall = time.perf_counter() - wall
        reached = sorted(transport.reached.values())
        interval, jitter = float(limits.account_interval_seconds), float(limits.jitter_seconds)
        gaps = [interval + j for j in rng.values[0::2]]  # each send draws the account's jitter, then the room's
        return {
            "groups": groups,
            "reached": len(reached),
            "sends": transport.sends,
            "time": reached[-1],
            "all_lines": transport.last,
            "least": sum(gaps[: len(reached) - 1]),
            "floor": (len(reached) - 1) * interval,
            "mean": (len(reached) - 1) * (interval + jitter / 2),
            "wall": wall,
        }
    finally:
        await env.db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="50,200", help="group counts, comma-separated")
    parser.add_argument("--lines", type=int, default=1, help="lines the lecturer says at once")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    limits = load_settings(ROOT / "config.yaml").raw.outbox.limits
    print(
        f"one lecturer message ({args.lines} line(s)) to N groups; outbox.limits: account"
        f" {limits.account_interval_seconds} s + jitter 0–{limits.jitter_seconds} s,"
        f" room {limits.room_interval_seconds} s"
    )
    header = ("groups", "sends", "reached in", "least allowed", "ratio", "floor (no jitter)", "mean jitter")
    header += ("all lines in", "real")  # "real": the seconds this run spent draining
    print("  ".join(f"{h:>17}" for h in header))
    with tempfile.TemporaryDirectory() as workdir:
        for groups in (int(g) for g in args.groups.split(",")):
            r = asyncio.run(fan_out(Path(workdir), groups, args.lines, args.seed))
            ratio = r["time"] / r["least"] if r["least"] else float("nan")
            cells = (
                f"{r['reached']}/{r['groups']}",
                str(r["sends"]),
                f"{r['time']:.1f} s",
                f"{r['least']:.1f} s",
                f"{ratio:.3f}x",
                f"{r['floor']:.1f} s",
                f"{r['mean']:.1f} s",
                f"{r['all_lines']:.1f} s",
                f"{r['wall']:.2f} s",
            )
            print("  ".join(f"{c:>17}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A flood of strangers ahead of the messages that matter: how many rows the flood queues, and
how long the relay lines and "you earned" DMs of the orders that follow wait behind it.

    .venv/bin/python bench/flood.py [--people 500] [--each 10] [--orders 30] [--seed 7]

``--people`` strangers each write ``--each`` mixed texts (greetings, "帮助", brand keywords,
"收益", …) at once, through the dispatcher and the real routers (SQLite in a temporary
directory); then ``--orders`` paid orders arrive over a minute while a relay push is open in
every brand (bench/relay.py's burst). The real outbox sender drains everything at the
production pace (``outbox.limits``: 3 s per account, 8 s per room, 0–2 s jitter) on SIMULATED
time (bench/relay.py's fake clock).

Two runs on the same input, compared in the same run:
  before — the answer limits of the old code (12 answers a minute per person, no
           de-duplication), no cap, and every row one priority (the old send order: group
           posts first, then oldest first);
  after  — the configuration as shipped: answer limits, priorities, ``low_priority_cap``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

import handlers  # noqa: E402
from bench.relay import START, SimTime, burst, drain, minutes  # noqa: E402
from bot.app import build_env, prepare  # noqa: E402
from bot.base.config import Settings, parse_settings  # noqa: E402
from bot.base.context import FixedClock  # noqa: E402
from bot.base.env import Env  # noqa: E402
from bot.base.priorities import LOW, Priority  # noqa: E402
from bot.base.transport import Message  # noqa: E402
from bot.runtime.dispatch import Dispatcher  # noqa: E402
from models import OutboxDrop, OutboxMessage  # noqa: E402

TEXTS = ("你好", "帮助", "数学", "收益", "升级", "怎么加入", "阅读", "在吗", "菜单", "科学")
BEFORE = (
    ("guest: 1, distributor: 6, staff: 20, room: 30, repeat_minutes: 5", "guest: 12, distributor: 12, staff: 12, "
     "room: 30, repeat_minutes: 0"),
    ("low_priority_cap: 200", "low_priority_cap: null"),
)  # fmt: skip


def settings_for(before: bool) -> Settings:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for old, new in BEFORE if before else ():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_settings(text, "config.yaml")


async def flood(env: Env, people: int, each: int) -> float:
    dispatcher = Dispatcher(env, handlers.ROUTERS)
    dispatcher.start()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            dispatcher.submit(
                Message(id=f"s{p}-{n}", sender=f"stranger-{p}", sender_name="家长", text=TEXTS[(p + n) % 10], at=START)
            )
            for n in range(each)
            for p in range(people)
        )
    )
    await dispatcher.stop()
    return time.perf_counter() - started


async def run(label: str, before: bool, args: argparse.Namespace, workdir: Path) -> None:
    env = build_env(
        settings=settings_for(before), database_url=f"sqlite+aiosqlite:///{workdir / label}.db", clock=FixedClock(START)
    )
    await prepare(env)
    took = await flood(env, args.people, args.each)
    async with env.db.reading() as session:
        flooded = Counter(dict((await session.execute(select(OutboxMessage.template, func.count()).group_by(
            OutboxMessage.template))).all()))  # fmt: skip
        dropped = Counter(dict((await session.execute(select(OutboxDrop.reason, func.sum(OutboxDrop.count)).group_by(
            OutboxDrop.reason))).all()))  # fmt: skip
    await burst(env, args.orders, 60.0, args.seed)
    if before:
        async with env.db.unit_of_work() as session:
            await session.execute(update(OutboxMessage).values(priority=int(Priority.ANSWER)))
    sim = SimTime(START)
    env.clock = sim
    started = time.perf_counter()
    transport = await drain(env, sim, args.seed)
    simulated = time.perf_counter() - started
    async with env.db.reading() as session:
        sent = (
            await session.execute(select(OutboxMessage.template, OutboxMessage.created_at, OutboxMessage.sent_at))
        ).all()
    waits: dict[str, list[float]] = {}
    for template, created, at in sent:
        waits.setdefault(template, []).append((at - created).total_seconds())
    relay, earned = waits.get("relay_line", [0.0]), waits.get("earned_dm", [0.0])
    low = sum(n for t, n in flooded.items() if t in ("menu", "menu_reminder", "how_to_join", "answer_later"))
    print(f"\n{label}")
    print(f"  flood: {args.people * args.each:,} DMs through the dispatcher in {took:.1f} s (real)")
    print(f"  queued by the flood: {sum(flooded.values()):,} rows ({low:,} of the lowest priority): "
          + ", ".join(f"{n:,} {t}" for t, n in flooded.most_common()))  # fmt: skip
    if dropped:
        print("  not queued: " + ", ".join(f"{n:,} ({reason})" for reason, n in sorted(dropped.items())))
    print(f"  relay lines: {len(relay):,}, all sent after {minutes(max(relay))};"
          f" median wait {minutes(statistics.median(relay))}")  # fmt: skip
    print(f"  \"you earned\" DMs: {len(earned):,}, all sent after {minutes(max(earned))};"
          f" median wait {minutes(statistics.median(earned))}")  # fmt: skip
    print(f"  everything sent: {len(transport.sent):,} messages in {minutes(transport.sent[-1][0])} (simulated in"
          f" {simulated:.1f} s)")  # fmt: skip
    await env.db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--each", type=int, default=10)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"distbot flood bench: {args.people:,} strangers × {args.each} mixed DMs at once, then {args.orders} paid"
        " orders over a minute with a relay push open in every brand; production pace, SIMULATED sending time."
        f" Lowest priority tier: {LOW.name.lower()}."
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, before in (("before (old limits, no cap, one priority)", True), ("after (as configured)", False)):
            await run(label, before, args, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())

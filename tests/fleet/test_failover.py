"""Three `distbot run` processes on one PostgreSQL, two helper accounts, the simulator: a burst
of queued messages, DMs and orders; the process that leads is killed with SIGKILL mid-burst,
then the one holding the most of the senders it did not hold. The survivors take the leases
within the bound (lease + heartbeat), every message is delivered, none twice beyond the one in
flight at each kill, and the settlement pass runs once in its period however the lead moves."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.base.db import Database
from bot.web.webhooks import sign
from models import OutboxMessage
from tests.fleet.support import BOUND, Member, fleet_config, holders
from tests.support import PG_URL, SECRET, Databases, order_event

pytestmark = [
    pytest.mark.skipif(
        not PG_URL, reason="a fleet needs PostgreSQL (DISTBOT_TEST_DATABASE_URL): on SQLite one process does everything"
    ),
    pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"),
    pytest.mark.wall_clock,
]
# 03:00 in Shanghai: outside the material post's hours, so the messages are the test's own.
CLOCK = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
QUEUED_PER_ACCOUNT = 120
PACE = 0.01  # seconds between two sends of one account: the burst lasts a few seconds
SLACK = 2.0  # two busy cores: a heartbeat task may run late


async def test_killing_the_leader_and_a_sender_mid_burst_loses_nothing_and_moves_their_work_within_the_bound(
    tmp_path: Path, databases: Databases
) -> None:
    url = await databases.new("postgresql")
    db = Database(url)
    members = [Member(tmp_path / "p1", "helper"), Member(tmp_path / "p2", "helper2"), Member(tmp_path / "p3", "helper")]
    try:
        for member in members:
            member.start(fleet_config(member.folder, url, PACE), CLOCK)
        for member in members:
            await _until(member.running, 90, f"{member.folder.name} running")
        await _until_async(lambda: _all_held(db, members), BOUND + SLACK, "the lead and both senders taken")

        await _queue(db, QUEUED_PER_ACCOUNT)
        await _chat_and_orders(members)
        await _until(lambda: _delivered(members) >= 50, 30, "sending under way")

        # The leader first (with whatever it sends for), then the sender of an account the lead
        # did not take with it: each mid-burst.
        takeovers: dict[str, float] = {}
        leader = _by_pid(members, (await holders(db))["leader"])
        takeovers |= await _kill_and_wait(db, members, leader)
        alive = [m for m in members if m.alive()]
        held = await holders(db)
        # Then the survivor holding the most senders the lead did not take with it (both, when
        # one process holds them: then both move).
        unmoved = [f"sender:{a}" for a in ("helper", "helper2") if f"sender:{a}" not in takeovers] or ["sender:helper"]
        victim = max(alive, key=lambda m: sum(held.get(name) == m.pid for name in unmoved))
        await _until(lambda: _delivered(members) >= 150, 30, "sending under way again")
        takeovers |= await _kill_and_wait(db, members, victim)

        await _until_async(lambda: _all_sent(db), 60, "every message sent")
        async with db.reading() as session:
            ids = set((await session.scalars(text("select id from outbox"))).all())
    finally:
        for member in members:
            if member.process is not None and member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
                member.process.wait(30)
        await db.dispose()

    print("takeover (s):", {name: round(seconds, 1) for name, seconds in takeovers.items()})
    # Every lease a killed process held moved (``_kill_and_wait``); which senders those were
    # depends on how the leases fell: the lead and at least one sender, each within the bound.
    assert "leader" in takeovers and any(name.startswith("sender:") for name in takeovers)
    assert max(takeovers.values()) <= BOUND + SLACK
    received = Counter(ref for member in members for ref in member.refs())
    assert {str(i) for i in ids} <= set(received), "every queued message delivered"
    assert sum(received.values()) - len(received) <= 2, "none twice but the one in flight at each kill"
    settlement_runs = sum(m.output().count("fleet: period:settlement ran on") for m in members)
    assert settlement_runs == 1, "one settlement pass in its period, whichever process led"


async def _queue(db: Database, per_account: int) -> None:
    targets = ["wx-lina", "wx-zhangwei", "wx-wangfang", "wx-linxiao"]
    async with db.unit_of_work() as session:
        session.add_all(
            OutboxMessage(
                account=account,
                kind="text",
                target=targets[i % 4],
                template="t",
                text=f"{account} message {i}",
                created_at=CLOCK,
                not_before=CLOCK,
            )
            for account in ("helper", "helper2")
            for i in range(per_account)
        )


async def _chat_and_orders(members: list[Member]) -> None:
    """DMs to each account (through the processes whose page is that account's) and paid orders
    through the webhook of another process: their answers and relay lines join the burst."""
    async with aiohttp.ClientSession() as http:
        for member in members:
            for contact in ("wx-lina", "wx-wangfang", "wx-linxiao"):
                for words in ("帮助", "收益"):
                    body = {"from": contact, "text": words}
                    async with http.post(f"{member.base}/sim/messages", json=body) as response:
                        assert response.status == 202
        for n in range(5):
            body = json.dumps(order_event(f"o-fleet-{n}", ref="DEMOC001", event_id=f"e-fleet-{n}", at=CLOCK)).encode()
            timestamp = str(int(CLOCK.timestamp()))
            headers = {"Content-Type": "application/json", "X-Distbot-Timestamp": timestamp}
            headers["X-Distbot-Signature"] = sign(SECRET, timestamp, body)
            async with http.post(f"{members[n % 3].base}/webhooks/orders", data=body, headers=headers) as response:
                assert response.status == 200, await response.text()


def _delivered(members: list[Member]) -> int:
    return sum(len(m.refs()) for m in members)


def _by_pid(members: list[Member], pid: int) -> Member:
    return next(m for m in members if m.pid == pid)


async def _all_held(db: Database, members: list[Member]) -> bool:
    alive = {m.pid for m in members if m.alive()}
    held = await holders(db)
    return all(held.get(name) in alive for name in ("leader", "sender:helper", "sender:helper2"))


async def _kill_and_wait(db: Database, members: list[Member], victim: Member) -> dict[str, float]:
    """SIGKILL ``victim``; the seconds until each lease it held is held by a survivor."""
    held = await holders(db)
    lost = [name for name, pid in held.items() if pid == victim.pid and not name.startswith("period:")]
    victim.kill()
    killed = time.monotonic()
    taken: dict[str, float] = {}
    while set(taken) != set(lost):
        assert time.monotonic() - killed < BOUND + SLACK + 5, f"{lost} not taken over: {taken}"
        held = await holders(db)
        for name in lost:
            if name not in taken and held.get(name, victim.pid) != victim.pid:
                taken[name] = time.monotonic() - killed
        await asyncio.sleep(0.05)
    return taken


async def _all_sent(db: Database) -> bool:
    async with db.reading() as session:
        left = await session.scalar(text("select count(*) from outbox where status in ('queued', 'sending')"))
    return left == 0


async def _until(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


async def _until_async(predicate: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")

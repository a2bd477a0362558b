"""`kill -9` of a running bot with 500 messages queued, then a restart: every message is
delivered, and none twice except at most the one in flight at the kill. The simulator records
every outbox id it receives in its journal, which survives the kill."""

from __future__ import annotations

import json
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.base.db import Database
from models import OutboxMessage
from tests.process_support import free_port, start_bot, wait_for, write_config

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"), pytest.mark.wall_clock]
# The process clock: 03:00 in Shanghai, outside the daily material post's hours, so the only
# messages are the 500 queued here, whatever the hour the test runs at.
CLOCK = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)


async def refs(port: int) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/sim/journal/refs") as response:
        body = await response.json()
    return [ref for entry in body["refs"] for ref in str(entry).split(",")]


async def test_a_kill_9_with_500_queued_loses_nothing_and_repeats_at_most_the_one_in_flight(tmp_path):
    config, log = write_config(tmp_path), tmp_path / "bot.log"
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.upgrade()
    async with db.unit_of_work() as session:
        session.add_all(
            OutboxMessage(
                account="helper",
                kind="text",
                target=["wx-lina", "wx-zhangwei", "wx-wangfang", "wx-linxiao"][i % 4],
                template="t",
                text=f"message {i}",
                created_at=CLOCK,
                not_before=CLOCK,
            )
            for i in range(500)
        )
    await db.dispose()

    port = free_port()
    bot = start_bot(config, port, log, CLOCK)
    try:
        await wait_for(lambda: _at_least(port, 120), 60)
        bot.send_signal(signal.SIGKILL)
        bot.wait(10)
        before_restart = len(await _journal_refs(tmp_path))

        port = free_port()
        bot = start_bot(config, port, log, CLOCK)
        await wait_for(lambda: _at_least(port, 500), 90)
        received = await refs(port)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(20)

    counts = Counter(received)
    assert set(counts) == {str(i) for i in range(1, 501)}, log.read_text()[-2000:]
    assert sum(counts.values()) - len(counts) <= 1
    assert 120 <= before_restart < 500


async def _at_least(port: int, n: int) -> bool:
    return len(set(await refs(port))) >= n


async def _journal_refs(tmp: Path) -> list[str]:
    found = []
    for line in (tmp / "world.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line torn by the kill
        if entry.get("ref"):
            found.append(entry["ref"])
    return found

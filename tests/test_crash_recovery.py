"""`kill -9` of a running bot with 500 messages queued, then a restart: every message is
delivered, and none twice except at most the one in flight at the kill. The simulator records
every outbox id it receives in its journal, which survives the kill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.db import Database
from models import OutboxMessage
from tests.support import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("url: sqlite+aiosqlite:///distbot.db", f"url: sqlite+aiosqlite:///{tmp / 'bot.db'}")
    text = text.replace("sim_journal: sim-world.jsonl", f"sim_journal: {tmp / 'world.jsonl'}")
    text = text.replace(
        "sim_limits: {account_interval_seconds: 0.05, room_interval_seconds: 0.2, jitter_seconds: 0.05}",
        "sim_limits: {account_interval_seconds: 0.004, room_interval_seconds: 0, jitter_seconds: 0.002}",
    )
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def start_bot(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTBOT_")}
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--port", str(port)],
            cwd=config.parent,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def refs(port: int) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/sim/journal/refs") as response:
        body = await response.json()
    return [ref for entry in body["refs"] for ref in str(entry).split(",")]


async def wait_for(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if await predicate():
                return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {seconds} s")


async def test_a_kill_9_with_500_queued_loses_nothing_and_repeats_at_most_the_one_in_flight(tmp_path):
    config, log = write_config(tmp_path), tmp_path / "bot.log"
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await db.upgrade()
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        session.add_all(
            OutboxMessage(
                account="helper",
                kind="text",
                target=["wx-lina", "wx-zhangwei", "wx-wangfang", "wx-linxiao"][i % 4],
                template="t",
                text=f"message {i}",
                created_at=now,
                not_before=now,
            )
            for i in range(500)
        )
    await db.dispose()

    port = free_port()
    bot = start_bot(config, port, log)
    try:
        await wait_for(lambda: _at_least(port, 120), 60)
        bot.send_signal(signal.SIGKILL)
        bot.wait(10)
        before_restart = len(await _journal_refs(tmp_path))

        port = free_port()
        bot = start_bot(config, port, log)
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

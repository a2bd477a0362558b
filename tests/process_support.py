"""Running ``distbot run`` as a real process in a test: its own configuration and database in
a temporary folder, a free port, and the process clock set through ``DISTBOT_CLOCK`` so what
it does never depends on the hour the test runs at."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aiohttp

from tests.support import ROOT

# Ports for the servers tests start, below the kernel's ephemeral range (32768–60999 here),
# where bind(0) and every outgoing connection draw theirs: a port handed out by bind(0) could
# be taken by another worker's database connection before the bot started seconds later binds
# it. Each xdist worker draws from a block of its own.
PORT_BLOCK = 1_500


def free_port() -> int:
    """A port free now that no other test worker and no outgoing connection will take."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = 20_000 + (int(worker) if worker.isdigit() else 0) % 8 * PORT_BLOCK
    draw = random.Random()  # not the global one: a test seeding it must not make workers agree
    for _ in range(500):
        port = draw.randrange(low, low + PORT_BLOCK)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use (another service, or a server of an earlier test)
                continue
            return port
    raise RuntimeError(f"no free port in {low}–{low + PORT_BLOCK}")


def write_config(tmp: Path, *replacements: tuple[str, str]) -> Path:
    """config.yaml with the database, the simulator's journal and the inbox spool in ``tmp``
    (also when ``distbot run`` runs in this process, in another working directory), the
    simulator's pace made fast, and any further exact replacements."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    spool = "inbox_spool: distbot-inbox-{account}.jsonl"
    if not any(spool in old for old, _ in replacements):
        text = text.replace(spool, f"inbox_spool: {tmp / 'distbot-inbox-{account}.jsonl'}")
    for old, new in (
        ("url: sqlite+aiosqlite:///distbot.db", f"url: sqlite+aiosqlite:///{tmp / 'bot.db'}"),
        ("sim_journal: sim-world.jsonl", f"sim_journal: {tmp / 'world.jsonl'}"),
        (
            "sim_limits: {account_interval_seconds: 0.05, room_interval_seconds: 0.2, jitter_seconds: 0.05}",
            "sim_limits: {account_interval_seconds: 0.004, room_interval_seconds: 0, jitter_seconds: 0.002}",
        ),
        *replacements,
    ):
        assert text.count(old) == 1, f"{old!r} must occur once in config.yaml"
        text = text.replace(old, new)
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def start_bot(
    config: Path, port: int, log: Path, clock: datetime, *options: str, environment: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``distbot run`` with its clock at ``clock`` (running on from there), output to ``log``;
    ``environment`` adds variables (e.g. ``DISTBOT_HELPER_ACCOUNT``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTBOT_")}
    env.update(PYTHONPATH=str(ROOT), DISTBOT_CLOCK=clock.isoformat(), **(environment or {}))
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--port", str(port), *options],
            cwd=config.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def wait_for(predicate: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if await predicate():
                return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {seconds} s")

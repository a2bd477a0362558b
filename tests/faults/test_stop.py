"""Stopping ``distbot run`` while the database is out: it ends within its grace period, the
DMs the simulator took meanwhile wait in the inbox spool, and the next start answers each of
them once. In process (``bot.app.serve`` with its stop event, what SIGTERM sets) on both
databases, and as a real process sent SIGTERM during a real PostgreSQL outage."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bot.app import StartupError, build_env, serve
from bot.base.context import FixedClock
from bot.runtime.spool import Spool
from bot.transports.sim import SimTransport
from tests.faults.support import DatabaseFault, eventually, fault_settings, outage_lines
from tests.process_support import free_port
from tests.support import PG_URL, ROOT, START

pytestmark = pytest.mark.wall_clock  # a `distbot run` process, the simulator's world
GUESTS = [f"guest-{i}" for i in range(30)]
GRACE = 2.0  # in process
# A real process also winds Python down after the stop (0.3–1 s on 2 busy cores), which the
# last quarter of the grace (at most 2 s) is kept for.
PROCESS_GRACE = 4.0
FRIENDS = GUESTS[:10]


def drill_settings(tmp: Path):
    return fault_settings(
        ("stop_grace_seconds: 10", f"stop_grace_seconds: {GRACE}"),
        ("inbox_spool: distbot-inbox-{account}.jsonl", f"inbox_spool: {tmp}/inbox-{{account}}.jsonl"),
    )


def guests_befriended(transport: SimTransport) -> SimTransport:
    for guest in GUESTS:
        transport.world.add_contact(guest, f"访客{guest[6:]}")
        transport.world.befriend(guest)
    return transport


async def say(http: aiohttp.ClientSession, port: int, sender: str, text: str) -> int:
    async with http.post(f"http://127.0.0.1:{port}/sim/messages", json={"from": sender, "text": text}) as response:
        return response.status


async def healthz(http: aiohttp.ClientSession, port: int) -> tuple[int, float]:
    started = time.monotonic()
    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, time.monotonic() - started


async def menus_received(http: aiohttp.ClientSession, port: int, guests: list[str] = GUESTS) -> Counter[str]:
    answered: Counter[str] = Counter()
    for guest in guests:
        async with http.get(f"http://127.0.0.1:{port}/sim/contacts/{guest}/messages") as response:
            body = await response.json()
        answered[guest] = sum("进入品牌专属推广群" in m["text"] for m in body["messages"])  # the menu
    return answered


@pytest.mark.parametrize("dialect", ["sqlite"])  # PostgreSQL: the real process below
async def test_stopping_during_an_outage_takes_at_most_the_grace_and_the_next_start_answers_every_dm(
    databases, dialect, tmp_path, caplog
):
    settings = drill_settings(tmp_path)
    url = await databases.new(dialect)
    journal = tmp_path / "world.jsonl"
    port = free_port()
    services = build_env(settings=settings, database_url=url, clock=FixedClock(START))
    stop = asyncio.Event()
    transport = guests_befriended(SimTransport.from_settings(settings, journal))
    running = asyncio.create_task(serve(services, "127.0.0.1", port, stop, transport))
    fault = DatabaseFault(services)
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _up(http, port), 30, "the bot answering /healthz")
            await fault.begin()
            statuses = [await say(http, port, guest, "帮助") for guest in GUESTS]
            await eventually(lambda: _spooled(tmp_path, len(GUESTS)), 10, "every DM in the spool")
            probe = await healthz(http, port)
        started = time.monotonic()
        stop.set()  # what SIGTERM does
        await asyncio.wait_for(running, 30)
        stopped = time.monotonic() - started
    finally:
        await fault.end()
        if not running.done():
            running.cancel()
    assert statuses == [202] * len(GUESTS)  # the transport took every one
    assert probe[0] == 503 and probe[1] < 1.0
    assert stopped < GRACE
    assert f"chat: stopping with {len(GUESTS)} message(s) not committed: kept in" in caplog.text

    # The next start: same database, same spool, same simulated world.
    services = build_env(settings=settings, database_url=url, clock=FixedClock(START))
    stop = asyncio.Event()
    transport = SimTransport.from_settings(settings, journal)
    running = asyncio.create_task(serve(services, "127.0.0.1", port, stop, transport))
    try:
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _up(http, port), 30, "the bot answering again")
            await eventually(lambda: _all_answered(http, port), 20, "every DM answered")
            answered = await menus_received(http, port)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await databases.drop(url)
    assert answered == Counter({guest: 1 for guest in GUESTS})
    assert outage_lines(caplog)[0] == 1
    print(f"{dialect}: stop during the outage took {stopped:.2f} s (grace {GRACE} s); probe {probe[1] * 1000:.0f} ms")


async def _up(http: aiohttp.ClientSession, port: int) -> bool:
    try:
        return (await healthz(http, port))[0] == 200
    except aiohttp.ClientError:
        return False


async def _spooled(tmp: Path, count: int) -> bool:
    path = tmp / "inbox-helper.jsonl"
    return path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= count


async def _all_answered(http: aiohttp.ClientSession, port: int, guests: list[str] = GUESTS) -> bool:
    return all(n >= 1 for n in (await menus_received(http, port, guests)).values())


@pytest.mark.skipif(not PG_URL, reason="a real outage needs PostgreSQL (DISTBOT_TEST_DATABASE_URL)")
@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
async def test_sigterm_to_distbot_run_during_a_real_postgresql_outage_exits_within_the_grace_and_loses_no_dm(
    databases, tmp_path
):
    url = await databases.new("postgresql")
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("sim_journal: sim-world.jsonl", f"sim_journal: {tmp_path / 'world.jsonl'}"),
        ("stop_grace_seconds: 10", f"stop_grace_seconds: {PROCESS_GRACE}"),
        ("retry_max_seconds: 5", "retry_max_seconds: 0.3"),
    ):
        text = text.replace(old, new)
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    log = tmp_path / "bot.log"
    fault = DatabaseFault(build_env(settings=fault_settings(), database_url=url))

    async with aiohttp.ClientSession() as http:
        port = free_port()
        bot = _start(config, url, port, log)
        try:
            await eventually(lambda: _up(http, port), 60, "distbot run answering /healthz")
            for guest in FRIENDS:  # new people asking to be friends: accepted through the outbox
                await http.post(f"http://127.0.0.1:{port}/sim/friendships", json={"from": guest, "hello": "想做分销"})
            await eventually(lambda: _friends(http, port, FRIENDS), 30, "every guest a friend")
            await fault.begin()
            statuses = [await say(http, port, guest, "帮助") for guest in FRIENDS]
            probes = [await healthz(http, port) for _ in range(3)]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            bot.send_signal(signal.SIGTERM)
            await asyncio.to_thread(bot.wait, 30)
            stopped = time.monotonic() - started
        finally:
            if bot.poll() is None:
                bot.kill()
            await fault.end()
        first_run = log.read_text(encoding="utf-8")

        port = free_port()
        bot = _start(config, url, port, log)
        try:
            await eventually(lambda: _up(http, port), 60, "distbot run answering again")
            await eventually(lambda: _all_answered(http, port, FRIENDS), 30, "every DM answered")
            answered = await menus_received(http, port, FRIENDS)
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.to_thread(bot.wait, 30)
    await fault.services.db.dispose()

    assert statuses == [202] * len(FRIENDS)
    assert {status for status, _ in probes} == {503} and max(s for _, s in probes) < 1.0
    assert bot.returncode == 0
    assert stopped < PROCESS_GRACE, first_run[-2000:]
    assert first_run.count("database unreachable") == 1, first_run[-3000:]
    assert f"chat: stopping with {len(FRIENDS)} message(s) not committed: kept in" in first_run
    assert answered == Counter({guest: 1 for guest in FRIENDS})
    print(f"SIGTERM during the outage: exited in {stopped:.2f} s (grace {PROCESS_GRACE} s)")


def _start(config: Path, url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTBOT_")}
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--port", str(port)],
            cwd=config.parent,
            env={**env, "PYTHONPATH": str(ROOT), "DISTBOT_DATABASE_URL": url},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _friends(http: aiohttp.ClientSession, port: int, guests: list[str]) -> bool:
    async with http.get(f"http://127.0.0.1:{port}/sim/contacts") as response:
        people = {c["id"]: c["friend"] for c in (await response.json())["contacts"]}
    return all(people.get(guest) for guest in guests)


@pytest.mark.parametrize("dialect", ["sqlite"])
async def test_a_second_process_on_the_same_inbox_spool_is_refused_at_start_with_what_to_change(
    databases, dialect, tmp_path
):
    settings = drill_settings(tmp_path)
    url = await databases.new(dialect)
    held = Spool(tmp_path / "inbox-helper.jsonl")
    held.open()  # another process has it
    services = build_env(settings=settings, database_url=url, clock=FixedClock(START))
    transport = SimTransport.from_settings(settings, tmp_path / "world.jsonl")
    try:
        with pytest.raises(StartupError, match=r"in use by another process.*\(runtime\.inbox_spool\)"):
            await serve(services, "127.0.0.1", free_port(), asyncio.Event(), transport)
    finally:
        held.close()
        transport.world.close()
        await services.db.dispose()

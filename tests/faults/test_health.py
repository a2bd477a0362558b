"""Health that says the truth: /healthz names each part and answers 503 when the process
cannot do its job (database out or hanging, transport gone for longer than its grace, a
long-lived task ended, stopping); /readyz answers for a load balancer; the console overview
shows ops the same; a webhook during an outage gets 503 and writes nothing."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.base.transport import TransportStatus
from tests.console_support import log_in, make_account
from tests.fakes import FakeTransport
from tests.faults.support import Bot, DatabaseFault, dm, eventually, hanging, health_client, outage_lines
from tests.support import order_event, post_event

FAULT_DRILL = True  # `services` with short waits: tests/faults/conftest.py

SQLITE_ONLY = pytest.mark.parametrize("dialect", ["sqlite"])  # nothing here depends on the database


@dataclass
class Reconnecting(FakeTransport):
    """A transport whose connection state the test sets."""

    up: bool = True
    since: datetime | None = None

    def status(self) -> TransportStatus:
        return TransportStatus(self.name, self.account, self.up, connected=self.up, since=self.since)


async def healthz(client) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = await client.get("/healthz")
    return response.status, await response.json(), time.monotonic() - started


@SQLITE_ONLY
async def test_healthz_names_each_part_and_answers_200_when_all_is_well(services):
    async with Bot(services) as bot:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start(paused=True)
        bot.health.scheduler = scheduler
        status, body, _ = await healthz(bot.client)
        scheduler.shutdown(wait=False)
    assert status == 200 and body["status"] == "ok" and body["failing"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "transport", "chat", "sender", "scheduler"}
    assert checks["database"]["ok"] and checks["database"]["answered_ms"] >= 0
    assert checks["transport"] | {"since": None} == {
        "ok": True, "name": "fake", "account": "helper", "connected": True, "logged_in": True, "since": None,
    }  # fmt: skip
    assert checks["sender"] | {"sent": 0} == {
        "ok": True, "running": True, "sent": 0, "queued": 0, "oldest_queued_seconds": 0.0, "sending": 0,
        "dead_letters": 0,
    }  # fmt: skip
    assert checks["chat"]["running"] and checks["chat"]["waiting_for_database"] == 0
    assert checks["scheduler"] == {"ok": True, "running": True, "jobs": 0, "waiting_for_database": {}}


@SQLITE_ONLY  # PostgreSQL: the probes of the chat drill
async def test_healthz_answers_503_naming_the_database_while_it_is_out_and_200_once_it_is_back(services, caplog):
    async with Bot(services) as bot:
        async with DatabaseFault(services) as fault:
            await bot.dispatcher.submit(dm("wx-lina", "帮助"))
            status, body, took = await healthz(bot.client)
            assert status == 503 and body["failing"] == ["database"], body
            assert body["checks"]["database"]["outage"]["reachable"] is False
            assert body["checks"]["chat"]["waiting_for_database"] == 1
            assert "queued" not in body["checks"]["sender"]  # not known while the database is out
            assert took < 1.0
            await fault.end()
        await eventually(lambda: _healthy(bot.client), 10, "healthy again")
        await eventually(lambda: _answered(bot), 10, "the DM answered")
    assert bot.answered() == ["wx-lina"]
    assert outage_lines(caplog) == (1, 1)


async def _healthy(client) -> bool:
    status, body, _ = await healthz(client)
    return status == 200 and "outage" not in body["checks"]["database"]


async def _answered(bot: Bot) -> bool:
    return bool(bot.transport.sent)


async def test_a_probe_answers_503_within_its_timeout_when_the_database_hangs(services):
    """SQLite: every statement waits forever. PostgreSQL: another session holds an exclusive
    lock on the outbox, so the probe's query waits on it."""
    async with Bot(services) as bot, hanging(services):
        answers = [await healthz(bot.client) for _ in range(2)]
    assert {status for status, _, _ in answers} == {503}
    assert all(body["checks"]["database"]["error"] == "no answer within 0.5 s" for _, body, _ in answers)
    assert max(took for _, _, took in answers) < 1.0


@SQLITE_ONLY
async def test_healthz_answers_503_when_the_transport_has_been_down_longer_than_its_grace(services):
    transport = Reconnecting(up=False, since=datetime.now(UTC) - timedelta(seconds=5))
    async with Bot(services, transport=transport) as bot:
        short, body_short, _ = await healthz(bot.client)  # reconnecting for 5 s: within the 60 s grace
        transport.since = datetime.now(UTC) - timedelta(minutes=10)
        long, body_long, _ = await healthz(bot.client)
        transport.up, transport.since = True, datetime.now(UTC)
        back, _, _ = await healthz(bot.client)
    assert (short, long, back) == (200, 503, 200)
    assert body_short["checks"]["transport"]["down_seconds"] == pytest.approx(5, abs=2)
    assert body_long["failing"] == ["transport"]
    assert body_long["checks"]["transport"]["connected"] is False


@SQLITE_ONLY
async def test_healthz_answers_503_when_a_long_lived_task_has_ended_or_the_process_is_stopping(services):
    async with Bot(services) as bot:
        await bot.sender.stop(grace=1)
        ended, body, _ = await healthz(bot.client)
        bot.health.stopping = True
        stopping, body_stopping, _ = await healthz(bot.client)
        ready = await bot.client.get("/readyz")
        reason = (await ready.json())["reason"]
    assert ended == 503 and body["failing"] == ["sender"]
    assert stopping == 503 and "stopping" in body_stopping["failing"]
    assert ready.status == 503 and reason == "stopping"


@SQLITE_ONLY
async def test_readyz_answers_200_while_the_database_answers_and_503_while_it_is_out(services):
    async with Bot(services) as bot:
        ready = await bot.client.get("/readyz")
        assert (ready.status, (await ready.json())["status"]) == (200, "ready")
        async with DatabaseFault(services):
            out = await bot.client.get("/readyz")
            body = await out.json()
    assert out.status == 503 and body["status"] == "not ready"
    assert body["reason"].startswith("the database cannot be reached:")


async def test_a_webhook_during_an_outage_gets_503_with_retry_after_and_writes_nothing(services, caplog):
    async with Bot(services) as bot:
        async with DatabaseFault(services):
            responses = [await post_event(bot.client, order_event(f"o-{i}", ref="DEMOC001")) for i in range(5)]
            raw = await bot.client.post("/webhooks/orders", data=b"{}", headers={"Content-Type": "application/json"})
        await asyncio.sleep(0)
        again = await post_event(bot.client, order_event("o-0", ref="DEMOC001"))
    assert {status for status, _ in responses} == {503}
    assert responses[0][1]["status"] == "unavailable"
    assert raw.status in (401, 422, 503)
    assert again[0] == 200 and again[1]["status"] == "accepted"  # nothing of o-0 was written before
    assert "unhandled error" not in caplog.text  # no stack trace per request: the outage is logged once
    assert outage_lines(caplog)[0] == 1


@SQLITE_ONLY
async def test_the_console_overview_shows_ops_what_healthz_says(services):
    await make_account(services, "xiaomei")
    async with Bot(services) as bot:
        await log_in(bot.client, "xiaomei")
        page = await (await bot.client.get("/console")).text()
        await bot.sender.stop(grace=1)
        after = await (await bot.client.get("/console")).text()
    assert 'data-runtime="status">正常' in page
    for part in ("database", "transport", "chat", "sender"):
        assert f'data-check="{part}"' in page
    assert "待发 0 条" in page and "失败 0 条" in page
    assert 'data-runtime="status">异常' in after and "已停止" in after


@SQLITE_ONLY
async def test_a_manager_sees_no_health_block(services):
    await make_account(services, "manager-xh", role="manager", brands=["xinghuo"])
    async with Bot(services) as bot:
        await log_in(bot.client, "manager-xh")
        page = await (await bot.client.get("/console")).text()
    assert "data-runtime" not in page and "今日支付订单" in page


async def test_the_simulator_says_connected_and_logged_in_since_it_started(tmp_path):
    from bot.transports.sim import SimTransport
    from tests.support import demo_settings

    transport = SimTransport.from_settings(demo_settings(), tmp_path / "world.jsonl")
    before = transport.status()
    started = datetime.now(UTC)

    async def sink(_event) -> None:
        return None

    await transport.start(sink)
    running = transport.status()
    await transport.stop()
    stopped = transport.status()
    assert (before.connected, before.logged_in, before.since) == (False, False, None)
    assert running.connected and running.logged_in and running.since >= started
    assert not stopped.connected and stopped.since >= running.since


@SQLITE_ONLY
async def test_health_client_of_a_bare_app_reports_the_database_and_the_outbox(services):
    from bot.runtime.health import Health

    client = await health_client(services, Health(services))
    try:
        status, body, _ = await healthz(client)
    finally:
        await client.close()
    assert status == 200 and set(body["checks"]) == {"database", "sender"}

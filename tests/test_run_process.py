"""`distbot run` as a user starts it: what it prints, what it logs, and its clock.

The process runs once for the module, on its own clock (``DISTBOT_CLOCK``) at 20:35 in
Shanghai — inside the daily material post's hours, so its catch-up at start posts — whatever
the hour of the machine running the test: a signed order and a private message go through it,
then it is stopped with SIGTERM and its output read."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.web.webhooks import sign
from tests.process_support import free_port, start_bot, write_config
from tests.support import SECRET, order_event

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"), pytest.mark.wall_clock]
CLOCK = datetime(2026, 11, 25, 12, 35, tzinfo=UTC)  # 20:35 in Shanghai


@dataclass
class Run:
    output: str
    order: dict[str, object]
    message: dict[str, object]
    database: Path


def _http(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _until(predicate, seconds: float) -> bool:
    """Waits for ``predicate``; the tests then assert what it waited for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("run")
    config, log, port = write_config(tmp), tmp / "bot.log", free_port()
    base = f"http://127.0.0.1:{port}"
    bot = start_bot(config, port, log, CLOCK)
    try:
        assert _until(lambda: "is running" in log.read_text(encoding="utf-8"), 60), log.read_text(encoding="utf-8")
        # Signed at the process's clock: the webhook accepts it only if the process reads its
        # time from DISTBOT_CLOCK (±300 s).
        body = json.dumps(order_event("o-run-1", ref="DEMOC001", event_id="e-run-1", at=CLOCK)).encode()
        timestamp = str(int(CLOCK.timestamp()))
        headers = {"Content-Type": "application/json", "X-Distbot-Timestamp": timestamp}
        headers["X-Distbot-Signature"] = sign(SECRET, timestamp, body)
        _, order = _http(f"{base}/webhooks/orders", body, headers)
        said = json.dumps({"from": "wx-lina", "text": "帮助"}).encode()
        _, posted = _http(f"{base}/sim/messages", said, {"Content-Type": "application/json"})
        database = tmp / "bot.db"
        _until(lambda: _rows(database, "select count(*) from outbox where template = 'menu'")[0][0] > 0, 20)
        _until(lambda: _rows(database, "select count(*) from outbox where template = 'material_post'")[0][0] > 0, 5)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
    yield Run(log.read_text(encoding="utf-8"), order, posted["message"], database)


def test_the_start_banner_lists_the_console_with_the_command_that_creates_its_first_account(run):
    banner = run.output[run.output.index("is running") :].splitlines()

    [console] = [line for line in banner if "ops console" in line]
    assert console.strip().startswith("ops console: http://127.0.0.1:") and console.endswith("/console")
    [hint] = [line for line in banner if "no console account yet" in line]
    assert "users add NAME --role ops --config " in hint
    assert any("/sim" in line for line in banner) and any("/webhooks/orders" in line for line in banner)


def test_the_process_runs_on_the_clock_distbot_clock_sets(run):
    assert run.order["status"] == "accepted"  # signed at 20:35 Shanghai on 2026-11-25, within ±300 s
    assert str(run.message["at"]).startswith("2026-11-25T12:35")  # the simulator's time is the bot's
    [(created,)] = _rows(run.database, "select created_at from outbox where template = 'material_post'")
    assert created.startswith("2026-11-25 12:35")  # the catch-up post at start, inside its hours


def test_the_log_has_one_line_per_order_and_per_message_batch_and_no_timer_lines(run):
    lines = run.output.splitlines()

    assert len([x for x in lines if "order o-run-1: paid event e-run-1 accepted (webhook)" in x]) == 1
    assert len([x for x in lines if f"handled 1 event(s) in one transaction: message {run.message['id']}" in x]) == 1
    assert not [x for x in lines if "apscheduler" in x or "Running job" in x or "executed successfully" in x]

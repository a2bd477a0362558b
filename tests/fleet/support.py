"""Three ``distbot run`` processes on one PostgreSQL database, each in its own folder (its own
simulator journals and inbox spool), all serving the helper accounts ``helper`` and ``helper2``."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bot.base.db import Database
from tests.process_support import free_port, start_bot, write_config

ACCOUNTS = ("helper", "helper2")
LEASE, HEARTBEAT = 4, 1  # takeover within 5 s (config defaults: 10 + 2)
BOUND = LEASE + HEARTBEAT
FAST = "sim_limits: {account_interval_seconds: 0.004, room_interval_seconds: 0, jitter_seconds: 0.002}"


def fleet_config(folder: Path, database_url: str, pace: float) -> Path:
    """config.yaml for one process of the fleet: the shared database, both accounts, short
    leases, and the simulator sending one message per ``pace`` seconds an account."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder)
    body = path.read_text(encoding="utf-8")
    for old, new in (
        (f"url: sqlite+aiosqlite:///{folder / 'bot.db'}", f"url: {database_url}"),
        (FAST, f"sim_limits: {{account_interval_seconds: {pace}, room_interval_seconds: 0, jitter_seconds: 0}}"),
        (
            "  accounts: []\n  lease_seconds: 10\n  heartbeat_seconds: 2",
            f"  accounts: [{', '.join(ACCOUNTS)}]\n  lease_seconds: {LEASE}\n  heartbeat_seconds: {HEARTBEAT}",
        ),
    ):
        assert body.count(old) == 1, old
        body = body.replace(old, new)
    path.write_text(body, encoding="utf-8")
    return path


@dataclass
class Member:
    """One process of the fleet."""

    folder: Path
    account: str  # its own helper account (the /sim page is that account's world)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "bot.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config: Path, clock: datetime) -> None:
        self.process = start_bot(
            config, self.port, self.log, clock, environment={"DISTBOT_HELPER_ACCOUNT": self.account}
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: nothing released, nothing finished."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def running(self) -> bool:
        return "is running" in self.output()

    def refs(self, account: str | None = None) -> list[str]:
        """Every outbox id this process's simulated worlds received (their journals survive a
        kill): the world of ``account`` only, or all."""
        found: list[str] = []
        if account is None:
            journals = sorted(self.folder.glob("world*.jsonl"))
        else:
            journals = [self.folder / ("world.jsonl" if account == self.account else f"world-{account}.jsonl")]
        for journal in (j for j in journals if j.exists()):
            for line in journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line torn by the kill
                if entry.get("ref"):
                    found += str(entry["ref"]).split(",")
        return found


def wait_until(predicate: object, seconds: float, what: str) -> float:
    """Poll ``predicate`` (a callable) until true; the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


async def holders(db: Database) -> dict[str, int]:
    """Each lease held now (not expired), by name → the holder's pid."""
    async with db.reading() as session:
        rows = (
            await session.execute(text("select name, holder from fleet_leases where expires_at > clock_timestamp()"))
        ).all()
    return {name: int(holder.split(":")[1]) for name, holder in rows}

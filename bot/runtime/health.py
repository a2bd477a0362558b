"""Whether this process can do its job, for a probe, a load balancer and the console.

``GET /healthz`` reports each part — the database, the transport, chat (the dispatcher, with
the events per kind and outcome and their handling time: ``bot.runtime.metrics``), the outbox
sender, the scheduler — and answers 503 when any of them stops the process from doing
its job: the database does not answer within ``runtime.health_timeout_seconds``, the transport
has been disconnected or logged out for longer than ``runtime.transport_grace_seconds``, a
long-lived task has ended, or the process is stopping. ``GET /readyz`` answers 200 only while
the process can take web traffic (webhooks, the ops API, the console): the database answers and
it is not stopping.

Cheap on purpose: one bounded query (the outbox figures, which is also the database check);
everything else is read from memory. A database that hangs makes the probe answer 503 after the
timeout, not hang.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from bot.base.env import Env
from bot.base.faults import Retrying, brief, doing
from bot.base.transport import Transport
from models.messaging import OutboxMessage
from models.statuses import OutboxStatus

# The outbox figures /healthz reports for the sender of this process's account.
FIGURES = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.DEAD)

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.runtime.dispatch import Dispatcher
    from bot.runtime.fleet import Fleet
    from bot.runtime.metrics import EventMetrics
    from bot.runtime.sender import OutboxSender


class Health:
    """The parts of a running process, registered by ``bot.app.serve`` as they start."""

    def __init__(self, env: Env, transport: Transport | None = None):
        self.env, self.transport = env, transport
        self.dispatcher: Dispatcher | None = None
        self.metrics: EventMetrics | None = None  # the pre-routing stage's event figures
        self.sender: OutboxSender | None = None
        self.scheduler: BaseScheduler | None = None
        self.fleet: Fleet | None = None
        self.jobs: list[Retrying] = []
        self.stopping = False
        self.started = datetime.now(UTC)

    @property
    def runtime(self) -> Any:
        return self.env.settings.raw.runtime

    async def report(self) -> dict[str, Any]:
        """``{"status": "ok" | "failing", "failing": [...], "checks": {...}}``."""
        database, outbox = await self._database()
        checks: dict[str, dict[str, Any]] = {"database": database}
        if self.transport is not None:
            checks["transport"] = self._transport()
        if self.dispatcher is not None:
            checks["chat"] = self._chat()
        if self.sender is not None or outbox is not None:
            checks["sender"] = self._sender(outbox)
        if self.scheduler is not None:
            checks["scheduler"] = self._scheduler()
        if self.fleet is not None:
            checks["fleet"] = {"ok": True, **self.fleet.state()}
        failing = [name for name, check in checks.items() if not check["ok"]]
        if self.stopping:
            failing.append("stopping")
        return {"status": "failing" if failing else "ok", "failing": failing, "checks": checks}

    async def ready(self) -> tuple[bool, str]:
        if self.stopping:
            return False, "stopping"
        started = time.monotonic()
        try:
            async with asyncio.timeout(float(self.runtime.health_timeout_seconds)):
                await self.env.db.ping()
        except TimeoutError:
            return False, f"the database did not answer within {self.runtime.health_timeout_seconds} s"
        except Exception as error:
            return False, f"the database cannot be reached: {brief(error)}"
        return True, f"database answered in {1000 * (time.monotonic() - started):.0f} ms"

    # -- the parts ----------------------------------------------------------------------------

    async def _database(self) -> tuple[dict[str, Any], dict[str, tuple[int, datetime | None]] | None]:
        """The database check, which also reads the outbox figures of this process's account."""
        account = self.sender.account if self.sender is not None else self.env.settings.helper_account
        timeout = float(self.runtime.health_timeout_seconds)
        outage = self.env.db.outage.report()
        seen = {"outage": outage} if not outage["reachable"] else {"last_outage": outage["last_outage"]}
        started = time.monotonic()
        doing.set("health check")
        try:
            async with asyncio.timeout(timeout), self.env.db.reading() as session:
                rows = (
                    await session.execute(
                        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.not_before))
                        .where(OutboxMessage.account == account, OutboxMessage.status.in_(FIGURES))
                        .group_by(OutboxMessage.status)
                    )
                ).all()
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {timeout} s", **seen}, None
        except Exception as error:
            return {"ok": False, "error": brief(error), **seen}, None
        check = {"ok": True, "answered_ms": round(1000 * (time.monotonic() - started), 1), **seen}
        return check, {status: (int(count), oldest) for status, count, oldest in rows}

    def _transport(self) -> dict[str, Any]:
        assert self.transport is not None
        status = self.transport.status()
        up = status.connected and status.logged_in
        since = status.since or self.started
        check: dict[str, Any] = {
            "ok": True,
            "name": status.name,
            "account": status.account,
            "connected": status.connected,
            "logged_in": status.logged_in,
            "since": status.since,
        }
        if not up:
            down = (datetime.now(UTC) - since).total_seconds()
            check["down_seconds"] = round(down, 1)
            check["ok"] = down < float(self.runtime.transport_grace_seconds)
        for key in ("reconnects", "last_error", "scan"):
            if status.detail.get(key):
                check[key] = status.detail[key]
        return check

    def _chat(self) -> dict[str, Any]:
        assert self.dispatcher is not None
        dispatcher = self.dispatcher
        check: dict[str, Any] = {
            "ok": dispatcher.running or self.stopping,
            "running": dispatcher.running,
            "handled": dispatcher.handled,
            "failed": dispatcher.failed,
            "in_progress": dispatcher.in_progress,
            "waiting_for_database": len(dispatcher.spool),
        }
        if dispatcher.waiting_since is not None:
            check["waiting_since"] = dispatcher.waiting_since
        if self.metrics is not None:
            check |= self.metrics.report()
        return check

    def _sender(self, outbox: dict[str, tuple[int, datetime | None]] | None) -> dict[str, Any]:
        running = self.sender.running if self.sender is not None else None
        check: dict[str, Any] = {"ok": running is not False or self.stopping, "running": running}
        if self.sender is not None:
            check["sent"] = self.sender.sent
        if outbox is not None:
            queued, oldest = outbox.get(OutboxStatus.QUEUED, (0, None))
            now = self.env.clock.now()
            waited = max(timedelta(0), now - oldest) if oldest is not None else timedelta(0)
            check |= {
                "queued": queued,
                "oldest_queued_seconds": round(waited.total_seconds(), 1),
                "sending": outbox.get(OutboxStatus.SENDING, (0, None))[0],
                "dead_letters": outbox.get(OutboxStatus.DEAD, (0, None))[0],
            }
        return check

    def _scheduler(self) -> dict[str, Any]:
        assert self.scheduler is not None
        waiting = {job.name: job.failing_since for job in self.jobs if job.failing_since is not None}
        return {
            "ok": bool(self.scheduler.running) or self.stopping,
            "running": bool(self.scheduler.running),
            "jobs": len(self.scheduler.get_jobs()),
            "waiting_for_database": waiting,
        }


"""``GET /metrics``: the process's metrics for Prometheus (``bot.base.metrics``). Like the
health probes it needs no token. The outbox's gauges come from one bounded query at each
scrape (``runtime.health_timeout_seconds``): a database that does not answer leaves them as
they were and the rest is still served."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.base.metrics import CONTENT_TYPE, Metrics
from bot.web.keys import ENV, HEALTH
from models.fleet_queries import queues


async def metrics(request: web.Request) -> web.Response:
    env, health = request.app[ENV], request.app[HEALTH]
    seen = env.kept(Metrics)
    try:
        async with asyncio.timeout(float(env.settings.raw.runtime.health_timeout_seconds)), env.db.reading() as session:
            rows = await queues(session)
    except Exception:  # /healthz says what is wrong with the database
        rows = None
    if rows is not None:
        now = env.clock.now()
        for gauge in (seen.outbox_queued, seen.outbox_oldest, seen.outbox_dead):
            gauge.clear()  # an account with nothing left shows 0 below, not its last figure
        for account in {*env.settings.accounts, *(r.account for r in rows)}:
            row = next((r for r in rows if r.account == account), None)
            seen.outbox_queued.labels(account).set(row.queued if row else 0)
            seen.outbox_dead.labels(account).set(row.dead if row else 0)
            oldest = row.oldest_queued if row else None
            seen.outbox_oldest.labels(account).set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
    fleet = health.fleet
    if fleet is not None:
        state = fleet.state()
        seen.leader.set(1 if fleet.leading else 0)
        for name, lease in state["leases"].items():
            seen.lease_held.labels(name).set(1 if lease["held"] else 0)
            seen.lease_held_seconds.labels(name).set(lease["held_seconds"])
    return web.Response(body=seen.render(), headers={"Content-Type": CONTENT_TYPE})

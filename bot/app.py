"""The composition root: configuration, database, renderer and clock are built here once,
and ``distbot run`` starts the web server and the scheduler on them."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.catalog import seed_demo, sync_catalog
from bot.config import Settings, load_settings
from bot.context import Clock, SystemClock
from bot.db import Database
from bot.render import TEMPLATES, Renderer
from bot.services import Services
from bot.settlement import settle_pass
from bot.web import make_app

log = logging.getLogger(__name__)


def build_services(
    config: str | Path | None = None,
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    clock: Clock | None = None,
    templates: Path = TEMPLATES,
) -> Services:
    settings = settings or load_settings(config)
    db = Database(database_url or settings.raw.database.url or "")
    renderer = Renderer(templates, settings.raw.platform.timezone)
    return Services(settings=settings, db=db, renderer=renderer, clock=clock or SystemClock())


async def prepare(services: Services) -> None:
    """Migrate, bring the catalog in from the configuration, seed the demo if empty."""
    await services.db.upgrade()
    async with services.context() as ctx:
        await sync_catalog(ctx.session, services.settings)
        seeded = await seed_demo(ctx.session, services.settings, ctx.now)
    if seeded:
        log.info("seeded %d demo distributors", seeded)


async def serve(services: Services, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop``): web server, settlement schedule."""
    await prepare(services)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    runner = web.AppRunner(make_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()

    scheduler = AsyncIOScheduler(timezone="UTC")
    minutes = services.settings.raw.settlement.run_every_minutes
    scheduler.add_job(
        settle_pass,
        "interval",
        args=[services],
        minutes=minutes,
        id="settlement",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=services.clock.now(),
    )
    scheduler.start()
    print(f"distbot: {services.settings.raw.platform.name} listening on http://{host}:{port}", flush=True)
    print(f"  webhook: POST http://{host}:{port}/webhooks/orders   ops API: http://{host}:{port}/api/…", flush=True)
    print(f"  database: {services.db.engine.url.render_as_string(hide_password=True)}", flush=True)
    try:
        await stop.wait()
    finally:
        print("distbot: stopping", flush=True)
        scheduler.shutdown(wait=False)
        await runner.cleanup()
        await services.db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

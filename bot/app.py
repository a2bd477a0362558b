"""The composition root: the root object (configuration, database, renderer, clock), the
transport, the dispatcher with the chat routers, the outbox sender, the scheduler's jobs and the
web application (the API, the console's pages, the transport's own routes) are built here once,
and ``distbot run`` runs them until SIGINT/SIGTERM. The only module that imports transports: it
picks one from their registry (``bot.transports.registry``) and takes what the transport
contributes — its web routes, its sending pace, its start-up line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

import handlers
from bot.base.config import Settings, load_settings
from bot.base.context import Clock, process_clock
from bot.base.db import Database
from bot.base.env import Env
from bot.base.faults import Retrying
from bot.base.render import TEMPLATES, Renderer
from bot.base.startup import (
    StartupError,
    database_problem,
    database_url_problem,
    listen_problem,
    missing_sqlite_folder,
    refuse_demo_secrets,
)
from bot.base.transport import Transport
from bot.console import console_routes
from bot.runtime import group_tasks
from bot.runtime.dispatch import Dispatcher
from bot.runtime.health import Health
from bot.runtime.scheduler import register_colearning_jobs
from bot.runtime.sender import OutboxSender
from bot.runtime.spool import Spool, SpoolInUse
from bot.transports import registry
from bot.transports.sim_guard import is_loopback
from bot.web.app import make_app
from models.console import ConsoleUser
from services import material
from services.catalog import seed_demo, sync_catalog
from services.membership import sync_rooms_at_start
from services.settlement import settle_pass

__all__ = ["StartupError", "build_env", "prepare", "serve", "web_app"]
log = logging.getLogger(__name__)


def build_env(
    config: str | Path | None = None,
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    clock: Clock | None = None,
    templates: Path = TEMPLATES,
) -> Env:
    """Everything a command needs. Without ``clock``, the process clock: the system's, or the
    one ``DISTBOT_CLOCK`` sets (see :func:`bot.base.context.process_clock`). The file's
    ``transport.kind`` must name a registered transport."""
    settings = settings or load_settings(config, transport_kinds=registry.kinds())
    url = database_url or settings.raw.database.url or ""
    try:
        clock = clock or process_clock()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    try:
        db = Database(url)
    except Exception as exc:  # the URL itself: not a URL, a driver distbot does not have
        raise database_url_problem(exc, os.environ.get("DISTBOT_DATABASE_URL") or url) from None
    renderer = Renderer(templates, settings.raw.platform.timezone)
    return Env(settings=settings, db=db, renderer=renderer, clock=clock)


async def prepare(env: Env) -> None:
    """Migrate, bring the catalog in from the configuration, seed the demo if empty. A
    database that cannot be opened (not running, missing, a folder that does not exist) is a
    :class:`StartupError` saying which and what to change."""
    missing = missing_sqlite_folder(env.db.url)
    if missing is not None:
        await env.db.dispose()
        raise missing
    try:
        await env.db.upgrade()
    except Exception as exc:
        problem = database_problem(exc, env.db.url)
        if problem is None:
            raise
        await env.db.dispose()
        raise problem from None
    async with env.context() as ctx:
        await sync_catalog(ctx.session, env.settings)
        seeded = await seed_demo(ctx.session, env.settings, ctx.now)
    if seeded:
        log.info("seeded %d demo distributors", seeded)


def web_app(env: Env, transport: Transport | None = None, health: Health | None = None) -> web.Application:
    """The process's web application: the webhook, the ops API and health (``bot.web``), the
    console's pages, and the routes the transport contributes (the simulator's page and API)."""
    routes: list[Sequence[web.AbstractRouteDef]] = [console_routes()]
    if transport is not None:
        routes.append(transport.web_routes())  # type: ignore[arg-type]  # aiohttp route definitions
    return make_app(env, health or Health(env, transport), routes)


def transport_kind(env: Env) -> str:
    """``transport.kind`` in config.yaml, or DISTBOT_TRANSPORT: a registered kind, or a
    :class:`StartupError` naming the ones there are."""
    chosen = os.environ.get("DISTBOT_TRANSPORT")
    if chosen:
        return registry.find(chosen, source="DISTBOT_TRANSPORT").kind
    return registry.find(env.settings.raw.transport.kind, source=f"transport.kind in {env.settings.source}").kind


def exposure_refusal(kind: str, host: str, allow_remote_sim: bool) -> str | None:
    """Why the bot must not listen on ``host``: a transport that serves pages without a login
    (the simulator: whoever reaches it can act as any manager or ops) stays on loopback unless
    asked otherwise."""
    unguarded = registry.no_login(kind)
    if unguarded is None or allow_remote_sim or is_loopback(host):
        return None
    return (
        f"{unguarded} has no login: anyone who can reach {host} could act as any manager;"
        " listen on 127.0.0.1, or pass --allow-remote-sim on a network you trust"
    )


def make_transport(env: Env, base_url: str) -> Transport:
    """The configured transport (``transport.kind`` in config.yaml, or DISTBOT_TRANSPORT), built
    by its registered factory; ``base_url`` is where the web application answers."""
    setup = registry.Setup(env.settings, env.clock.now, base_url)
    return registry.find(transport_kind(env)).build(setup)


async def serve(
    env: Env,
    host: str,
    port: int,
    stop: asyncio.Event | None = None,
    transport: Transport | None = None,
    *,
    allow_remote_sim: bool = False,
) -> None:
    """Run until SIGINT/SIGTERM (or ``stop``). Stopping takes no new events, finishes the
    events already taken and the message being sent; queued messages stay in the outbox. It
    takes at most ``runtime.stop_grace_seconds`` whatever the database does: chat not committed
    by then stays in the inbox spool for the next start."""
    refused = exposure_refusal(transport.name if transport else transport_kind(env), host, allow_remote_sim)
    if refused is not None:
        raise StartupError(refused)
    refuse_demo_secrets(env.settings, host)
    await prepare(env)  # the database first: nothing else is opened if it cannot be
    try:
        transport = transport or make_transport(env, _base_url(host, port))
    except StartupError:
        await env.db.dispose()  # the process ends here: close what prepare() opened
        raise
    runtime = env.settings.raw.runtime
    spool = Spool(runtime.inbox_spool.format(account=env.settings.helper_account))
    dispatcher = Dispatcher(env, handlers.ROUTERS, transport, spool=spool)
    try:
        dispatcher.start()  # first: what an earlier run left in the spool is handled before anything new
    except SpoolInUse as exc:
        await env.db.dispose()
        raise StartupError(f"{exc} (runtime.inbox_spool)") from None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    limits = transport.rate_limits(env.settings.raw.outbox)
    sender = OutboxSender(env, transport, limits, account=env.settings.helper_account)
    env.committed = sender.wake.set
    health = Health(env, transport)

    grace = float(runtime.stop_grace_seconds)
    runner = web.AppRunner(web_app(env, transport, health), access_log=None, shutdown_timeout=grace / 4)
    await runner.setup()
    await transport.start(dispatcher.submit)
    # Rooms that had members before the bot looked, read before anyone can ask for a count.
    await sync_rooms_at_start(env, transport)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await transport.stop()
        await dispatcher.stop(grace=grace)
        await runner.cleanup()
        await env.db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        raise listen_problem(host, port, exc) from None
    sender.start()

    scheduler = AsyncIOScheduler(timezone="UTC")
    health.dispatcher, health.sender, health.scheduler = dispatcher, sender, scheduler
    schedule_jobs(env, scheduler, health)
    if transport.capabilities.group_posts_need_confirmation:
        schedule_group_tasks(env, scheduler, transport)
    scheduler.start()
    timer = await register_colearning_jobs(env, scheduler, transport)  # re-registered from our tables
    health.jobs += [timer.retrying_sync, timer.retrying_run]
    async with env.db.reading() as session:
        accounts = await session.scalar(select(func.count(ConsoleUser.id)))
    _announce(env, transport, host, port, console_accounts=int(accounts or 0))
    try:
        await stop.wait()
    finally:
        print("distbot: stopping (queued messages stay queued for the next start)", flush=True)
        health.stopping = True
        # What is left after the steps below is for the process to wind down (tasks, threads).
        began = loop.time()
        deadline = began + grace - min(2.0, grace / 4)

        def left() -> float:
            return max(0.0, deadline - loop.time())

        await _within(transport.stop(), left(), "the transport")
        await dispatcher.stop(grace=left() * 0.8)  # the sender's send in flight gets the rest
        await sender.stop(grace=left())
        scheduler.shutdown(wait=False)  # cancels jobs still running (a settlement batch rolls back)
        await _within(runner.cleanup(), left(), "the web server")
        await _within(env.db.dispose(), max(left(), 0.5), "closing database connections")
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("stopped in %.1f s (grace %g s)", loop.time() - began, grace)


def schedule_jobs(env: Env, scheduler: AsyncIOScheduler, health: Health) -> None:
    """The settlement pass and the material post, each kept alive through database outages."""
    cap = float(env.settings.raw.runtime.retry_max_seconds)

    def next_run(job_id: str) -> Callable[[], datetime | None]:
        return lambda: getattr(scheduler.get_job(job_id), "next_run_time", None)

    # APScheduler times its runs by the wall clock; "run once at start" is the wall clock's now
    # (a process on DISTBOT_CLOCK would otherwise see these runs as long missed and skip them).
    at_start = datetime.now(UTC)
    settle = Retrying("settlement", settle_pass, cap=cap, next_run=next_run("settlement"))
    health.jobs.append(settle)
    scheduler.add_job(
        settle.run,
        "interval",
        args=[env],
        minutes=env.settings.raw.settlement.run_every_minutes,
        id="settlement",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=at_start,
    )
    if (trigger := material.material_trigger(env.settings)) is not None:
        post = Retrying("material post", material.post_material, cap=cap, next_run=next_run(material.MATERIAL_JOB_ID))
        health.jobs.append(post)
        # Posts once a day (recorded in the same transaction as the post), so the run at start
        # is safe and catches up a post missed while the bot was down.
        scheduler.add_job(
            post.run,
            "cron",
            args=[env],
            id=material.MATERIAL_JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            next_run_time=at_start,
            **trigger,
        )


def schedule_group_tasks(env: Env, scheduler: AsyncIOScheduler, transport: Transport) -> None:
    """Proposed group posts followed every minute until sent, refused or expired."""
    rules = env.settings.raw.transport.wecom.group_messages
    remind_after = timedelta(minutes=rules.remind_after_minutes)
    expire_after = timedelta(hours=rules.expire_after_hours)

    async def follow_tasks() -> None:
        try:
            await group_tasks.follow(env, transport, remind_after=remind_after, expire_after=expire_after)
        except Exception as exc:  # the database away: the next minute tries again
            log.warning("following group tasks failed: %s", exc)

    scheduler.add_job(follow_tasks, "interval", minutes=1, id="group-tasks", replace_existing=True, max_instances=1,
                      coalesce=True)


async def _within(step: Awaitable[None], seconds: float, what: str) -> None:
    """One step of stopping, cut off when the grace period runs out."""
    try:
        async with asyncio.timeout(seconds):
            await step
    except TimeoutError:
        log.warning("stopping: %s did not finish within the grace period; going on without it", what)


def _base_url(host: str, port: int) -> str:
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def _announce(env: Env, transport: Transport, host: str, port: int, *, console_accounts: int) -> None:
    base = _base_url(host, port)
    lines = [f"distbot: {env.settings.raw.platform.name} is running", f"  {transport.banner(base)}"]
    lines.append(f"  ops console: {base}/console")
    if not console_accounts:
        command = f"{_own_command()} users add NAME --role ops"
        if Path(env.settings.source) != Path("config.yaml"):
            command += f" --config {env.settings.source}"
        lines.append(f"    no console account yet; create the first: {command}")
    lines.append(f"  order webhook: POST {base}/webhooks/orders   ops API: {base}/api/…")
    lines.append(f"  database: {env.db.engine.url.render_as_string(hide_password=True)}")
    print("\n".join(lines), flush=True)


def _own_command() -> str:
    """How this shell would run distbot again: ``.venv/bin/distbot`` when started from there."""
    script = Path(sys.argv[0])
    if script.name != "distbot":
        return "distbot"
    try:
        relative = script.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(script)
    return str(relative) if relative.parent != Path(".") else f"./{relative}"

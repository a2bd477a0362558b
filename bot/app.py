"""The composition root: the root object (configuration, database, renderer, clock), the
transport, the dispatcher with the chat routers and its pre-routing stage (the middlewares,
registered here in order: the event figures, the answer limits), the outbox sender, the scheduler's jobs and the
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

import handlers
from bot.base.config import Settings, load_settings
from bot.base.context import Clock, process_clock
from bot.base.db import Database
from bot.base.env import Env
from bot.base.faults import Retrying
from bot.base.heap import settle, unsettle
from bot.base.metrics import Metrics
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
from bot.runtime.fleet import LEADER, Fleet, OncePerPeriod
from bot.runtime.health import Health
from bot.runtime.metrics import EventMetrics, MetricsHook
from bot.runtime.middleware import AnswerLimiter, Middleware
from bot.runtime.moderation import Moderator
from bot.runtime.scheduler import refresh_sources, register_colearning_jobs
from bot.runtime.sender import OutboxSender
from bot.runtime.spool import Spool, SpoolInUse
from bot.transports import registry
from bot.transports.sim_guard import is_loopback
from bot.web.app import make_app
from models.console import ConsoleUser
from services import material
from services.catalog import seed_demo, sync_catalog
from services.colearning import ColearningChanged
from services.membership import sync_rooms_at_start
from services.order_batch import OrderBatcher
from services.outbox import prune_sent
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
    env = Env(settings=settings, db=db, renderer=renderer, clock=clock)
    # A co-learning change committed in this process reaches the relay filter at once (and the
    # timer, where ``serve`` runs one: ``register_colearning_jobs``).
    env.react(ColearningChanged, lambda _: refresh_sources(env))
    # The process's one batcher of concurrent order events (the webhook submits to it).
    orders = settings.raw.orders
    env.keep(OrderBatcher(env, orders.batch_max, float(orders.batch_window_ms) / 1000))
    return env


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
        await env.db.one_at_a_time(ctx.session)  # several processes starting together
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


def make_transport(env: Env, base_url: str, account: str | None = None) -> Transport:
    """The configured transport (``transport.kind`` in config.yaml, or DISTBOT_TRANSPORT), built
    by its registered factory; ``base_url`` is where the web application answers; ``account``:
    the helper account it connects as (default: the process's own)."""
    setup = registry.Setup(env.settings, env.clock.now, base_url, account, db=env.db)
    return registry.find(transport_kind(env)).build(setup)


@dataclass
class Served:
    """One helper account this process serves: its connection, its chat, its sender."""

    transport: Transport
    dispatcher: Dispatcher
    sender: OutboxSender


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
    accounts = env.settings.accounts  # the process's own first
    try:
        transport = transport or make_transport(env, _base_url(host, port))
        transports = [transport, *(make_transport(env, _base_url(host, port), a) for a in accounts[1:])]
    except StartupError:
        await env.db.dispose()  # the process ends here: close what prepare() opened
        raise
    runtime = env.settings.raw.runtime
    fleet = Fleet(env, accounts)
    metrics = EventMetrics()  # this process's event figures, read by /healthz and the console
    served: list[Served] = []
    for account, link in zip(accounts, transports, strict=True):
        spool = Spool(runtime.inbox_spool.format(account=account))
        dispatcher = Dispatcher(env, handlers.ROUTERS, link, middlewares=middlewares(env, metrics), spool=spool)
        try:
            dispatcher.start()  # first: what an earlier run left in the spool is handled before anything new
        except SpoolInUse as exc:
            for earlier in served:
                await earlier.dispatcher.stop(grace=0)
            await env.db.dispose()
            raise StartupError(f"{exc} (runtime.inbox_spool)") from None
        limits = link.rate_limits(env.settings.raw.outbox)
        sender = OutboxSender(env, link, limits, account=account, ownership=fleet.ownership(account))
        served.append(Served(link, dispatcher, sender))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def wake_senders() -> None:
        for each in served:
            each.sender.wake.set()

    env.committed = wake_senders
    health = Health(env, transport)
    health.metrics = metrics
    health.fleet = fleet

    grace = float(runtime.stop_grace_seconds)
    runner = web.AppRunner(web_app(env, transport, health), access_log=None, shutdown_timeout=grace / 4)
    await runner.setup()
    for each in served:
        await each.transport.start(each.dispatcher.submit)
    # Rooms that had members before the bot looked, read before anyone can ask for a count.
    await sync_rooms_at_start(env, transport)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        for each in served:
            await each.transport.stop()
            await each.dispatcher.stop(grace=grace)
        await runner.cleanup()
        await env.db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        raise listen_problem(host, port, exc) from None
    await _first_beat(fleet)
    fleet.start()
    for each in served:
        each.sender.start()

    scheduler = AsyncIOScheduler(timezone="UTC")
    health.dispatcher, health.sender, health.scheduler = served[0].dispatcher, served[0].sender, scheduler
    schedule_jobs(env, scheduler, health, fleet)
    scheduler.add_listener(_lag_recorder(env.kept(Metrics)), EVENT_JOB_SUBMITTED)
    if transport.capabilities.group_posts_need_confirmation:
        schedule_group_tasks(env, scheduler, transport)
    scheduler.start()
    timer = await register_colearning_jobs(env, scheduler, transport, leading=lambda: fleet.leading)
    health.jobs += [timer.retrying_sync, timer.retrying_run]
    fleet.on_gain(LEADER, lambda: _lead(scheduler, timer.sync))
    async with env.db.reading() as session:
        users = await session.scalar(select(func.count(ConsoleUser.id)))
    frozen = settle()  # start-up is over: full collections walk only what comes after
    log.debug("start-up left %d objects, frozen out of the garbage collector's walks", frozen)
    _announce(env, transport, host, port, console_accounts=int(users or 0))
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

        for each in served:
            await _within(each.transport.stop(), left(), "the transport")
        for each in served:
            await each.dispatcher.stop(grace=left() * 0.8)  # the sender's send in flight gets the rest
        for each in served:
            await each.sender.stop(grace=left())
        scheduler.shutdown(wait=False)  # cancels jobs still running (a settlement batch rolls back)
        await fleet.stop(grace=max(left(), 0.5))  # leases released: the others take over at once
        await _within(runner.cleanup(), left(), "the web server")
        await _within(env.db.dispose(), max(left(), 0.5), "closing database connections")
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        unsettle()
        log.info("stopped in %.1f s (grace %g s)", loop.time() - began, grace)


def middlewares(env: Env, metrics: EventMetrics) -> list[Middleware]:
    """The pre-routing stage, in the order events pass it: the figures first (so they see and
    time what any later middleware stops), then the answer limits (so whatever comes after
    them answers within the limits), then group moderation (its warnings within the limits; an
    offence stops the message before routing)."""
    return [MetricsHook(metrics), AnswerLimiter.for_env(env), Moderator(env)]


def _lag_recorder(metrics: Metrics) -> Callable[[JobSubmissionEvent], None]:
    """How late each job starts (the co-learning moments as one job: their ids are per session)."""

    def record(event: JobSubmissionEvent) -> None:
        if event.scheduled_run_times:
            job = (
                "colearning"
                if event.job_id.startswith("colearning:") and event.job_id != "colearning:sync"
                else event.job_id
            )
            lag = (datetime.now(UTC) - event.scheduled_run_times[-1]).total_seconds()
            metrics.scheduler_lag.labels(job).set(max(0.0, lag))

    return record


async def _first_beat(fleet: Fleet) -> None:
    """Take what leases are free before anything starts, so a lone process leads at once."""
    try:
        await fleet.beat()
    except Exception as error:
        log.warning("fleet: no lease taken at start (%s); trying again at the heartbeat", type(error).__name__)


async def _lead(scheduler: AsyncIOScheduler, sync: Callable[[], Awaitable[None]]) -> None:
    """This process has just taken the lead: the singleton jobs run now rather than at their
    next time here (the settlement pass only if its period is over), and the co-learning moments
    the previous leader did not send are set again."""
    now = datetime.now(UTC)
    for job_id in ("settlement", material.MATERIAL_JOB_ID):
        if scheduler.get_job(job_id) is not None:
            scheduler.modify_job(job_id, next_run_time=now)
    await sync()


def schedule_jobs(env: Env, scheduler: AsyncIOScheduler, health: Health, fleet: Fleet | None = None) -> None:
    """The settlement pass, the outbox's pruning of sent rows and the material post, each kept
    alive through database outages; with a ``fleet``, run by its leader only, the settlement pass
    at most once a period fleet-wide."""
    cap = float(env.settings.raw.runtime.retry_max_seconds)
    period = 60 * env.settings.raw.settlement.run_every_minutes
    settle_job: Callable[..., Awaitable[object]] = settle_pass
    post_job: Callable[..., Awaitable[object]] = material.post_material
    prune_job: Callable[..., Awaitable[object]] = prune_sent
    if fleet is not None:
        prune_job = fleet.leader_only(prune_sent, "outbox pruning")
        settle_job = fleet.leader_only(OncePerPeriod(fleet, "settlement", period, settle_pass), "settlement pass")
        post_job = fleet.leader_only(material.post_material, "material post")

    def next_run(job_id: str) -> Callable[[], datetime | None]:
        return lambda: getattr(scheduler.get_job(job_id), "next_run_time", None)

    # APScheduler times its runs by the wall clock; "run once at start" is the wall clock's now
    # (a process on DISTBOT_CLOCK would otherwise see these runs as long missed and skip them).
    at_start = datetime.now(UTC)
    settle = Retrying("settlement", settle_job, cap=cap, next_run=next_run("settlement"))
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
    prune = Retrying("outbox pruning", prune_job, cap=cap, next_run=next_run("outbox-prune"))
    health.jobs.append(prune)
    scheduler.add_job(
        prune.run,
        "interval",
        args=[env],
        minutes=env.settings.raw.outbox.prune_every_minutes,
        id="outbox-prune",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=at_start,
    )
    if (trigger := material.material_trigger(env.settings)) is not None:
        post = Retrying("material post", post_job, cap=cap, next_run=next_run(material.MATERIAL_JOB_ID))
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

"""``distbot whatif``: replay the real orders under other commission plans, read-only.

The shell around :mod:`core.whatif`: it reads the distributors and the order events (the
``order_events`` table, or a CSV file in the order-file format of :mod:`services.order_file`) from a
database opened read-only — SQLite with ``mode=ro``, PostgreSQL with
``default_transaction_read_only`` — resolves the plans, runs the pure replay with a progress
bar, and hands the result to :mod:`bot.cli.whatif_report` (table, JSON) and :mod:`bot.cli.whatif_chart`.

Plans by name, looked up in this order: ``--plans-file`` (a YAML mapping name → plan), the
configuration (``configured`` and every name under ``plans:``), then the ``team`` and
``sales`` presets. Every plan passes :func:`core.plan.build_plan`, as check-config does: a
plan paying a third level is refused with the same message, and the command exits 1.

Levels at the start of the replay (the start is ``--from``, else the first event): a
distributor who joined after it starts at the entry level; everyone else at their current
level, the only one the database keeps.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Connection, Select, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from tqdm import tqdm

from bot.base.config import ConfigError, Settings
from bot.base.db import database_url
from bot.base.yamlfile import line_index, load_yaml
from core.money import FEN, to_decimal
from core.plan import CommissionPlan, build_plan
from core.problems import ConfigProblems, Problem
from core.products import EventType
from core.whatif import Event, Member, Replay, Terms, replay, starting_level
from models.orders import OrderEvent
from models.people import Distributor
from models.statuses import DistributorStatus
from services.errors import Conflict, Invalid, NotFound, Unavailable
from services.order_file import event_of as csv_event_of
from services.order_file import read_events

PRESETS = ("team", "sales")
PROGRESS_FROM = 10_000  # events: shorter replays take well under a second, no bar
STREAM_ROWS = 5_000  # events fetched from the database at a time
T = TypeVar("T")


@dataclass
class EventSpan:
    """How many events a replay read and the first and last one's time, filled in as a stream
    goes by (the stream itself is never kept)."""

    count: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def track(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if self.first is None:
                self.first = event.at
            self.last = event.at
            self.count += 1
            yield event

    @classmethod
    def of(cls, events: Sequence[Event]) -> EventSpan:
        return cls(len(events), events[0].at, events[-1].at) if events else cls()


@dataclass(frozen=True)
class Inputs:
    members: list[Member]
    events: Iterable[Event]  # a list (CSV), or a stream from the database, read once
    expected: int  # how many events (for the progress bar)
    span: EventSpan
    people: dict[str, tuple[str, str]]  # member id → (code, name)
    current: dict[str, str]  # member id → level in the database
    level_since: dict[str, datetime]  # member id → when they reached it
    rejected: list[tuple[int, str]]  # CSV lines left out, with why
    source: str
    unique_ids: bool = False  # the events come from a table keyed by their id


# --- plans --------------------------------------------------------------------------------------


def plans_from_file(path: Path, levels: Sequence[str]) -> dict[str, CommissionPlan]:
    """Every plan of a YAML file ``name: {model, table, partner_share}``, each checked by
    :func:`build_plan`; any problem raises :class:`ConfigError` with its line."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [Problem("(file)", f"cannot read: {exc.strerror or exc}")]) from None
    lines = line_index(text)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            source, [Problem("(yaml)", f"not valid YAML: {exc}")], {"(yaml)": mark.line + 1} if mark else {}
        ) from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(source, [Problem("(top)", "the file must map each plan's name to the plan")])
    plans: dict[str, CommissionPlan] = {}
    problems: list[Problem] = []
    for name, raw in data.items():
        try:
            plans[str(name)] = build_plan(raw, levels, where=str(name), name=str(name))
        except ConfigProblems as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(source, problems, lines)
    return plans


def resolve_plans(settings: Settings, names: Sequence[str], plans_file: Path | None) -> list[CommissionPlan]:
    """The plans to compare, the first being the one the others are compared with. No names:
    every plan of the file, else every plan of the configuration."""
    levels = settings.level_codes
    from_file = plans_from_file(plans_file, levels) if plans_file else {}
    if not names:
        names = list(from_file) or list(settings.plans)
    plans = []
    for name in names:
        if name in from_file:
            plans.append(from_file[name])
        elif name in settings.plans:
            plans.append(settings.plans[name])
        elif name in PRESETS:
            plans.append(build_plan({"model": name}, levels, where=name, name=name))
        else:
            known = sorted({*from_file, *settings.plans, *PRESETS})
            raise Invalid(f"no plan named {name!r}; known plans: {', '.join(known)}")
    if len({plan.name for plan in plans}) != len(plans):
        raise Invalid("a plan is named twice; give each plan once")
    return plans


# --- the window -----------------------------------------------------------------------------------


def window(first: str | None, last: str | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` (dates in the platform's timezone, both days included) as the
    replay's [start, until)."""
    start = _day(first, "--from", zone) if first else None
    until = _day(last, "--to", zone) + timedelta(days=1) if last else None
    if start is not None and until is not None and until <= start:
        raise Invalid(f"--to {last} is before --from {first}")
    return start, until


def _day(text: str, option: str, zone: ZoneInfo) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time(0), zone)
    except ValueError:
        raise Invalid(f"{option} must be a date like 2026-11-01, not {text!r}") from None


# --- reading, read-only ---------------------------------------------------------------------------


@asynccontextmanager
async def read_only(configured_url: str | None) -> AsyncIterator[AsyncConnection]:
    """A connection that cannot write: SQLite opened with ``mode=ro`` (a missing file is an
    error, never created), PostgreSQL with every transaction read-only."""
    url = make_url(database_url(configured_url))
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or url.database == ":memory:" or not path.is_file():
            raise NotFound(f"no database at {url.database or '(none)'}; nothing to replay")
        url = url.set(database=f"file:{path.resolve()}", query={"mode": "ro", "uri": "true"})
    else:
        options["connect_args"] = {"server_settings": {"default_transaction_read_only": "on"}}
    engine = create_async_engine(url, **options)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def gather_inputs(
    settings: Settings,
    orders: Path | None,
    start: datetime | None,
    until: datetime | None,
    use: Callable[[Inputs, datetime | None], T],
) -> T:
    """Distributors and events, and the start the levels are taken at, handed to ``use`` (the
    replay) while the database is open: events of the ``order_events`` table are streamed to
    it in replay order (a server-side cursor, 5,000 rows at a time), never held in a list. A CSV
    file is read whole and sorted, as before."""
    rejected: list[tuple[int, str]] = []
    csv: list[Event] = []
    if orders is not None:
        csv, rejected = _csv_events(orders)
        csv.sort(key=lambda e: e.at)
        if until is not None:
            csv = [e for e in csv if e.at < until]
    try:
        async with read_only(settings.raw.database.url) as connection:
            rows = (await connection.execute(select(*_MEMBER_COLUMNS).order_by(Distributor.id))).all()
            if orders is not None:
                first_at = start or (csv[0].at if csv else None)
                inputs = _inputs(settings, rows, csv, len(csv), EventSpan.of(csv), rejected, str(orders), first_at)
                return use(inputs, first_at)
            where = [OrderEvent.occurred_at < until] if until is not None else []
            expected, earliest = (
                await connection.execute(select(func.count(), func.min(OrderEvent.occurred_at)).where(*where))
            ).one()
            first_at = start or earliest
            span = EventSpan()

            def streamed(sync: Connection) -> T:
                # Closed however the replay ends, so that the rows' cursor goes at once.
                with closing(_database_events(sync, until)) as stream:
                    events = span.track(stream)
                    return use(
                        _inputs(settings, rows, events, expected, span, rejected, "order_events", first_at), first_at
                    )

            return await connection.run_sync(streamed)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise Unavailable(f"cannot read the database ({first}); is it migrated (distbot db upgrade)?") from None
    except OSError as exc:  # e.g. PostgreSQL not listening
        raise Unavailable(f"cannot reach the database: {exc.strerror or exc}") from None


def _inputs(
    settings: Settings,
    rows: Sequence[Any],
    events: Iterable[Event],
    expected: int,
    span: EventSpan,
    rejected: list[tuple[int, str]],
    source: str,
    first_at: datetime | None,
) -> Inputs:
    levels = settings.level_codes
    members, people, current, since = [], {}, {}, {}
    for id_, code, name, level, recruiter, buyer, status, joined, level_since in rows:
        if level not in levels:
            raise Conflict(f"distributor {code} has level {level!r}, which the configuration does not know")
        key = str(id_)
        people[key], current[key], since[key] = (code, name), level, level_since
        members.append(
            Member(
                id=key,
                code=code,
                level=starting_level(level, joined, first_at, levels),
                recruiter=str(recruiter) if recruiter is not None else None,
                buyer_id=buyer,
                joined_at=joined,
                active=status == DistributorStatus.ACTIVE,
                name=name,
            )
        )
    unique = source == "order_events"  # its primary key is the event id
    return Inputs(members, events, expected, span, people, current, since, rejected, source, unique)


_MEMBER_COLUMNS = (
    Distributor.id,
    Distributor.code,
    Distributor.name,
    Distributor.level,
    Distributor.recruiter_id,
    Distributor.buyer_id,
    Distributor.status,
    Distributor.joined_at,
    Distributor.level_since,
)


def _database_events(connection: Connection, until: datetime | None) -> Generator[Event, None, None]:
    """The events in replay order, streamed: only the columns the replay reads (the payload's
    fields the pipeline stores beside it, never the payload itself), as the driver returns
    them, and the strings and amounts many events share (skus, codes, buyers, prices) kept
    once."""
    # SQLite keeps a timestamp as UTC text: it is parsed by datetime.fromisoformat (C), with
    # the offset appended, so that it comes out aware in that one call (a .replace() after it
    # costs 4×). PostgreSQL's driver returns it aware already.
    text_times = connection.dialect.name == "sqlite"
    query = select(
        OrderEvent.event_id,
        OrderEvent.type,
        OrderEvent.order_id,
        OrderEvent.occurred_at,
        OrderEvent.course_sku,
        OrderEvent.quantity,
        OrderEvent.amount,
        OrderEvent.buyer_id,
        OrderEvent.ref,
    )
    if until is not None:
        query = query.where(OrderEvent.occurred_at < until)
    query = query.order_by(OrderEvent.occurred_at, OrderEvent.received_at, OrderEvent.event_id)
    types = {t.value: t for t in EventType}
    shared: dict[str, str] = {}
    amounts: dict[int | None, Decimal] = {None: to_decimal("0")}
    for rows in _driver_rows(connection, query):
        for event_id, type_, order_id, at, sku, quantity, fen, buyer, ref in rows:
            money = amounts.get(fen)
            if money is None:  # whole fen, as the Money column keeps it
                money = amounts[fen] = (Decimal(fen) / 100).quantize(FEN)
            yield Event(  # positional: a million events
                event_id,
                types[type_],
                order_id,
                shared.setdefault(sku, sku) if sku is not None else "",
                datetime.fromisoformat(at + "+00:00") if text_times else at,
                1 if quantity is None else quantity,
                money,
                shared.setdefault(buyer, buyer) if buyer is not None else None,
                shared.setdefault(ref, ref) if ref is not None else None,
            )


def _driver_rows(connection: Connection, query: Select[*tuple[Any, ...]]) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` as the driver returns them (plain tuples or records, no result
    processing: a million rows), ``STREAM_ROWS`` at a time from a server-side cursor. Its
    parameters go through their column types' bind processing, as SQLAlchemy's would."""
    dialect = connection.dialect
    compiled = query.compile(dialect=dialect)
    values = compiled.construct_params()

    def bound(name: str) -> Any:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        return process(values[name]) if process else values[name]

    params: Any = (
        tuple(bound(name) for name in compiled.positiontup or ())
        if dialect.positional
        else {name: bound(name) for name in values}
    )
    cursor = connection.connection.dbapi_connection.cursor(server_side=True)  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(STREAM_ROWS):
            yield rows
    finally:
        cursor.close()


def _csv_events(path: Path) -> tuple[list[Event], list[tuple[int, str]]]:
    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    rows = read_events(path)  # ImportFileError (Invalid): encoding, header
    events, rejected = [], []
    for row in rows:
        event, problem = csv_event_of(row)
        if event is None:
            rejected.append((row.line, problem))
            continue
        events.append(
            Event(
                event_id=event.event_id,
                type=event.type,
                order_id=event.order_id,
                sku=event.course_sku,
                at=event.occurred_at,
                quantity=event.quantity,
                amount=event.amount,
                buyer=event.buyer.id if event.buyer else None,
                ref=event.ref,
            )
        )
    return events, rejected


# --- the run --------------------------------------------------------------------------------------


def terms_of(settings: Settings) -> Terms:
    """The live pipeline's terms: a replay runs the same order sequence under them."""
    return settings.order_terms


def run_replay(
    settings: Settings,
    inputs: Inputs,
    plans: Sequence[CommissionPlan],
    start: datetime | None,
    until: datetime | None,
    *,
    progress: bool = True,
) -> Replay:
    """The pure replay, with a progress bar on a terminal (stderr) for long runs."""
    show = progress and sys.stderr.isatty() and inputs.expected >= PROGRESS_FROM
    with tqdm(total=inputs.expected, disable=not show, unit="event", desc="what-if", file=sys.stderr) as bar:
        return replay(
            inputs.members,
            inputs.events,
            plans,
            terms_of(settings),
            start=start,
            until=until,
            on_progress=bar.update,
            unique_ids=inputs.unique_ids,
        )


def gather(
    settings: Settings,
    names: Sequence[str],
    plans_file: Path | None,
    orders: Path | None,
    first: str | None,
    last: str | None,
    *,
    progress: bool = True,
) -> tuple[Replay, Inputs, list[CommissionPlan], datetime | None]:
    """Plans, window, inputs and the replay: everything the report needs."""
    plans = resolve_plans(settings, names, plans_file)
    start, until = window(first, last, ZoneInfo(settings.raw.platform.timezone))

    def use(inputs: Inputs, levels_at: datetime | None) -> tuple[Replay, Inputs, list[CommissionPlan], datetime | None]:
        return run_replay(settings, inputs, plans, start, until, progress=progress), inputs, plans, levels_at

    return asyncio.run(gather_inputs(settings, orders, start, until, use))

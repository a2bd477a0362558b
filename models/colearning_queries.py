"""The co-learning timer's statements (bot.runtime.scheduler), one function each. Nothing here
commits.

The timer reads which sessions are live and which of their moments are handled, to set its
jobs; when a job fires it claims the moment for each group (:func:`claim_deliveries`: the
delivery row is the proof a reminder or card went out, once across restarts and processes),
and at the start records each group's member count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.colearning import ColearningDelivery, ColearningGroupRecord, ColearningSession
from models.statuses import DeliveryStatus, SessionStatus
from models.upsert import insert_or_ignore

# The application id of the delivery row that marks a moment itself handled (no group has it).
MOMENT_ITSELF = 0


async def live_sessions(session: AsyncSession, after: datetime) -> list[ColearningSession]:
    """Sessions not cancelled that end after ``after``, by start: the ones the timer keeps jobs
    for (and the relay filter's source rooms)."""
    query = select(ColearningSession).where(
        ColearningSession.status == SessionStatus.SCHEDULED, ColearningSession.ends_at > after
    )
    return list(await session.scalars(query.order_by(ColearningSession.starts_at, ColearningSession.id)))


async def handled_moments(session: AsyncSession, session_ids: Sequence[int]) -> set[tuple[int, str]]:
    """(session, moment) pairs of these sessions whose moment was handled (sent or skipped):
    their jobs are not set again."""
    rows = await session.execute(
        select(ColearningDelivery.session_id, ColearningDelivery.moment).where(
            ColearningDelivery.session_id.in_(list(session_ids) or [0]),
            ColearningDelivery.application_id == MOMENT_ITSELF,
        )
    )
    return {(session_id, moment) for session_id, moment in rows}


async def claim_deliveries(
    session: AsyncSession,
    session_id: int,
    moment: str,
    application_ids: Sequence[int],
    status: DeliveryStatus,
    now: datetime,
) -> set[int]:
    """Record ``moment`` of the session as ``status`` for each group (application) not recorded
    yet, in one INSERT … ON CONFLICT DO NOTHING; returns the groups this call recorded — the
    ones to send to. A concurrent claim by another process gets the others (none, usually)."""
    if not application_ids:
        return set()
    rows = [
        {"session_id": session_id, "moment": moment, "application_id": a, "status": status, "at": now}
        for a in application_ids
    ]
    statement = insert_or_ignore(session, ColearningDelivery, rows).returning(ColearningDelivery.application_id)
    return set(await session.scalars(statement))


async def ensure_records(session: AsyncSession, session_id: int, application_ids: Sequence[int]) -> None:
    """A record row per (session, group), once (safe with several processes)."""
    if application_ids:
        rows = [{"session_id": session_id, "application_id": a, "relayed": 0} for a in application_ids]
        await session.execute(insert_or_ignore(session, ColearningGroupRecord, rows))


async def record_members_at_start(session: AsyncSession, session_id: int, counts: Mapping[int, int]) -> None:
    """Each group's member count at the session's start (by application id), unless one was
    recorded already (another process, or a job run twice)."""
    for application_id, count in counts.items():
        await session.execute(
            update(ColearningGroupRecord)
            .where(
                ColearningGroupRecord.session_id == session_id,
                ColearningGroupRecord.application_id == application_id,
                ColearningGroupRecord.members_at_start.is_(None),
            )
            .values(members_at_start=count)
        )

"""Queueing what the bot owes in the outbox, inside the caller's transaction: a message is
in the database before anyone tries to send it, and exists only if its cause was committed.

Rows queued during a unit of work are kept on the session and written as one multi-row
INSERT just before it commits (one statement for a whole batch of messages, instead of an
ORM object and a flush each); a rollback discards them with the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.context import Context
from models import queries as q
from models.catalog import BrandGroup
from models.messaging import OutboxMessage

PENDING = "distbot.outbox"
# Every status a row can have. Ops resolve the two that wait on a person: ``dead`` (sending
# failed for good) and ``uncertain`` (no answer came: it may or may not have gone out).
STATUSES = ("queued", "sending", "sent", "uncertain", "dead", "dropped")
FOR_OPS = ("uncertain", "dead")


def queue_text(
    ctx: Context,
    *,
    target: str,
    template: str,
    data: Mapping[str, Any],
    room: bool = False,
    account: str | None = None,
    coalesce_key: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> None:
    queue_row(
        ctx,
        account=account or ctx.settings.helper_account,
        kind="text",
        target=target,
        target_is_room=room,
        template=template,
        text=ctx.renderer.render(template, data),
        payload=dict(payload or {}),
        coalesce_key=coalesce_key,
    )


def queue_row(ctx: Context, **values: Any) -> None:
    """Queue any outbox row (text, image, room add, room invitation, friend accept…)."""
    values.setdefault("account", ctx.settings.helper_account)
    values.setdefault("template", "")
    values.setdefault("text", "")
    values.setdefault("payload", {})
    values.setdefault("coalesce_key", None)
    values.setdefault("target_is_room", False)
    values.update(status="queued", attempts=0, last_error="", created_at=ctx.now, not_before=ctx.now)
    ctx.session.sync_session.info.setdefault(PENDING, []).append(values)


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    rows = session.info.pop(PENDING, None)
    if rows:
        session.execute(insert(OutboxMessage), rows)


async def post_to_brand_groups(
    ctx: Context, brand_id: str, template: str, data: dict[str, Any], *, coalesce: str | None = None
) -> list[BrandGroup]:
    """Queue the same message for every group of the brand; returns the groups."""
    groups = await q.brand_groups(ctx.session, brand_id)
    for group in groups:
        queue_text(
            ctx,
            target=group.room_id,
            room=True,
            account=group.account,
            template=template,
            data=data,
            coalesce_key=f"{coalesce}:{group.room_id}" if coalesce else None,
        )
    return groups


async def retry(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """Queue a dead or uncertain row again, attempts from zero. False if it is neither (any
    more): someone else acted first. Retrying an uncertain message may say it twice; ops
    retry it when the person says it did not arrive."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(FOR_OPS))
        .values(status="queued", attempts=0, not_before=now, last_error="")
    )
    return bool(result.rowcount)


async def drop(session: AsyncSession, message_id: int) -> bool:
    """Never send a dead or uncertain row (it arrived after all, or no longer matters); it stays
    listed as ``dropped``. False if it is neither (any more)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(FOR_OPS))
        .values(status="dropped")
    )
    return bool(result.rowcount)

"""Queueing what the bot owes in the outbox, inside the caller's transaction: a message is
in the database before anyone tries to send it, and exists only if its cause was committed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.context import Context
from models.messaging import OutboxMessage


def queue_text(
    ctx: Context,
    *,
    target: str,
    template: str,
    data: Mapping[str, Any],
    room: bool = False,
    account: str | None = None,
    coalesce_key: str | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        account=account or ctx.settings.raw.platform.helper_account,
        kind="text",
        target=target,
        target_is_room=room,
        template=template,
        text=ctx.renderer.render(template, data),
        coalesce_key=coalesce_key,
        created_at=ctx.now,
        not_before=ctx.now,
    )
    ctx.session.add(message)
    return message

"""Codes people scan where the transport has them (``capabilities.join_codes`` /
``contact_codes``): a brand's join code, a distributor's 联系我 code. Made by the transport
the first time one is asked for, then kept (:class:`models.transport_codes.TransportCode`).

The transport makes the code before the asking transaction commits: if that transaction is
rolled back and replayed, a second code is made and the first is never handed out — harmless
(an unused code), and rarer than asking the transport on every request."""

from __future__ import annotations

from bot.base.context import Context
from bot.base.transport import Transport
from models.transport_codes import CONTACT, JOIN, TransportCode, find_code


async def join_code(ctx: Context, transport: Transport, brand_id: str, rooms: list[str], name: str) -> TransportCode:
    """The brand's join code for ``rooms`` (its last five groups; WeCom opens the next group,
    ``name`` + a number, when they are full). ``TransportError`` when the transport refuses."""
    kept = await find_code(ctx.session, transport.account, JOIN, brand_id)
    if kept is not None:
        return kept
    made = await transport.join_code(rooms[-5:], name=name, state=brand_id[:30])
    code = TransportCode(account=transport.account, kind=JOIN, key=brand_id, config_id=made.config_id, url=made.url,
                         created_at=ctx.now)
    ctx.session.add(code)
    return code


async def contact_code(ctx: Context, transport: Transport, personal_code: str) -> TransportCode:
    """The distributor's 联系我 code: people who add the helper by it arrive with the code as
    their greeting, and are registered as that distributor's recruits."""
    kept = await find_code(ctx.session, transport.account, CONTACT, personal_code)
    if kept is not None:
        return kept
    made = await transport.contact_code(personal_code)
    code = TransportCode(account=transport.account, kind=CONTACT, key=personal_code, config_id=made.config_id,
                         url=made.url, created_at=ctx.now)
    ctx.session.add(code)
    return code

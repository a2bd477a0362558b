"""Codes and joining in a DM: "邀请码" → the distributor's personal code; "注册 <code>" → a new
distributor; "申请 <friends> <groups>" → an application by declared reach; "怎么加入" → the ways
in. Who may join, and how, is :mod:`services.entry`'s; this router reads what was typed.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from bot.base.transport import Message, TransportError
from bot.runtime.router import Found, MessageContext, Role, Router, exactly, keyword, private, role, text_message
from core.entry import Path
from models.statuses import DistributorStatus
from services import entry, transport_codes
from services.entry import join_answer

log = logging.getLogger(__name__)
router = Router("codes")

_REGISTER = re.compile(r"^注册[\s:：]*(.*)$", re.S)
_CODE_AFTER_LABEL = re.compile(r"^(?:我的)?邀请码(?:是)?[\s:：]*([0-9A-Za-z][0-9A-Za-z\s-]*)$")
_BARE_CODE = re.compile(r"[0-9A-Z]{6,16}")
_ASKS_TO_APPLY = re.compile(r"^申请\s*[:：]?\s*(?:\d|$)")  # not "申请共学营"
_APPLY = re.compile(r"^申请[\s:：]*(\d{1,7})\D+(\d{1,7})\s*$")


def registration_code(text: str, guest: bool) -> str | None:
    """What a message offers as a code: the text after "注册" ('' when it has no letter or digit:
    "注册一下"); letters and digits after "邀请码"; a guest's message that is nothing but a code
    in capitals ("DEMOC001"); else None (not a registration).

    Example: "注册：democ001" → "democ001"; "邀请码是 ABCD2345" → "ABCD2345"; "邀请码是什么" → None."""
    typed = unicodedata.normalize("NFKC", text or "").strip()
    if found := _REGISTER.match(typed):
        rest = found.group(1).strip()
        return rest if any(ch.isascii() and ch.isalnum() for ch in rest) else ""
    if found := _CODE_AFTER_LABEL.match(typed):
        return found.group(1).strip()
    return typed if guest and _BARE_CODE.fullmatch(typed) else None


def wants_to_register(ctx: MessageContext) -> Found | None:
    """A registration; hands on the ``code`` typed ('' when none)."""
    typed = registration_code(ctx.message.text, ctx.distributor is None)
    return {"code": typed} if typed is not None else None


@router.message(private, text_message, wants_to_register)
async def register_command(ctx: MessageContext, message: Message, code: str) -> None:
    await entry.register(
        ctx,
        message.sender,
        message.sender_name,
        code,
        ctx.reply,
        throttled=True,
        account=ctx.account,
        known=ctx.distributor,
    )


_ASKS_FOR_CODE = keyword("邀请码", "推广码")
_INVITE = exactly("邀请")
_ASKS_HOW_TO_JOIN = keyword("注册", "怎么加入", "如何加入", "成为分销员", "做分销")


@router.message(private, text_message, lambda ctx: _ASKS_FOR_CODE(ctx) or _INVITE(ctx))
async def my_code(ctx: MessageContext) -> None:
    person = ctx.distributor
    if person is None or person.status != DistributorStatus.ACTIVE:
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    level = ctx.settings.levels.get(person.level)
    if level is None or level.can_recruit:
        data = {"code": person.code}
        if ctx.transport is not None and ctx.transport.capabilities.contact_codes:
            try:  # a 联系我 code whose adds carry the distributor's code: scanned, not typed
                data["contact_url"] = (await transport_codes.contact_code(ctx, ctx.transport, person.code)).url
            except TransportError as error:
                log.warning("no contact code for %s: %s", person.code, error)
        ctx.reply("my_code", data)
        return
    recruiting = [lv.name for lv in ctx.settings.raw.levels if lv.can_recruit]
    ctx.reply("my_code_cannot_recruit", {"level_name": level.name, "recruit_levels": recruiting})


@router.message(private, text_message, role(Role.GUEST), _ASKS_HOW_TO_JOIN)
async def how_to_join(ctx: MessageContext) -> None:
    ctx.reply("how_to_join", join_answer(ctx.settings))


@router.message(private, text_message, lambda ctx: _ASKS_TO_APPLY.match(ctx.text) is not None)
async def apply_by_reach(ctx: MessageContext) -> None:
    contact = ctx.message.sender
    if ctx.distributor is not None:
        ctx.reply("register_refused", {"reason": "already_distributor", "code": "", "mine": ctx.distributor.code})
        return
    rules = ctx.settings.entry
    if Path.REACH not in rules.paths or rules.reach is None:
        ctx.reply("how_to_join", join_answer(ctx.settings))
        return
    found = _APPLY.match(unicodedata.normalize("NFKC", ctx.message.text).strip())
    if found is None:
        ctx.reply("reach_application", {**entry.reach_answer(ctx.settings), "outcome": "usage"})
        return
    friends, groups = int(found.group(1)), int(found.group(2))
    await entry.apply_by_reach(ctx, contact, ctx.message.sender_name, friends, groups, ctx.reply, account=ctx.account)

"""Codes people type: personal codes (one per distributor, shared freely, used as order ref)
and single-use platform codes.

The alphabet leaves out look-alikes (0/O, 1/I/L): 31 symbols, about 4.95 random bits each.
Platform codes are 10 characters (≈49.5 bits, over the 40 required for codes that grant
entry); personal codes are 8 (≈39.6 bits): they are public, only uniqueness matters.
"""

from __future__ import annotations

import math
import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select

from models.people import PlatformCode

if TYPE_CHECKING:
    from bot.base.context import Actor
    from bot.base.env import Env

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PERSONAL_LENGTH = 8
PLATFORM_LENGTH = 10
_CODE = re.compile(r"^[0-9A-Z]{6,16}$")


def new_code(length: int = PERSONAL_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def bits(length: int) -> float:
    return length * math.log2(len(ALPHABET))


def normalise_code(text: str) -> str | None:
    """A typed code in canonical form (spaces removed, upper case), or None if it cannot be
    a code at all (wrong length or characters)."""
    candidate = "".join(text.split()).upper()
    return candidate if _CODE.match(candidate) else None


async def issue_platform_codes(env: Env, count: int, actor: Actor | None = None) -> list[str]:
    """Issue ``count`` new single-use platform codes (retrying the rare collision), recorded in
    the audit log as done by ``actor`` (the system when None)."""
    from bot.base.context import SYSTEM
    from services import audit  # the CLI imports this module at start; the log only when issuing

    issued: list[str] = []
    async with env.context(actor or SYSTEM) as ctx:
        while len(issued) < count:
            batch = {new_code(PLATFORM_LENGTH) for _ in range(count - len(issued))}
            taken = set(await ctx.session.scalars(select(PlatformCode.code).where(PlatformCode.code.in_(batch))))
            fresh = sorted(batch - taken)
            ctx.session.add_all(PlatformCode(code=code, issued_at=ctx.now) for code in fresh)
            issued.extend(fresh)
        audit.record(ctx, "codes", "codes.issue", subject=f"{len(issued)} platform codes", after={"codes": issued})
    return issued

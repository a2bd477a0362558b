"""Console accounts, passwords and sessions.

Passwords: scrypt (standard library) with a per-user 16-byte salt, compared in constant
time. Sessions: a random 32-byte id in an HttpOnly, SameSite=Lax cookie (Secure when
``DISTBOT_CONSOLE_SECURE_COOKIE=1``); the database keeps only its SHA-256, the account, a
per-session CSRF token and the expiry.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import SERVICES
from models.console import ConsoleSession, ConsoleUser

COOKIE = "distbot_console"
ROLES = ("ops", "manager")
SESSION_LIFETIME = timedelta(hours=12)
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        given = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(given.hex(), digest)


@functools.cache
def _dummy_hash() -> str:
    """Compared against for unknown names, so they cost as much as a wrong password (made on
    first use, not at import: every CLI command would pay for it)."""
    return hash_password(secrets.token_hex(8))


def secure_cookie() -> bool:
    return os.environ.get("DISTBOT_CONSOLE_SECURE_COOKIE", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class User:
    """Who is logged in, as the pages see it."""

    id: int
    name: str
    role: str
    brand_ids: tuple[str, ...]
    csrf: str

    @property
    def is_ops(self) -> bool:
        return self.role == "ops"

    def sees_brand(self, brand_id: str | None) -> bool:
        return self.is_ops or (brand_id is not None and brand_id in self.brand_ids)


class AccountError(ValueError):
    pass


async def add_user(session: AsyncSession, name: str, password: str, role: str, brands: Sequence[str]) -> ConsoleUser:
    name = name.strip()
    if not name or len(name) > 64:
        raise AccountError("the name must be 1–64 characters")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise AccountError("the password must be at least 8 characters")
    if role == "manager" and not brands:
        raise AccountError("a manager needs at least one --brand")
    if await session.scalar(select(ConsoleUser.id).where(ConsoleUser.name == name)) is not None:
        raise AccountError(f"an account named {name!r} exists already")
    user = ConsoleUser(
        name=name,
        password_hash=await asyncio.to_thread(hash_password, password),
        role=role,
        brand_ids=sorted(set(brands)) if role == "manager" else [],
    )
    session.add(user)
    await session.flush()
    return user


async def log_in(request: web.Request, name: str, password: str) -> str | None:
    """A new session's cookie value when the name and password match; None otherwise."""
    services = request.app[SERVICES]
    async with services.db.reading() as session:
        user = await session.scalar(select(ConsoleUser).where(ConsoleUser.name == name.strip()))
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, password, stored)
    if user is None or not ok:
        return None
    token = secrets.token_urlsafe(32)
    now = services.clock.now()
    async with services.db.unit_of_work() as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        session.add(
            ConsoleSession(
                id_hash=_digest(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


async def log_out(request: web.Request) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app[SERVICES].db.unit_of_work() as session:
            await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _digest(token)))


async def current_user(request: web.Request) -> User | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    services = request.app[SERVICES]
    async with services.db.reading() as session:
        row = (
            await session.execute(
                select(ConsoleSession, ConsoleUser)
                .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
                .where(ConsoleSession.id_hash == _digest(token))
            )
        ).first()
    if row is None:
        return None
    record, user = row
    if record.expires_at <= services.clock.now():
        return None
    return User(user.id, user.name, user.role, tuple(user.brand_ids or ()), record.csrf_token)


def set_cookie(response: web.StreamResponse, token: str, now: datetime) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=secure_cookie(),
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

"""Console accounts, passwords and sessions.

Passwords: scrypt (standard library) with a per-user 16-byte salt, compared in constant
time. Sessions: a random 32-byte id in an HttpOnly, SameSite=Lax cookie (Secure when
``DISTBOT_CONSOLE_SECURE_COOKIE=1``); the database keeps only its SHA-256, the account, a
per-session CSRF token and the expiry.

Device cookies: a browser that logged in as an account keeps, for 90 days, a cookie signed
with a key derived from that account's password hash (so a new password voids them all). The
login limits (:mod:`bot.console.throttle`) give such a browser a budget of its own: someone
failing on purpose with the name cannot lock its owner out of their usual browser.
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

from bot.base.context import Actor
from bot.web.keys import ENV
from models.console import ConsoleSession, ConsoleUser

COOKIE = "distbot_console"
DEVICE_COOKIE = "distbot_console_device_"  # + the account id: one per account a browser uses
ROLES = ("ops", "manager")
SESSION_LIFETIME = timedelta(hours=12)
DEVICE_LIFETIME = timedelta(days=90)
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

    @property
    def actor(self) -> Actor:
        """Who the audit log names for what this user does on the console."""
        return Actor(self.name, self.role, "console")


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


async def find_user(request: web.Request, name: str) -> ConsoleUser | None:
    async with request.app[ENV].db.reading() as session:
        return await session.scalar(select(ConsoleUser).where(ConsoleUser.name == name.strip()))


async def log_in(request: web.Request, user: ConsoleUser | None, password: str) -> str | None:
    """A new session's cookie value when ``user`` exists and the password matches; None
    otherwise (an unknown name costs the same hash as a wrong password)."""
    env = request.app[ENV]
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, password, stored)
    if user is None or not ok:
        return None
    token = secrets.token_urlsafe(32)
    now = env.clock.now()
    async with env.db.unit_of_work() as session:
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


def known_device(request: web.Request, user: ConsoleUser | None, now: datetime) -> str | None:
    """The browser's device id when it carries a valid, unexpired device cookie of ``user``."""
    if user is None:
        return None
    value = request.cookies.get(f"{DEVICE_COOKIE}{user.id}", "")
    stamp, _, mac = value.partition(".")
    if not stamp.isdigit() or len(stamp) > 12 or not mac:
        return None
    issued = int(stamp)
    if not 0 <= now.timestamp() - issued <= DEVICE_LIFETIME.total_seconds():
        return None
    return mac if hmac.compare_digest(mac.encode(), _device_mac(user, issued).encode()) else None


def set_device_cookie(response: web.StreamResponse, user: ConsoleUser, now: datetime) -> None:
    issued = int(now.timestamp())
    response.set_cookie(
        f"{DEVICE_COOKIE}{user.id}",
        f"{issued}.{_device_mac(user, issued)}",
        path="/console/login",
        httponly=True,
        samesite="Strict",
        secure=secure_cookie(),
        max_age=int(DEVICE_LIFETIME.total_seconds()),
    )


def _device_mac(user: ConsoleUser, issued: int) -> str:
    key = hashlib.sha256(b"distbot console device\0" + user.password_hash.encode()).digest()
    return hmac.new(key, f"{user.id}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]


async def log_out(request: web.Request) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        async with request.app[ENV].db.unit_of_work() as session:
            await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _digest(token)))


async def current_user(request: web.Request) -> User | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    env = request.app[ENV]
    async with env.db.reading() as session:
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
    if record.expires_at <= env.clock.now():
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

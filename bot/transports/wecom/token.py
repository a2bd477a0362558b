"""The access token: cached, refreshed before it expires, fetched by one task at a time.

WeCom blocks a corp that calls gettoken too often (WECOM.md §1), so concurrent tasks that find
the token missing or about to expire share one fetch: the first starts it, the others await the
same result — or the same error, so a refused secret is one refused call, not twenty.

A token is renewed when less than ``margin`` (60 s) is left, so no request leaves with a token
that expires on the way. WeCom may also revoke a token early: :meth:`invalidate` drops it, but
only if it is still the cached one (a task that used an older token does not throw away the
fresh one another task just fetched).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.transports.wecom.clocks import Clock
from bot.transports.wecom.results import AccessToken


class TokenCache:
    def __init__(self, fetch: Callable[[], Awaitable[AccessToken]], clock: Clock, *,
                 margin: timedelta = timedelta(seconds=60)):
        self._fetch = fetch
        self._clock = clock
        self.margin = margin
        self._token: AccessToken | None = None
        self._inflight: asyncio.Future[AccessToken] | None = None
        self.fetches = 0  # how many times gettoken was called: a figure for logs and tests

    @property
    def cached(self) -> AccessToken | None:
        return self._token

    def fresh(self) -> bool:
        return self._token is not None and self._token.expires_at - self._clock.now() > self.margin

    async def get(self) -> AccessToken:
        if self._token is not None and self.fresh():
            return self._token
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh())
            # every waiter may have been cancelled: the error is still looked at, never "lost"
            self._inflight.add_done_callback(lambda done: done.cancelled() or done.exception())
        # shield: a caller cancelled while waiting must not cancel the fetch the others await
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> AccessToken:
        try:
            self.fetches += 1
            token = await self._fetch()
            self._token = token
            return token
        finally:
            self._inflight = None

    def invalidate(self, token: AccessToken) -> None:
        if self._token is token or (self._token is not None and self._token.value == token.value):
            self._token = None

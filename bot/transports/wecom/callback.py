"""The callback URL (``/wecom/callback``) as aiohttp routes.

- ``GET``: WeCom's URL check — verify, decrypt ``echostr``, answer the plaintext as is (no
  quotes, no newline), well within WeCom's 1 s.
- ``POST``: verify and decrypt, parse the event, drop a retry of an event already taken, hand it
  to ``deliver`` and answer 200 with an empty body. WeCom waits 5 s and then retries (3 tries
  in all), so ``deliver`` only records the event (a queue, a spool) and returns: the work
  happens after the answer. If ``deliver`` raises, the answer is 500 and WeCom tries again —
  an event is acknowledged only once something holds it.

Refusals (bad signature, stale, for another corp, malformed, too large) are answered 400/413
with no detail and logged with their reason. Retries are recognised by
:attr:`CallbackEvent.dedupe_key` among the last ``recent`` events taken in this process; a
retry arriving while the first copy is still being delivered waits for that delivery's result.
Durable deduplication across restarts belongs to whatever ``deliver`` writes to.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.transports.wecom.crypto import CallbackCrypto
from bot.transports.wecom.errors import BodyTooLarge, CallbackRejected
from bot.transports.wecom.events import CallbackEvent, parse_event

log = logging.getLogger(__name__)

DEFAULT_PATH = "/wecom/callback"


class CallbackEndpoint:
    def __init__(self, crypto: CallbackCrypto, deliver: Callable[[CallbackEvent], Awaitable[None]], *,
                 recent: int = 4096):
        self.crypto = crypto
        self._deliver = deliver
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_size = recent
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self.rejected = 0  # refused requests, for the transport's status
        self.duplicates = 0  # retries of events already taken

    def routes(self, path: str = DEFAULT_PATH) -> list[web.RouteDef]:
        return [web.get(path, self.handle_get), web.post(path, self.handle_post)]

    async def handle_get(self, request: web.Request) -> web.Response:
        try:
            echo = self.crypto.verify_url(request.query)
        except CallbackRejected as exc:
            return self._refuse(request, exc)
        return web.Response(text=echo, content_type="text/plain")

    async def handle_post(self, request: web.Request) -> web.Response:
        try:
            if request.content_length is not None and request.content_length > self.crypto.max_body_bytes:
                raise BodyTooLarge(f"Content-Length {request.content_length}")
            event = parse_event(self.crypto.open(request.query, await request.read()))
        except CallbackRejected as exc:
            return self._refuse(request, exc)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(request, BodyTooLarge("over the server's body limit"))
        key = event.dedupe_key
        if key in self._recent:
            self.duplicates += 1
            return web.Response(status=200, text="")
        first = self._inflight.get(key)
        if first is not None:
            self.duplicates += 1
            try:
                await asyncio.shield(first)
            except Exception:
                return web.Response(status=500, text="")
            return web.Response(status=200, text="")
        return await self._take(key, event)

    async def _take(self, key: str, event: CallbackEvent) -> web.Response:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        try:
            await self._deliver(event)
        except Exception as exc:
            log.exception("wecom callback %s could not be taken in; WeCom will send it again", key)
            done.set_exception(exc)
            done.exception()  # looked at here; waiters get it too
            return web.Response(status=500, text="")
        finally:
            self._inflight.pop(key, None)
        done.set_result(None)
        self._remember(key)
        return web.Response(status=200, text="")

    def _remember(self, key: str) -> None:
        self._recent[key] = None
        while len(self._recent) > self._recent_size:
            self._recent.popitem(last=False)

    def _refuse(self, request: web.Request, exc: CallbackRejected) -> web.Response:
        self.rejected += 1
        log.warning("wecom callback refused (%s) from %s: %s", type(exc).__name__, request.remote, exc.reason)
        return web.Response(status=413 if isinstance(exc, BodyTooLarge) else 400, text="")

"""How every API call goes out: the access token, retries, limits, and what a lost answer means.

For each call (WECOM.md §1):

1. A path WeCom recently rate-limited is refused here with :class:`RateLimited` until its
   block is over — calling into a block only extends it.
2. The access token comes from the :class:`TokenCache` (one gettoken at a time).
3. ``errcode`` decides, through :data:`errors.ERROR_CODES`:
   - *refresh* (40001, 40014, 42001, 41001): drop the token, fetch a new one, try once more; a
     fresh token refused again is :class:`AuthFailed`;
   - *retry* (-1): up to ``busy_retries`` more tries, waiting 0.5 s, 1 s, 2 s…, then :class:`Busy`;
   - *back off* (45009, 45033): :class:`RateLimited` with ``retry_after``, and the path blocked;
   - *permanent*: :class:`PermanentError` with the code and its meaning.
4. A file (:meth:`ApiCaller.download`, e.g. ``media/get``) comes back as its bytes, read no
   further than the caller's limit (:class:`TooLarge` past it); an error still comes as JSON.
5. No answer: a call that only reads, or that never connected, is :class:`RequestFailed` (safe to
   repeat); a call that sends or changes something and lost its answer after the request left is
   :class:`UnknownOutcome` — it may have happened, so it is not repeated by anyone automatically.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.transports.wecom.clocks import Clock, SystemClock
from bot.transports.wecom.errors import (
    ApiError,
    AuthFailed,
    Busy,
    ErrorClass,
    PermanentError,
    RateLimited,
    RequestFailed,
    TooLarge,
    UnknownOutcome,
    describe,
)
from bot.transports.wecom.results import AccessToken
from bot.transports.wecom.token import TokenCache

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
GETTOKEN = "gettoken"


@dataclass(frozen=True)
class RetryPolicy:
    busy_retries: int = 3  # WeCom: "retry -1 at most 3 times"
    busy_backoff: float = 0.5  # seconds before the first retry, doubled after each
    rate_limit_seconds: float = 60.0  # 45009: a minute's quota overrun blocks for 60 s
    concurrency_limit_seconds: float = 2.0  # 45033: too many calls at once, gone in moments


@dataclass(frozen=True)
class FileAnswer:
    """A file WeCom answered with instead of JSON."""

    data: bytes
    content_type: str
    filename: str


class ApiCaller:
    """The HTTP side of :class:`~bot.transports.wecom.client.WeComClient`."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token_margin: timedelta = timedelta(seconds=60),
    ):
        if not corp_id or not secret:
            raise ValueError("a WeCom client needs the corp id and the app's secret")
        self.corp_id = corp_id
        self._secret = secret
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._session = session
        self._owns_session = session is None
        self._clock = clock or SystemClock()
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.tokens = TokenCache(self._fetch_token, self._clock, margin=token_margin)
        self._blocked: dict[str, datetime] = {}

    async def __aenter__(self) -> ApiCaller:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def blocked_for(self, path: str) -> float:
        """Seconds until ``path`` may be called again after a rate limit (0: it may)."""
        until = self._blocked.get(path)
        left = (until - self._clock.now()).total_seconds() if until else 0.0
        if left <= 0:
            self._blocked.pop(path, None)
            return 0.0
        return left

    # --- calls ------------------------------------------------------------------------------

    async def call(
        self,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        method: str = "POST",
        sends: bool,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of ``path`` (errcode 0), or the error the module's doc names.
        ``sends``: the call sends or changes something (decides what a lost answer means)."""
        answer = await self._call(path, body=body, params=params, method=method, sends=sends, form=form)
        if isinstance(answer, FileAnswer):
            raise RequestFailed(path, "a file where a JSON answer was due")
        return answer

    async def download(self, path: str, *, params: Mapping[str, str], max_bytes: int) -> FileAnswer:
        """The file ``path`` answers with (GET; at most ``max_bytes``, else :class:`TooLarge`)."""
        answer = await self._call(path, params=params, method="GET", sends=False, max_bytes=max_bytes)
        if not isinstance(answer, FileAnswer):
            raise RequestFailed(path, "a JSON answer where a file was due")
        return answer

    async def _call(
        self,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        method: str,
        sends: bool,
        form: Callable[[], aiohttp.FormData] | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, Any] | FileAnswer:
        self._refuse_if_blocked(path)
        refreshed = False
        busy = 0
        while True:
            token = await self.tokens.get()
            query = {**(params or {}), "access_token": token.value}
            payload = await self._send(method, path, query, body, form, sends=sends, max_bytes=max_bytes)
            if isinstance(payload, FileAnswer):
                return payload
            code, errmsg = _status(payload)
            if code == 0:
                return payload
            kind = describe(code).kind
            if kind is ErrorClass.REFRESH:
                self.tokens.invalidate(token)
                if not refreshed:
                    refreshed = True
                    log.info("wecom %s: errcode %s, fetching a new access token", path, code)
                    continue
                raise AuthFailed(path, code, errmsg)
            if kind is ErrorClass.RETRY and busy < self.retry.busy_retries:
                busy += 1
                await self._sleep(self.retry.busy_backoff * 2 ** (busy - 1))
                continue
            raise self._failure(path, code, errmsg)

    async def _fetch_token(self) -> AccessToken:
        self._refuse_if_blocked(GETTOKEN)
        busy = 0
        while True:
            asked = self._clock.now()
            params = {"corpid": self.corp_id, "corpsecret": self._secret}
            payload = await self._send("GET", GETTOKEN, params, None, None, sends=False)
            assert isinstance(payload, dict)  # no max_bytes: always JSON
            code, errmsg = _status(payload)
            if code == 0:
                value = payload.get("access_token")
                if not isinstance(value, str) or not value:
                    raise RequestFailed(GETTOKEN, "an answer without access_token")
                # counted from when we asked: the token cannot outlive what WeCom promised
                return AccessToken(value, asked + timedelta(seconds=int(payload.get("expires_in") or 7200)))
            kind = describe(code).kind
            if kind is ErrorClass.RETRY and busy < self.retry.busy_retries:
                busy += 1
                await self._sleep(self.retry.busy_backoff * 2 ** (busy - 1))
                continue
            if kind in (ErrorClass.REFRESH, ErrorClass.PERMANENT):
                # gettoken refusing is the corp id or the secret: no new token will fix it
                raise AuthFailed(GETTOKEN, code, errmsg)
            raise self._failure(GETTOKEN, code, errmsg)

    def _failure(self, path: str, code: int, errmsg: str) -> ApiError:
        kind = describe(code).kind
        if kind is ErrorClass.RETRY:
            return Busy(path, code, errmsg)
        if kind is ErrorClass.BACK_OFF:
            seconds = self.retry.concurrency_limit_seconds if code == 45033 else self.retry.rate_limit_seconds
            self._blocked[path] = self._clock.now() + timedelta(seconds=seconds)
            log.warning("wecom %s: errcode %s, not calling it for %.0f s", path, code, seconds)
            return RateLimited(path, code, errmsg, retry_after=seconds)
        return PermanentError(path, code, errmsg)

    def _refuse_if_blocked(self, path: str) -> None:
        left = self.blocked_for(path)
        if left > 0:
            raise RateLimited(path, 45009, "blocked after a frequency limit", retry_after=left)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
        form: Callable[[], aiohttp.FormData] | None,
        *,
        sends: bool,
        max_bytes: int | None = None,
    ) -> dict[str, Any] | FileAnswer:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(
                method, self.base_url + path, params=params, json=body if form is None else None,
                data=form() if form is not None else None, timeout=self._timeout,
            ) as response:
                status = response.status
                if status == 200 and max_bytes is not None and not _is_json(response.content_type):
                    data = await _read_at_most(response, max_bytes, path)
                    name = response.content_disposition.filename if response.content_disposition else None
                    return FileAnswer(data, response.content_type, name or "")
                raw = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # the connection never opened: nothing reached WeCom, whatever the call
            raise RequestFailed(path, f"cannot connect: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = "no answer in time" if isinstance(exc, TimeoutError) else f"connection lost ({exc})"
            raise (UnknownOutcome(path, reason) if sends else RequestFailed(path, reason)) from exc
        if status != 200:
            # a gateway's 5xx says nothing of whether WeCom behind it acted
            if sends and status >= 500:
                raise UnknownOutcome(path, f"HTTP {status}")
            raise RequestFailed(path, f"HTTP {status}")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            reason = "an answer that is not a JSON object"
            raise UnknownOutcome(path, reason) if sends else RequestFailed(path, reason)
        return payload


def _is_json(content_type: str) -> bool:
    """WeCom's errors come as JSON, sometimes labelled text/plain; a file never is either."""
    return content_type in ("application/json", "text/plain", "text/json")


async def _read_at_most(response: aiohttp.ClientResponse, max_bytes: int, path: str) -> bytes:
    if response.content_length is not None and response.content_length > max_bytes:
        raise TooLarge(path, f"{response.content_length} bytes, more than {max_bytes}")
    data = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > max_bytes:
            raise TooLarge(path, f"more than {max_bytes} bytes")
    return bytes(data)


def _status(payload: Mapping[str, Any]) -> tuple[int, str]:
    try:
        code = int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        code = -1
    return code, str(payload.get("errmsg") or "")

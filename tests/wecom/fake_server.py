"""A fake WeCom server: the same HTTP API on 127.0.0.1 (random port), in-process, on an
injected clock, pushing encrypted callbacks to a URL it is given.

It keeps the rules of WECOM.md that shape the bot (each part's module says which):

- here: access tokens (expiry, early revocation on demand; 41001/40014/42001), the corp id and
  secret (40013/40001), a per-API frequency limit per minute with a 60 s block (45009;
  configurable low for tests), callbacks signed and encrypted as WeCom does, retried up to 3
  tries in all when not answered 200 within ``callback_timeout``;
- :mod:`fake_contacts` (联系我 codes, welcomes), :mod:`fake_groups` (customer groups, join
  ways, rollover), :mod:`fake_groupmsg` (tasks, confirmation, the monthly cap, media),
  :mod:`fake_kf` (微信客服).

Test hooks: :meth:`FakeWeCom.fail_next` (answer the next calls of a path with given errcodes),
:meth:`hang_next` (do the call, never answer), :meth:`revoke_tokens`, :meth:`calls_to`, and the
parts' own hooks (``fake.contacts.customer_adds``, ``fake.groupmsg.confirm``…).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.transports.wecom.clocks import Clock
from bot.transports.wecom.crypto import CallbackCrypto
from bot.transports.wecom.xmlsafe import cdata
from tests.wecom.fake_base import (
    BAD_CORP_ID,
    BAD_PARAM,
    BAD_SECRET,
    BAD_TOKEN,
    NO_TOKEN,
    RATE_LIMITED,
    TOKEN_EXPIRED,
    Fault,
    Ids,
    days_in_month,
    require,
    unix,
)
from tests.wecom.fake_contacts import FakeContacts
from tests.wecom.fake_groupmsg import FakeGroupMessages, FakeMedia, Media
from tests.wecom.fake_groups import FakeGroups
from tests.wecom.fake_kf import FakeKf

CORP_ID = "wwfakecorp0000001"
SECRET = "fake-app-secret"
CALLBACK_TOKEN = "fakeCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeCom's are
AGENT_ID = "1000002"


@dataclass
class Limits:
    per_minute: int = 10_000  # per API path (D90454: 10 000/min per corp per API)
    block_seconds: int = 60
    token_seconds: int = 7200


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    errcode: int = 0


@dataclass
class CallbackTry:
    event: str
    attempt: int
    status: int | None  # None: no answer in time


@dataclass
class _Hang:
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeWeCom:
    def __init__(self, clock: Clock, *, limits: Limits | None = None, callback_url: str = "",
                 callback_timeout: float = 5.0, monthly_cap: Callable[[datetime], int] = days_in_month,
                 untokened_syncs_per_minute: int = 3):
        self.clock = clock
        self.limits = limits or Limits()
        self.corp_id, self.secret, self.agent_id = CORP_ID, SECRET, AGENT_ID
        self.crypto = CallbackCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID, clock=clock)
        self.callback_url = callback_url
        self.callback_timeout = callback_timeout
        self.ids = Ids()
        self.contacts = FakeContacts(self)
        self.groups = FakeGroups(self)
        self.groupmsg = FakeGroupMessages(self, monthly_cap=monthly_cap)
        self.media = FakeMedia(self)
        self.kf = FakeKf(self, untokened_syncs_per_minute=untokened_syncs_per_minute)
        self.calls: list[Call] = []
        self.callbacks: list[str] = []  # every callback message (plaintext XML), pushed or not
        self.callback_tries: list[CallbackTry] = []
        self._tokens: dict[str, datetime] = {}
        self._hits: dict[str, deque[datetime]] = defaultdict(deque)
        self._blocked: dict[str, datetime] = {}
        self._faults: dict[str, deque[int]] = defaultdict(deque)
        self._hangs: dict[str, _Hang] = {}
        self._hanging: list[_Hang] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""
        self._routes: dict[str, Callable[[dict[str, Any], dict[str, str]], Any]] = self._route_table()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # a free port chosen by the system, held from here on
        await web.SockSite(self._runner, sock).start()
        port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/cgi-bin/"
        return self.base_url

    async def stop(self) -> None:
        for hang in [*self._hangs.values(), *self._hanging]:
            hang.release.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test hooks -------------------------------------------------------------------------

    def fail_next(self, path: str, *codes: int) -> None:
        """The next calls of ``path`` ("gettoken" included) are answered with these errcodes."""
        self._faults[path].extend(codes)

    def hang_next(self, path: str) -> None:
        """The next call of ``path`` is carried out, and its answer never sent (until stop)."""
        self._hangs[path] = _Hang()

    def revoke_tokens(self) -> None:
        """WeCom revokes every token early (it may, WECOM.md §1): the next calls get 40014."""
        self._tokens.clear()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # --- callbacks --------------------------------------------------------------------------

    async def push(self, event: str, values: Mapping[str, str], *, lists: Mapping[str, Sequence[str]] | None = None,
                   sender: str = "sys") -> str:
        """Sends a callback ``event`` to ``callback_url`` as WeCom does; returns its XML."""
        parts = [f"<ToUserName>{cdata(self.corp_id)}</ToUserName>"]
        if sender:
            parts.append(f"<FromUserName>{cdata(sender)}</FromUserName>")
        parts += [f"<CreateTime>{unix(self.clock.now())}</CreateTime>", f"<MsgType>{cdata('event')}</MsgType>",
                  f"<Event>{cdata(event)}</Event>"]
        parts += [f"<{name}>{cdata(value)}</{name}>" for name, value in values.items() if value != ""]
        for name, entries in (lists or {}).items():
            parts.append(f"<{name}>" + "".join(f"<Item>{cdata(e)}</Item>" for e in entries) + f"</{name}>")
        xml = "<xml>" + "".join(parts) + "</xml>"
        self.callbacks.append(xml)
        if self.callback_url:
            await self._deliver(event, xml)
        return xml

    async def verify_url(self, echo: str = "fake-echo-5927782489") -> tuple[int, str]:
        """WeCom's URL check against ``callback_url``: the status and body it got back."""
        async with self._client().get(self.callback_url, params=self.crypto.url_check(echo)) as response:
            return response.status, await response.text()

    async def _deliver(self, event: str, xml: str) -> None:
        sealed = self.crypto.seal(xml, agent_id=self.agent_id)
        for attempt in (1, 2, 3):  # WeCom: 3 tries in all
            status: int | None
            try:
                async with self._client().post(self.callback_url, params=sealed.query, data=sealed.body,
                                               timeout=aiohttp.ClientTimeout(total=self.callback_timeout)) as answer:
                    status = answer.status
            except (TimeoutError, aiohttp.ClientError):
                status = None
            self.callback_tries.append(CallbackTry(event, attempt, status))
            if status == 200:
                return

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # --- the API ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        query = dict(request.query)
        call = Call(path, query, {})
        self.calls.append(call)
        try:
            if path == "media/get":
                media = self._media_get(query)
                return web.Response(body=media.data, content_type="image/png" if media.type == "image" else
                                    "application/octet-stream",
                                    headers={"Content-Disposition": 'attachment; filename="picture.png"'})
            if path == "media/upload":
                result = await self._upload(request, query)
            else:
                call.body = await self._json(request)
                result = self._answer(path, query, call.body)
            payload = {"errcode": 0, "errmsg": "ok", **result}
        except Fault as fault:
            call.errcode = fault.code
            payload = {"errcode": fault.code, "errmsg": fault.errmsg}
        except KeyError:
            return web.Response(status=404, text="no such API")
        hang = self._hangs.pop(path, None)
        if hang is not None:
            self._hanging.append(hang)
            await hang.release.wait()
        return web.json_response(payload)

    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path == "gettoken":
            self._gate(path)
            return self._gettoken(query)
        handler = self._routes[path]
        self._authorize(query)
        self._gate(path)
        return handler(body, query)  # type: ignore[no-any-return]

    def _media_get(self, query: dict[str, str]) -> Media:
        self._authorize(query)
        self._gate("media/get")
        return self.media.get(query.get("media_id", ""))

    async def _upload(self, request: web.Request, query: dict[str, str]) -> dict[str, Any]:
        self._authorize(query)
        self._gate("media/upload")
        data = b""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            media = form.get("media")
            data = media.file.read() if isinstance(media, web.FileField) else b""
        require(data, BAD_PARAM, "no media field")
        return self.media.upload(query.get("type", ""), data)

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.method != "POST" or not request.can_read_body:
            return {}
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            raise Fault(BAD_PARAM, "Warning: wrong json format.") from exc
        require(isinstance(body, dict), BAD_PARAM, "a JSON object")
        return body  # type: ignore[no-any-return]

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        require(query.get("corpid") == self.corp_id, BAD_CORP_ID, "invalid corpid")
        require(query.get("corpsecret") == self.secret, BAD_SECRET, "invalid credential")
        token = self.ids.next("fake-token-")
        self._tokens[token] = self.clock.now() + timedelta(seconds=self.limits.token_seconds)
        return {"access_token": token, "expires_in": self.limits.token_seconds}

    def _authorize(self, query: dict[str, str]) -> None:
        token = query.get("access_token")
        require(token, NO_TOKEN, "access_token missing")
        assert token is not None
        expires = self._tokens.get(token)
        require(expires is not None, BAD_TOKEN, "invalid access_token")
        assert expires is not None
        require(self.clock.now() < expires, TOKEN_EXPIRED, "access_token expired")

    def _gate(self, path: str) -> None:
        """Injected faults first, then the frequency limit (every call counts, as at WeCom)."""
        if self._faults[path]:
            raise Fault(self._faults[path].popleft(), "injected")
        now = self.clock.now()
        if self._blocked.get(path, now) > now:
            raise Fault(RATE_LIMITED, "api freq out of limit")
        hits = self._hits[path]
        while hits and now - hits[0] >= timedelta(minutes=1):
            hits.popleft()
        if len(hits) >= self.limits.per_minute:
            self._blocked[path] = now + timedelta(seconds=self.limits.block_seconds)
            raise Fault(RATE_LIMITED, "api freq out of limit")
        hits.append(now)

    def _route_table(self) -> dict[str, Callable[[dict[str, Any], dict[str, str]], Any]]:
        c, g, m, k = self.contacts, self.groups, self.groupmsg, self.kf
        body = _body_only
        return {
            "externalcontact/add_contact_way": body(c.add_contact_way),
            "externalcontact/get_contact_way": body(c.get_contact_way),
            "externalcontact/update_contact_way": body(c.update_contact_way),
            "externalcontact/del_contact_way": body(c.del_contact_way),
            "externalcontact/send_welcome_msg": body(c.send_welcome_msg),
            "externalcontact/get": lambda _body, query: c.get(query),
            "externalcontact/groupchat/list": body(g.list),
            "externalcontact/groupchat/get": body(g.get),
            "externalcontact/groupchat/add_join_way": body(g.add_join_way),
            "externalcontact/groupchat/get_join_way": body(g.get_join_way),
            "externalcontact/groupchat/update_join_way": body(g.update_join_way),
            "externalcontact/groupchat/del_join_way": body(g.del_join_way),
            "externalcontact/add_msg_template": body(m.add_msg_template),
            "externalcontact/get_groupmsg_list_v2": body(m.get_groupmsg_list_v2),
            "externalcontact/get_groupmsg_task": body(m.get_groupmsg_task),
            "externalcontact/get_groupmsg_send_result": body(m.get_groupmsg_send_result),
            "externalcontact/remind_groupmsg_send": body(m.remind_groupmsg_send),
            "externalcontact/cancel_groupmsg_send": body(m.cancel_groupmsg_send),
            "kf/sync_msg": body(k.sync_msg),
            "kf/send_msg": body(k.send_msg),
            "kf/send_msg_on_event": body(k.send_msg_on_event),
            "kf/account/add": body(k.account_add),
            "kf/add_contact_way": body(k.add_contact_way),
            "kf/service_state/get": body(k.service_state_get),
        }


def _body_only(handler: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any], dict[str, str]], Any]:
    return lambda body, _query: handler(body)


"""The ``wecom`` transport wired to the fake WeCom server: the fake pushes its callbacks to the
transport's own route (served on 127.0.0.1), the transport calls the fake's API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.base.context import FixedClock
from bot.base.kf_windows import WindowStore
from bot.base.transport import PostCap
from bot.transports.wecom import CallbackCrypto, RetryPolicy, WeComClient
from bot.transports.wecom_transport import WeComTransport
from tests.wechaty.support import Sink
from tests.wecom.fake_server import AES_KEY, CALLBACK_TOKEN, CORP_ID, FakeWeCom, Limits

HELPER = "helper"  # the member customers add
KF_NAME = "童趣优课小助手"


@dataclass
class Wired:
    fake: FakeWeCom
    transport: WeComTransport
    sink: Sink
    open_kfid: str
    clock: FixedClock


def welcome_text(state: str) -> str:
    return f"欢迎！推荐码 {state}" if state else "欢迎！"


async def _no_wait(seconds: float) -> None:
    return None


@asynccontextmanager
async def wired(clock: FixedClock, tmp_path: Path, *, limits: Limits | None = None, cap: PostCap | None = None,
                windows: WindowStore | None = None) -> AsyncIterator[Wired]:
    """The fake with the helper as staff and a 微信客服 account, and the transport started."""
    fake = FakeWeCom(clock, limits=limits, callback_timeout=2.0)
    await fake.start()
    fake.contacts.add_staff(HELPER, "小助手")
    fake.kf.add_account(KF_NAME)
    try:
        async with transport_on(fake, clock, tmp_path, cap=cap, windows=windows) as running:
            yield running
    finally:
        await fake.stop()


@asynccontextmanager
async def transport_on(fake: FakeWeCom, clock: FixedClock, tmp_path: Path, *, cap: PostCap | None = None,
                       windows: WindowStore | None = None) -> AsyncIterator[Wired]:
    """A transport started against a running fake (again, for a restart: the same cursor file)."""
    open_kfid = next(iter(fake.kf.accounts))
    wecom_clock = WeComTransport.clock_for(clock.now)
    client = WeComClient(fake.corp_id, fake.secret, base_url=fake.base_url, clock=wecom_clock, timeout=15.0,
                         retry=RetryPolicy(), sleep=_no_wait)
    transport = WeComTransport(
        client, CallbackCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID, clock=wecom_clock), account="helper",
        sender_userid=HELPER, open_kfid=open_kfid, clock=clock.now, welcome=welcome_text, cap=cap,
        kf_cursor_file=tmp_path / "kf-cursor.txt", windows=windows,
    )
    app = web.Application()
    app.add_routes(transport.web_routes())  # type: ignore[arg-type]  # aiohttp route definitions
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.callback_url = str(server.make_url(transport.callback_path))
    sink = Sink()
    await transport.start(sink)
    try:
        yield Wired(fake, transport, sink, open_kfid, clock)
    finally:
        await transport.stop()
        await server.close()

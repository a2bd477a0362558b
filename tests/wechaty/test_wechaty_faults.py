"""The wechaty transport under faults, against the fake puppet service: a service that goes away,
answers slowly, hangs with the connection open, refuses the token; stopping in the middle of a
reconnect; lookups of one contact arriving together; configuration that cannot work."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from bot.base.transport import Message, NotConnected, TransportError, Uncertain
from bot.cli import main
from bot.transports.wechaty_adapter import ENV_ENDPOINT, ENV_TOKEN, WechatyTransport
from tests.support import ROOT
from tests.wechaty.puppet_server import HELPER_WXID, FakePuppetService
from tests.wechaty.support import ROOM, TOKEN, Sink, eventually, transport_for

ADAPTER = "bot.transports.wechaty_adapter"


def texts_sent(server: FakePuppetService) -> list[str]:
    return [r.text for r in server.requests("MessageSendText")]


# -- reconnecting ---------------------------------------------------------------------------


async def test_reconnects_send_start_again_but_never_stop_so_the_services_wechat_puppet_keeps_running(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    for opened in (2, 3):
        server.end_event_streams()  # a network glitch
        await server.wait_for(lambda n=opened: server.streams_opened == n)
        assert await transport.wait_logged_in(timeout=3)
    await server.stop()
    await eventually(lambda: transport.status().detail["reconnects"] >= 3)
    await server.start(port=server.port)
    await server.wait_for(lambda: server.streams_opened == 4)

    assert len(server.requests("Start")) >= 4
    assert server.requests("Stop") == []


async def test_a_send_while_the_service_is_away_is_refused_as_not_connected_and_nothing_reaches_it(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    await server.stop()
    await eventually(lambda: not transport.can_send())

    with pytest.raises(NotConnected, match="not connected to the puppet service"):
        await transport.send_text("c1", "本月收益 144.00 元", room=False)
    await server.start(port=server.port)
    await transport.ready()
    await transport.send_text("c1", "本月收益 144.00 元", room=False)

    assert texts_sent(server) == ["本月收益 144.00 元"]


# -- slow answers ---------------------------------------------------------------------------


@pytest.fixture
async def impatient(server: FakePuppetService, sink: Sink) -> AsyncIterator[WechatyTransport]:
    """A transport that waits 0.3 s for each answer."""
    transport = transport_for(server, call_timeout=0.3)
    await transport.start(sink)
    assert await transport.wait_logged_in(timeout=3)
    yield transport
    await transport.stop()


async def test_a_send_answered_after_the_call_timeout_is_uncertain_and_says_why(
    impatient: WechatyTransport, server: FakePuppetService
) -> None:
    server.latency = lambda call: 1.0 if call.method == "MessageSendText" else 0.0

    with pytest.raises(Uncertain) as raised:
        await impatient.send_text("c1", "本月收益 144.00 元", room=False)

    assert str(raised.value) == (
        "send_text c1: no answer from the puppet service within 0.3 s; it may or may not have gone out"
    )
    assert texts_sent(server) == ["本月收益 144.00 元"]


async def test_a_lookup_answered_too_late_before_anything_is_sent_is_an_ordinary_failure(
    impatient: WechatyTransport, server: FakePuppetService
) -> None:
    server.latency = lambda call: 1.0 if call.method == "RoomPayload" else 0.0

    with pytest.raises(TransportError) as raised:
        await impatient.send_text(ROOM, "接龙开始", room=True)

    assert not isinstance(raised.value, Uncertain) and raised.value.retryable
    assert str(raised.value).endswith("no answer from the puppet service within 0.3 s; nothing was sent")
    assert texts_sent(server) == []


# -- a hung service -------------------------------------------------------------------------


async def test_a_hung_service_is_detected_by_its_silence_and_the_transport_reconnects_when_it_answers_again(
    server: FakePuppetService, sink: Sink
) -> None:
    transport = transport_for(server, heartbeat_timeout=0.6, call_timeout=0.5)
    await transport.start(sink)
    try:
        assert await transport.wait_logged_in(timeout=3)
        server.hang()  # SIGSTOP: connections stay open, nothing answers
        await eventually(lambda: not transport.can_send())  # paused once a ding goes unanswered
        await eventually(lambda: transport.status().detail["reconnects"] >= 1)
        status = transport.status()
        assert not status.logged_in and not status.connected
        assert status.detail["last_error"].startswith("no heartbeat from the puppet service and no answer to ding")
        assert server.requests("Ding")

        server.resume()
        await transport.ready()
        server.dm("c1", "还在吗")
        assert (await sink.first(Message)).text == "还在吗"
    finally:
        await transport.stop()
    assert server.streams_opened >= 2


async def test_a_quiet_service_that_answers_dings_is_left_connected(server: FakePuppetService, sink: Sink) -> None:
    transport = transport_for(server, heartbeat_timeout=0.9)
    await transport.start(sink)
    try:
        assert await transport.wait_logged_in(timeout=3)
        await server.wait_for_call("Ding", count=3)  # nothing else said for three probes

        assert transport.status().detail["reconnects"] == 0 and transport.can_send()
    finally:
        await transport.stop()
    assert server.streams_opened == 1


async def test_heartbeats_alone_keep_the_connection_without_a_ding(server: FakePuppetService, sink: Sink) -> None:
    transport = transport_for(server, heartbeat_timeout=3)
    await transport.start(sink)
    try:
        assert await transport.wait_logged_in(timeout=3)
        for _ in range(4):
            server.heartbeat()
            await eventually(lambda: transport.status().detail["silent_for"] < 0.3)
        assert server.requests("Ding") == [] and transport.can_send()
    finally:
        await transport.stop()


# -- stopping -------------------------------------------------------------------------------


async def test_stopping_while_connecting_to_a_dying_service_ends_at_once_and_nothing_reconnects_after(
    server: FakePuppetService, sink: Sink
) -> None:
    server.hang()  # takes the connection, never answers Start
    transport = transport_for(server, call_timeout=30, heartbeat_timeout=30)
    await transport.start(sink)
    await server.wait_for_call("Start")

    await _stop_within(transport, seconds=3)
    with pytest.raises(NotConnected, match="stopping"):
        await transport.send_text("c1", "晚安", room=False)
    calls = len(server.calls)
    server.resume()
    await server.stop()
    await server.start(port=server.port)
    await _sleep_past_the_backoff()

    assert len(server.calls) == calls and server.streams_opened == 0
    assert not transport.status().connected


async def test_stopping_between_reconnects_ends_at_once_and_nothing_reconnects_after(
    transport: WechatyTransport, server: FakePuppetService
) -> None:
    await server.stop()
    await eventually(lambda: transport.status().detail["reconnects"] >= 2)

    await _stop_within(transport, seconds=3)
    await server.start(port=server.port)
    await _sleep_past_the_backoff()

    assert server.streams_opened == 1


async def _stop_within(transport: WechatyTransport, seconds: float) -> None:
    """A guard against a stop that hangs (the old code waited on a hung Start for good)."""
    async with asyncio.timeout(seconds):
        await transport.stop()


async def _sleep_past_the_backoff() -> None:
    await asyncio.sleep(0.5)  # the backoff here is 0.05-0.2 s: a reconnect would have happened by now


# -- lookups --------------------------------------------------------------------------------


async def test_lookups_of_one_contact_in_flight_together_are_merged_into_one_call(
    transport: WechatyTransport, server: FakePuppetService, sink: Sink
) -> None:
    server.latency = lambda call: 0.1 if call.method == "ContactPayload" else 0.0
    for n in range(5):
        server.dm("c1", f"收益 {n}")  # each message loads its sender (c1) and its addressee (the helper)

    await sink.wait_for(5)

    looked_up = [r.id for r in server.requests("ContactPayload")]
    assert sorted(looked_up) == sorted(["c1", HELPER_WXID])


# -- starting -------------------------------------------------------------------------------


def test_without_a_token_the_transport_refuses_to_start_and_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    with pytest.raises(ValueError) as raised:
        WechatyTransport("127.0.0.1:8788")
    assert str(raised.value) == (
        "no puppet service token: set WECHATY_PUPPET_SERVICE_TOKEN (the token the puppet service was given)"
    )


@pytest.mark.parametrize("endpoint", ["not a url::", "127.0.0.1:port", "host:8788/path", "http://"])
def test_an_endpoint_that_is_not_host_and_port_is_refused_at_start(endpoint: str) -> None:
    with pytest.raises(ValueError) as raised:
        WechatyTransport(endpoint, TOKEN)
    assert str(raised.value) == (
        f"WECHATY_PUPPET_SERVICE_ENDPOINT={endpoint!r} is not a puppet service address:"
        " give host:port, e.g. 127.0.0.1:8788"
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({ENV_ENDPOINT: "127.0.0.1:8788"}, "no puppet service token: set WECHATY_PUPPET_SERVICE_TOKEN"),
        ({ENV_ENDPOINT: "not a url::", ENV_TOKEN: TOKEN}, "WECHATY_PUPPET_SERVICE_ENDPOINT='not a url::' is not"),
        ({}, "no puppet service endpoint: set WECHATY_PUPPET_SERVICE_ENDPOINT (host:port)"),
    ],
)
def test_distbot_run_with_wechaty_misconfigured_exits_with_one_clear_line(
    env: dict[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name in (ENV_ENDPOINT, ENV_TOKEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISTBOT_TRANSPORT", "wechaty")
    monkeypatch.setenv("DISTBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'distbot.db'}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    exit_codes: list[int] = []
    run = threading.Thread(  # a daemon: a bot that does start anyway must not hold the test run
        target=lambda: exit_codes.append(main(["run", "--config", str(ROOT / "config.yaml"), "--port", "0"])),
        daemon=True,
    )
    run.start()
    run.join(timeout=20)

    out, err = capsys.readouterr()
    assert exit_codes == [1] and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"error: the wechaty transport cannot start: {said}")


async def test_a_token_the_service_refuses_is_said_plainly_and_retried_slowly(
    server: FakePuppetService, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    server.failures["Start"] = GRPCError(Status.UNAUTHENTICATED, "invalid token")
    transport = transport_for(server, backoff=(0.01, 0.2))
    await transport.start(sink)
    try:
        await server.wait_for_call("Start", count=2)
    finally:
        await transport.stop()

    refused = [r for r in caplog.records if r.name == ADAPTER and r.levelno == logging.ERROR]
    assert refused and refused[0].getMessage().startswith(
        "wechaty: disconnected (the puppet service refuses the token (invalid token):"
        " check WECHATY_PUPPET_SERVICE_TOKEN); reconnect 1 in "
    )
    assert transport.status().detail["last_error"].startswith("the puppet service refuses the token")


async def test_a_login_qr_code_is_logged_once_url_encoded_and_the_library_prints_nothing(
    transport: WechatyTransport,
    server: FakePuppetService,
    sink: Sink,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    qrcode = "https://login.weixin.qq.com/l/Ab+c/d=="
    server.scan(qrcode)
    server.scan(qrcode)
    server.scan(qrcode, status=3)  # scanned, waiting for the confirmation on the phone
    server.dm("c1", "在吗")  # after the scans in the stream: once it is here, they were handled
    await sink.first(Message)

    url = "https://wechaty.js.org/qrcode/https%3A%2F%2Flogin.weixin.qq.com%2Fl%2FAb%2Bc%2Fd%3D%3D"
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert said == [f"wechaty: the helper account must log in: scan the QR code at {url}"]
    assert transport.status().detail["scan"] == url
    out, err = capfd.readouterr()
    assert "internal error" not in err and "█" not in out and "▀" not in out and out.strip() == ""

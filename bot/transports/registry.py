"""The transports this install can run, by kind: ``transport.kind`` in config.yaml (or
``DISTBOT_TRANSPORT``) names one, and the composition root builds it here. The only module
outside a transport that knows transports by name; imported by ``bot.app`` alone.

Adding a transport is one entry in :data:`KINDS`: its factory, and whether it serves pages with
no login of their own (then ``distbot run`` refuses to listen beyond loopback unless told the
network is trusted). What it can do, the routes it adds to the web application and the pace it
sends at, the transport itself declares (``bot.base.transport.Transport``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from bot.base.config import Settings
from bot.base.db import Database
from bot.base.kf_windows import DbWindows
from bot.base.render import TEMPLATES, Renderer
from bot.base.startup import StartupError
from bot.base.transport import PostCap, Transport
from bot.transports.sim import SimTransport
from bot.transports.sim_wecom import SimWeComTransport
from bot.transports.wechaty_adapter import WechatyTransport
from bot.transports.wecom import CallbackCrypto, WeComClient
from bot.transports.wecom_transport import WeComTransport


@dataclass(frozen=True)
class Setup:
    """What a factory gets: the configuration, the process's clock, the address the web
    application answers at (the simulator shows its page under it), and the database where a
    transport keeps what must outlive a restart (WeCom's 微信客服 windows)."""

    settings: Settings
    clock: Callable[[], datetime]
    base_url: str
    account: str | None = None  # the helper account; None: the process's own (settings.helper_account)
    db: Database | None = None


@dataclass(frozen=True)
class TransportKind:
    """One kind of transport. ``no_login`` names what it serves on the web without a login (said
    when refusing a non-loopback address); None when it serves nothing of the kind."""

    kind: str
    build: Callable[[Setup], Transport]
    no_login: str | None = None


def _sim(setup: Setup) -> Transport:
    journal = Path(setup.settings.raw.transport.sim_journal)
    flavour = SimWeComTransport if setup.settings.raw.transport.sim.flavour == "wecom" else SimTransport
    if setup.account is None or setup.account == setup.settings.helper_account:
        return flavour.from_settings(setup.settings, journal, page_url=f"{setup.base_url}/sim", clock=setup.clock)
    # A further account of the process: its own world and journal beside the first, no page.
    journal = journal.with_name(f"{journal.stem}-{setup.account}{journal.suffix}")
    return flavour.from_settings(setup.settings, journal, clock=setup.clock, account=setup.account)


def _wechaty(setup: Setup) -> Transport:
    if setup.account is not None and setup.account != setup.settings.helper_account:
        raise StartupError(
            f"the wechaty transport serves one helper account per process: run a process for {setup.account}"
            " (DISTBOT_HELPER_ACCOUNT) instead of listing it in fleet.accounts"
        )
    try:
        return WechatyTransport(account=setup.settings.helper_account)
    except (ImportError, ValueError) as exc:  # says what to install or set, in one line
        raise StartupError(f"the wechaty transport cannot start: {exc} (or use transport.kind: sim)") from None


POST_CAPS = {"month_days": PostCap("month"), "week_7": PostCap("week", 7), "day_1": PostCap("day", 1)}


def _wecom(setup: Setup) -> Transport:
    settings = setup.settings
    config = settings.raw.transport.wecom
    clock = WeComTransport.clock_for(setup.clock)
    try:
        crypto = CallbackCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id, clock=clock,
                                max_skew=timedelta(seconds=config.callback_max_skew_seconds))
        client = WeComClient(settings.wecom_corp_id, settings.wecom_secret, base_url=config.api_base_url, clock=clock,
                             timeout=float(config.timeout_seconds))
    except ValueError as exc:  # an empty secret, an EncodingAESKey that is not 43 characters
        raise StartupError(f"the wecom transport cannot start: {exc} (transport.wecom)") from None
    renderer = Renderer(TEMPLATES, settings.raw.platform.timezone)

    def welcome(state: str) -> str:
        data = {"platform": settings.raw.platform.name, "code": state, "kf_url": config.kf.url}
        return renderer.render("wecom_welcome", data)

    return WeComTransport(
        client,
        crypto,
        account=settings.helper_account,
        sender_userid=config.sender_userid,
        open_kfid=config.kf.open_kfid,
        clock=setup.clock,
        welcome=welcome,
        cap=POST_CAPS[config.group_messages.cap],
        callback_path=config.callback_path,
        kf_cursor_file=Path(config.kf.cursor_file),
        windows=DbWindows(setup.db, config.kf.open_kfid) if setup.db is not None else None,
    )


KINDS: Mapping[str, TransportKind] = MappingProxyType(
    {
        "sim": TransportKind("sim", _sim, no_login="the WeChat simulator"),
        "wechaty": TransportKind("wechaty", _wechaty),
        "wecom": TransportKind("wecom", _wecom),
    }
)


def kinds() -> tuple[str, ...]:
    return tuple(KINDS)


def find(name: str, *, source: str = "transport.kind") -> TransportKind:
    """The registered kind ``name``; a :class:`StartupError` naming ``source`` and the kinds there are."""
    found = KINDS.get(name)
    if found is None:
        raise StartupError(f"no transport {name!r} ({source}): one of {', '.join(sorted(KINDS))}")
    return found


def no_login(name: str) -> str | None:
    """What kind ``name`` serves without a login (None for kinds not registered: a transport
    handed in by a test serves nothing)."""
    found = KINDS.get(name)
    return found.no_login if found is not None else None

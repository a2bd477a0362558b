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
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from bot.base.config import Settings
from bot.base.startup import StartupError
from bot.base.transport import Transport
from bot.transports.sim import SimTransport
from bot.transports.wechaty_adapter import WechatyTransport


@dataclass(frozen=True)
class Setup:
    """What a factory gets: the configuration, the process's clock, and the address the web
    application answers at (the simulator shows its page under it)."""

    settings: Settings
    clock: Callable[[], datetime]
    base_url: str
    account: str | None = None  # the helper account; None: the process's own (settings.helper_account)


@dataclass(frozen=True)
class TransportKind:
    """One kind of transport. ``no_login`` names what it serves on the web without a login (said
    when refusing a non-loopback address); None when it serves nothing of the kind."""

    kind: str
    build: Callable[[Setup], Transport]
    no_login: str | None = None


def _sim(setup: Setup) -> Transport:
    journal = Path(setup.settings.raw.transport.sim_journal)
    if setup.account is None or setup.account == setup.settings.helper_account:
        return SimTransport.from_settings(setup.settings, journal, page_url=f"{setup.base_url}/sim", clock=setup.clock)
    # A further account of the process: its own world and journal beside the first, no page.
    journal = journal.with_name(f"{journal.stem}-{setup.account}{journal.suffix}")
    return SimTransport.from_settings(setup.settings, journal, clock=setup.clock, account=setup.account)


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


KINDS: Mapping[str, TransportKind] = MappingProxyType(
    {
        "sim": TransportKind("sim", _sim, no_login="the WeChat simulator"),
        "wechaty": TransportKind("wechaty", _wechaty),
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

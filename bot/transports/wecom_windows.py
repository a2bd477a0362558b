"""The ``wecom`` transport's 微信客服 windows: the rules of ``core.kf_window`` applied with the
transport's clock, over a :class:`WindowStore` (the database in production) that is read at
start and, for a customer not seen since, on demand; written when a customer's message comes
in and when an answer goes out. The database failing never loses a customer's message: the
window is then kept in memory only (logged), and an answer that cannot learn its window is a
:class:`TransportError` the outbox retries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.base.kf_windows import MemoryWindows, WindowStore
from bot.base.transport import OutsideWindow, TransportError
from core import kf_window
from core.kf_window import Limits, Window

log = logging.getLogger(__name__)


class KfWindows:
    def __init__(self, store: WindowStore | None, limits: Limits, now: Callable[[], datetime]):
        self.store: WindowStore = store if store is not None else MemoryWindows()
        self.limits = limits
        self._now = now
        self._known: dict[str, Window] = {}

    async def load(self) -> None:
        """The windows that may still be open, read once at start."""
        try:
            self._known.update(await self.store.since(self._now() - timedelta(hours=self.limits.hours)))
        except Exception:  # read on demand instead
            log.exception("wecom: the 微信客服 windows could not be read at start")

    async def opened(self, person: str, at: datetime) -> None:
        """``person`` wrote at ``at``."""
        try:
            known = await self._window(person)
        except TransportError:
            known = self._known.get(person)
        window = kf_window.opened(known, at)
        if window != self._known.get(person):
            self._known[person] = window
            await self._save(person, window)

    async def check(self, person: str) -> Window:
        """The open window an answer to ``person`` may go in; :class:`OutsideWindow` if none."""
        window = await self._window(person)
        why = kf_window.refusal(window, self._now(), self.limits)
        if why is not None and person in self._known:
            # What this process knew may be old: in a fleet the person's newer message may have
            # reached another process (callbacks land on any of them), which saved its window.
            del self._known[person]
            window = await self._window(person)
            why = kf_window.refusal(window, self._now(), self.limits)
        if why is not None:
            raise OutsideWindow(f"{person} {why}")
        assert window is not None
        return window

    async def spent(self, person: str, window: Window) -> Window:
        """An answer went out in ``window``; the window after it."""
        after = kf_window.spent(window)
        self._known[person] = after
        await self._save(person, after)  # the answer is out: a lost count must not make it a failure
        return after

    async def _save(self, person: str, window: Window) -> None:
        try:
            await self.store.save(person, window)
        except Exception:
            log.exception("wecom: the 微信客服 window of %s could not be saved", person)

    def open_count(self) -> int:
        now = self._now()
        return sum(1 for w in self._known.values() if kf_window.is_open(w, now, self.limits))

    async def _window(self, person: str) -> Window | None:
        if person not in self._known:
            try:
                found = await self.store.find(person)
            except Exception as exc:
                raise TransportError(f"the 微信客服 window of {person} could not be read: {exc}") from exc
            if found is None:
                return None
            self._known[person] = found
        return self._known[person]

"""Where a transport keeps 微信客服's reply windows (``core.kf_window``): in the database, so a
restart inside a customer's window still answers them; or in memory (tests, a transport run
without a database). Each write is its own small transaction, outside any message's unit of
work: the window is the transport's bookkeeping of what WeCom allows."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.base.db import Database
from core.kf_window import Window
from models.kf_windows import find_window, save_window, windows_since


class WindowStore(Protocol):
    async def since(self, at: datetime) -> dict[str, Window]:
        """The windows opened at ``at`` or later, by customer."""
        ...

    async def find(self, person: str) -> Window | None: ...

    async def save(self, person: str, window: Window) -> None: ...


class MemoryWindows:
    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    async def since(self, at: datetime) -> dict[str, Window]:
        return {p: w for p, w in self.windows.items() if w.opened_at >= at}

    async def find(self, person: str) -> Window | None:
        return self.windows.get(person)

    async def save(self, person: str, window: Window) -> None:
        known = self.windows.get(person)
        if known is None or known.opened_at <= window.opened_at:
            self.windows[person] = window


class DbWindows:
    """One 微信客服 account's windows in the ``kf_windows`` table."""

    def __init__(self, db: Database, open_kfid: str):
        self.db, self.open_kfid = db, open_kfid

    async def since(self, at: datetime) -> dict[str, Window]:
        async with self.db.reading() as session:
            return await windows_since(session, self.open_kfid, at)

    async def find(self, person: str) -> Window | None:
        async with self.db.reading() as session:
            return await find_window(session, self.open_kfid, person)

    async def save(self, person: str, window: Window) -> None:
        async with self.db.unit_of_work() as session:
            await save_window(session, self.open_kfid, person, window)

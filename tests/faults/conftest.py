from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.base.env import Env
from tests.faults.support import fault_settings
from tests.support import Databases, running_services


@pytest.fixture
async def services(databases: Databases, dialect: str, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """The suite's ``services``; in a drill module (``FAULT_DRILL = True``) with short waits
    (:func:`fault_settings`), and the end of an outage logged after 0.2 s of success, not 1 s."""
    drill = getattr(request.module, "FAULT_DRILL", False)
    async with running_services(databases, dialect, fault_settings() if drill else None) as running:
        if drill:
            running.db.outage.settle = 0.2
        yield running

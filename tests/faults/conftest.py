from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services import Services
from tests.faults.support import fault_settings
from tests.support import Databases, running_services


@pytest.fixture
async def services(databases: Databases, dialect: str) -> AsyncIterator[Services]:
    """The demo platform with short retry waits: the drills wait out outages of seconds."""
    async with running_services(databases, dialect, fault_settings()) as running:
        running.db.outage.settle = 0.2  # the end of an outage is logged after 0.2 s of success, not 1 s
        yield running

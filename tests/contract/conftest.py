from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.backends import BACKENDS, Backend


@pytest.fixture(params=list(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each transport in turn, started, with its far side to act through."""
    harness: Backend = BACKENDS[request.param](tmp_path)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.close()

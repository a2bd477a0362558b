from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import settings

from bot.base.env import Env
from tests.support import DIALECTS, Databases, running_services, web_client

# No deadline per example: on a busy machine (CI, xdist's workers sharing the cores) a slow
# example is not a wrong one. The number of examples stays each test's own.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    pool = Databases(Path(tmp_path_factory.mktemp("databases")))
    yield pool
    pool.drop_all()


@pytest.fixture(autouse=True)
def _give_back_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that had databases, the PostgreSQL ones it did not drop go back to the pool."""
    yield
    if "databases" in request.fixturenames:
        request.getfixturevalue("databases").give_back_all()


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def services(databases: Databases, dialect: str) -> AsyncIterator[Env]:
    async with running_services(databases, dialect) as running:
        yield running


@pytest.fixture
async def client(services: Env) -> AsyncIterator[TestClient]:
    async with web_client(services) as test_client:
        yield test_client

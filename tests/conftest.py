from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.base.env import Env
from tests.support import DIALECTS, Databases, running_services, web_client


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    pool = Databases(Path(tmp_path_factory.mktemp("databases")))
    yield pool
    pool.drop_all()


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

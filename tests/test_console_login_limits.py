"""Console login limits: password guessing is stopped, and nobody can use the limits to lock
the real user out — not by failing with their name, not from behind the same reverse proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.console.auth import COOKIE, hash_password
from bot.console.throttle import LoginThrottle, client_address, networks
from models.console import ConsoleUser
from tests.console_support import CSRF, PASSWORD, make_account
from tests.support import edited_settings, running_services, web_client

BEHIND_A_PROXY = ("trusted_proxies: []", "trusted_proxies: [127.0.0.1]")


async def attempt(
    browser: TestClient | aiohttp.ClientSession, server: TestClient, name: str, password: str, via: str | None = None
) -> aiohttp.ClientResponse:
    """One go at the login form from ``browser`` (``via``: the address a proxy forwards)."""
    url = "/console/login" if browser is server else server.make_url("/console/login")
    headers = {"X-Forwarded-For": via} if via else {}
    page = await browser.get(url, headers=headers)
    token = CSRF.search(await page.text()).group(1)
    data = {"csrf": token, "name": name, "password": password}
    return await browser.post(url, data=data, headers=headers, allow_redirects=False)


@pytest.fixture
async def stranger(client: TestClient) -> AsyncIterator[aiohttp.ClientSession]:
    """Another browser (its own cookies) on the same server and, as behind a proxy, the same address."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # unsafe: an IP host
        yield session


@pytest.fixture
async def proxied(databases, dialect) -> AsyncIterator[tuple[TestClient, object]]:
    """The console behind a reverse proxy on 127.0.0.1 that the configuration trusts."""
    settings = edited_settings(BEHIND_A_PROXY)
    async with running_services(databases, dialect, settings) as services, web_client(services) as test_client:
        yield test_client, services


async def test_guessing_passwords_from_one_browser_is_stopped_after_ten_failures(client, services):
    await make_account(services, "xiaomei")

    statuses = [(await attempt(client, client, "xiaomei", "guess")).status for _ in range(12)]
    refused = await attempt(client, client, "xiaomei", "guess")

    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    assert "尝试次数太多，请 15 分钟后再试。" in await refused.text()
    assert int(refused.headers["Retry-After"]) > 800


async def test_someone_failing_with_a_name_cannot_lock_its_owner_out_of_the_browser_they_use(
    client, services, stranger
):
    await make_account(services, "xiaomei")
    assert (await attempt(client, client, "xiaomei", PASSWORD)).status == 303  # the owner, once
    client.session.cookie_jar.clear(lambda cookie: cookie.key == COOKIE)  # logged out since

    guesses = [(await attempt(stranger, client, "xiaomei", f"guess-{n}")).status for n in range(40)]
    owner = await attempt(client, client, "xiaomei", PASSWORD)

    assert guesses[:10] == [401] * 10 and set(guesses[10:]) == {429}
    assert owner.status == 303 and COOKIE in owner.cookies


async def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_limit(proxied, stranger):
    client, services = proxied
    await make_account(services, "xiaomei")

    guesses = [(await attempt(stranger, client, "xiaomei", "guess", via="203.0.113.9")).status for n in range(11)]
    owner = await attempt(client, client, "xiaomei", PASSWORD, via="198.51.100.7")  # a new browser

    assert guesses[:10] == [401] * 10 and guesses[10] == 429
    assert owner.status == 303


async def test_without_a_trusted_proxy_a_forged_forwarded_for_buys_no_more_guesses(client, services):
    await make_account(services, "xiaomei")

    statuses = [
        (await attempt(client, client, "xiaomei", "guess", via=f"198.51.100.{n}")).status for n in range(11)
    ]

    assert statuses[:10] == [401] * 10 and statuses[10] == 429


async def test_guessing_one_name_from_many_addresses_slows_to_a_doubling_wait_and_the_owner_still_logs_in(
    proxied, stranger
):
    client, services = proxied
    now = [1000.0]
    services.keep(LoginThrottle(clock=lambda: now[0]))
    await make_account(services, "xiaomei")
    assert (await attempt(client, client, "xiaomei", PASSWORD, via="198.51.100.7")).status == 303

    first = [(await attempt(stranger, client, "xiaomei", "x", via=f"203.0.113.{n}")).status for n in range(20)]
    waits = []
    for n in range(20, 24):
        refused = await attempt(stranger, client, "xiaomei", "x", via=f"203.0.113.{n}")
        waits.append(int(refused.headers["Retry-After"]))
        now[0] += waits[-1]
        assert (await attempt(stranger, client, "xiaomei", "x", via=f"203.0.113.{n}")).status == 401
    owner = await attempt(client, client, "xiaomei", PASSWORD, via="198.51.100.7")

    assert first == [401] * 20
    assert waits == [2, 4, 8, 16]
    assert owner.status == 303


async def test_a_device_cookie_counts_only_unforged_and_only_until_the_password_changes(client, services, stranger):
    await make_account(services, "xiaomei")
    await attempt(client, client, "xiaomei", PASSWORD)
    [device] = [c for c in client.session.cookie_jar if c.key.startswith("distbot_console_device_")]
    async with services.db.unit_of_work() as session:
        await session.execute(update(ConsoleUser).values(password_hash=hash_password("a new password")))
    for _ in range(10):
        await attempt(stranger, client, "xiaomei", "guess")

    stale = await attempt(client, client, "xiaomei", "a new password")
    stranger.cookie_jar.update_cookies({device.key: device.value[:-1] + "0"}, client.make_url("/console/login"))
    forged = await attempt(stranger, client, "xiaomei", "a new password")

    assert (stale.status, forged.status) == (429, 429)  # the cookie was signed with the old password's hash


def test_the_client_address_is_the_right_most_one_a_trusted_proxy_forwarded():
    trusted = networks(["127.0.0.1", "10.0.0.0/8"])

    assert client_address("127.0.0.1", ["203.0.113.9, 10.1.2.3"], trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", ["198.51.100.1, 203.0.113.9"], trusted) == "203.0.113.9"  # the left is forgeable
    assert client_address("192.0.2.50", ["203.0.113.9"], trusted) == "192.0.2.50"  # not through a trusted proxy
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"  # no proxy trusted: header ignored
    assert client_address("127.0.0.1", [], trusted) == "127.0.0.1"

"""The console's login: hashed passwords, server-side sessions in HttpOnly SameSite=Lax
cookies, CSRF tokens on every form, and the ``distbot users add`` command."""

from __future__ import annotations

import io

from sqlalchemy import select
from yarl import URL

from bot.cli import main
from bot.console.auth import COOKIE, hash_password, verify_password
from models.console import ConsoleSession, ConsoleUser
from tests.console_support import CSRF, PASSWORD, log_in, make_account
from tests.support import ROOT


def test_a_password_is_stored_as_a_salted_scrypt_hash_and_only_the_right_password_matches():
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")

    assert first.startswith("scrypt$") and "s3cret-pass" not in first
    assert first != second  # a salt of its own
    assert verify_password("s3cret-pass", first) and verify_password("s3cret-pass", second)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "not a hash")


async def test_a_page_without_a_session_sends_the_browser_to_the_login_form(client):
    response = await client.get("/console/brands", allow_redirects=False)

    assert response.status == 303
    location = URL(response.headers["Location"])
    assert (location.path, location.query["next"]) == ("/console/login", "/console/brands")


async def test_logging_in_sets_an_httponly_samesite_lax_cookie_whose_id_is_not_stored_in_clear(client, services):
    await make_account(services, "xiaomei")
    page = await client.get("/console/login")
    token = CSRF.search(await page.text()).group(1)

    response = await client.post(
        "/console/login", data={"csrf": token, "name": "xiaomei", "password": PASSWORD}, allow_redirects=False
    )

    assert response.status == 303 and response.headers["Location"] == "/console"
    header = next(h for h in response.headers.getall("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console" in header
    assert "Secure" not in header  # DISTBOT_CONSOLE_SECURE_COOKIE=1 adds it
    value = response.cookies[COOKIE].value
    assert len(value) >= 43  # 32 random bytes
    async with services.db.reading() as session:
        stored = list(await session.scalars(select(ConsoleSession.id_hash)))
    assert len(stored) == 1 and value not in stored


async def test_the_secure_flag_is_set_when_configured(client, services, monkeypatch):
    monkeypatch.setenv("DISTBOT_CONSOLE_SECURE_COOKIE", "1")
    await make_account(services, "xiaomei")
    page = await client.get("/console/login")
    token = CSRF.search(await page.text()).group(1)

    response = await client.post(
        "/console/login", data={"csrf": token, "name": "xiaomei", "password": PASSWORD}, allow_redirects=False
    )

    assert "Secure" in next(h for h in response.headers.getall("Set-Cookie") if h.startswith(COOKIE))


async def test_a_wrong_password_or_an_unknown_name_is_refused_with_the_same_answer(client, services):
    await make_account(services, "xiaomei")
    answers = []
    for name, password in (("xiaomei", "wrong password"), ("nobody", PASSWORD)):
        page = await client.get("/console/login")
        token = CSRF.search(await page.text()).group(1)
        response = await client.post("/console/login", data={"csrf": token, "name": name, "password": password})
        answers.append((response.status, "用户名或密码错误" in await response.text()))

    assert answers == [(401, True), (401, True)]
    assert COOKIE not in client.session.cookie_jar.filter_cookies(client.make_url("/console"))


async def test_a_login_form_without_its_csrf_token_is_refused(client, services):
    await make_account(services, "xiaomei")

    response = await client.post("/console/login", data={"name": "xiaomei", "password": PASSWORD})

    assert response.status == 403


async def test_every_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, services):
    from tests.console_support import add_red_packets

    packets = await add_red_packets(services)
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")

    missing = await client.post(f"/console/red-packets/{packets['xinghuo']}/paid", data={})
    forged = await client.post(f"/console/red-packets/{packets['xinghuo']}/paid", data={"csrf": "forged"})

    assert (missing.status, forged.status) == (403, 403)
    assert "CSRF" in await forged.text()
    listing = await client.get("/console/red-packets")
    assert f'action="/console/red-packets/{packets["xinghuo"]}/paid"' in await listing.text()


async def test_logging_out_ends_the_session_on_the_server(client, services):
    await make_account(services, "xiaomei")
    csrf = await log_in(client, "xiaomei")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/console"))[COOKIE].value

    response = await client.post("/console/logout", data={"csrf": csrf})

    assert response.status == 200 and "登录" in await response.text()
    client.session.cookie_jar.update_cookies({COOKIE: cookie}, client.make_url("/console"))
    again = await client.get("/console", allow_redirects=False)
    assert again.status == 303


def test_users_add_creates_an_ops_account_and_a_manager_account_with_its_brands(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    config = tmp_path / "config.yaml"
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    config.write_text(
        (ROOT / "config.yaml").read_text(encoding="utf-8").replace("sqlite+aiosqlite:///distbot.db", url),
        encoding="utf-8",
    )

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["users", "add", "xiaomei", "--role", "ops", "--password-stdin", "--config", str(config)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    manager = ["users", "add", "zhaolin", "--role", "manager", "--brand", "xinghuo", "--password-stdin"]
    assert main([*manager, "--config", str(config)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    unknown = ["users", "add", "ghost", "--role", "manager", "--brand", "nope", "--password-stdin"]
    assert main([*unknown, "--config", str(config)]) == 1
    assert "no brand has the id 'nope'" in capsys.readouterr().err

    import asyncio

    from bot.base.db import Database

    async def accounts() -> list[tuple[str, str, list[str], bool]]:
        db = Database(url)
        try:
            async with db.reading() as session:
                rows = await session.scalars(select(ConsoleUser).order_by(ConsoleUser.id))
                return [
                    (u.name, u.role, u.brand_ids, verify_password("a-long-password", u.password_hash)) for u in rows
                ]
        finally:
            await db.dispose()

    assert asyncio.run(accounts()) == [("xiaomei", "ops", [], True), ("zhaolin", "manager", ["xinghuo"], False)]


async def test_a_session_expires_after_twelve_hours(client, services):
    await make_account(services, "xiaomei")
    await log_in(client, "xiaomei")
    services.clock.advance(hours=11, minutes=59)
    assert (await client.get("/console", allow_redirects=False)).status == 200

    services.clock.advance(minutes=2)

    assert (await client.get("/console", allow_redirects=False)).status == 303


def test_the_cli_offers_exactly_the_roles_the_console_knows():
    from bot.cli import users as console_cli
    from bot.console import auth

    assert console_cli.ROLES == auth.ROLES


async def test_a_wrong_password_keeps_the_name_typed_and_puts_the_cursor_in_the_password_field(client, services):
    await make_account(services, "xiaomei")
    page = await client.get("/console/login")
    token = CSRF.search(await page.text()).group(1)

    response = await client.post("/console/login", data={"csrf": token, "name": "xiaomei", "password": "wrong"})

    html = await response.text()
    assert response.status == 401
    assert '<input name="name" value="xiaomei" autocomplete="username" required>' in html
    assert 'autocomplete="current-password" required autofocus>' in html

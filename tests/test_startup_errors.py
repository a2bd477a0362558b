"""What stops `distbot` from starting is said in one line, with exit code 1: a database that
does not answer, does not exist or sits in a folder that does not exist, a port that is taken,
a clock setting it cannot read, and the shipped demo secrets on an address others can reach."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.engine import make_url

from bot.base.startup import StartupError, is_loopback, refuse_demo_secrets
from bot.cli import main
from tests.process_support import free_port, write_config
from tests.support import PG_URL, ROOT, demo_settings, edited_settings


def run(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["run", *args])
    err = capsys.readouterr().err
    return code, err.strip().splitlines()


def test_a_database_on_a_port_where_nothing_listens_is_named_not_mistaken_for_the_web_port(
    tmp_path, capsys, monkeypatch
):
    closed = free_port()
    monkeypatch.setenv("DISTBOT_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/distbot")
    web = free_port()

    code, lines = run(capsys, "--config", str(write_config(tmp_path)), "--port", str(web))

    assert code == 1
    assert lines == [
        f"error: cannot reach the database at postgresql+asyncpg://postgres@127.0.0.1:{closed}/distbot:"
        f" nothing answers on 127.0.0.1:{closed} (is PostgreSQL running there, on that port?);"
        " set database.url in the configuration or DISTBOT_DATABASE_URL"
    ]
    assert "listen" not in lines[0]


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (DISTBOT_TEST_DATABASE_URL)")
def test_a_postgresql_database_that_does_not_exist_is_one_line_saying_how_to_create_it(tmp_path, capsys, monkeypatch):
    missing = make_url(PG_URL).set(database="distbot_no_such_database").render_as_string(hide_password=False)
    monkeypatch.setenv("DISTBOT_DATABASE_URL", missing)

    code, lines = run(capsys, "--config", str(write_config(tmp_path)), "--port", str(free_port()))

    assert code == 1
    [line] = lines
    assert line.startswith("error: the database at postgresql+asyncpg://")
    assert "/distbot_no_such_database does not exist: create it (createdb -h " in line


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_one_line_naming_the_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "no" / "such" / "folder"
    monkeypatch.setenv("DISTBOT_DATABASE_URL", f"sqlite+aiosqlite:///{folder / 'bot.db'}")

    code, lines = run(capsys, "--config", str(write_config(tmp_path)), "--port", str(free_port()))

    assert code == 1
    [line] = lines
    assert line.startswith(f"error: cannot open the database at sqlite+aiosqlite:///{folder / 'bot.db'}")
    assert f"the folder {folder} does not exist" in line
    assert not folder.exists()


def test_a_taken_port_is_one_line_naming_the_address(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code, lines = run(capsys, "--config", str(write_config(tmp_path)), "--port", str(port))

    assert code == 1
    [line] = lines
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")


def test_a_clock_setting_that_is_not_an_instant_with_an_offset_is_refused_saying_how_to_write_it(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("DISTBOT_CLOCK", "2026-11-25 20:35")

    code, lines = run(capsys, "--config", str(write_config(tmp_path)), "--port", str(free_port()))

    assert code == 1
    assert lines == [
        "error: DISTBOT_CLOCK='2026-11-25 20:35' is not an instant with a UTC offset;"
        " write it like 2026-11-25T20:35:00+08:00"
    ]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "bot.example.com"])
def test_the_demo_secrets_are_refused_on_an_address_other_machines_reach(tmp_path, capsys, monkeypatch, host):
    for variable in ("DISTBOT_DATABASE_URL", "DISTBOT_ADMIN_TOKEN", "DISTBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(variable, raising=False)

    # --allow-remote-sim: past the simulator's own loopback rule, the secrets are still refused
    args = ("--config", str(write_config(tmp_path)), "--host", host, "--port", str(free_port()), "--allow-remote-sim")
    code, lines = run(capsys, *args)

    assert code == 1
    [line] = lines
    assert line.startswith(f"error: refusing to listen on {host} with the demo webhook.secret")
    assert "admin.token (DISTBOT_ADMIN_TOKEN)" in line
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened


def test_one_demo_secret_left_is_enough_to_be_refused_and_own_secrets_or_loopback_pass(monkeypatch):
    monkeypatch.delenv("DISTBOT_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("DISTBOT_ADMIN_TOKEN", "a-token-of-our-own-3f9c2e7d")
    settings = demo_settings()

    with pytest.raises(StartupError, match=r"demo webhook\.secret \(DISTBOT_WEBHOOK_SECRET\) shipped"):
        refuse_demo_secrets(settings, "0.0.0.0")
    refuse_demo_secrets(settings, "127.0.0.1")
    refuse_demo_secrets(settings, "localhost")
    monkeypatch.setenv("DISTBOT_WEBHOOK_SECRET", "a-secret-of-our-own-8d1b")
    refuse_demo_secrets(settings, "0.0.0.0")
    refuse_demo_secrets(edited_settings(("token: demo-admin-token", "token: x-9")), "0.0.0.0")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False), ("example.com", False)],
)  # fmt: skip
def test_only_loopback_addresses_count_as_unreachable_from_other_machines(host, loopback):
    assert is_loopback(host) is loopback


def test_check_config_warns_about_each_demo_secret_with_its_line(capsys, monkeypatch):
    for variable in ("DISTBOT_ADMIN_TOKEN", "DISTBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(variable, raising=False)

    config = ROOT / "config.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    secret, token = (next(n for n, x in enumerate(lines, 1) if word in x) for word in ("secret: demo", "token: demo"))

    assert main(["check-config", str(config)]) == 0

    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    places = [w.split(": ")[1:3] for w in warnings]
    assert places == [[f"{config}:{secret}", "webhook.secret"], [f"{config}:{token}", "admin.token"]]
    assert all("refused on any other address" in w for w in warnings)
    assert "2 warning(s)" in out

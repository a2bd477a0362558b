"""Codes people type, and ``distbot codes issue --count N`` on every database the suite runs on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.base.db import Database
from bot.cli import main
from models import PlatformCode
from services.codes import ALPHABET, PERSONAL_LENGTH, PLATFORM_LENGTH, bits, new_code, normalise_code
from tests.support import ROOT

AMBIGUOUS = set("0O1IL")


def test_the_code_alphabet_leaves_out_every_look_alike():
    assert not AMBIGUOUS & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_a_platform_code_carries_at_least_40_random_bits():
    assert bits(PLATFORM_LENGTH) >= 40
    assert len(new_code(PLATFORM_LENGTH)) == PLATFORM_LENGTH
    assert len(new_code()) == PERSONAL_LENGTH


def test_a_typed_code_is_read_with_spaces_and_case_ignored():
    assert normalise_code(" democ 001 ") == "DEMOC001"
    assert normalise_code("DEMO-C001") is None
    assert normalise_code("收益") is None


# The command line, on a database the command migrates itself (a fresh SQLite file) or on PostgreSQL.


def cli_config(databases, dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}" if dialect == "sqlite" else asyncio.run(databases.new(dialect))
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert text.count("sqlite+aiosqlite:///distbot.db") == 1
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("sqlite+aiosqlite:///distbot.db", url), encoding="utf-8")
    return str(path), url


async def stored_codes(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.reading() as session:
            return set(await session.scalars(select(PlatformCode.code)))
    finally:
        await db.dispose()


def test_codes_issue_prints_n_distinct_unambiguous_codes_and_stores_each_of_them(
    databases, dialect, tmp_path, monkeypatch, capsys
):
    config, url = cli_config(databases, dialect, tmp_path, monkeypatch)

    assert main(["codes", "issue", "--count", "25", "--config", config]) == 0

    printed = capsys.readouterr().out.split()
    assert len(printed) == len(set(printed)) == 25
    assert all(bits(len(code)) >= 40 for code in printed)
    assert all(set(code) <= set(ALPHABET) and not AMBIGUOUS & set(code) for code in printed)
    assert asyncio.run(stored_codes(url)) == set(printed)


def test_codes_issued_twice_are_all_different_and_all_kept(databases, dialect, tmp_path, monkeypatch, capsys):
    config, url = cli_config(databases, dialect, tmp_path, monkeypatch)

    main(["codes", "issue", "--count", "3", "--config", config])
    first = capsys.readouterr().out.split()
    main(["codes", "issue", "--count", "4", "--config", config])
    second = capsys.readouterr().out.split()

    assert len(set(first) | set(second)) == 7
    assert asyncio.run(stored_codes(url)) == set(first) | set(second)


@pytest.mark.parametrize("count", ["0", "-3", "10001"])
def test_codes_issue_refuses_a_count_outside_1_to_10000_and_writes_nothing(tmp_path, monkeypatch, capsys, count):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    database = tmp_path / "cli.db"
    config = tmp_path / "config.yaml"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("sqlite+aiosqlite:///distbot.db", f"sqlite+aiosqlite:///{database}"), "utf-8")

    assert main(["codes", "issue", "--count", count, "--config", str(config)]) == 1

    captured = capsys.readouterr()
    assert "--count must be between 1 and 10000" in captured.err
    assert captured.out == ""
    assert not database.exists()

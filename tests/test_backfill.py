"""``distbot import-orders FILE.csv``: back-filled order events, on every database the suite runs on."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.base.db import Database
from bot.base.env import Env
from bot.cli import main
from bot.cli.backfill import import_file, print_summary
from models import Course, Distributor, LedgerLine, Order, OrderEvent, OutboxMessage
from services.order_file import ImportFileError
from tests.support import ROOT, order_event, post_event, running_services, web_client

HEADER = "event_id,type,order_id,course_sku,quantity,amount,buyer_id,buyer_name,buyer_phone,ref,occurred_at"
AT = "2026-11-25T10:00:00+08:00"
LINES = [
    HEADER,
    f"e-1,paid,o-1,XH-MATH-S1,1,399.00,buyer-1,陈静,13812345678,DEMOC001,{AT}",  # 2 accepted: 李娜 sells
    f"e-2,paid,o-2,XH-MATH-S1,2,798.00,buyer-2,刘洋,,,{AT}",  # 3 accepted: nobody's code
    f"e-1,paid,o-1,XH-MATH-S1,1,399.00,buyer-1,陈静,13812345678,DEMOC001,{AT}",  # 4 duplicate event id
    f"e-3,paid,o-3,XH-MATH-S1,1,12.345,buyer-3,赵敏,,DEMOC001,{AT}",  # 5 malformed amount
    f"e-4,paid,o-4,NO-SUCH,1,399.00,buyer-4,孙丽,,DEMOC001,{AT}",  # 6 unknown sku
    f"e-5,paid,o-5,XH-MATH-S1,1,399.00,buyer-5,周敏,,DEMOC002,{AT}",  # 7 accepted: 张伟 sells
    "e-6,refunded,o-1,XH-MATH-S1,0,133.00,,,,,2026-11-25T10:03:00+08:00",  # 8 accepted: refund of line 2
]
TABLES = (Order, OrderEvent, LedgerLine, OutboxMessage)
REJECTED = [
    (5, "amount: must be whole fen (at most two decimals)"),
    (6, "course_sku: unknown course sku 'NO-SUCH'"),
]


def write_csv(tmp_path: Path, lines: list[str], name: str = "orders.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


async def counts(services: Env, models=TABLES) -> tuple[int, ...]:
    """Rows in each table, as a user counting them would see."""
    return await _count(services.db, models)


async def counts_at(url: str, models=TABLES) -> tuple[int, ...]:
    db = Database(url)
    try:
        return await _count(db, models)
    finally:
        await db.dispose()


async def _count(db: Database, models) -> tuple[int, ...]:
    async with db.reading() as session:
        return tuple([int(await session.scalar(select(func.count()).select_from(m))) for m in models])


async def stock(services) -> int:
    async with services.db.reading() as session:
        return int(await session.scalar(select(Course.stock).where(Course.sku == "XH-MATH-S1")))


async def test_a_file_of_good_repeated_and_bad_lines_is_summarised_with_line_numbers_and_reasons(
    databases, dialect, tmp_path
):
    path = write_csv(tmp_path, LINES)
    async with running_services(databases, dialect) as services:
        summary = await import_file(services, path, progress=False)

        assert summary.accepted == [2, 3, 7, 8]
        assert summary.duplicate == [4]
        assert summary.rejected == REJECTED
        assert await counts(services, (Order, OrderEvent)) == (3, 4)
        assert await stock(services) == 296  # 300 − 1 − 2 − 1; the refund returned no units
        async with services.db.reading() as session:
            assert set(await session.scalars(select(OrderEvent.source))) == {"import"}
            assert await session.get(Order, "o-3") is None and await session.get(Order, "o-4") is None


async def test_imported_orders_pay_the_commissions_the_webhook_would_and_the_refund_claws_back(
    databases, dialect, tmp_path
):
    path = write_csv(tmp_path, LINES)
    async with running_services(databases, dialect) as services:
        await import_file(services, path, progress=False)

        async with services.db.reading() as session:
            net = dict(
                (
                    await session.execute(
                        select(Distributor.code, func.sum(LedgerLine.amount))
                        .join(Distributor, Distributor.id == LedgerLine.distributor_id)
                        .group_by(Distributor.code)
                    )
                ).all()
            )
            texts = [
                m.text for m in await session.scalars(select(OutboxMessage).where(OutboxMessage.target == "wx-lina"))
            ]
    # 李娜 (C, recruited by 王芳, B): 144.00 on o-1, less 48.00 for the 133.00 refund;
    # 张伟 (C, also 王芳's) 144.00 on o-5; 王芳 7.20 on each, less 2.40.
    assert net == {
        "DEMOC001": Decimal("96.00"),
        "DEMOC002": Decimal("144.00"),
        "DEMOB001": Decimal("12.00"),
    }
    assert any("144.00" in text for text in texts)


async def test_importing_the_same_file_again_counts_every_imported_line_as_duplicate_and_changes_nothing(
    databases, dialect, tmp_path
):
    path = write_csv(tmp_path, LINES)
    async with running_services(databases, dialect) as services:
        await import_file(services, path, progress=False)
        before = (await counts(services), await stock(services))

        again = await import_file(services, path, progress=False)

        assert again.accepted == []
        assert again.duplicate == [2, 3, 4, 7, 8]
        assert again.rejected == REJECTED
        assert (await counts(services), await stock(services)) == before


async def test_an_imported_event_sent_again_by_the_shop_to_the_webhook_is_a_duplicate(databases, dialect, tmp_path):
    path = write_csv(tmp_path, LINES[:2])
    async with running_services(databases, dialect) as services:
        await import_file(services, path, progress=False)
        before = await counts(services)

        async with web_client(services) as client:
            status, body = await post_event(client, order_event("o-1", ref="DEMOC001", event_id="e-1"))

        assert (status, body["status"]) == (200, "duplicate")
        assert await counts(services) == before


async def test_the_summary_prints_counts_line_ranges_and_each_rejected_line_with_its_reason(
    databases, dialect, tmp_path, capsys
):
    path = write_csv(tmp_path, LINES)
    async with running_services(databases, dialect) as services:
        print_summary(await import_file(services, path, progress=False))
        print_summary(await import_file(services, path, progress=False))

    first, second = capsys.readouterr().out.split(f"{path}: ")[1:]
    assert first.splitlines() == [
        "7 line(s) — 4 accepted, 1 duplicate, 2 rejected",
        "accepted: lines 2–3, 7–8",
        "duplicate (already imported, nothing changed): line 4",
        "rejected (nothing written for these lines):",
        "  line 5: amount: must be whole fen (at most two decimals)",
        "  line 6: course_sku: unknown course sku 'NO-SUCH'",
    ]
    assert second.splitlines()[:2] == [
        "7 line(s) — 0 accepted, 5 duplicate, 2 rejected",
        "duplicate (already imported, nothing changed): lines 2–4, 7–8",
    ]


async def test_every_problem_of_a_line_is_named_by_its_csv_column(databases, dialect, tmp_path):
    path = write_csv(
        tmp_path,
        [
            HEADER,
            "e-1,paid,o-1,XH-MATH-S1,1,1.005,buyer-1,,,,2026-11-25T10:00:00",
            "e-2,sold,o-2,XH-MATH-S1,1,399.00,buyer-2,刘洋,,,yesterday",
            "e-3,paid,o-3,XH-MATH-S1,1,399.00,,,,,1764036000",
            "e-4,paid,o-4",
        ],
    )
    async with running_services(databases, dialect) as services:
        summary = await import_file(services, path, progress=False)

        assert await counts(services, (Order, OrderEvent)) == (0, 0)
    reasons = dict(summary.rejected)
    assert reasons[2] == (
        "amount: must be whole fen (at most two decimals); buyer_name: required;"
        " occurred_at: needs a timezone, e.g. +08:00"
    )
    assert reasons[3] == (
        "type: must be one of paid, refunded, qualified, checkin_completed;"
        " occurred_at: not an ISO 8601 time, e.g. 2026-11-25T10:00:00+08:00"
    )
    assert reasons[4] == "buyer_id, buyer_name: required for a paid event: {id, name, phone?}"  # Unix seconds were fine
    assert reasons[5] == "expected 11 fields, found 3"


async def test_lines_with_impossible_amounts_or_times_are_rejected_and_the_next_lines_go_on(
    databases, dialect, tmp_path
):
    path = write_csv(
        tmp_path,
        [
            HEADER,
            f"e-1,paid,o-1,XH-MATH-S1,1,99999999999999999999.00,buyer-1,陈静,,,{AT}",  # beyond BIGINT fen
            "e-2,paid,o-2,XH-MATH-S1,1,399.00,buyer-2,刘洋,,,99999999999999999999",  # beyond any clock
            f"e-3,paid,o-3,XH-MATH-S1,1,399.00,buyer-3,赵敏,,DEMOC001,{AT}",
        ],
    )
    async with running_services(databases, dialect) as services:
        summary = await import_file(services, path, progress=False)

        reasons = dict(summary.rejected)
        assert sorted(reasons) == [2, 3]
        assert reasons[2] == "amount: must not exceed 100000000.00 yuan"
        assert reasons[3] == "occurred_at: not a Unix time in seconds"
        assert summary.accepted == [4]
        assert await counts(services, (Order, OrderEvent)) == (1, 1)
        assert await stock(services) == 299


async def test_line_numbers_are_the_files_physical_lines_across_blank_lines_and_quoted_line_breaks(
    databases, dialect, tmp_path
):
    lines = [
        HEADER,
        "",
        f'e-1,paid,o-1,XH-MATH-S1,1,399.00,buyer-1,"陈静\n(二班)",,DEMOC001,{AT}',
        f"e-2,paid,o-2,NO-SUCH,1,399.00,buyer-2,刘洋,,,{AT}",
    ]
    path = write_csv(tmp_path, lines)
    async with running_services(databases, dialect) as services:
        summary = await import_file(services, path, progress=False)

    assert summary.accepted == [3]
    assert [line for line, _ in summary.rejected] == [5]


async def test_optional_columns_may_be_left_out_in_any_order_and_a_byte_order_mark_is_tolerated(
    databases, dialect, tmp_path
):
    header = "occurred_at,event_id,type,order_id,course_sku,quantity,amount,buyer_id,buyer_name"
    path = write_csv(tmp_path, [header, f"{AT},e-1,paid,o-1,XH-MATH-S1,1,399.00,buyer-1,陈静"], bom=True)
    async with running_services(databases, dialect) as services:
        summary = await import_file(services, path, progress=False)

        assert summary.accepted == [2]
        assert await counts(services, (Order,)) == (1,)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace("amount", "amout"), "unknown column(s) 'amout'; missing column(s) amount"),
        (HEADER.replace(",buyer_name", ""), "missing column(s) buyer_name"),
        (HEADER + ",ref", "repeated column(s) ref"),
    ],
)
async def test_a_file_whose_header_is_wrong_is_refused_before_anything_is_imported(
    databases, dialect, tmp_path, header, message
):
    path = write_csv(tmp_path, [header, *LINES[1:]])
    async with running_services(databases, dialect) as services:
        with pytest.raises(ImportFileError, match="line 1: ") as refusal:
            await import_file(services, path, progress=False)

        assert message in str(refusal.value) and "nothing was imported" in str(refusal.value)
        assert await counts(services) == (0, 0, 0, 0)


async def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(databases, dialect, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"{HEADER}\n{LINES[1]}\n".encode("gbk"))
    async with running_services(databases, dialect) as services:
        with pytest.raises(ImportFileError, match="not UTF-8"):
            await import_file(services, path, progress=False)


async def test_the_progress_bar_counts_the_lines_on_a_terminal_and_stays_silent_otherwise(
    databases, dialect, tmp_path, monkeypatch
):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = write_csv(tmp_path, LINES)
    async with running_services(databases, dialect) as services:
        terminal, pipe = Terminal(), io.StringIO()
        monkeypatch.setattr("sys.stderr", terminal)
        await import_file(services, path, progress=True)
        monkeypatch.setattr("sys.stderr", pipe)
        await import_file(services, path, progress=True)

    assert "orders.csv" in terminal.getvalue() and "7/7" in terminal.getvalue()
    assert pipe.getvalue() == ""


# The command line, on a database the command migrates itself (a fresh SQLite file) or on PostgreSQL.


def cli_database(databases, dialect: str, tmp_path: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return asyncio.run(databases.new(dialect))


def config_for(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert text.count("sqlite+aiosqlite:///distbot.db") == 1
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("sqlite+aiosqlite:///distbot.db", url), encoding="utf-8")
    return str(path)


def test_import_orders_prints_the_summary_and_exits_2_when_a_line_is_rejected(
    databases, dialect, tmp_path, monkeypatch, capsys
):
    url = cli_database(databases, dialect, tmp_path)
    config = config_for(tmp_path, url, monkeypatch)
    path = write_csv(tmp_path, LINES)

    assert main(["import-orders", str(path), "--config", config, "--no-progress"]) == 2
    out = capsys.readouterr().out
    assert "7 line(s) — 4 accepted, 1 duplicate, 2 rejected" in out
    assert "  line 6: course_sku: unknown course sku 'NO-SUCH'" in out
    written = asyncio.run(counts_at(url))

    assert main(["import-orders", str(path), "--config", config, "--no-progress"]) == 2
    assert "7 line(s) — 0 accepted, 5 duplicate, 2 rejected" in capsys.readouterr().out
    assert asyncio.run(counts_at(url)) == written
    assert written[:2] == (3, 4)


def test_import_orders_exits_0_when_every_line_is_accepted(databases, dialect, tmp_path, monkeypatch, capsys):
    config = config_for(tmp_path, cli_database(databases, dialect, tmp_path), monkeypatch)
    path = write_csv(tmp_path, [LINES[0], LINES[1], LINES[2]])

    assert main(["import-orders", str(path), "--config", config]) == 0
    assert "2 line(s) — 2 accepted, 0 duplicate, 0 rejected" in capsys.readouterr().out


def test_import_orders_with_a_wrong_header_says_so_on_stderr_exits_1_and_imports_nothing(
    databases, dialect, tmp_path, monkeypatch, capsys
):
    url = cli_database(databases, dialect, tmp_path)
    config = config_for(tmp_path, url, monkeypatch)
    path = write_csv(tmp_path, [HEADER.replace("order_id", "orderid"), *LINES[1:]])

    assert main(["import-orders", str(path), "--config", config, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "error: " in captured.err and "unknown column(s) 'orderid'" in captured.err
    assert captured.out == ""
    if dialect == "sqlite":
        assert not (tmp_path / "cli.db").exists()  # the file was refused before the database was touched
    else:
        assert asyncio.run(counts_at(url)) == (0, 0, 0, 0)


def test_import_orders_of_a_missing_file_says_so_and_exits_1(tmp_path, monkeypatch, capsys):
    config = config_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", monkeypatch)

    assert main(["import-orders", str(tmp_path / "nope.csv"), "--config", config]) == 1
    assert "no such file" in capsys.readouterr().err

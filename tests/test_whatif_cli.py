"""``distbot whatif``: the hand-checked history of tests/core/test_whatif.py sold through the real
pipeline into a database (SQLite, and PostgreSQL when configured), then replayed read-only
under the team and sales plans — as a table, as JSON, as a chart, or from a CSV file."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from bot.app import build_env, prepare
from bot.base.context import FixedClock
from bot.base.db import Database
from bot.cli import main
from bot.web.webhooks import ingest
from models import Distributor, LedgerLine, Order, OrderEvent
from services.order_events import parse_event
from services.whatif import read_only
from tests.support import ROOT, START, order_event

DEMO_URL = "sqlite+aiosqlite:///distbot.db"
LIVE_UPGRADE = "{promoted_sales: 10000, customers: 20}"  # nobody reaches it while the orders come in
C3 = "    - {code: DEMOC003, name: 赵磊, level: C, recruiter: DEMOC001}\n"
HEADER = "event_id,type,order_id,course_sku,quantity,amount,buyer_id,buyer_name,buyer_phone,ref,occurred_at"


def day(n: int):
    return START + timedelta(days=n)


# The history of tests/core/test_whatif.py with the demo's people: A1 = 林晓 DEMOA001, B1 = 王芳
# DEMOB001, C1 = 李娜 DEMOC001 (buyer-lina), C2 = 张伟 DEMOC002, C3 = 赵磊 DEMOC003 (added here).
HISTORY = [
    order_event("o-1", buyer="b-1", ref="DEMOC002", at=day(0)),
    order_event("o-2", buyer="b-2", ref="DEMOC002", at=day(1)),
    order_event("o-3", sku="KX-BOX", amount="199.00", buyer="b-1", at=day(2)),
    order_event("o-4", buyer="buyer-lina", ref="DEMOC002", at=day(3)),
    order_event("o-5", quantity=2, amount="798.00", buyer="b-3", ref="DEMOB001", at=day(4)),
    order_event("o-1", type="refunded", amount="133.00", quantity=0, at=day(5)),
    order_event("o-6", sku="KX-BOX", amount="199.00", buyer="b-1", ref="DEMOC001", at=day(9)),
    order_event("o-7", sku="KX-BOX", amount="199.00", buyer="b-9", at=day(10)),
]


def config_text(url: str, upgrade: str) -> str:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace(DEMO_URL, url).replace(LIVE_UPGRADE, upgrade)
    demo = "    - {code: DEMOC002, name: 张伟, level: C, recruiter: DEMOB001, contact_id: wx-zhangwei}\n"
    return text.replace(demo, demo + C3)


@pytest.fixture
def platform(databases, dialect, tmp_path, monkeypatch):
    """A database the demo platform sold HISTORY into, and a configuration for the what-if
    whose C→B step is the hand-checked one (700.00 promoted to 2 customers)."""
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    url = asyncio.run(databases.new(dialect))
    live = tmp_path / "live.yaml"
    live.write_text(config_text(url, LIVE_UPGRADE), encoding="utf-8")
    sell(live, HISTORY)
    config = tmp_path / "config.yaml"
    config.write_text(config_text(url, "{promoted_sales: 700, customers: 2}"), encoding="utf-8")
    return str(config), url


def sell(config: Path, events: list[dict]) -> None:
    async def go() -> None:
        services = build_env(config, clock=FixedClock(START))
        try:
            await prepare(services)
            for data in events:
                event, errors = parse_event(data)
                assert event is not None, errors
                assert (await ingest(services, event)).status == 200
        finally:
            await services.db.dispose()

    asyncio.run(go())


def whatif(config: str, *options: str) -> int:
    return main(["whatif", "--config", config, "--plan", "team", "--plan", "sales", *options])


def line_with(out: str, label: str) -> list[str]:
    return next(line for line in out.splitlines() if label in line).split()


def test_the_table_shows_the_hand_checked_team_and_sales_figures_side_by_side(platform, capsys):
    assert whatif(platform[0]) == 0
    out = capsys.readouterr().out
    assert line_with(out, "paid to distributors")[-2:] == ["953.33", "829.80"]
    assert line_with(out, "platform kept, pool")[-2:] == ["66.67", "190.20"]
    assert line_with(out, "platform total")[-2:] == ["436.67", "560.20"]
    assert line_with(out, "级别 level C")[-2:] == ["300.00", "432.00"]
    assert line_with(out, "管理佣金 management")[-2:] == ["320.00", "39.60"]
    assert line_with(out, "基尼系数 Gini")[-2:] == ["0.498", "0.449"]
    assert line_with(out, "top 10% share")[-2:] == ["55.2%", "39.6%"]
    assert line_with(out, "earned nothing")[-2:] == ["1", "1"]
    assert line_with(out, "低于 below 100.00")[-2:] == ["2", "2"]
    assert "2026-11-26 10:00  张伟 (DEMOC002)  C → B" in out
    assert line_with(out, "王芳 (DEMOB001)") == ["王芳", "(DEMOB001)", "B", "526.66", "328.80", "-197.86"]
    assert line_with(out, "+77.66") == ["张伟", "(DEMOC002)", "B", "213.34", "291.00", "+77.66"]


def test_json_carries_the_same_figures_with_amounts_as_exact_strings(platform, capsys):
    assert whatif(platform[0], "--json", "--below", "50.00") == 0
    report = json.loads(capsys.readouterr().out)
    team, sales = report["plans"]
    assert (team["name"], team["paid"], team["platform"]) == (
        "team",
        "953.33",
        {"pool_kept": "66.67", "margin_kept": "370.00", "total": "436.67"},
    )
    assert sales["by_kind"] == {"seller": "789.00", "management": "39.60", "invite": "1.20", "partner": "0.00"}
    assert sales["by_level"] == {"C": "432.00", "B": "379.80", "A": "18.00"}
    assert (team["concentration"]["gini"], sales["concentration"]["top_1_percent"]) == ("0.498", "0.3962")
    assert sales["below"] == {"amount": "50.00", "count": 2}  # 赵磊 0.00 and 林晓 18.00
    assert (report["orders"], report["attributed"], report["distributors"]) == (7, 6, 5)
    assert report["events"] == {"replayed": {"paid": 7, "refunded": 1}, "warm_up": 0, "skipped": {}}
    assert report["upgrades"] == [
        {"at": "2026-11-26T10:00:00+08:00", "code": "DEMOC002", "name": "张伟", "from": "C", "to": "B"}
    ]
    top = report["changes"][0]["top"]
    assert [(c["code"], c["change"]) for c in top] == [
        ("DEMOB001", "-197.86"),
        ("DEMOC002", "77.66"),
        ("DEMOA001", "-62.00"),
        ("DEMOC001", "58.67"),
    ]


def test_replaying_the_configured_plan_reproduces_what_the_pipeline_booked(platform, capsys):
    config, url = platform
    # The live configuration: nobody climbed while the orders came in, nobody climbs in the replay.
    live = str(Path(config).with_name("live.yaml"))
    assert main(["whatif", "--config", live, "--plan", "configured", "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)["plans"][0]
    booked = asyncio.run(ledger_total(url))
    assert replayed["paid"] == f"{booked:.2f}"


async def ledger_total(url: str):
    db = Database(url)
    try:
        async with db.reading() as session:
            entries = ("earned", "cancelled", "adjusted")
            return await session.scalar(
                select(func.coalesce(func.sum(LedgerLine.amount), 0)).where(LedgerLine.entry.in_(entries))
            )
    finally:
        await db.dispose()


def test_the_chart_is_a_png_with_bars_and_curves_in_each_plans_colour(platform, tmp_path, capsys):
    chart = tmp_path / "whatif.png"
    assert whatif(platform[0], "--chart", str(chart)) == 0
    assert f"图表 chart: {chart}" in capsys.readouterr().out
    with Image.open(chart) as image:
        image.verify()
    with Image.open(chart) as image:
        assert (image.format, image.size) == ("PNG", (1400, 760))
        colours = {colour for _, colour in image.convert("RGB").getcolors(1_000_000)}
    assert {(51, 102, 204), (255, 136, 34)} <= colours  # team blue, sales orange


async def table_counts(url: str) -> tuple[int, ...]:
    db = Database(url)
    try:
        async with db.reading() as session:
            tables = (Distributor, Order, OrderEvent, LedgerLine)
            return tuple([int(await session.scalar(select(func.count()).select_from(t))) for t in tables])
    finally:
        await db.dispose()


def test_the_replay_writes_nothing_to_the_database(platform, dialect, capsys):
    config, url = platform
    before = asyncio.run(table_counts(url))
    files = sqlite_bytes(url) if dialect == "sqlite" else None

    assert whatif(config, "--json") == 0

    assert asyncio.run(table_counts(url)) == before == (5, 7, 8, 15)
    if dialect == "sqlite":
        assert sqlite_bytes(url) == files


def sqlite_bytes(url: str) -> dict[str, bytes]:
    """A digest of the database file and of its write-ahead log, when there is one."""
    path = Path(url.split("///", 1)[1])
    wal = path.with_name(path.name + "-wal")
    return {p.name: hashlib.sha256(p.read_bytes()).digest() for p in (path, wal) if p.exists()}


def test_a_plans_file_plan_paying_a_third_level_is_refused_as_check_config_refuses_it(platform, tmp_path, capsys):
    plans = tmp_path / "plans.yaml"
    plans.write_text(
        "generous:\n  model: custom\n  table:\n    seller: {C: 80%, B: 85%, A: 90%}\n"
        "    management: {A: {B: {C: 1%}}}\n",
        encoding="utf-8",
    )
    assert main(["whatif", "--config", platform[0], "--plans-file", str(plans), "--plan", "generous"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: {plans}:5: generous.table.management.A.B: pays a third level: only the seller" in captured.err
    assert f"{plans}: 1 error(s); nothing was loaded" in captured.err

    config = tmp_path / "third.yaml"
    third = "    management: {B: {C: 4%}, A: {C: 6%, B: 5%}}"
    text = Path(platform[0]).read_text(encoding="utf-8").replace(third, "    management: {A: {B: {C: 1%}}}")
    config.write_text(text, encoding="utf-8")
    assert main(["check-config", str(config)]) == 1
    check = capsys.readouterr().err
    message = "pays a third level: only the seller and the seller's direct recruiter may be paid"
    assert message in check and message in captured.err


def test_a_plan_from_a_plans_file_is_compared_by_its_name(platform, tmp_path, capsys):
    plans = tmp_path / "plans.yaml"
    plans.write_text("flat:\n  table:\n    seller: {C: 0.5, B: 50%, A: 1/2}\n", encoding="utf-8")
    assert main(["whatif", "--config", platform[0], "--plans-file", str(plans), "--plan", "flat", "--json"]) == 0
    flat = json.loads(capsys.readouterr().out)["plans"][0]
    # Half of every pool to whoever sold: (120 + 180 + 60 + 180 + 360 + 60) / 2 = 480.00.
    assert (flat["name"], flat["paid"]) == ("flat", "480.00")


def test_orders_from_a_csv_file_replay_instead_of_the_database(databases, dialect, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    url = asyncio.run(databases.new(dialect))
    config = tmp_path / "config.yaml"
    config.write_text(config_text(url, "{promoted_sales: 700, customers: 2}"), encoding="utf-8")
    sell(config, [])  # the distributors only
    lines = [HEADER]
    for e in HISTORY:
        buyer = e["buyer"] if e["type"] == "paid" else {"id": "", "name": ""}
        cells = [e["event_id"], e["type"], e["order_id"], e["course_sku"], str(e["quantity"]), e["amount"]]
        lines.append(",".join([*cells, buyer["id"], buyer["name"], "", e.get("ref", ""), e["occurred_at"]]))
    lines.append("e-bad,paid,o-9,XH-MATH-S1,1,12.345,b-1,陈静,,,2026-11-25T10:00:00+08:00")
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(["whatif", "--config", str(config), "--plan", "team", "--plan", "sales", "--orders", str(orders)]) == 0
    captured = capsys.readouterr()
    assert line_with(captured.out, "paid to distributors")[-2:] == ["953.33", "829.80"]
    assert f"来源 source: {orders}" in captured.out
    assert f"warning: {orders}, line 10: amount: must be whole fen" in captured.err


def test_a_window_replays_its_days_and_lets_earlier_orders_only_make_locks(platform, capsys):
    assert whatif(platform[0], "--from", "2026-11-27", "--to", "2026-11-30", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    # o-1, o-2 warm up (b-1 locked to 张伟); o-3 to o-5 and the refund of o-1 (paid before) fall inside.
    assert report["events"] == {"replayed": {"paid": 3, "refunded": 1}, "warm_up": 2, "skipped": {}}
    assert report["window"]["from"] == "2026-11-27T00:00:00+08:00"
    # Sales: o-3 张伟 (still C: no upgrade counted before the window) 48.00, 王芳 2.40; o-4 李娜 144.00,
    # 王芳 7.20; o-5 王芳 306.00, 林晓 18.00 → 525.60.
    assert report["plans"][1]["paid"] == "525.60"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--plan", "nope"], "no plan named 'nope'; known plans: configured, sales, team"),
        (["--plan", "team", "--from", "1 Dec"], "--from must be a date like 2026-11-01"),
        (["--plan", "team", "--from", "2026-12-02", "--to", "2026-12-01"], "--to 2026-12-01 is before --from"),
        (["--plan", "team", "--below", "-1"], "--below must be an amount in yuan"),
        (["--plan", "team", "--orders", "missing.csv"], "no such file: missing.csv"),
    ],
)
def test_a_wrong_option_says_what_to_change_and_exits_1(platform, capsys, options, message):
    assert main(["whatif", "--config", platform[0], *options]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"error: {message}" in captured.err


def test_without_a_database_the_command_says_so_and_creates_none(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text(config_text(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", LIVE_UPGRADE), encoding="utf-8")
    assert main(["whatif", "--config", str(config)]) == 1
    assert "error: no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_the_progress_bar_shows_on_a_terminal_and_stays_silent_otherwise(platform, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("services.whatif.PROGRESS_FROM", 1)
    terminal, pipe = Terminal(), io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    assert whatif(platform[0]) == 0
    monkeypatch.setattr("sys.stderr", pipe)
    assert whatif(platform[0]) == 0
    assert "what-if" in terminal.getvalue() and "8/8" in terminal.getvalue()
    assert pipe.getvalue() == ""


async def try_to_write(url: str) -> str:
    async with read_only(url) as connection:
        try:
            await connection.execute(delete(LedgerLine))
        except DBAPIError as exc:
            return str(exc.orig)
    return "written"


def test_the_connection_the_replay_reads_through_refuses_to_write(platform, capsys):
    refusal = asyncio.run(try_to_write(platform[1]))
    assert "read-only" in refusal or "readonly" in refusal

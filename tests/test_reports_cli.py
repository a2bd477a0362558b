"""`distbot earnings CODE` and `distbot progress CODE`: the ops reports in a terminal, as JSON
or as a readable table, against the database the configuration names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import build_env, prepare
from bot.base.context import FixedClock
from bot.cli import main
from bot.web.webhooks import ingest
from services.order_events import parse_event
from tests.support import ROOT, START, order_event

DEMO_URL = "url: sqlite+aiosqlite:///distbot.db"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the demo configuration whose database is a file in ``tmp_path``."""
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert text.count(DEMO_URL) == 1
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(DEMO_URL, f"url: sqlite+aiosqlite:///{tmp_path / 'distbot.db'}"), encoding="utf-8")
    return str(path)


def sell(config: str, *events: dict[str, object]) -> None:
    """Run order events through the real pipeline into the configured database."""

    async def go() -> None:
        services = build_env(config, clock=FixedClock(START))
        try:
            await prepare(services)
            for data in events:
                event, errors = parse_event(data)
                assert event is not None, errors
                response = await ingest(services, event)
                assert response.status == 200, response.text
        finally:
            await services.db.dispose()

    asyncio.run(go())


def test_earnings_as_json_show_what_the_c_earned_from_her_sale(config, capsys):
    sell(config, order_event("o-1", ref="DEMOC001"))

    code = main(["earnings", "DEMOC001", "--json", "--config", config])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["distributor"] == {"code": "DEMOC001", "name": "李娜", "level": "C"}
    assert report["totals"] == {
        "pending": "144.00",
        "settled": "0.00",
        "cancelled": "0.00",
        "paid_out": "0.00",
        "balance": "0.00",
    }
    assert report["by_kind"] == {"seller": "144.00", "management": "0.00", "invite": "0.00", "partner": "0.00"}
    assert [(line["order_id"], line["amount"], line["course"]) for line in report["lines"]] == [
        ("o-1", "144.00", "星火思维秋季课")
    ]


def test_earnings_as_text_read_as_a_table_with_chinese_and_english_labels(config, capsys):
    sell(config, order_event("o-1", ref="DEMOC001"))

    code = main(["earnings", "DEMOC001", "--config", config])

    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("李娜 (DEMOC001) · C\n")
    pending = next(line for line in out.splitlines() if "待结算 pending" in line)
    assert pending.split()[-1] == "144.00"
    assert "销售佣金 seller" in out
    assert "2026-11-25 10:00" in out and "o-1" in out and "星火思维秋季课" in out


def test_the_recruiter_sees_the_management_commission_in_the_text_report(config, capsys):
    sell(config, order_event("o-1", ref="DEMOC001"))

    assert main(["earnings", "DEMOB001", "--config", config]) == 0

    by_kind = next(line for line in capsys.readouterr().out.splitlines() if "管理佣金 management" in line)
    assert by_kind.split()[-1] == "7.20"


def test_progress_as_json_matches_the_ops_api_shape(config, capsys):
    sell(config, order_event("o-1", ref="DEMOC001"))

    assert main(["progress", "DEMOC001", "--json", "--config", config]) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["level"], report["next_level"], report["eligible"], report["closest"]) == ("C", "B", False, 1)
    assert report["sets"][0]["conditions"][0] == {
        "metric": "promoted_sales",
        "current": "399.00",
        "target": "10000.00",
        "percent": 3,
        "missing": "9601.00",
        "met": False,
    }


def test_progress_as_text_marks_the_closest_set_and_says_what_is_missing(config, capsys):
    sell(config, order_event("o-1", ref="DEMOC001"))

    assert main(["progress", "DEMOC001", "--config", config]) == 0

    out = capsys.readouterr().out
    assert out.startswith("李娜 (DEMOC001) · C → B: 未达成 not yet\n")
    assert "条件组 set 2: 6%  ← 最接近 closest" in out
    assert "还差 missing 9,601.00" in out and "还差 missing 19" in out


def test_progress_of_the_top_level_says_there_is_nothing_above(config, capsys):
    assert main(["progress", "DEMOA001", "--config", config]) == 0

    assert "已是最高级别 already at the top level" in capsys.readouterr().out


def test_a_report_on_a_fresh_database_migrates_it_and_finds_the_demo_distributors(config, capsys):
    assert main(["earnings", "democ002", "--json", "--config", config]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["distributor"]["name"] == "张伟"
    assert report["lines"] == []


@pytest.mark.parametrize("command", ["earnings", "progress"])
def test_an_unknown_code_exits_1_with_a_message_on_stderr(config, capsys, command):
    code = main([command, "NOSUCH01", "--config", config])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "no distributor has the code 'NOSUCH01'" in captured.err

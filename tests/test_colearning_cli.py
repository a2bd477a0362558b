"""`distbot colearning …`: ops schedule, edit and cancel sessions and decide applications from a
terminal, against the database the configuration names."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_env, prepare
from bot.base.context import FixedClock
from bot.base.transport import RoomInvitation
from bot.cli import main
from tests.colearning_support import dispatch
from tests.support import ROOT

DEMO_URL = "url: sqlite+aiosqlite:///distbot.db"
CREATE = [
    "colearning", "create", "--title", "数学思维公开课", "--source", "room-lecture", "--lecturers", "wx-teacher,wx-zhu",
    "--start", "2099-01-10 20:00", "--end", "2099-01-10 21:00", "--course", "XH-MATH-S1", "--cards", "30m",
]  # fmt: skip


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DISTBOT_DATABASE_URL", raising=False)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(DEMO_URL, f"url: sqlite+aiosqlite:///{tmp_path / 'distbot.db'}"), encoding="utf-8")
    return str(path)


def invite(config: str, *invitations: tuple[str, str, str]) -> None:
    """Distributors invite the helper into their groups (each becomes an application)."""

    async def go() -> None:
        services = build_env(config, clock=FixedClock(datetime(2099, 1, 1, tzinfo=UTC)))
        try:
            await prepare(services)
            events = [RoomInvitation(i, room, f"{room} 的群", who, datetime(2099, 1, 1, tzinfo=UTC), 120)
                      for i, room, who in invitations]  # fmt: skip
            await dispatch(services, *events)
        finally:
            await services.db.dispose()

    asyncio.run(go())


def test_ops_schedule_a_session_and_see_its_moments_in_local_time(config, capsys):
    assert main([*CREATE, "--config", config]) == 0
    out = capsys.readouterr().out

    assert "#1 数学思维公开课 [scheduled] 2099-01-10 20:00–21:00" in out
    assert "lecturers wx-teacher, wx-zhu, all enrolled groups" in out
    assert "2099-01-09 20:00  reminder:1440" in out and "2099-01-10 20:30  card:30" in out

    assert main(["colearning", "list", "--config", config]) == 0
    assert "#1 数学思维公开课 [scheduled]" in capsys.readouterr().out


def test_a_bad_edit_prints_every_problem_and_changes_nothing(config, capsys):
    main([*CREATE, "--config", config])
    capsys.readouterr()

    code = main(["colearning", "edit", "1", "--start", "whenever", "--remind", "soon", "--config", config])

    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: starts_at: Invalid isoformat string: 'whenever'",
        "error: reminders: 'soon' is not an offset like 10m, 1h, 24h or 1h30m",
    ]
    main(["colearning", "list", "--json", "--config", config])
    assert json.loads(capsys.readouterr().out)[0]["reminders"] == [1440, 60, 10]


def test_ops_decide_applications_and_cancel_a_session_from_the_terminal(config, capsys):
    invite(config, ("inv-1", "room-lina", "wx-lina"), ("inv-2", "room-zw", "wx-zhangwei"))
    main([*CREATE, "--config", config])
    capsys.readouterr()

    assert main(["colearning", "applications", "--config", config]) == 0
    listed = capsys.readouterr().out
    assert "#1 [pending] 「room-lina 的群」 120 members, 李娜 (DEMOC001)" in listed
    assert "#2 [pending] 「room-zw 的群」 120 members, 张伟 (DEMOC002)" in listed

    assert main(["colearning", "approve", "1", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == "1: enrolled"
    assert main(["colearning", "reject", "2", "--reason", "群太小", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == "2: rejected (群太小)"
    assert main(["colearning", "reject", "1", "--reason", "改主意了", "--config", config]) == 1
    assert capsys.readouterr().err.strip() == "error: the application is already enrolled"

    assert main(["colearning", "show", "1", "--config", config]) == 0
    assert "group 1 「room-lina 的群」 李娜 (DEMOC001): ? members at start, 0 relayed, 0 orders, 0.00 yuan" in (
        capsys.readouterr().out
    )
    assert main(["colearning", "cancel", "1", "--reason", "老师生病", "--config", config]) == 0
    assert "[cancelled]" in capsys.readouterr().out
    assert main(["colearning", "cancel", "1", "--config", config]) == 1
    assert capsys.readouterr().err.strip() == "error: the session is cancelled"


def test_the_terminal_offers_exactly_the_statuses_a_session_or_an_application_can_have():
    from bot.cli.colearning import APPLICATION_CHOICES, SESSION_CHOICES
    from services.colearning import APPLICATION_STATUSES, SESSION_STATUSES

    assert SESSION_CHOICES == SESSION_STATUSES
    assert APPLICATION_CHOICES == APPLICATION_STATUSES

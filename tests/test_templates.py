"""Every message text is a template; each renders with sample data, and user text inside the
data is printed as it is, never evaluated."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from bot.render import Renderer

BRANDS = [
    {"name": "星火思维", "keyword": "数学", "intro": "数学思维"},
    {"name": "绘本岛", "keyword": "阅读", "intro": ""},
]
SAMPLES: dict[str, dict] = {
    "earned_dm": {
        "name": "李娜",
        "order_id": "o-1",
        "course": "星火思维秋季课",
        "quantity": 1,
        "payouts": [{"kind": "seller", "amount": Decimal("144.00")}],
        "self_purchase": False,
        "settles_on": "12月02日",
    },
    "clawback_dm": {
        "order_id": "o-1",
        "course": "星火思维秋季课",
        "refunded": Decimal("133.00"),
        "lines": [{"kind": "seller", "amount": Decimal("-48.00"), "after_settlement": False}],
    },
    "relay_line": {"number": 3, "seller": "李娜", "course": "星火思维秋季课", "quantity": 2},
    "red_packet_announcement": {"course": "星火思维秋季课", "threshold": 100, "stock": 99, "brand": "星火思维"},
    "red_packet_manager_dm": {
        "course": "星火思维秋季课",
        "threshold": 100,
        "stock": 99,
        "brand": "星火思维",
        "groups": ["星火思维推广1群", "星火思维推广2群"],
    },
    "level_up_dm": {"name": "张伟", "level": "B", "level_name": "主管"},
    "menu": {"platform": "童趣优课", "brands": BRANDS},
    "error_fallback": {},
}
EXPECTED = {
    "earned_dm": "销售佣金：144.00 元",
    "clawback_dm": "-48.00 元（结算前取消）",
    "relay_line": "3. 李** 出单 星火思维秋季课 ×2",
    "red_packet_announcement": "跌破 100",
    "red_packet_manager_dm": "星火思维推广1群、星火思维推广2群",
    "level_up_dm": "升级为 主管（B）",
    "menu": "发送“数学”",
    "error_fallback": "抱歉",
}


def test_every_template_has_sample_data_here():
    assert sorted(Renderer().names()) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_template_renders_its_sample_into_the_text_people_see(name):
    text = Renderer().render(name, SAMPLES[name])

    assert EXPECTED[name] in text
    assert "{{" not in text and "None" not in text


@pytest.mark.parametrize("name", [n for n in sorted(SAMPLES) if SAMPLES[n]])
def test_a_template_missing_any_of_its_data_fails_loudly_instead_of_sending_a_gap(name):
    renderer = Renderer()
    source = (renderer.directory / f"{name}.txt.j2").read_text(encoding="utf-8")
    data = dict(SAMPLES[name])
    data.pop(next(key for key in sorted(data) if key in source))

    with pytest.raises(UndefinedError):
        renderer.render(name, data)


def test_text_a_person_typed_is_printed_as_typed_not_evaluated():
    typed = "{{ 7*7 }} {% for x in range(3) %}x{% endfor %} {{ ''.__class__ }}"

    text = Renderer().render("level_up_dm", {"name": typed, "level": "B", "level_name": "主管"})

    assert typed in text and "49" not in text


def test_an_ops_edited_template_cannot_reach_python_internals(tmp_path):
    (tmp_path / "evil.txt.j2").write_text("{{ name.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")

    with pytest.raises(SecurityError):
        Renderer(tmp_path).render("evil", {"name": "x"})


def test_amounts_render_to_the_fen_with_thousands_separators_and_times_in_shanghai(tmp_path):
    (tmp_path / "t.txt.j2").write_text("{{ a | yuan }} {{ at | local }}", encoding="utf-8")

    text = Renderer(tmp_path).render("t", {"a": Decimal("12345.5"), "at": datetime(2026, 11, 25, 2, 0, tzinfo=UTC)})

    assert text == "12,345.50 2026-11-25 10:00"

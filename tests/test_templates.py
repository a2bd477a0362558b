"""Every message text is a template; each renders with sample data, and user text inside the
data is printed as it is, never evaluated."""

from __future__ import annotations

import importlib
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from bot.base.render import Renderer

SAMPLES: dict[str, dict] = {}
EXPECTED: dict[str, str] = {}
for _module in sorted(Path(__file__).parent.glob("samples_*.py")):
    _samples = importlib.import_module(f"tests.{_module.stem}")
    SAMPLES.update(_samples.SAMPLES)
    EXPECTED.update(_samples.EXPECTED)


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


def test_a_template_edited_on_disk_is_used_within_a_second_not_looked_up_at_every_message(tmp_path):
    clock = [100.0]
    renderer = Renderer(tmp_path, monotonic=lambda: clock[0])
    path = tmp_path / "t.txt.j2"
    path.write_text("旧 {{ a }}", encoding="utf-8")
    assert renderer.render("t", {"a": 1}) == "旧 1"

    path.write_text("新 {{ a }}", encoding="utf-8")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))  # a later mtime, whatever the filesystem
    clock[0] += 0.5
    assert renderer.render("t", {"a": 2}) == "旧 2"
    clock[0] += 0.6
    assert renderer.render("t", {"a": 3}) == "新 3"


def test_an_edit_to_an_imported_template_is_used_within_a_second_too(tmp_path):
    clock = [100.0]
    renderer = Renderer(tmp_path, monotonic=lambda: clock[0])
    (tmp_path / "_l.j2").write_text("{% macro kind() %}旧{% endmacro %}", encoding="utf-8")
    (tmp_path / "t.txt.j2").write_text('{% import "_l.j2" as l %}{{ l.kind() }} {{ a }}', encoding="utf-8")
    assert renderer.render("t", {"a": 1}) == "旧 1"

    labels = tmp_path / "_l.j2"
    labels.write_text("{% macro kind() %}新{% endmacro %}", encoding="utf-8")
    os.utime(labels, (labels.stat().st_atime, labels.stat().st_mtime + 10))
    clock[0] += 1.1
    assert renderer.render("t", {"a": 2}) == "新 2"


def test_a_template_whose_data_never_repeats_still_renders_each_text_and_repeated_data_is_still_reused(tmp_path):
    (tmp_path / "earned.txt.j2").write_text("订单 {{ order_id }}", encoding="utf-8")
    (tmp_path / "menu.txt.j2").write_text("菜单 {{ n }}", encoding="utf-8")
    renderer = Renderer(tmp_path)

    texts = [renderer.render("earned", {"order_id": f"o-{i}"}) for i in range(3000)]
    assert texts == [f"订单 o-{i}" for i in range(3000)]

    renderer.render("menu", {"n": 1})
    cached = renderer._cache[("menu", (("n", 1),))]
    assert renderer.render("menu", {"n": 1}) is cached[1]

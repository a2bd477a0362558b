"""`distbot check-config`: the shipped config passes; a bad one is refused with every error, each
with its file, line and dotted path, and never a traceback."""

import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from bot.base.config import load_settings
from bot.base.yamlfile import load_yaml
from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")

THIRD_LEVEL = ("A: {C: 6%, B: 5%}}", "A: {C: 6%, B: {C: 1%}}}")
OVER_THE_POOL = ("management: {B: {C: 4%}", "management: {B: {C: 25%}")
MISSING_SKU = ("bound_to: HB-YEAR", "bound_to: HB-NOPE")
KEYWORD_TWICE = ("aliases: [实验, kexue]", "aliases: [实验, kexue, 数学]")


def edited(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = TEXT
    for old, new in replacements:
        assert text.count(old) == 1, f"config.yaml changed: {old!r} no longer found once"
        text = text.replace(old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [number] = [i for i, line in enumerate(lines, start=1) if needle in line]
    return number


def check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check-config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- the shipped configuration ----------------------------------------------------------------


def test_the_shipped_config_passes_with_no_error_and_warns_only_of_its_demo_secrets(capsys, monkeypatch):
    for variable in ("DISTBOT_ADMIN_TOKEN", "DISTBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    code, out, err = check(capsys, str(SHIPPED))
    assert code == 0
    assert err == ""
    assert "error" not in out.lower()
    assert "OK" in out
    warnings = [line.split(": ")[2] for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == ["webhook.secret", "admin.token"] and "2 warning(s)" in out
    assert "example: pool 180.00, a C sells, recruited by a B → C 144.00, B 7.20, platform 28.80" in out


def test_the_installed_command_checks_the_shipped_config_in_a_fresh_process():
    result = run_cli("config.yaml")
    assert result.returncode == 0, result.stderr
    assert "config.yaml: OK" in result.stdout
    assert result.stderr == ""


def test_without_a_path_the_command_checks_the_file_named_by_distbot_config(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DISTBOT_CONFIG", str(edited(tmp_path, THIRD_LEVEL)))
    code, _, err = check(capsys)
    assert code == 1
    assert "bad.yaml" in err


# --- the commission table ---------------------------------------------------------------------


def test_a_table_paying_a_third_level_is_refused_with_its_file_line_and_path(capsys, tmp_path):
    path = edited(tmp_path, THIRD_LEVEL)
    code, out, err = check(capsys, str(path))
    assert code == 1
    line = line_of(path, "management: {B: {C: 4%}, A: {C: 6%, B: {C: 1%}}}")
    assert f"error: {path}:{line}: commission.table.management.A.B: pays a third level" in err
    assert "禁止传销条例" in err
    assert "nothing was loaded" in err
    assert "OK" not in out


def test_a_table_paying_seller_and_recruiter_more_than_the_whole_pool_is_refused_naming_the_entry(capsys, tmp_path):
    path = edited(tmp_path, OVER_THE_POOL)
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"{path}:{line_of(path, 'management: {B: {C: 25%}')}: commission.table.management.B.C:" in err
    assert "seller C (80%) + management B over C (25%) = 105% is more than the whole pool" in err


def test_several_errors_are_all_printed_at_once(capsys, tmp_path):
    path = edited(tmp_path, THIRD_LEVEL, MISSING_SKU, KEYWORD_TWICE)
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert "commission.table.management.A.B" in err
    assert "brands[1].courses[0].bound_to: no course with sku 'HB-NOPE'" in err
    assert "brands[2].aliases[2]: '数学' is also a keyword of xinghuo" in err
    assert "3 error(s)" in err


def test_a_share_written_0_8_in_yaml_is_read_exactly_as_four_fifths_never_as_a_float(capsys, tmp_path):
    assert load_yaml("share: 0.8") == {"share": Decimal("0.8")}
    path = edited(tmp_path, ("seller:     {C: 80%,", "seller:     {C: 0.8,"))
    share = load_settings(path).plan.seller["C"]
    assert type(share) is Fraction
    assert share == Fraction(4, 5)
    code, out, _ = check(capsys, str(path))
    assert (code, "seller C: 80%" in out) == (0, True)


def test_a_price_with_a_part_of_a_fen_is_refused(capsys, tmp_path):
    path = edited(tmp_path, ("price: 199.00", "price: 199.005"))
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"{path}:{line_of(path, 'price: 199.005')}: brands[2].courses[1].price: must be whole fen" in err


# --- structure and cross-references -----------------------------------------------------------


def test_an_unknown_key_is_refused_with_its_line_and_a_hint_to_check_the_spelling(capsys, tmp_path):
    path = edited(tmp_path, ("  timezone: Asia/Shanghai\n", "  timezone: Asia/Shanghai\n  colour: blue\n"))
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"{path}:{line_of(path, 'colour: blue')}: platform.colour: unknown entry (check the spelling)" in err


def test_a_trial_bound_to_a_sku_that_does_not_exist_is_refused(capsys, tmp_path):
    path = edited(tmp_path, MISSING_SKU)
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"{path}:{line_of(path, 'HB-NOPE')}: brands[1].courses[0].bound_to: no course with sku 'HB-NOPE'" in err


def test_a_keyword_used_by_two_brands_is_refused_at_the_line_of_the_second_one(capsys, tmp_path):
    path = edited(tmp_path, KEYWORD_TWICE)
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"{path}:{line_of(path, 'kexue, 数学')}: brands[2].aliases[2]: '数学' is also a keyword" in err


def test_a_keyword_differing_only_in_full_width_letters_and_case_counts_as_the_same_keyword(capsys, tmp_path):
    path = edited(tmp_path, ("aliases: [实验, kexue]", "aliases: [实验, kexue, ＸＩＮＧ Ｈｕｏ]"))
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert "'ＸＩＮＧ Ｈｕｏ' is also a keyword of xinghuo" in err


# --- files that cannot be read ----------------------------------------------------------------


def test_a_missing_file_is_reported_plainly(capsys, tmp_path):
    path = tmp_path / "nowhere.yaml"
    code, out, err = check(capsys, str(path))
    assert code == 1
    assert f"error: {path}: (file): cannot read: No such file or directory" in err
    assert out == ""


def test_invalid_yaml_is_reported_with_its_line(capsys, tmp_path):
    path = edited(tmp_path, ("ops: [ops-xiaomei]", "ops: [ops-xiaomei"))
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert f"error: {path}:{line_of(path, 'brands:')}: (yaml): not valid YAML" in err


@pytest.mark.parametrize("text", ["", "- just\n- a list\n"])
def test_a_file_that_is_not_a_mapping_of_sections_is_refused(capsys, tmp_path, text):
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = check(capsys, str(path))
    assert code == 1
    assert "(top): the file must be a mapping of sections" in err


@pytest.mark.parametrize("case", ["invalid yaml", "missing file", "third level"])
def test_the_command_never_shows_a_traceback_for_a_bad_config(tmp_path, case):
    if case == "invalid yaml":
        path = edited(tmp_path, ("ops: [ops-xiaomei]", "ops: [ops-xiaomei"))
    elif case == "missing file":
        path = tmp_path / "nowhere.yaml"
    else:
        path = edited(tmp_path, THIRD_LEVEL)
    result = run_cli(str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}")

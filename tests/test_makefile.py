"""`make run` and `make test` install into .venv only when pyproject.toml changed since the
last install: a second `make run` starts the bot at once. Driven with a stand-in .venv whose
pip and distbot only write down that they were called."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "pip", "distbot", "ruff", "pytest"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{tmp_path}/calls"\n', encoding="utf-8")
        stub.chmod(0o755)
    old = time.time() - 3600
    os.utime(tmp_path / "pyproject.toml", (old, old))
    return tmp_path


def make(project: Path, target: str) -> list[str]:
    calls = project / "calls"
    calls.unlink(missing_ok=True)
    subprocess.run(["make", "--no-print-directory", "-C", str(project), target], check=True, capture_output=True)
    return calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


def test_a_second_make_run_does_not_reinstall_and_a_changed_pyproject_does(project):
    first, second = make(project, "run"), make(project, "run")
    os.utime(project / "pyproject.toml")  # edited just now
    third = make(project, "run")

    assert first == ["pip install --quiet -e .", "distbot check-config", "distbot run"]
    assert second == ["distbot check-config", "distbot run"]
    assert third == first


def test_installing_the_test_extras_counts_for_make_run_too(project):
    make(project, "install-test")

    assert make(project, "install-test") == []
    assert make(project, "run") == ["distbot check-config", "distbot run"]

"""`distbot --help` and `distbot check-config` start without the database, web or scheduler
libraries (how long they take is measured by bench/cli_start.py, not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

WEB_STACK = {"sqlalchemy", "alembic", "aiohttp", "apscheduler", "asyncpg", "aiosqlite", "jinja2", "PIL", "handlers"}
PROBE = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def imported_by(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["colearning", "--help"], ["users", "add", "--help"]])
def test_help_imports_neither_the_configuration_nor_the_web_stack(args):
    loaded = imported_by(*args)

    assert not loaded & (WEB_STACK | {"pydantic", "yaml", "asyncio"})


def test_check_config_reads_the_configuration_without_the_web_stack():
    loaded = imported_by("check-config", str(ROOT / "config.yaml"))

    assert "pydantic" in loaded  # it did read the file
    assert not loaded & WEB_STACK

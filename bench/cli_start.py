"""How long ``distbot`` takes to start, for commands that need no database or web stack —
beside a bare Python start and an import of the whole bot (what every command paid when the
CLI imported everything up front), measured in the same run.

    .venv/bin/python bench/cli_start.py [--runs 20]

Each figure is a fresh process (``python -m bot.cli …`` and the installed ``distbot`` script),
wall time from spawn to exit: min / median / max of the runs, after one warm-up run each so the
file cache is warm. Aim: under 1 s for ``--help`` and ``check-config``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SCRIPT = str(Path(sys.executable).parent / "distbot")  # the installed entry point, as `make run` calls it
CASES = {
    "python -c pass (baseline)": [PY, "-c", "pass"],
    "python -m bot.cli --help": [PY, "-m", "bot.cli", "--help"],
    "distbot --help": [SCRIPT, "--help"],
    "distbot check-config": [SCRIPT, "check-config", str(ROOT / "config.yaml")],
    "import bot.app (the whole bot)": [PY, "-c", "import bot.app"],
}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    figures: dict[str, list[float]] = {}
    for name, args in CASES.items():
        timed(args)  # warm-up
        figures[name] = [timed(args) for _ in range(runs)]
    base = statistics.median(figures["python -c pass (baseline)"])
    print(f"{runs} runs each, seconds (min / median / max), and the median over a bare Python start:")
    for name, times in figures.items():
        median = statistics.median(times)
        print(f"  {name:31} {min(times):.3f} / {median:.3f} / {max(times):.3f}   {median / base:5.1f}×")


if __name__ == "__main__":
    main()

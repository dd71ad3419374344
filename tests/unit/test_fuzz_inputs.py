"""A short coverage-guided fuzz run (atheris) of event decoding and contract loading: a crash or an error other
than the documented one fails the test (`make fuzz` runs the same targets for longer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FUZZ = ROOT / "tools" / "fuzz" / "fuzz_inputs.py"


@pytest.mark.parametrize("target", ["events", "contracts"])
def test_fuzzing_finds_no_crash(target: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(FUZZ), target, str(tmp_path), str(ROOT / "tools" / "fuzz" / "corpus" / target),
         "-max_total_time=10", "-print_final_stats=1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    runs = [line for line in run.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 100, run.stderr[-2000:]  # it really ran

"""Running the comparison consumers (raw aiokafka, Quix Streams) as their own processes and reading their timing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import procs
from bench.timing import Span


def run_module(module: str, args: list[str], out: Path, log: Path, timeout: float,
               on_tick: Callable[[], None] | None = None) -> tuple[Span, int]:
    """Run `python -m module *args` until it writes `out` (its timing); returns the span and its peak RSS."""
    out.unlink(missing_ok=True)
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", module, *args], stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=procs.ROOT)
        try:
            with procs.RssSampler([proc.pid]) as sampler:
                deadline = time.monotonic() + timeout
                while not out.exists():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{module} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{module} did not finish in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
                    if on_tick is not None:
                        on_tick()
                    time.sleep(0.2)
                time.sleep(0.05)  # the file is written in one call; let it land
        finally:
            procs.stop(proc)
    data = json.loads(out.read_text())
    return Span(**data), sampler.peak

"""Throughput of `cckpi worker` processes on a topic already filled: timed from /metrics.

The workers start at the same moment; the benchmark's broker holds a new group's first assignment for a few
seconds (`group.initial.rebalance.delay.ms`), so two workers get their partitions in one go instead of the first
taking all and a rebalance following. The clock starts at the first poll that sees any event consumed and stops
at the first poll that sees every event consumed; the events counted between the two polls, over the time
between them, is the rate. Startup, group join and changelog creation are outside the timed span. RSS of the
worker processes is sampled all along.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs
from bench.metrics import consumed


@dataclass
class WorkerRun:
    """What one timed run measured."""

    workers: int
    events: int
    timed_events: float
    seconds: float
    peak_rss_bytes: int
    rss_at: dict[int, int] = field(default_factory=dict)
    """RSS (all workers) at the first poll that saw at least this many events consumed."""
    rss_samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        """Events per second over the timed span."""
        return self.timed_events / max(self.seconds, 1e-9)


def run(bootstrap: str, workdir: Path, app_id: str, expect: int, workers: int = 1,
        rss_marks: Sequence[int] = (), poll: float = 0.2, stall_timeout: float = 120.0,
        on_progress: Callable[[float], None] | None = None) -> WorkerRun:
    """Start `workers` worker processes in one group (`app_id`), wait until `expect` events are consumed."""
    with contextlib.ExitStack() as stack:
        running = stack.enter_context(procs.workers(bootstrap, workdir, app_id, workers))
        sampler = stack.enter_context(procs.RssSampler([w.proc.pid for w in running]))
        start: tuple[float, float] | None = None
        marks = sorted(rss_marks)
        rss_at: dict[int, int] = {}
        last_change, last_total = time.monotonic(), -1.0
        while True:
            now = time.time()
            counts = [consumed(w.scrape()) for w in running]
            total = sum(counts)
            if start is None and total > 0:
                start = (now, total)
            while marks and total >= marks[0]:
                rss_at[marks.pop(0)] = sum(w.rss() for w in running)
            if on_progress is not None:
                on_progress(total)
            if total >= expect and start is not None:
                break
            if total != last_total:
                last_change, last_total = time.monotonic(), total
            elif time.monotonic() - last_change > stall_timeout:
                tails = "\n".join(w.log.read_text()[-2000:] for w in running)
                raise RuntimeError(f"workers stalled at {total:,.0f} of {expect:,} events:\n{tails}")
            for w in running:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker exited ({w.proc.returncode}):\n{w.log.read_text()[-3000:]}")
            time.sleep(poll)
        assert start is not None
        return WorkerRun(workers=workers, events=expect, timed_events=total - start[1], seconds=now - start[0],
                         peak_rss_bytes=sampler.peak, rss_at=rss_at, rss_samples=list(sampler.samples))

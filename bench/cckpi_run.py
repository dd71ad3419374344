"""Throughput of `cckpi worker` processes on a topic already filled: timed from /metrics.

The workers start at the same moment; the benchmark's broker holds a new group's first assignment for a few
seconds (`group.initial.rebalance.delay.ms`), so two workers get their partitions in one go instead of the first
taking all and a rebalance following. The clock starts at the first poll that sees any event consumed and stops
at the first poll that sees every event consumed; the events counted between the two polls, over the time
between them, is the rate. Startup, group join and changelog creation are outside the timed span. RSS of the
worker processes is sampled all along; the CPU seconds each worker (and each other watched process, e.g. the
broker) used are taken at the same two polls, so they cover the timed span.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs
from bench.metrics import by_label, consumed


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
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU seconds (user + system) over the timed span: `worker-1`, `worker-2`, ... and each watched process."""
    dead_letters: dict[str, float] = field(default_factory=dict)
    """Events the workers dead-lettered, by reason: a run that measures mostly these measures the wrong thing."""

    @property
    def events_per_s(self) -> float:
        """Events per second over the timed span."""
        return self.timed_events / max(self.seconds, 1e-9)


def run(bootstrap: str, workdir: Path, app_id: str, expect: int, workers: int = 1,
        rss_marks: Sequence[int] = (), poll: float = 0.2, stall_timeout: float = 120.0,
        on_progress: Callable[[float], None] | None = None, contracts: Sequence[Path] = (procs.BANK_CONTRACT,),
        watch: Mapping[str, int] | None = None) -> WorkerRun:
    """Start `workers` worker processes in one group (`app_id`) with `contracts`, wait until `expect` events are
    consumed; `watch` names other processes (name -> pid) whose CPU over the timed span is recorded too."""
    with contextlib.ExitStack() as stack:
        running = stack.enter_context(procs.workers(bootstrap, workdir, app_id, workers, contract=contracts))
        sampler = stack.enter_context(procs.RssSampler([w.proc.pid for w in running]))
        pids = {f"worker-{i + 1}": w.proc.pid for i, w in enumerate(running)} | dict(watch or {})
        cpu_at_start: dict[str, float] = {}
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
                cpu_at_start = _cpu(pids)
            while marks and total >= marks[0]:
                rss_at[marks.pop(0)] = sum(w.rss() for w in running)
            if on_progress is not None:
                on_progress(total)
            if total >= expect and start is not None:
                cpu = {name: round(s - cpu_at_start[name], 2) for name, s in _cpu(pids).items()}
                break
            if total != last_total:
                last_change, last_total = time.monotonic(), total
            elif time.monotonic() - last_change > stall_timeout:
                tails = "\n".join(w.log.read_text()[-2000:] for w in running)
                raise RuntimeError(f"workers stalled at {total:,.0f} of {expect:,} events:\n{tails}")
            for w in running:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker exited ({w.proc.returncode}):\n{w.log.read_text()[-3000:]}")
            # /metrics costs the worker CPU at every scrape: fast polls only where the timing is decided
            time.sleep(poll if start is None or total >= 0.9 * expect else 5 * poll)
        assert start is not None
        letters = by_label([s for w in running for s in w.scrape()], "cckpi_dead_letters_total", "reason")
        return WorkerRun(workers=workers, events=expect, timed_events=total - start[1], seconds=now - start[0],
                         peak_rss_bytes=sampler.peak, rss_at=rss_at, rss_samples=list(sampler.samples),
                         cpu_seconds=cpu, dead_letters={k: v for k, v in letters.items() if v})


def _cpu(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process tree."""
    return {name: procs.tree_cpu_seconds(pid) for name, pid in pids.items()}

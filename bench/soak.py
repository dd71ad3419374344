"""Soak: one worker under a steady rate for a long time; RSS and consumer lag sampled every few
seconds; fails when memory keeps growing over the second half or the lag keeps growing / does not drain.

Used by `python -m bench soak` (`make soak`, 30 minutes) and by tests/integration/test_soak.py (about a minute).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import procs, steady
from bench.metrics import by_label, total
from bench.offsets import GroupLag, create_topic
from streams.contracts.loader import load_contracts
from streams.kafka_io import topics
from tools.brokers import ApacheKafkaBroker, ensure_kafka_jars


@dataclass(frozen=True)
class SoakOptions:
    """How long, how fast, and the limits of `python -m bench soak`."""

    minutes: float = 30.0
    rate: float = 1000.0
    speed: float = 8640.0
    """Six simulated days a wall minute: event ids are kept for the longest window + grace + retention (a month
    and a day for the anonymous-bank contract), so memory can only level off once event time has passed that."""
    every: float = 5.0
    max_slope_mib_per_min: float = 1.0
    max_drained_lag: int = 100
    drain_timeout: float = 120.0
    out: Path = Path("bench/soak-results.json")
    contract: Path = procs.BANK_CONTRACT


@dataclass
class Sample:
    """One observation: seconds since the traffic started, worker RSS, lag by the worker and by the broker."""

    t: float
    rss: int
    lag_metric: float | None
    lag_committed: int | None

    @property
    def lag(self) -> float | None:
        """The broker's view when known (end minus committed offsets), else the worker's own gauge."""
        return float(self.lag_committed) if self.lag_committed is not None else self.lag_metric


@dataclass
class SoakRun:
    """Samples while the traffic ran and while the worker drained after it."""

    events: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    drained_after_s: float | None = None
    drained_lag: float | None = None
    dead_letters: dict[str, float] = field(default_factory=dict)
    """The worker's dead letters by reason at the end: a soak of dead letters would prove nothing."""


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 for fewer than two distinct x)."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in points) / sxx


def sampler(worker: procs.Worker, lag: GroupLag, t0: float, every: float, into: list[Sample],
            stop: threading.Event) -> threading.Thread:
    """A thread that appends a sample every `every` seconds until `stop` is set."""
    def loop() -> None:
        while not stop.is_set():
            rows = worker.scrape()
            metric = total(rows, "cckpi_consumer_lag_messages") if rows else None
            try:
                committed = lag.measure()
            except Exception:  # the broker may be busy; the worker's gauge still tells
                committed = None
            into.append(Sample(round(time.time() - t0, 2), worker.rss(), metric, committed))
            stop.wait(every)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def soak(bootstrap: str, workdir: Path, plan: steady.Plan, every: float, contract: Path, *,
         max_drained_lag: int = 100, drain_timeout: float = 120.0,
         on_progress: Callable[[float], None] | None = None) -> SoakRun:
    """A worker for `contract` on an existing broker, the plan's traffic through it, then until the lag drains."""
    create_topic(bootstrap, topics.CALLS, 4)
    app_id = "soak"
    # six simulated days a wall minute run far ahead of the wall clock: the worker must trust that clock
    # the simulated traffic runs from today, past any contract's effective period
    with procs.worker(bootstrap, workdir, app_id, "--max-future", "36500d",
                      contract=procs.open_ended(contract, workdir)) as w:
        procs.wait_assigned(w)
        lag = GroupLag(bootstrap, topics.CALLS, app_id)
        samples: list[Sample] = []
        stop = threading.Event()
        t0 = time.time()
        thread = sampler(w, lag, t0, every, samples, stop)
        try:
            ticker = _ticker(on_progress, t0, stop)
            sent, seconds = asyncio.run(steady.produce(bootstrap, topics.CALLS, plan))
            run = SoakRun(sent, seconds)
            deadline = time.monotonic() + drain_timeout
            drained_at = time.time()
            while time.monotonic() < deadline:
                now_lag = _lag_now(w, lag)
                if now_lag is not None and now_lag <= max_drained_lag:
                    run.drained_after_s, run.drained_lag = round(time.time() - drained_at, 2), now_lag
                    break
                time.sleep(1.0)
            else:
                run.drained_lag = _lag_now(w, lag)
            letters = by_label(w.scrape(), "cckpi_dead_letters_total", "reason")
            run.dead_letters = {k: v for k, v in letters.items() if v}
        finally:
            stop.set()
            thread.join()
            lag.close()
        if ticker is not None:
            ticker.join()
        run.samples = samples
        return run


def _ticker(on_progress: Callable[[float], None] | None, t0: float, stop: threading.Event) -> threading.Thread | None:
    """Calls `on_progress(seconds since t0)` every second until `stop` (for a progress bar)."""
    if on_progress is None:
        return None
    callback = on_progress

    def loop() -> None:
        while not stop.wait(1.0):
            callback(time.time() - t0)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _lag_now(w: procs.Worker, lag: GroupLag) -> float | None:
    try:
        committed = lag.measure()
    except Exception:
        committed = None
    if committed is not None:
        return float(committed)
    rows = w.scrape()
    return total(rows, "cckpi_consumer_lag_messages") if rows else None


def analyse(run: SoakRun, max_slope_mib_per_min: float, max_lag_slope_ratio: float = 0.02,
            max_drained_lag: int = 100) -> dict[str, Any]:
    """Figures and verdict: RSS start/end/max and its slope over the second half of the traffic, lag max and
    slope over the second half, lag after the traffic stopped. Fails on growth beyond the limits."""
    during = [s for s in run.samples if s.t <= run.seconds]
    second = [s for s in during if s.t >= run.seconds / 2]
    rss_slope = slope([(s.t / 60, s.rss / 2**20) for s in second])
    lags = [(s.t, s.lag) for s in during if s.lag is not None]
    lag_slope = slope([(t, lag) for t, lag in lags if t >= run.seconds / 2])
    rate = run.events / max(run.seconds, 1e-9)
    reasons = []
    if rss_slope > max_slope_mib_per_min:
        reasons.append(f"RSS grows {rss_slope:.2f} MiB/min over the second half (limit {max_slope_mib_per_min})")
    if lag_slope > max_lag_slope_ratio * rate:
        reasons.append(f"lag grows {lag_slope:.1f} messages/s over the second half "
                       f"(limit {max_lag_slope_ratio:.0%} of the rate, {max_lag_slope_ratio * rate:.1f})")
    if run.drained_lag is None or run.drained_lag > max_drained_lag:
        reasons.append(f"lag did not drain to {max_drained_lag} after the traffic stopped ({run.drained_lag})")
    rejected = sum(run.dead_letters.values())
    if rejected > 0.01 * run.events:
        reasons.append(f"the worker dead-lettered {rejected:,.0f} of {run.events:,} events ({run.dead_letters}): "
                       "the soak measured their rejection, not the work")
    return {
        "events": run.events, "seconds": round(run.seconds, 1), "rate": round(rate, 1),
        "dead_letters": run.dead_letters,
        "rss_start": during[0].rss if during else None, "rss_end": during[-1].rss if during else None,
        "rss_max": max((s.rss for s in run.samples), default=None),
        "rss_slope_second_half_mib_per_min": round(rss_slope, 3),
        "max_lag": max((lag for _, lag in lags), default=None),
        "lag_slope_second_half_per_s": round(lag_slope, 2),
        "drained_lag": run.drained_lag, "drained_after_s": run.drained_after_s,
        "passed": not reasons, "reasons": reasons,
        "samples": [{"t": s.t, "rss": s.rss, "lag_metric": s.lag_metric, "lag_committed": s.lag_committed}
                    for s in run.samples],
    }


def run_soak(opts: SoakOptions, console: Console) -> dict[str, Any]:
    """`python -m bench soak`: a broker of its own, the worker, the traffic, the verdict in `opts.out`."""
    from bench.machine import info, worker_commit

    contracts = load_contracts([opts.contract])
    queues = sorted({q for c in contracts for q in c.scope.queues})
    seconds = opts.minutes * 60
    plan = steady.Plan(queues, opts.rate, seconds, opts.speed, steady.month_start_before(contracts[0].timezone, days=2))
    ensure_kafka_jars()
    with tempfile.TemporaryDirectory(prefix="cckpi-soak-") as tmp, ApacheKafkaBroker(num_partitions=4) as kafka, \
            Progress(TextColumn("soak"), BarColumn(), TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
                     console=console) as bar:
        task = bar.add_task("soak", total=seconds, note="")
        run = soak(kafka.bootstrap, Path(tmp), plan, opts.every, opts.contract,
                   max_drained_lag=opts.max_drained_lag, drain_timeout=opts.drain_timeout,
                   on_progress=lambda t: bar.update(task, completed=min(t, seconds), note=f"{t:,.0f} s"))
    result = analyse(run, opts.max_slope_mib_per_min, max_drained_lag=opts.max_drained_lag)
    result.update(minutes=opts.minutes, speed=opts.speed, contract=procs.shown(opts.contract), machine=info(),
                  worker_commit=worker_commit())
    opts.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def show(result: dict[str, Any], console: Console) -> None:
    """The verdict as a table."""
    table = Table(title=f"soak: {'PASSED' if result['passed'] else 'FAILED'}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    mib = 2**20
    for name, value in [
        ("events / seconds / rate", f"{result['events']:,} / {result['seconds']:,} s / {result['rate']:,}/s"),
        ("RSS start / end / max", " / ".join(f"{(result[k] or 0) / mib:,.0f} MiB"
                                             for k in ("rss_start", "rss_end", "rss_max"))),
        ("RSS slope, second half", f"{result['rss_slope_second_half_mib_per_min']} MiB/min"),
        ("max lag", f"{result['max_lag']}"),
        ("lag slope, second half", f"{result['lag_slope_second_half_per_s']} messages/s"),
        ("lag after the traffic", f"{result['drained_lag']} (after {result['drained_after_s']} s)"),
    ]:
        table.add_row(name, value)
    console.print(table)
    for reason in result["reasons"]:
        console.print(f"[red]{reason}[/red]")

"""`python -m bench run`: one benchmark run against a real Apache Kafka broker it starts itself.

Steps: produce the anonymous-bank workload once; time the raw consumer, the Quix Streams application and one
cckpi worker on it in alternating rounds (each its own consumer group), then two cckpi workers; append shifted
copies up to the large count and sample a fresh worker's RSS along it; on a fresh broker, one and two workers on
the balanced workload (`bench.balanced`) with the CPU of every process; then, on a fresh broker for each rate,
latency at a steady rate from the simulator.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import balanced, cckpi_run, consumers, latency, machine, metrics, procs, report, steady, workload
from bench.offsets import create_topic, end_offsets
from bench.timing import rate
from streams.contracts.loader import load_contracts
from streams.core.terms import compile_terms
from streams.kafka_io import topics
from tools.brokers import ApacheKafkaBroker, ensure_kafka_jars

STEPS = ("raw", "quix", "cckpi", "two", "rss", "balanced", "latency")
SEPARATE = ("balanced", "latency")
"""Steps on a broker of their own (not the anonymous-bank workload's)."""


@dataclass(frozen=True)
class Options:
    """What to run and how much of it."""

    fraction: float = 1.0
    """Share of the anonymous-bank events to use (1: all, about 0.85 million)."""
    large: int = 5_000_000
    """Events in the RSS run (the workload and its shifted copies)."""
    latency_seconds: float = 60.0
    latency_rates: tuple[float, ...] = (2000.0, 20000.0)
    """Events per second of each latency run (a fresh broker and worker each); the first also fills the
    top-level latency keys of results.json."""
    latency_speed: float = 60.0
    """Simulated seconds per wall second in the latency run (60: the simulator's default, a minute a second).
    The run starts a third of the way before a month's end, so daily and monthly windows close during it."""
    skip: tuple[str, ...] = ()
    rounds: int = 3
    """Rounds of the raw consumer, Quix Streams and one cckpi worker, alternating (the machine drifts by 20% and
    more over minutes): each figure is the median of the rounds, each ratio the median of the rounds' ratios."""
    out: Path = Path(__file__).parent / "results.json"
    quick: bool = False


def progress_bar(console: Console) -> Progress:
    """The progress display used for every long step."""
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console)


@contextmanager
def broker(num_partitions: int = 4, initial_rebalance_delay_ms: int = 3000) -> Iterator[ApacheKafkaBroker]:
    """A real Apache Kafka broker for the duration of the block."""
    ensure_kafka_jars()
    # A new group's first assignment waits 3 s for more members: two workers started together share it at once.
    b = ApacheKafkaBroker(num_partitions=num_partitions, heap="2g",
                          config={"group.initial.rebalance.delay.ms": initial_rebalance_delay_ms})
    b.start()
    try:
        yield b
    finally:
        b.stop()


def run(opts: Options, console: Console) -> dict[str, Any]:
    """Every step of the benchmark; returns (and writes to `opts.out`) the results."""
    results: dict[str, Any] = {"quick": opts.quick, "machine": machine.info(),
                                "worker_commit": machine.worker_commit(),
                                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    work = Path(tempfile.mkdtemp(prefix="cckpi-bench-"))
    try:
        with progress_bar(console) as bar:
            if set(STEPS) - set(opts.skip) - set(SEPARATE) - {"two"}:  # two runs only after cckpi
                with broker() as kafka:
                    _throughput(kafka.bootstrap, opts, work, bar, results)
                    _save(opts.out, results)
            if "balanced" not in opts.skip:
                with broker() as kafka:
                    _balanced(kafka, opts, work, bar, results)
                    _save(opts.out, results)
            for latency_rate in () if "latency" in opts.skip else opts.latency_rates:
                with broker() as kafka:
                    _latency(kafka.bootstrap, latency_rate, opts, work, bar, results)
                    _save(opts.out, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _save(opts.out, results)
    return results


def _save(out: Path, results: dict[str, Any]) -> None:
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def _task(bar: Progress, description: str, total: float | None) -> Callable[..., None]:
    """A progress task and a function that updates it (`completed`, optional `note`)."""
    task = bar.add_task(description, total=total, note="")

    def update(completed: float | None = None, note: str = "", done: bool = False) -> None:
        if done:  # stops the task's clock
            bar.update(task, total=max(completed or 1, 1), completed=max(completed or 1, 1), note=note)
            bar.stop_task(task)
        else:
            bar.update(task, completed=completed, note=note)
    return update


def _throughput(bootstrap: str, opts: Options, work: Path, bar: Progress, results: dict[str, Any]) -> None:
    """Produce the workload, then time each consumer on it; then the large RSS run."""
    read = _task(bar, "reading anonymous-bank months", None)
    base = workload.base_events(fraction=opts.fraction)
    read(len(base), f"{len(base):,} events", done=True)
    create_topic(bootstrap, topics.CALLS, 4)
    sent = _task(bar, "producing the workload", len(base))
    t0 = time.monotonic()
    workload.produce(bootstrap, topics.CALLS, base, on_progress=lambda n: sent(n))
    sent(len(base), "", done=True)
    produce_s = time.monotonic() - t0
    counts = end_offsets(bootstrap, topics.CALLS)
    events = sum(counts.values())
    results.update(events=events, produce_events_per_s=round(events / produce_s),
                   partition_counts={str(p): n for p, n in sorted(counts.items())},
                   two_worker_speedup_bound=_r(machine.speedup_bound(counts), 3))

    rounds: list[dict[str, Any]] = []
    one: cckpi_run.WorkerRun | None = None

    def consumer_step(name: str, module: str, extra: list[str], timeout: float, n: int) -> dict[str, Any]:
        update = _task(bar, f"{name}{_round(n, opts.rounds)} ({events:,} events)", None)
        out = work / f"{name}-{n}.json"
        span, peak = consumers.run_module(module, [bootstrap, topics.CALLS, f"bench-{name}-{n}", str(events),
                                                   str(out), *extra], out, work / f"{name}-{n}.log", timeout,
                                          on_tick=lambda: update(None, "running"))
        assert span.first is not None and span.last is not None
        per_s = rate(span.count - 1, span.first, span.last)
        update(None, f"{per_s:,.0f} events/s", done=True)
        return {f"{name}_events_per_s": round(per_s), f"{name}_seconds": round(span.last - span.first, 3),
                f"{name}_peak_rss_bytes": peak}

    for n in range(opts.rounds):  # contenders alternate: a drift of the machine falls on each alike
        measured: dict[str, Any] = {}
        if "raw" not in opts.skip:
            measured |= consumer_step("raw", "bench.raw", [], 600, n)
        if "quix" not in opts.skip:
            measured |= consumer_step("quix", "bench.quix_app", [str(work / f"quix-state-{n}")], 3600, n)
        if "cckpi" not in opts.skip:
            one = _worker_step(bootstrap, work, bar, f"cckpi, 1 worker{_round(n, opts.rounds)}", f"bench-w1-{n}",
                               events, 1)
            measured |= {"cckpi_events_per_s": round(one.events_per_s), "cckpi_seconds": round(one.seconds, 3),
                         "cckpi_dead_letters": one.dead_letters, "peak_rss_bytes": one.peak_rss_bytes}
            for other in ("quix", "raw"):
                if measured.get(f"{other}_events_per_s"):
                    measured[f"cckpi_vs_{other}"] = round(one.events_per_s / measured[f"{other}_events_per_s"], 3)
        rounds.append(measured)
    results.update(median_of_rounds(rounds))
    if len(rounds) > 1:
        results["throughput_rounds"] = rounds
    if one is not None and "two" not in opts.skip:  # against the last round's one worker: the run next to theirs
        two = _worker_step(bootstrap, work, bar, "cckpi, 2 workers", "bench-w2", events, 2)
        results.update(cckpi_2_workers_events_per_s=round(two.events_per_s),
                       cckpi_2_workers_seconds=round(two.seconds, 3),
                       two_worker_speedup=round(two.events_per_s / one.events_per_s, 3),
                       peak_rss_2_workers_bytes=two.peak_rss_bytes)
    if "rss" not in opts.skip:
        _rss_step(bootstrap, opts, work, bar, base, results)


def _round(n: int, rounds: int) -> str:
    """How a step of round `n` (from 0) is named on the progress display."""
    return f", round {n + 1} of {rounds}" if rounds > 1 else ""


def median_of_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per measure over the throughput rounds: the median of the rounds' numbers (each ratio the median
    of the rounds' own ratios, each taken between runs next to each other), the largest peak RSS, all dead
    letters."""
    merged: dict[str, Any] = {}
    for key in sorted({k for r in rounds for k in r}):
        values = [r[key] for r in rounds if key in r]
        if key == "cckpi_dead_letters":
            merged[key] = dict(sum((Counter(v) for v in values), Counter()))
        elif key.endswith("peak_rss_bytes"):
            merged[key] = max(values)
        else:
            middle = statistics.median(values)
            merged[key] = round(middle, 3) if key.startswith("cckpi_vs_") or key.endswith("_seconds") else round(
                middle)
    return merged


def _worker_step(bootstrap: str, work: Path, bar: Progress, name: str, app_id: str, events: int,
                 workers: int, marks: tuple[int, ...] = (), contracts: tuple[Path, ...] = (procs.BANK_CONTRACT,),
                 watch: dict[str, int] | None = None) -> cckpi_run.WorkerRun:
    update = _task(bar, f"{name}", events)
    result = cckpi_run.run(bootstrap, work, app_id, events, workers, rss_marks=marks,
                           on_progress=lambda n: update(n), contracts=contracts, watch=watch)
    update(events, f"{result.events_per_s:,.0f} events/s", done=True)
    return result


def _rss_step(bootstrap: str, opts: Options, work: Path, bar: Progress, base: list[workload.Message],
              results: dict[str, Any]) -> None:
    """Append shifted copies up to `opts.large` events, then one fresh worker over all of them."""
    have = sum(end_offsets(bootstrap, topics.CALLS).values())
    extra = _task(bar, "producing shifted copies", opts.large - have)
    workload.produce(bootstrap, topics.CALLS, workload.extended(base, opts.large - have + len(base)),
                     on_progress=lambda n: extra(n))
    total = sum(end_offsets(bootstrap, topics.CALLS).values())
    marks = (total // 5, total)
    big = _worker_step(bootstrap, work, bar, "cckpi, RSS along the large run", "bench-rss", total, 1, marks,
                       contracts=(procs.open_ended(procs.BANK_CONTRACT, work),))  # the copies run past 1999
    first, last = big.rss_at.get(marks[0]), big.rss_at.get(marks[1])
    results.update(rss_marks=list(marks), rss_1m_bytes=first, rss_5m_bytes=last,
                   rss_growth_ratio=_r((last - first) / first, 4) if first and last else None,
                   rss_run_events_per_s=round(big.events_per_s), rss_run_peak_bytes=big.peak_rss_bytes,
                   rss_run_dead_letters=big.dead_letters,
                   rss_run_samples=[(round(t, 1), rss) for t, rss in big.rss_samples[:: max(1, len(big.rss_samples)
                                                                                          // 200)]])


def _balanced(kafka: ApacheKafkaBroker, opts: Options, work: Path, bar: Progress, results: dict[str, Any]) -> None:
    """The balanced workload produced once, then one worker and two (own groups), with the CPU of each process."""
    bootstrap = kafka.bootstrap
    names = balanced.queue_names()
    contracts = tuple(balanced.write_contracts(work / "balanced-contracts", names))
    load_contracts(contracts)  # a template that does not load fails here, not in a worker
    create_topic(bootstrap, topics.CALLS, balanced.PARTITIONS)
    make = _task(bar, "simulating the balanced workload", None)
    messages = list(balanced.Workload(tuple(q for qs in names for q in qs), opts.fraction).messages())
    make(len(messages), f"{len(messages):,} events", done=True)
    sent = _task(bar, "producing the balanced workload", len(messages))
    broker_pid = kafka.pid or 0
    cpu0, broker0, t0 = time.process_time(), procs.tree_cpu_seconds(broker_pid), time.monotonic()
    workload.produce(bootstrap, topics.CALLS, messages, on_progress=lambda n: sent(n))
    produce_s = time.monotonic() - t0
    produce_cpu = {"producer": round(time.process_time() - cpu0, 2),
                   "broker": round(procs.tree_cpu_seconds(broker_pid) - broker0, 2)}
    sent(len(messages), "", done=True)
    counts = end_offsets(bootstrap, topics.CALLS)
    events = sum(counts.values())
    bound = machine.speedup_bound(counts)
    results.update(balanced_contracts=len(contracts), balanced_queues=sum(len(q) for q in names),
                   balanced_pooled_terms=len(contracts) * balanced.POOLED_TERMS, balanced_events=events,
                   balanced_partition_counts={str(p): n for p, n in sorted(counts.items())},
                   balanced_produce_events_per_s=round(events / produce_s),
                   balanced_produce_cpu_seconds=produce_cpu, two_worker_speedup_balanced_bound=_r(bound, 3))
    watch = {"broker": broker_pid}
    one = _worker_step(bootstrap, work, bar, "balanced, 1 worker", "bench-b1", events, 1, contracts=contracts,
                       watch=watch)
    two = _worker_step(bootstrap, work, bar, "balanced, 2 workers", "bench-b2", events, 2, contracts=contracts,
                       watch=watch)
    results.update(cckpi_balanced_events_per_s=round(one.events_per_s), cckpi_balanced_seconds=round(one.seconds, 3),
                   cckpi_balanced_2_workers_events_per_s=round(two.events_per_s),
                   cckpi_balanced_2_workers_seconds=round(two.seconds, 3),
                   two_worker_speedup_balanced=round(two.events_per_s / one.events_per_s, 3),
                   balanced_cpu_seconds={"1_worker": one.cpu_seconds, "2_workers": two.cpu_seconds},
                   balanced_dead_letters=one.dead_letters,
                   **cpu_figures(one, two, bound))


def cpu_figures(one: cckpi_run.WorkerRun, two: cckpi_run.WorkerRun, bound: float | None) -> dict[str, Any]:
    """What the CPU figures say: each process's CPU microseconds per event, the cores kept busy (CPU seconds over
    wall seconds, 2 = this machine full) and the speedup two workers could reach with a core each and one for the
    broker: the partition bound, or less if the broker's CPU per event would then fill its core first."""
    def per_event(r: cckpi_run.WorkerRun) -> dict[str, float]:
        return {name: round(s * 1e6 / max(r.timed_events, 1), 1) for name, s in r.cpu_seconds.items()}

    def busy(r: cckpi_run.WorkerRun) -> float:
        return round(sum(r.cpu_seconds.values()) / max(r.seconds, 1e-9), 2)

    us = per_event(one)
    worker_us, broker_us = us.get("worker-1", 0.0), us.get("broker", 0.0)
    limits = [x for x in (bound, worker_us / broker_us if broker_us else None) if x is not None]
    return {"balanced_cpu_us_per_event": {"1_worker": us, "2_workers": per_event(two)},
            "balanced_cores_busy": {"1_worker": busy(one), "2_workers": busy(two)},
            "two_worker_speedup_balanced_free_cores_estimate": _r(min(limits), 3) if limits else None}


def _latency(bootstrap: str, latency_rate: float, opts: Options, work: Path, bar: Progress,
             results: dict[str, Any]) -> None:
    """A fresh worker, then the simulator at a steady rate; records timed from send to read. The figures go to
    `latency_by_rate[<rate>]`, and for the first rate also to the top-level latency keys."""
    contracts = load_contracts([procs.BANK_CONTRACT])
    terms = compile_terms(contracts)
    queues = sorted({q for c in contracts for q in c.scope.queues})
    create_topic(bootstrap, topics.CALLS, 4)
    lead = opts.latency_seconds * opts.latency_speed / 3
    start = steady.month_start_before(contracts[0].timezone, seconds=lead, until=contracts[0].effective_until)
    plan = steady.Plan(queues, latency_rate, opts.latency_seconds, opts.latency_speed, start)
    with procs.worker(bootstrap, work, f"bench-latency-{latency_rate:g}") as w:
        procs.wait_assigned(w)
        update = _task(bar, f"latency at {latency_rate:,.0f} events/s", None)
        update(None, f"{opts.latency_seconds:.0f} s")
        result = asyncio.run(latency.measure(bootstrap, plan, terms))
        samples = w.scrape()
    buckets = metrics.histogram(samples, "cckpi_window_close_delay_seconds")
    summary = result.summary()
    summary.update(close_delay_p50_s=_r(metrics.quantile(buckets, 0.5), 4),
                   close_delay_p99_s=_r(metrics.quantile(buckets, 0.99), 4),
                   close_delay_count=int(buckets[-1][1]) if buckets else 0,
                   latency_speed=opts.latency_speed, latency_target_events_per_s=latency_rate)
    results.setdefault("latency_by_rate", {})[f"{latency_rate:g}"] = summary
    if latency_rate == opts.latency_rates[0]:
        results.update(summary)
    update(None, f"p99 {summary['p99_latency_s']} s", done=True)


def _r(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def show(results: dict[str, Any], console: Console) -> None:
    """Print the tables."""
    report.show(results, console)

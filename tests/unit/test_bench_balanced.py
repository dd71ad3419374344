"""The bench's balanced scale-out workload (issue 19): queues even over the partitions by the producer's murmur2,
generated contracts with pooled terms that load, equal traffic per queue, and the CPU figures drawn from a run."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from kafka.partitioner.default import murmur2

from bench import balanced, cckpi_run, machine, procs, report
from bench.run import cpu_figures
from streams.contracts.loader import load_contracts


def java_partition(key: str, partitions: int) -> int:
    """The Java client's partition of a key, from kafka-python's own murmur2 (not the one the bench uses)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def test_queues_are_even_over_partitions_and_each_contract_spans_all() -> None:
    names = balanced.queue_names()
    assert len(names) == 20 and all(len(qs) == 4 for qs in names)
    flat = [q for qs in names for q in qs]
    assert len(set(flat)) == 80
    assert Counter(java_partition(q, 4) for q in flat) == {0: 20, 1: 20, 2: 20, 3: 20}
    assert all(sorted(java_partition(q, 4) for q in qs) == [0, 1, 2, 3] for qs in names)


def test_uneven_shapes_stay_within_one_queue_per_partition() -> None:
    names = balanced.queue_names(contracts=5, per_contract=3, partitions=4)  # 15 queues on 4 partitions
    counts = Counter(java_partition(q, 4) for qs in names for q in qs)
    assert sum(counts.values()) == 15 and max(counts.values()) - min(counts.values()) <= 1


def test_generated_contracts_load_with_two_pooled_terms_each(tmp_path: Path) -> None:
    names = balanced.queue_names()
    paths = balanced.write_contracts(tmp_path, names)
    contracts = load_contracts(paths)
    assert len(contracts) == 20 and len({c.id for c in contracts}) == 20
    for contract, queues in zip(contracts, names, strict=True):
        assert list(contract.scope.queues) == queues
        pooled = [t.id for t in contract.terms if t.aggregate == "pooled"]
        assert pooled == ["answer-rate-day-pooled", "service-level-month-pooled"]
        assert len(contract.terms) == 6


def test_workload_gives_every_queue_the_same_traffic_keyed_by_queue() -> None:
    queues = tuple(q for qs in balanced.queue_names() for q in qs)
    load = balanced.Workload(queues, fraction=0.02)
    messages = list(load.messages())
    calls = sum(b'"type":"call.' in v for _, v in messages)
    assert abs(calls - 17_000) < 1_700  # about 2% of 850,000; agent state events (logins, dips) come on top
    assert all(f'"queue":"{k.decode()}"'.encode() in v for k, v in messages[:500])
    per_partition = Counter(java_partition(k.decode(), 4) for k, _ in messages)
    bound = machine.speedup_bound(dict(per_partition))
    assert bound is not None and bound > 1.85  # 2.0 for equal partitions; the bank's data gives 1.37


def test_cpu_figures_per_event_busy_cores_and_the_free_cores_estimate() -> None:
    def run(cpu: dict[str, float], seconds: float = 2.0) -> cckpi_run.WorkerRun:
        return cckpi_run.WorkerRun(workers=len(cpu) - 1, events=1000, timed_events=1000, seconds=seconds,
                                   peak_rss_bytes=0, cpu_seconds=cpu)

    one = run({"worker-1": 1.0, "broker": 0.25})
    two = run({"worker-1": 0.6, "worker-2": 0.6, "broker": 0.3}, seconds=1.0)
    figures = cpu_figures(one, two, 1.9)
    assert figures["balanced_cpu_us_per_event"] == {
        "1_worker": {"worker-1": 1000.0, "broker": 250.0},
        "2_workers": {"worker-1": 600.0, "worker-2": 600.0, "broker": 300.0}}
    assert figures["balanced_cores_busy"] == {"1_worker": 0.62, "2_workers": 1.5}
    assert figures["two_worker_speedup_balanced_free_cores_estimate"] == 1.9  # the partitions limit first
    heavy_broker = cpu_figures(run({"worker-1": 1.0, "broker": 0.8}), two, 1.9)
    assert heavy_broker["two_worker_speedup_balanced_free_cores_estimate"] == 1.25  # 1000 / 800 us per event


def test_tree_cpu_seconds_counts_this_process_and_nothing_for_a_gone_one() -> None:
    before = procs.tree_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert procs.tree_cpu_seconds(os.getpid()) - before >= 0.15
    assert procs.tree_cpu_seconds(2**22 + 7) == 0.0  # above Linux's pid_max: no such process


def test_report_shows_each_latency_rate_and_the_balanced_step() -> None:
    results = {
        "latency_by_rate": {"2000": {"p50_latency_s": 0.05, "p99_latency_s": 0.073, "latency_rate_events_per_s": 2148},
                            "20000": {"p50_latency_s": 0.1, "p99_latency_s": 0.42,
                                      "latency_rate_events_per_s": 19870}},
        "balanced_events": 850_000, "balanced_contracts": 20, "balanced_queues": 80,
        "two_worker_speedup_balanced": 1.41, "two_worker_speedup_balanced_bound": 1.998,
        "balanced_cores_busy": {"1_worker": 1.4, "2_workers": 1.97},
    }
    text = report.markdown(results)
    assert "| latency at 20,000 events/s: sent (events/s) | 19,870 |" in text
    assert "| p50 / p99 produce -> window/breach record (s) | 0.100 / 0.420 | p99 < 0.5 s |" in text
    assert "| p50 / p99 produce -> window/breach record (s) | 0.050 / 0.073 | p99 < 0.25 s |" in text
    assert "| balanced workload (20 contracts x 4 queues, pooled terms) events | 850,000 |" in text
    assert "| 2 workers / 1 worker | 1.41x | >= 1.3x |" in text
    assert "| cores busy, 1 worker / 2 workers (of 2) | 1.40 / 1.97 |" in text
    old = report.markdown({"p99_latency_s": 0.073, "p50_latency_s": 0.05})  # a results.json from before
    assert "latency at 2,000 events/s" in old and "balanced workload" not in old

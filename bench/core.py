"""In-process cost of the core, compiled and from its Python source: CPU microseconds per event of
`StreamShell.on_batch` (decode, core, records; no Kafka) over the bench workload, and events/s of `cckpi compute`
over the same events. Each mode runs in its own process (`CCKPI_PURE_PYTHON=1` for the source); the machine is
shared and noisy, so the figure of a mode is the minimum of several runs of CPU time.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any, cast

from bench import procs
from bench.workload import Message, base_events
from streams.compiled import PURE_ENV

PARTITIONS = 4
BATCH = 5000
MODES = {"python": {PURE_ENV: "1"}, "compiled": {PURE_ENV: "0"}}
"""Each mode's environment over the caller's."""


def shell_us_per_event(messages: list[Message], repeat: int) -> float:
    """CPU microseconds per event of StreamShell.on_batch over the messages in batches (the best of `repeat`)."""
    from prometheus_client import CollectorRegistry

    from streams.app.shell import Stored, StreamShell
    from streams.contracts.loader import load_contracts
    from streams.core.processor import Processor
    from streams.core.terms import compile_terms
    from streams.models.families import CALLS
    from streams.sinks.base import RawMessage
    from streams.sinks.metrics import Metrics

    terms = compile_terms(load_contracts([procs.BANK_CONTRACT]))
    offsets = [0] * PARTITIONS
    raw: list[RawMessage] = []
    for key, value in messages:
        partition = zlib.crc32(key) % PARTITIONS
        raw.append(RawMessage(key, value, CALLS.topic, partition, offsets[partition]))
        offsets[partition] += 1
    batches = [sorted(raw[i:i + BATCH], key=lambda m: m.partition) for i in range(0, len(raw), BATCH)]

    def once() -> float:
        shell = StreamShell(Processor(terms), Metrics(CollectorRegistry()), idle_after=1e9, max_future=1e12)
        store: dict[bytes, bytes] = {}
        started = time.process_time()
        for batch in batches:
            for _source, key, value in shell.on_batch(batch, cast(Stored, store), wall_now=2e9).writes():
                if value is None:
                    store.pop(key, None)
                else:
                    store[key] = value
        return time.process_time() - started

    return min(once() for _ in range(repeat)) * 1e6 / len(raw)


def compute_events_per_second(events: Path, count: int, repeat: int, env: dict[str, str]) -> float:
    """Events per CPU second of the `cckpi compute` command (start-up included) over a JSON-lines file."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "streams", "compute", "-c", str(procs.BANK_CONTRACT), "--events",
                        str(events), "--format", "jsonl"], env=env, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return count / best


def inner(fraction: float, repeat: int) -> dict[str, Any]:
    """One mode's shell figure (in this process), with whether the compiled core was in use."""
    from streams.compiled import is_compiled

    us = shell_us_per_event(base_events(fraction=fraction), repeat)
    return {"compiled": is_compiled(), "on_batch_us_per_event": round(us, 2)}


def measure(fraction: float = 0.25, repeat: int = 5) -> dict[str, Any]:
    """Both modes: on_batch us/event and `cckpi compute` events/s, and the speed-ups of the compiled core."""
    messages = base_events(fraction=fraction)
    results: dict[str, Any] = {"events": len(messages)}
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        events.write_bytes(b"".join(value + b"\n" for _key, value in messages))
        for mode, extra in MODES.items():
            env = {**os.environ, **extra}
            out = subprocess.run([sys.executable, "-m", "bench.core", "--inner", str(fraction), str(repeat)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            figures = json.loads(out.splitlines()[-1])
            figures["compute_events_per_second"] = round(compute_events_per_second(events, len(messages), repeat,
                                                                                   env))
            results[mode] = figures
    py, c = results["python"], results["compiled"]
    if c["compiled"]:
        results["on_batch_speedup"] = round(py["on_batch_us_per_event"] / c["on_batch_us_per_event"], 2)
        results["compute_speedup"] = round(c["compute_events_per_second"] / py["compute_events_per_second"], 2)
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        print(json.dumps(inner(float(sys.argv[2]), int(sys.argv[3]))))
    else:
        args = sys.argv[1:]
        print(json.dumps(measure(float(args[0]) if args else 0.25, int(args[1]) if len(args) > 1 else 5), indent=2))

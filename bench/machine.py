"""What the benchmark ran on and against: machine, versions, and the worker's commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.procs import ROOT
from tools.brokers import KAFKA_VERSION


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def worker_commit() -> str:
    """HEAD's short hash, with `+dirty` when streams/ has uncommitted changes (the worker measured is the tree)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--", "streams") else "")


def info() -> dict[str, Any]:
    """Machine and version facts for results.json."""
    import psutil

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "aiokafka": _version("aiokafka"),
        "quixstreams": _version("quixstreams"),
        "confluent_kafka": _version("confluent-kafka"),
        "faust_streaming": _version("faust-streaming"),
    }


def speedup_bound(partition_counts: dict[int, int]) -> float | None:
    """Best 2-worker speedup the partitions allow: all events over the larger half of the best 2-2 split."""
    counts = [partition_counts[p] for p in sorted(partition_counts)]
    total = sum(counts)
    if len(counts) < 2 or not total:
        return None
    best = total
    n = len(counts)
    for mask in range(1, 2**n - 1):
        a = sum(c for i, c in enumerate(counts) if mask >> i & 1)
        best = min(best, max(a, total - a))
    return total / best

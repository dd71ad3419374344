"""A worker of tests/unit/test_compiled_core.py: runs the core (compiled, or its Python source under
CCKPI_PURE_PYTHON=1) over streams of messages read as JSON lines on stdin, and writes one JSON line per stream on
stdout with everything the core produced: the stream shell's messages, store writes and metrics, and the records of
the batch `compute` over the same events."""

from __future__ import annotations

import base64
import json
import re
import sys
import zlib
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from streams.app.shell import StreamShell
from streams.compiled import is_compiled
from streams.contracts import load_contract
from streams.core import Processor, compile_terms, compute
from streams.models.decode import decode_event
from streams.sinks.base import RawMessage
from streams.sinks.metrics import Metrics
from tests.unit.test_compiled_core import BAD, CONTRACT, PARTITIONS, WALL

TERMS = compile_terms([load_contract(CONTRACT)])
WALL_TIME = re.compile(r'"dead_lettered_at":"[^"]*"')
"""The wall clock a dead letter carries (the only output that is not the events' alone), left out."""


def run(stream: dict[str, Any]) -> dict[str, Any]:
    """Everything the stream shell (in batches, then a tick per partition) and `compute` produce for the messages."""
    offsets: dict[tuple[str, int], int] = {}
    raw: list[RawMessage] = []
    for topic, key, value in stream["messages"]:
        k, v = key.encode(), base64.b64decode(value)
        partition = zlib.crc32(k) % PARTITIONS
        offset = offsets[topic, partition] = offsets.get((topic, partition), -1) + 1
        raw.append(RawMessage(k, v, topic, partition, offset))
    registry = CollectorRegistry()
    shell = StreamShell(Processor(TERMS), Metrics(registry), idle_after=60.0, max_future=1e12)
    store: dict[bytes, bytes | None] = {}
    sends: list[str] = []
    writes: list[list[str]] = []
    size = stream["batch"]
    results = [shell.on_batch(raw[i:i + size], store, wall_now=WALL) for i in range(0, len(raw), size)]
    results += [shell.on_tick(source, [], wall_now=WALL + 7 * 86400) for source in sorted(offsets)]
    for result in results:
        sends += [WALL_TIME.sub("", repr(send)) for send in result.sends]
        for _source, key, value in result.writes():
            store[key] = value
            writes.append([key.hex(), "" if value is None else value.hex()])
    events = [decode_event(raw) for raw in (base64.b64decode(v) for _t, _k, v in stream["messages"]) if raw != BAD]
    records = [repr(record) for record in compute(events, TERMS)]
    return {"compiled": is_compiled(), "sends": sends, "writes": writes, "records": records,
            "metrics": [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]}


def main() -> None:
    """One JSON line out per JSON line in, until stdin closes."""
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()

"""The ceiling: a plain aiokafka consumer that only decodes each message (orjson) and counts.

`python -m bench.raw BOOTSTRAP TOPIC GROUP EXPECT OUT.json` runs until EXPECT messages are consumed, then
writes the timing (first and last message, wall clock) to OUT.json.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from bench.timing import Span


async def consume(bootstrap: str, topic: str, group: str, expect: int, out: Path) -> Span:
    """Consume from the earliest offset with large fetches until `expect` messages are decoded."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=True, max_poll_records=10_000, fetch_max_bytes=64 << 20,
                                max_partition_fetch_bytes=16 << 20)
    await consumer.start()
    span = Span(expect)
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            n = 0
            for messages in batch.values():
                for m in messages:
                    orjson.loads(m.value or b"null")
                    n += 1
            if span.seen(n, out):
                return span
    finally:
        await consumer.stop()


def main(argv: list[str]) -> None:
    """Command-line entry: BOOTSTRAP TOPIC GROUP EXPECT OUT."""
    bootstrap, topic, group, expect, out = argv
    asyncio.run(consume(bootstrap, topic, group, int(expect), Path(out)))


if __name__ == "__main__":
    main(sys.argv[1:])

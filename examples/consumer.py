"""Read cckpi's window or breach records downstream and keep the latest revision of each key.

    python examples/consumer.py --broker 127.0.0.1:9092                      # windows, to the end, then exit
    python examples/consumer.py --broker 127.0.0.1:9092 --topic cckpi.breaches --follow

The topics are at-least-once: after a worker restart a record may come again, and an older revision may follow a
newer one. So a consumer keeps, per message key, the record with the highest revision (`revision` on
`cckpi.kpi-windows`, keyed by contract/term/scope/window_start; `revision` of the lifecycle step on
`cckpi.breaches`, keyed by breach id) and ignores the rest. Prints the kept records as JSON lines, in key order.

Only aiokafka is needed (`pip install aiokafka`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

TOPICS = ("cckpi.kpi-windows", "cckpi.breaches")


def keep_latest(latest: dict[str, dict[str, Any]], key: str, record: dict[str, Any]) -> bool:
    """Keep `record` under `key` unless a record of the same or a higher revision is already kept; True if kept."""
    held = latest.get(key)
    if held is not None and held.get("revision", 0) >= record.get("revision", 0):
        return False
    latest[key] = record
    return True


def take(latest: dict[str, dict[str, Any]], messages: Iterable[Any], contract: str | None) -> list[dict[str, Any]]:
    """Fold consumed messages into `latest`; return the records that changed it."""
    changed = []
    for msg in messages:
        if msg.value is None or msg.key is None:  # a tombstone or a foreign message
            continue
        record = json.loads(msg.value)
        wanted = contract is None or record.get("contract") == contract
        if wanted and keep_latest(latest, msg.key.decode(), record):
            changed.append(record)
    return changed


async def consume(bootstrap: str, topic: str, contract: str | None, follow: bool) -> dict[str, dict[str, Any]]:
    """Read `topic` from its start: to the end offsets it had when we started, or for ever with `follow` (printing
    each record that becomes the latest of its key)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # no group: every partition, from its start
    await consumer.start()
    latest: dict[str, dict[str, Any]] = {}
    try:
        partitions = consumer.assignment()
        if not partitions:
            return latest  # no such topic yet
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while follow or [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for record in take(latest, (m for msgs in batch.values() for m in msgs), contract):
                if follow:
                    print(json.dumps(record, ensure_ascii=False), flush=True)
    finally:
        await consumer.stop()
    return latest


def main(argv: list[str] | None = None) -> int:
    """Print the latest revision of every key of the topic (with --follow: every change, until Ctrl-C)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="127.0.0.1:9092", help="Kafka bootstrap address host:port")
    parser.add_argument("--topic", choices=TOPICS, default=TOPICS[0])
    parser.add_argument("--contract", help="only this contract's records")
    parser.add_argument("--follow", action="store_true", help="keep reading and print each new latest record")
    args = parser.parse_args(argv)
    try:
        latest = asyncio.run(consume(args.broker.removeprefix("kafka://"), args.topic, args.contract, args.follow))
    except KeyboardInterrupt:
        return 0
    for key in sorted(latest):
        print(json.dumps(latest[key], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

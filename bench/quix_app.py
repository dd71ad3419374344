"""The comparison: the anonymous-bank daily KPIs as a Quix Streams application (tumbling windows per queue).

Same topic, its own consumer group. Per queue (the message key) and local calendar day of the offer, the window
keeps what the contract's daily terms need: offered, answered, abandoned, answered within 20 s, sum of waits of
answered calls, calls ended and their talk seconds. Like cckpi, an answer or abandon counts at its offer time
(`occurred_at - wait_seconds`) and an end at `offered_at`; days are local days (the event's own UTC offset),
with 15 minutes of grace. Closed windows go to `bench.quix-windows`.

`python -m bench.quix_app BOOTSTRAP TOPIC GROUP EXPECT OUT.json STATE_DIR` runs until EXPECT messages are
processed, then writes the timing to OUT.json (the benchmark stops the process after that).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.timing import Span

if TYPE_CHECKING:
    from quixstreams import Application

OUTPUT = "bench.quix-windows"
WITHIN = 20.0
"""Seconds of the service-level target of the anonymous-bank contract."""


def offer_time_ms(value: Any, _headers: Any = None, _timestamp: float = 0.0, _kind: Any = None) -> int:
    """Event time of the offer, in milliseconds of local time (so UTC-aligned day windows are local days)."""
    at = datetime.fromisoformat(value["occurred_at"])
    kind = value["type"]
    if kind in ("call.answered", "call.abandoned"):
        at -= timedelta(seconds=float(value.get("wait_seconds") or 0.0))
    elif kind == "call.ended" and value.get("offered_at"):
        at = datetime.fromisoformat(value["offered_at"])
    offset = at.utcoffset() or timedelta(0)
    return int((at.timestamp() + offset.total_seconds()) * 1000)


def initial(value: dict[str, Any]) -> dict[str, float]:
    """A window's aggregates after its first event."""
    return add({"offered": 0, "answered": 0, "abandoned": 0, "within": 0, "wait": 0.0, "ended": 0, "talk": 0.0},
               value)


def add(agg: dict[str, float], value: dict[str, Any]) -> dict[str, float]:
    """Add one event to a window's aggregates."""
    kind = value["type"]
    if kind == "call.offered":
        agg["offered"] += 1
    elif kind == "call.answered":
        wait = float(value.get("wait_seconds") or 0.0)
        agg["answered"] += 1
        agg["wait"] += wait
        agg["within"] += wait <= WITHIN
    elif kind == "call.abandoned":
        agg["abandoned"] += 1
    elif kind == "call.ended":
        agg["ended"] += 1
        agg["talk"] += float(value.get("talk_seconds") or 0.0)
    return agg


def build(bootstrap: str, topic: str, group: str, state_dir: Path, span: Span, out: Path) -> Application:
    """The application: one tumbling daily window per queue, final results to `OUTPUT`."""
    from quixstreams import Application  # the `bench` extra; the aggregate functions above need nothing of it

    def processed(_topic: str, _partition: int, _offset: int) -> None:
        span.seen(1, out)

    app = Application(broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
                      commit_interval=1.0, state_dir=str(state_dir), loglevel="WARNING",
                      on_message_processed=processed)
    source = app.topic(topic, value_deserializer="json", key_deserializer="str", timestamp_extractor=offer_time_ms)
    sdf = app.dataframe(source)
    sdf = (sdf.tumbling_window(duration_ms=timedelta(days=1), grace_ms=timedelta(minutes=15),
                               on_late=lambda *_args: False)
           .reduce(reducer=add, initializer=initial).final())
    sdf.to_topic(app.topic(OUTPUT, value_serializer="json", key_serializer="str"))
    return app


def main(argv: list[str]) -> None:
    """Command-line entry: BOOTSTRAP TOPIC GROUP EXPECT OUT STATE_DIR."""
    bootstrap, topic, group, expect, out, state_dir = argv
    span = Span(int(expect))
    build(bootstrap, topic, group, Path(state_dir), span, Path(out)).run()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Kafka messages of the output topics: keys and JSON values, built from core records."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from streams.core.records import BreachUpdate, LateContribution, TicketMissed, WindowResult

Message = tuple[bytes, bytes]


def window_message(result: WindowResult) -> Message:
    """`cckpi.kpi-windows`: keyed by window, so a compacted topic keeps the latest revision."""
    return result.key.encode(), orjson.dumps(result.to_dict())


def breach_message(result: BreachUpdate | TicketMissed) -> Message:
    """`cckpi.breaches`: keyed by the stable breach id (a window's lifecycle, or a ticket past its deadline)."""
    return result.key.encode(), orjson.dumps(result.to_breach())


def dead_letter_message(raw: bytes | None, key: bytes | None, reason: str, kind: str,
                        source: tuple[str, int, int] | None = None, **extra: object) -> Message:
    """`cckpi.dead-letter`: the original bytes untouched, with the reason and where they came from."""
    payload: dict[str, object] = {
        **extra,
        "reason": reason,
        "kind": kind,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
    if source is not None:
        payload["topic"], payload["partition"], payload["offset"] = source
    try:
        payload["value"] = (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        payload["value_base64"] = base64.b64encode(raw or b"").decode()
    return key or b"", orjson.dumps(payload)


def late_message(late: LateContribution, raw: bytes | None, source: tuple[str, int, int] | None = None) -> Message:
    """A contribution too late to revise its window, as a dead letter that names the window."""
    return dead_letter_message(raw, late.scope.encode(), late.reason, "late", source, term=late.term,
                               scope=late.scope, window_start=late.window_start, event_id=late.event_id)

"""Kafka messages of the output topics: keys and JSON values, built from core records; `RecordsSink` appends them
to a batch's sends."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, overload

import orjson

from streams.core.records import (
    BreachUpdate,
    ConflictingDuplicate,
    LateContribution,
    Output,
    OutsideContract,
    RejectedEvent,
    TicketMissed,
    TicketSolvedLate,
    TicketWarning,
    WindowResult,
)
from streams.kafka_io import topics
from streams.sinks.base import Consumed, Handler, Send

Message = tuple[bytes, bytes]

VALUE_EXCERPT_BYTES = 4096
"""A dead letter carries at most this many bytes of the original value (all of it when it is this small)."""
KEY_EXCERPT_BYTES = 512
"""... and of the original key (also the most a dead letter's own Kafka key can be)."""
TEXT_CHARS = 1000
"""The reason and named fields (term, scope, event id, ...) are cut to this many characters."""
DEAD_LETTER_MAX_BYTES = 128 << 10
"""Upper bound of a dead letter's key plus JSON value whatever the input (excerpts and texts JSON-escaped at worst
six bytes a character), far below a broker's default `message.max.bytes` (~1 MB)."""


def window_message(result: WindowResult) -> Message:
    """`cckpi.kpi-windows`: keyed by window, so a compacted topic keeps the latest revision."""
    return result.key.encode(), orjson.dumps(result.to_dict())


def breach_message(result: BreachUpdate | TicketMissed | TicketWarning | TicketSolvedLate) -> Message:
    """`cckpi.breaches`: keyed by the stable breach id (a window's lifecycle, a ticket past its deadline or a
    ticket's warnings)."""
    return result.key.encode(), orjson.dumps(result.to_breach())


@dataclass(frozen=True)
class DeadLetter:
    """One `cckpi.dead-letter` record: why a message was not used, where it came from, and a bounded excerpt of it
    (`value`, or `value_base64` when the excerpt is not UTF-8) with the size and sha256 of the whole value and key,
    so a record always fits the topic whatever the input."""

    reason: str
    kind: str
    dead_lettered_at: str
    value_bytes: int
    value_sha256: str
    value_truncated: bool
    key_bytes: int
    key_sha256: str
    key_truncated: bool
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    value: str | None = None
    value_base64: str | None = None
    key: str | None = None
    key_base64: str | None = None
    term: str | None = None
    scope: str | None = None
    window_start: str | None = None
    event_id: str | None = None
    first_digest: str | None = None
    """A conflicting duplicate: the content digest of the copy that was counted."""
    digest: str | None = None
    """A conflicting duplicate: the content digest of this copy."""

    def to_dict(self) -> dict[str, object]:
        """The JSON record, without the fields that do not apply (None)."""
        return {name: v for name, v in asdict(self).items() if v is not None}


def dead_letter_message(raw: bytes | None, key: bytes | None, reason: str, kind: str,
                        source: tuple[str, int, int] | None = None, *, term: str | None = None,
                        scope: str | None = None, window_start: str | None = None,
                        event_id: str | None = None, digests: tuple[str, str] | None = None) -> Message:
    """`cckpi.dead-letter`: the reason, where the message came from and a bounded excerpt of it; every dead letter
    the worker writes is built here, so none can exceed `DEAD_LETTER_MAX_BYTES`."""
    value = raw or b""
    value_text, value_b64 = _excerpt(value, VALUE_EXCERPT_BYTES)
    key_text, key_b64 = (None, None) if key is None else _excerpt(key, KEY_EXCERPT_BYTES)
    topic, partition, offset = source if source is not None else (None, None, None)
    letter = DeadLetter(
        reason=_clip(reason), kind=_clip(kind), dead_lettered_at=datetime.now(UTC).isoformat(),
        value_bytes=len(value), value_sha256=hashlib.sha256(value).hexdigest(),
        value_truncated=len(value) > VALUE_EXCERPT_BYTES,
        key_bytes=len(key or b""), key_sha256=hashlib.sha256(key or b"").hexdigest(),
        key_truncated=len(key or b"") > KEY_EXCERPT_BYTES,
        topic=_clip(topic), partition=partition, offset=offset,
        value=value_text, value_base64=value_b64, key=key_text, key_base64=key_b64,
        term=_clip(term), scope=_clip(scope), window_start=_clip(window_start), event_id=_clip(event_id),
        first_digest=digests[0] if digests else None, digest=digests[1] if digests else None)
    return (key or b"")[:KEY_EXCERPT_BYTES], orjson.dumps(letter.to_dict())


def late_message(late: LateContribution, raw: bytes | None, source: tuple[str, int, int] | None = None) -> Message:
    """A contribution too late to revise its window, as a dead letter that names the window."""
    return dead_letter_message(raw, late.scope.encode(), late.reason, "late", source, term=late.term,
                               scope=late.scope, window_start=late.window_start, event_id=late.event_id)


def _excerpt(raw: bytes, limit: int) -> tuple[str | None, str | None]:
    """(text, None) for the first `limit` bytes when they are UTF-8 (a character cut by the limit left out),
    else (None, base64 of them)."""
    head = raw[:limit]
    try:
        return head.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        if len(raw) > limit and exc.reason == "unexpected end of data":  # the limit cut the last character
            return head[:exc.start].decode("utf-8"), None
        return None, base64.b64encode(head).decode()


@overload
def _clip(text: str) -> str: ...


@overload
def _clip(text: None) -> None: ...


def _clip(text: str | None) -> str | None:
    """The text, cut to `TEXT_CHARS` characters with a note of how many were left out."""
    if text is None or len(text) <= TEXT_CHARS:
        return text
    return f"{text[:TEXT_CHARS]}... ({len(text) - TEXT_CHARS} more characters)"


DEAD_LETTER_KINDS: dict[type[Any], str] = {LateContribution: "late", OutsideContract: "outside_contract",
                                           ConflictingDuplicate: "conflicting_duplicate"}
"""The dead-letter kind of each core output that is parked (a `RejectedEvent` carries its own kind)."""


def dead_letter_kind(out: Output, msg: Consumed | None) -> str | None:
    """The kind of the dead letter this output becomes, or None when it becomes none: an outside-contract event,
    a conflicting duplicate or a rejected message is parked only with the consumed message it came from."""
    if msg is None and not isinstance(out, LateContribution):
        return None
    return out.kind if isinstance(out, RejectedEvent) else DEAD_LETTER_KINDS.get(type(out))


class RecordsSink:
    """The output topics: windows to `cckpi.kpi-windows`, breach lifecycle steps and missed tickets to
    `cckpi.breaches`, late contributions, outside-contract events, conflicting duplicates and rejected messages to
    `cckpi.dead-letter` (appended to the batch's sends, which the shells produce before committing)."""

    def routes(self) -> Mapping[type[Any], Handler]:
        """Windows, breaches and everything that is dead-lettered."""
        return {WindowResult: self.window, BreachUpdate: self.breach, TicketMissed: self.breach,
                TicketWarning: self.breach, TicketSolvedLate: self.breach,
                LateContribution: self.late, OutsideContract: self.parked, ConflictingDuplicate: self.parked,
                RejectedEvent: self.parked}

    def window(self, out: WindowResult, sends: list[Send], msg: Consumed | None) -> None:
        """A closed window or its revision."""
        sends.append((topics.KPI_WINDOWS, *window_message(out)))

    def breach(self, out: BreachUpdate | TicketMissed | TicketWarning | TicketSolvedLate, sends: list[Send],
               msg: Consumed | None) -> None:
        """A breach lifecycle step, a missed ticket, a ticket warning or a late solution."""
        sends.append((topics.BREACHES, *breach_message(out)))

    def late(self, out: LateContribution, sends: list[Send], msg: Consumed | None) -> None:
        """A contribution too late to revise its window, naming the window (and the message, when there is one)."""
        source = (msg.topic, msg.partition, msg.offset) if msg else None
        sends.append((topics.DEAD_LETTER, *late_message(out, msg.value if msg else None, source)))

    def parked(self, out: OutsideContract | ConflictingDuplicate | RejectedEvent, sends: list[Send],
               msg: Consumed | None) -> None:
        """The consumed message with the reason it was not used (nothing without a message)."""
        kind = dead_letter_kind(out, msg)
        if kind is not None and msg is not None:
            conflict = out if isinstance(out, ConflictingDuplicate) else None
            key, value = dead_letter_message(
                msg.value, msg.key, out.reason, kind, (msg.topic, msg.partition, msg.offset),
                event_id=conflict.event_id if conflict else None,
                digests=(conflict.first_digest, conflict.digest) if conflict else None)
            sends.append((topics.DEAD_LETTER, key, value))

    async def flush(self) -> int:
        """Nothing to deliver: the shells produce the sends with the batch."""
        return 0

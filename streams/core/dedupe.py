"""Duplicate detection by event id: an id counts once, whatever timestamp a later copy carries. Ids are remembered
in one table (id -> the position it was applied at and a digest of its content), and listed per hour of the event
time they were first seen at, so they are forgotten in whole hours once no window they could change is open or
revisable.

Each id is kept with the input position (Kafka offset) it was applied at. After a crash the stored ids and the
stored windows may come from different moments; an id whose position is past the scope's `applied` position was
never applied, so it is not a duplicate when the same message is delivered again.

The digest (32 bits of the event's fields) tells a plain re-send (same content: ignored) from a conflicting one
(same id, other content: reported). Position and digest share one int, so an id costs one table entry, one int and
one list slot.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import orjson

from streams.models.events import EventBase

BUCKET_SECONDS: Final = 3600
NO_POSITION: Final = -1
"""Position of events without one (batch input): always counts as applied."""
DIGEST_BITS: Final = 32
DIGEST_MASK: Final = (1 << DIGEST_BITS) - 1
UNKNOWN_DIGEST: Final = 0
"""Digest of ids stored before digests were kept: such an id is a duplicate, never a conflict."""


def content_digest(event: EventBase) -> int:
    """A stable 32-bit digest of every field of the event as decoded (never UNKNOWN_DIGEST): the JSON array of
    its declared fields in declaration order (cached properties and other attributes left out)."""
    fields_of = _FIELDS_OF.get(type(event))
    if fields_of is None:
        fields_of = _FIELDS_OF[type(event)] = _fields_of(type(event))
    return _crc32(_dumps(fields_of(event.__dict__))) or 1


_FIELDS_OF: Final[dict[type, Callable[[dict[str, object]], tuple[object, ...]]]] = {}
"""`_fields_of` of each event model seen (a plain look-up: this is per event)."""
_dumps: Final = orjson.dumps
_crc32: Final = zlib.crc32


def _fields_of(model: type[EventBase]) -> Callable[[dict[str, object]], tuple[object, ...]]:
    """The declared fields of an event model, read from its instance dict in one C call (the per-event path is
    hot: an attribute read of a pydantic model goes through its `__getattr__` hook, an item read does not)."""
    names = list(model.model_fields)
    getter = operator.itemgetter(*names)
    return getter if len(names) > 1 else lambda fields: (getter(fields),)


def digest_text(digest: int) -> str:
    """How a digest is shown in dead letters: 8 hex digits (`unknown` for ids stored without one)."""
    return "unknown" if digest == UNKNOWN_DIGEST else f"{digest:08x}"


def _pack(position: int, digest: int) -> int:
    return (position - NO_POSITION) << DIGEST_BITS | digest


def _position(packed: int) -> int:
    return (packed >> DIGEST_BITS) + NO_POSITION


@dataclass
class SeenIds:
    """Event ids seen by one scope, with the position and content digest of each, listed by the hour of their event
    time (the first copy's) for forgetting and storage.

    Storage is append-only per hour: each persist writes only the ids added since the last one, as the next
    numbered part of the hour (`<hour>.<part>`), so the cost of a write is the batch, not the hour so far (at a
    steady rate an hour's ids would otherwise be rewritten, ever larger, by every batch). `parts` counts the
    stored parts of each hour and is saved with the scope's state; forgetting an hour deletes its parts.
    """

    ids: dict[str, int] = field(default_factory=dict)
    """Event id -> position and digest, packed (see `_pack`)."""
    buckets: dict[int, list[str]] = field(default_factory=dict)
    """Hour -> ids first seen with an event time in it."""
    parts: dict[int, int] = field(default_factory=dict, compare=False)
    fresh: dict[int, list[str | int]] = field(default_factory=dict, compare=False)
    """Hour -> `[id, packed, id, packed, ...]` added since the last `take_writes` (the stored part, ready to write)."""
    dropped: dict[int, int] = field(default_factory=dict, compare=False)  # forgotten hours: parts to delete
    oldest: float = field(default=float("inf"), compare=False)  # earliest bucket: forgetting is a no-op before it

    def first(self, event_id: str, applied: int = NO_POSITION) -> int | None:
        """The digest of the copy of this id already applied (UNKNOWN_DIGEST if stored without one), else None."""
        packed = self.ids.get(event_id)
        if packed is None or _position(packed) > max(applied, NO_POSITION):
            return None
        return packed & DIGEST_MASK

    def has(self, event_id: str, applied: int = NO_POSITION) -> bool:
        """True when the id was seen and applied already."""
        return self.first(event_id, applied) is not None

    def add(self, event_id: str, event_time: float, digest: int = UNKNOWN_DIGEST,
            position: int = NO_POSITION) -> None:
        """Remember an id (not seen, or seen but never applied) at a position, under the hour of `event_time`."""
        bucket = int(event_time // BUCKET_SECONDS) * BUCKET_SECONDS
        packed = _pack(position, digest)
        ids = self.ids
        known = len(ids)
        ids.setdefault(event_id, packed)  # one look-up of a large table: this is the per-event path
        if len(ids) > known:
            listed = self.buckets.get(bucket)
            if listed is None:
                listed = self.buckets[bucket] = []
                self.oldest = min(self.oldest, bucket)
            listed.append(event_id)
        else:  # taken again after a crash (the same message, so the same hour): it stays listed where it was
            ids[event_id] = packed
        fresh = self.fresh.get(bucket)
        if fresh is None:
            fresh = self.fresh[bucket] = []
        fresh.append(event_id)
        fresh.append(packed)

    def forget_before(self, horizon: float) -> None:
        """Drop buckets that end at or before `horizon`: no window they feed can change any more. Oldest first: the
        next oldest is the next hour, or after a gap (a night without calls) the earliest hour remembered; a horizon
        past as many hours as are kept (the end of a batch input) takes one pass over the table instead."""
        if not self.buckets or self.oldest + BUCKET_SECONDS > horizon:
            return
        if horizon - self.oldest >= len(self.buckets) * BUCKET_SECONDS:
            for bucket in sorted(b for b in self.buckets if b + BUCKET_SECONDS <= horizon):
                self._drop(bucket)
            self.oldest = min(self.buckets, default=float("inf"))
            return
        while self.oldest + BUCKET_SECONDS <= horizon:  # ends at the last hour: then `oldest` is inf
            bucket = int(self.oldest)
            self._drop(bucket)
            following = bucket + BUCKET_SECONDS
            self.oldest = following if following in self.buckets else min(self.buckets, default=float("inf"))

    def _drop(self, bucket: int) -> None:
        """Forget one hour: its ids, its unsaved part, and (for the next `take_writes`) its stored parts."""
        for event_id in self.buckets.pop(bucket):
            self.ids.pop(event_id, None)
        self.fresh.pop(bucket, None)
        stored = self.parts.pop(bucket, 0)
        if stored:
            self.dropped[bucket] = stored

    def take_writes(self) -> list[tuple[str, bytes | None]]:
        """Storage writes since the last call: (`<hour>.<part>`, new ids) per hour that got ids, and
        (`<hour>.<part>`, None) for every stored part of a forgotten hour. The caller stores them, then the state.
        A part is a flat JSON list `[id, packed, id, packed, ...]`."""
        writes: list[tuple[str, bytes | None]] = []
        for bucket in sorted(self.fresh):
            part = self.parts.get(bucket, 0)
            writes.append((f"{bucket}.{part}", orjson.dumps(self.fresh[bucket])))
            self.parts[bucket] = part + 1
        for bucket in sorted(self.dropped):
            writes += [(f"{bucket}.{part}", None) for part in range(self.dropped[bucket])]
        self.fresh.clear()
        self.dropped.clear()
        return writes

    def stored_parts(self) -> list[list[int]]:
        """[hour, parts] of every remembered hour, for the scope's state record."""
        return [[bucket, self.parts.get(bucket, 0)] for bucket in sorted(self.buckets)]

    def load(self, stored: list[list[int]], read: Callable[[str], bytes | None] | None) -> None:
        """Restore the hours listed by `stored_parts` through `read` (part name -> stored ids); later parts win.
        Parts written before digests were kept (a JSON object id -> position) load with UNKNOWN_DIGEST."""
        for bucket, parts in stored:
            listed = self.buckets.setdefault(bucket, [])
            for part in range(parts):
                raw = read(f"{bucket}.{part}") if read else None
                for event_id, packed in _entries(raw):
                    if event_id not in self.ids:
                        listed.append(event_id)
                    self.ids[event_id] = packed
            self.parts[bucket] = parts
            self.oldest = min(self.oldest, bucket)


def _entries(raw: bytes | None) -> list[tuple[str, int]]:
    """(id, packed) pairs of one stored part, in either storage format."""
    if not raw:
        return []
    data = orjson.loads(raw)
    if isinstance(data, dict):  # before digests: id -> position
        return [(event_id, _pack(position, UNKNOWN_DIGEST)) for event_id, position in data.items()]
    return list(zip(data[::2], data[1::2], strict=True))

"""Duplicate detection by event id: ids are remembered per hour of event time, for as long as a window
they could change is still open or revisable, then forgotten in whole hours.

Each id is kept with the input position (Kafka offset) it was applied at. After a crash the stored ids and the
stored windows may come from different moments; an id whose position is past the scope's `applied` position was
never applied, so it is not a duplicate when the same message is delivered again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

BUCKET_SECONDS = 3600
NO_POSITION = -1
"""Position of events without one (batch input): always counts as applied."""


@dataclass
class SeenIds:
    """Event ids seen by one scope, bucketed by the hour of their event time, with the position of each."""

    buckets: dict[int, dict[str, int]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set, compare=False)  # buckets changed since last persisted
    oldest: float = field(default=float("inf"), compare=False)  # earliest bucket: forgetting is a no-op before it

    def has(self, event_id: str, event_time: float, applied: int = NO_POSITION) -> bool:
        """True when the id was seen and applied already."""
        position = self.buckets.get(int(event_time // BUCKET_SECONDS) * BUCKET_SECONDS, {}).get(event_id)
        return position is not None and position <= max(applied, NO_POSITION)

    def add(self, event_id: str, event_time: float, position: int = NO_POSITION, applied: int = NO_POSITION) -> bool:
        """Remember an id at a position; False when it was already seen and applied (a duplicate)."""
        if self.has(event_id, event_time, applied):
            return False
        bucket = int(event_time // BUCKET_SECONDS) * BUCKET_SECONDS
        ids = self.buckets.get(bucket)
        if ids is None:
            ids = self.buckets[bucket] = {}
            self.oldest = min(self.oldest, bucket)
        ids[event_id] = position
        self.dirty.add(bucket)
        return True

    def forget_before(self, horizon: float) -> None:
        """Drop buckets that end at or before `horizon`: no window they feed can change any more."""
        if self.oldest + BUCKET_SECONDS > horizon:
            return
        for bucket in [b for b in self.buckets if b + BUCKET_SECONDS <= horizon]:
            del self.buckets[bucket]
            self.dirty.add(bucket)
        self.oldest = min(self.buckets, default=float("inf"))

    def bucket_bytes(self, bucket: int) -> bytes | None:
        """Serialized ids of one bucket, or None when it was forgotten (delete it from storage)."""
        ids = self.buckets.get(bucket)
        return None if ids is None else orjson.dumps(ids)

    def load_bucket(self, bucket: int, raw: bytes | None) -> None:
        """Restore one bucket from storage."""
        self.buckets[bucket] = orjson.loads(raw) if raw else {}
        self.oldest = min(self.oldest, bucket)

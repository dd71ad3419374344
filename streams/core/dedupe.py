"""Duplicate detection by event id: ids are remembered per hour of event time, for as long as a window
they could change is still open or revisable, then forgotten in whole hours."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

BUCKET_SECONDS = 3600


@dataclass
class SeenIds:
    """Event ids seen by one scope, bucketed by the hour of their event time."""

    buckets: dict[int, set[str]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set, compare=False)  # buckets changed since last persisted
    oldest: float = field(default=float("inf"), compare=False)  # earliest bucket: forgetting is a no-op before it

    def has(self, event_id: str, event_time: float) -> bool:
        """True when the id was seen already."""
        return event_id in self.buckets.get(int(event_time // BUCKET_SECONDS) * BUCKET_SECONDS, ())

    def add(self, event_id: str, event_time: float) -> bool:
        """Remember an id; False when it was already seen (a duplicate)."""
        bucket = int(event_time // BUCKET_SECONDS) * BUCKET_SECONDS
        ids = self.buckets.get(bucket)
        if ids is None:
            ids = self.buckets[bucket] = set()
            self.oldest = min(self.oldest, bucket)
        elif event_id in ids:
            return False
        ids.add(event_id)
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
        return None if ids is None else orjson.dumps(sorted(ids))

    def load_bucket(self, bucket: int, raw: bytes | None) -> None:
        """Restore one bucket from storage."""
        self.buckets[bucket] = set(orjson.loads(raw)) if raw else set()
        self.oldest = min(self.oldest, bucket)

"""Duplicate detection by event id: ids are remembered per hour of event time, for as long as a window
they could change is still open or revisable, then forgotten in whole hours.

Each id is kept with the input position (Kafka offset) it was applied at. After a crash the stored ids and the
stored windows may come from different moments; an id whose position is past the scope's `applied` position was
never applied, so it is not a duplicate when the same message is delivered again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

BUCKET_SECONDS = 3600
NO_POSITION = -1
"""Position of events without one (batch input): always counts as applied."""


@dataclass
class SeenIds:
    """Event ids seen by one scope, bucketed by the hour of their event time, with the position of each.

    Storage is append-only per hour: each persist writes only the ids added since the last one, as the next
    numbered part of the hour (`<hour>.<part>`), so the cost of a write is the batch, not the hour so far (at a
    steady rate an hour's ids would otherwise be rewritten, ever larger, by every batch). `parts` counts the
    stored parts of each hour and is saved with the scope's state; forgetting an hour deletes its parts.
    """

    buckets: dict[int, dict[str, int]] = field(default_factory=dict)
    parts: dict[int, int] = field(default_factory=dict, compare=False)
    fresh: dict[int, dict[str, int]] = field(default_factory=dict, compare=False)  # added since last persisted
    dropped: dict[int, int] = field(default_factory=dict, compare=False)  # forgotten hours: parts to delete
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
        self.fresh.setdefault(bucket, {})[event_id] = position
        return True

    def forget_before(self, horizon: float) -> None:
        """Drop buckets that end at or before `horizon`: no window they feed can change any more."""
        if self.oldest + BUCKET_SECONDS > horizon:
            return
        for bucket in [b for b in self.buckets if b + BUCKET_SECONDS <= horizon]:
            del self.buckets[bucket]
            self.fresh.pop(bucket, None)
            stored = self.parts.pop(bucket, 0)
            if stored:
                self.dropped[bucket] = stored
        self.oldest = min(self.buckets, default=float("inf"))

    def take_writes(self) -> list[tuple[str, bytes | None]]:
        """Storage writes since the last call: (`<hour>.<part>`, new ids) per hour that got ids, and
        (`<hour>.<part>`, None) for every stored part of a forgotten hour. The caller stores them, then the state."""
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
        """Restore the hours listed by `stored_parts` through `read` (part name -> stored ids); later parts win."""
        for bucket, parts in stored:
            ids = self.buckets[bucket] = {}
            for part in range(parts):
                raw = read(f"{bucket}.{part}") if read else None
                if raw:
                    ids.update(orjson.loads(raw))
            self.parts[bucket] = parts
            self.oldest = min(self.oldest, bucket)

"""Timing of a consumer run as the benchmark reports it: first and last message consumed, wall clock."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Span:
    """Wall times (epoch seconds) of the first and the `expect`-th message consumed, and the count between."""

    expect: int
    count: int = 0
    first: float | None = None
    last: float | None = None

    def seen(self, n: int, out: Path | None = None) -> bool:
        """Count `n` more messages; returns True (after writing `out`, if given) once `expect` are counted."""
        now = time.time()
        if self.first is None and n:
            self.first = now
        self.count += n
        if self.count >= self.expect and self.last is None:
            self.last = now
            if out is not None:
                out.write_text(json.dumps(asdict(self)))
            return True
        return False


def rate(events: float, first: float, last: float) -> float:
    """Events per second between two wall times."""
    return events / max(last - first, 1e-9)

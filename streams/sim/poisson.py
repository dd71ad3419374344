"""Arrival times of a Poisson process, the shared clock of the ticket and survey simulators. Pure."""

from __future__ import annotations

import random
from collections.abc import Iterator


def arrival_times(rng: random.Random, per_hour: float, seconds: float) -> Iterator[float]:
    """Seconds since the start of each arrival at `per_hour` on average, in order, up to `seconds` (none at 0)."""
    if per_hour <= 0:
        return
    rate = per_hour / 3600.0
    t = rng.expovariate(rate)
    while t <= seconds:
        yield t
        t += rng.expovariate(rate)

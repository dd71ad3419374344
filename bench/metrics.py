"""Reading a worker's Prometheus /metrics: sums of counters and quantiles of histograms."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, dict[str, str], float]
"""(sample name, labels, value)."""


def scrape(url: str, timeout: float = 2.0) -> list[Sample]:
    """Every sample of one /metrics page."""
    text = urllib.request.urlopen(url, timeout=timeout).read().decode()
    return [(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text) for s in family.samples]


def total(samples: Iterable[Sample], name: str, **exclude: str) -> float:
    """Sum of a metric over all label sets, leaving out those whose label equals an `exclude` value."""
    return sum(v for n, labels, v in samples
               if n == name and not any(labels.get(k) == bad for k, bad in exclude.items()))


def consumed(samples: Iterable[Sample]) -> float:
    """Source messages the worker has consumed: valid events plus those dead-lettered as unusable.

    Late contributions are dead-lettered after being counted as events, so they are left out of the second sum.
    """
    rows = list(samples)
    return total(rows, "cckpi_events_total") + total(rows, "cckpi_dead_letters_total", reason="late")


def by_label(samples: Iterable[Sample], name: str, label: str) -> dict[str, float]:
    """Sum of a metric per value of one label (e.g. dead letters by `reason`)."""
    out: dict[str, float] = {}
    for n, labels, v in samples:
        if n == name:
            out[labels.get(label, "")] = out.get(labels.get(label, ""), 0.0) + v
    return out


def histogram(samples: Iterable[Sample], name: str) -> list[tuple[float, float]]:
    """Cumulative buckets (upper bound, count) of a histogram summed over label sets, sorted by bound."""
    buckets: dict[float, float] = {}
    for n, labels, v in samples:
        if n == f"{name}_bucket":
            bound = float(labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + v
    return sorted(buckets.items())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a cumulative histogram, interpolated inside its bucket as Prometheus does."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower

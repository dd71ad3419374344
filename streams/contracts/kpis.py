"""The catalog of KPI kinds a contract term may name: source, unit, direction and allowed parameters.

Schema-level facts only; how events contribute to each KPI lives in `streams.core.kpis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["calls", "tickets", "surveys", "availability"]
Unit = Literal["ratio", "seconds", "points", "score"]

CALL_OPTIONS = frozenset({"queues", "short_abandon_seconds"})
QUEUES = frozenset({"queues"})
TICKET_OPTIONS = frozenset({"categories", "priorities", "within"})


@dataclass(frozen=True)
class KpiSpec:
    """What a KPI kind measures and which term fields it takes."""

    name: str
    title: str
    source: Source
    unit: Unit
    higher_is_better: bool
    options: frozenset[str]
    required: frozenset[str] = frozenset()
    min_window_seconds: int = 60
    definition: str = ""

    @property
    def level_range(self) -> tuple[float, float]:
        """Valid range of threshold and warning levels."""
        return {"ratio": (0.0, 1.0), "seconds": (0.0, 1e9), "points": (0.0, 1e6), "score": (-100.0, 100.0)}[self.unit]


def _spec(name: str, title: str, source: Source, unit: Unit, higher: bool, options: frozenset[str],
          definition: str, required: frozenset[str] = frozenset(), min_window: int = 60) -> KpiSpec:
    return KpiSpec(name, title, source, unit, higher, options, required, min_window, definition)


CATALOG: dict[str, KpiSpec] = {s.name: s for s in (
    _spec("answer_rate", "Answer rate", "calls", "ratio", True, CALL_OPTIONS,
          "answered / (answered + abandoned), by offer time"),
    _spec("service_level", "Service level", "calls", "ratio", True,
          CALL_OPTIONS | {"answer_within_seconds", "abandons_within_target_good"},
          "answered within T (+ abandons within T if counted good) / (answered + abandoned)",
          required=frozenset({"answer_within_seconds"})),
    _spec("abandon_rate", "Abandonment rate", "calls", "ratio", False, CALL_OPTIONS,
          "abandoned / (answered + abandoned), by offer time"),
    _spec("asa", "Average speed of answer", "calls", "seconds", False, QUEUES,
          "mean queue wait of answered calls"),
    _spec("avg_talk_time", "Average talk time", "calls", "seconds", False, QUEUES,
          "mean talk seconds of ended calls, by offer time (else end time)"),
    _spec("avg_handle_time", "Average handle time", "calls", "seconds", False, QUEUES,
          "mean talk + hold + wrap seconds of ended calls, by offer time (else end time)"),
    _spec("first_response_within", "First response in time", "tickets", "ratio", True, TICKET_OPTIONS,
          "tickets whose first response came within `within` / tickets created",
          required=frozenset({"within"}), min_window=3600),
    _spec("solved_or_updated_within", "Solved or updated in time", "tickets", "ratio", True, TICKET_OPTIONS,
          "tickets solved or given a progress update within `within` / tickets created",
          required=frozenset({"within"}), min_window=3600),
    _spec("resolution_within", "Resolution in time", "tickets", "ratio", True, TICKET_OPTIONS,
          "tickets resolved within `within` / tickets created", required=frozenset({"within"}), min_window=86400),
    _spec("complaints_closed_within", "Complaints closed in time", "tickets", "ratio", True, TICKET_OPTIONS,
          "complaints closed within `within` / complaints created (categories default to complaint)",
          required=frozenset({"within"}), min_window=86400),
    _spec("availability", "Availability", "availability", "ratio", True, frozenset({"services"}),
          "up seconds / measured seconds of the services", min_window=3600),
    _spec("csat_average", "Average satisfaction", "surveys", "points", True, frozenset({"scale_max"}),
          "mean CSAT points of submitted surveys", min_window=86400),
    _spec("nps", "Net promoter score", "surveys", "score", True, frozenset(),
          "% promoters (9-10) - % detractors (0-6) of submitted surveys", min_window=86400),
)}
"""Every KPI kind, by name."""

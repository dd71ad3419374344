"""KPI definitions: what each call event contributes to each KPI, as (time, numerator, denominator).

Every KPI is a ratio of two sums, so window aggregates are plain additions that merge in any
order: rates are good/offered counts, averages are summed seconds over a count of calls.
Calls are attributed to the window they were offered in (talk time too when the end event says when).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.contracts.kpis import CATALOG, KpiSpec
from streams.contracts.model import Term
from streams.models.events import CallAbandoned, CallAnswered, CallEnded, Event, ServiceProbe, SurveySubmitted

Contribution = tuple[float, float, float]
"""(epoch seconds the contribution belongs to, numerator delta, denominator delta)."""


@dataclass(frozen=True)
class KpiKind:
    """A KPI the core computes: its catalog entry (unit, direction) and its contribution function."""

    spec: KpiSpec
    contribute: Callable[[Event, Term], Contribution | None] | None
    """Stateless contribution of one event; None for ticket KPIs, which need the ticket's history."""
    events: frozenset[str] = frozenset()
    """Event types `contribute` can count (others are skipped without calling it)."""

    @property
    def name(self) -> str:
        """Catalog name, e.g. answer_rate."""
        return self.spec.name

    @property
    def unit(self) -> str:
        """Base unit: the Prometheus metric suffix."""
        return self.spec.unit

    @property
    def higher_is_better(self) -> bool:
        """True for rates that breach below the threshold."""
        return self.spec.higher_is_better

    @property
    def title(self) -> str:
        """Human name."""
        return self.spec.title


def _short_abandon(event: CallAbandoned, term: Term) -> bool:
    return term.short_abandon_seconds is not None and event.wait_seconds < term.short_abandon_seconds


def _answer_rate(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallAnswered):
        return event.offered_ts, 1.0, 1.0
    if isinstance(event, CallAbandoned) and not _short_abandon(event, term):
        return event.offered_ts, 0.0, 1.0
    return None


def _abandon_rate(event: Event, term: Term) -> Contribution | None:
    answered = _answer_rate(event, term)
    return None if answered is None else (answered[0], 1.0 - answered[1], 1.0)


def _service_level(event: Event, term: Term) -> Contribution | None:
    target = term.answer_within_seconds or 0.0
    counts_good = bool(term.abandons_within_target_good)
    if isinstance(event, CallAnswered):
        return event.offered_ts, float(event.wait_seconds <= target), 1.0
    if isinstance(event, CallAbandoned) and not _short_abandon(event, term):
        good = counts_good and event.wait_seconds <= target
        return event.offered_ts, float(good), 1.0
    return None


def _speed_of_answer(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallAnswered):
        return event.offered_ts, event.wait_seconds, 1.0
    return None


def _talk_time(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded):
        return event.offered_at.timestamp() if event.offered_at else event.ts, event.talk_seconds, 1.0
    return None


def _handle_time(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded):
        handled = event.talk_seconds + event.hold_seconds + event.wrap_seconds
        return event.offered_at.timestamp() if event.offered_at else event.ts, handled, 1.0
    return None


def _csat(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, SurveySubmitted) and event.csat_points is not None:
        return event.ts, event.csat_points, 1.0
    return None


def _nps(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, SurveySubmitted) and event.nps_score is not None:
        score = 100.0 if event.nps_score >= 9 else -100.0 if event.nps_score <= 6 else 0.0
        return event.ts, score, 1.0
    return None


def _probe(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, ServiceProbe) and (not term.services or event.service in term.services):
        start = event.ts - event.interval_seconds
        return start, event.interval_seconds if event.ok else 0.0, event.interval_seconds
    return None


_CONTRIBUTIONS: dict[str, Callable[[Event, Term], Contribution | None] | None] = {
    "answer_rate": _answer_rate,
    "service_level": _service_level,
    "abandon_rate": _abandon_rate,
    "asa": _speed_of_answer,
    "avg_talk_time": _talk_time,
    "avg_handle_time": _handle_time,
    "csat_average": _csat,
    "nps": _nps,
    "availability": _probe,  # service.down/up intervals come from streams.core.services
    "first_response_within": None,  # ticket KPIs: streams.core.tickets
    "solved_or_updated_within": None,
    "resolution_within": None,
    "complaints_closed_within": None,
}

_ANSWERED_OR_ABANDONED = frozenset({"call.answered", "call.abandoned"})
_EVENT_TYPES: dict[str, frozenset[str]] = {
    "answer_rate": _ANSWERED_OR_ABANDONED, "service_level": _ANSWERED_OR_ABANDONED,
    "abandon_rate": _ANSWERED_OR_ABANDONED, "asa": frozenset({"call.answered"}),
    "avg_talk_time": frozenset({"call.ended"}), "avg_handle_time": frozenset({"call.ended"}),
    "csat_average": frozenset({"survey.submitted"}), "nps": frozenset({"survey.submitted"}),
    "availability": frozenset({"service.probe"}),
}

KPIS: dict[str, KpiKind] = {name: KpiKind(CATALOG[name], fn, _EVENT_TYPES.get(name, frozenset()))
                            for name, fn in _CONTRIBUTIONS.items()}
"""Every KPI kind of the catalog, with how events contribute to it."""

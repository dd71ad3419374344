"""KPI definitions: what each call event contributes to each KPI, as (time, numerator, denominator).

Every KPI is a ratio of two sums, so window aggregates are plain additions that merge in any
order: rates are good/offered counts, averages are summed seconds over a count of calls.
Calls are attributed to the window they were offered in (answer/abandon) or ended in (talk time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.contracts.model import Term
from streams.models.events import CallAbandoned, CallAnswered, CallEnded, Event

Contribution = tuple[float, float, float]
"""(epoch seconds the contribution belongs to, numerator delta, denominator delta)."""


@dataclass(frozen=True)
class KpiKind:
    """How a KPI is measured, in which unit, and which direction is good."""

    name: str
    unit: str  # "ratio" or "seconds": the Prometheus base unit suffix
    higher_is_better: bool
    contribute: Callable[[Event, Term], Contribution | None]
    title: str


def _short_abandon(event: CallAbandoned, term: Term) -> bool:
    return term.short_abandon_seconds is not None and event.wait_seconds < term.short_abandon_seconds


def _answer_rate(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallAnswered):
        return event.offered_at.timestamp(), 1.0, 1.0
    if isinstance(event, CallAbandoned) and not _short_abandon(event, term):
        return event.offered_at.timestamp(), 0.0, 1.0
    return None


def _abandonment_rate(event: Event, term: Term) -> Contribution | None:
    answered = _answer_rate(event, term)
    return None if answered is None else (answered[0], 1.0 - answered[1], 1.0)


def _service_level(event: Event, term: Term) -> Contribution | None:
    target = term.answer_within_seconds or 0.0
    if isinstance(event, CallAnswered):
        return event.offered_at.timestamp(), float(event.wait_seconds <= target), 1.0
    if isinstance(event, CallAbandoned) and not _short_abandon(event, term):
        good = term.abandons_within_target_good and event.wait_seconds <= target
        return event.offered_at.timestamp(), float(good), 1.0
    return None


def _speed_of_answer(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallAnswered):
        return event.offered_at.timestamp(), event.wait_seconds, 1.0
    return None


def _talk_time(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded):
        return event.occurred_at.timestamp(), event.talk_seconds, 1.0
    return None


def _handle_time(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded):
        handled = event.talk_seconds + event.hold_seconds + event.wrap_seconds
        return event.occurred_at.timestamp(), handled, 1.0
    return None


KPIS: dict[str, KpiKind] = {
    k.name: k
    for k in (
        KpiKind("answer_rate", "ratio", True, _answer_rate, "Answer rate"),
        KpiKind("service_level", "ratio", True, _service_level, "Service level"),
        KpiKind("abandonment_rate", "ratio", False, _abandonment_rate, "Abandonment rate"),
        KpiKind("average_speed_of_answer", "seconds", False, _speed_of_answer, "Average speed of answer"),
        KpiKind("average_talk_time", "seconds", False, _talk_time, "Average talk time"),
        KpiKind("average_handle_time", "seconds", False, _handle_time, "Average handle time"),
    )
}
"""Every KPI kind a contract term may name."""

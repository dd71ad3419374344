"""The KPI registry, core half: for each KPI of `streams.contracts.kpis.CATALOG`, what a call, survey or probe
event contributes to it as (time, numerator, denominator), which events settle a ticket clock, and how the breach
forecasts project it.

Every KPI is a ratio of two sums, so window aggregates are plain additions that merge in any
order: rates are good/offered counts, averages are summed seconds over a count of calls.
Calls are attributed to the window they were offered in (talk time too when the end event says when).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streams.contracts.kpis import CATALOG, KpiSpec
from streams.contracts.model import Term
from streams.models.events import (
    EVENT_TYPES,
    AgentEventBase,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    Event,
    SurveySubmitted,
)
from streams.queueing.erlang import Prediction, agents_needed, predict

Contribution = tuple[float, float, float]
"""(epoch seconds the contribution belongs to, numerator delta, denominator delta)."""


@dataclass(frozen=True)
class Load:
    """A queue model's inputs at one minute: calls per second, handle seconds, staffed agents, patience (None:
    Erlang C); `streams.core.forecast` smooths them from the queue's events."""

    rate: float
    aht: float
    agents: int
    patience: float | None


@dataclass(frozen=True)
class Projection:
    """What a forecast hook predicts for a term over the next interval."""

    predicted: float | None
    """The KPI's value over the calls to come (None: the model cannot say)."""
    needed: int | None = None
    """Fewest agents that meet the term's threshold, when the model can size it."""
    counted: float = 1.0
    """Share of arriving calls that enter the KPI's denominator (ASA: the answered ones)."""


ForecastHook = Callable[[Load, Prediction, Term], Projection]
"""(load, the model's prediction of the next interval without a target, the term) -> the term's projection."""


@dataclass(frozen=True)
class KpiKind:
    """A KPI the core computes: its catalog entry (unit, direction) and how events count for it."""

    spec: KpiSpec
    contribute: Callable[[Event, Term], Contribution | None] | None
    """Stateless contribution of one event; None for ticket KPIs (`streams.core.tickets` keeps each ticket's
    clock), for availability (`streams.core.services` keeps each service's status and measured time) and for the
    staffing floor (`streams.core.staffing` keeps each queue's agents and measured time)."""
    events: frozenset[str] = frozenset()
    """Event types that count: those `contribute` reads (others are skipped without calling it), or for a ticket
    KPI those that settle a ticket's clock as met."""
    forecast: ForecastHook | None = None
    """How the breach forecasts project a call KPI; None: no projection (the budget is still computed)."""
    out_of_scale: Callable[[Event, Term], str | None] | None = None
    """Why an event the term would count lies outside the term's scale (then it is dead-lettered with kind
    `out_of_scale`, and `contribute` leaves it out); None: the KPI has no scale to check."""
    restarts: frozenset[str] = frozenset()
    """Ticket KPIs judging the gap between updates: events that end a gap (in time) and start the next."""
    starts: frozenset[str] = frozenset()
    """Ticket KPIs judging each customer message: events that start a clock (none at creation), which `events`
    (the agent's next reply) stop."""

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


def _first_contact_resolution(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, CallEnded) and event.resolved_first_contact is not None:
        at = event.offered_at.timestamp() if event.offered_at else event.ts
        return at, float(event.resolved_first_contact), 1.0
    return None


def _survey_counted(event: Event, term: Term) -> bool:
    """True for a survey the term's filters let through (`categories` and `channels`, matched exactly)."""
    return (isinstance(event, SurveySubmitted) and (not term.categories or event.category in term.categories)
            and (not term.channels or event.channel in term.channels))


def _rated_points(event: Event, term: Term) -> float | None:
    """The points of a survey the term counts, if it has some (in its scale or not)."""
    if isinstance(event, SurveySubmitted) and event.csat_points is not None and _survey_counted(event, term):
        return event.csat_points
    return None


def survey_out_of_scale(event: Event, term: Term) -> str | None:
    """Why a survey the term counts cannot count: its points lie outside the term's scale (None: they do not)."""
    points, scale = _rated_points(event, term), term.points_scale
    if points is None or scale is None or scale[0] <= points <= scale[1]:
        return None
    survey = event.survey_id if isinstance(event, SurveySubmitted) else event.event_id
    return f"survey {survey!r} scored csat_points {points:g}, outside the scale {scale[0]:g}..{scale[1]:g}"


def _points(event: Event, term: Term) -> float | None:
    """The points of a survey the term counts, when they lie in its scale."""
    points = _rated_points(event, term)
    scale = term.points_scale
    if points is None or (scale is not None and not scale[0] <= points <= scale[1]):
        return None
    return points


def _csat(event: Event, term: Term) -> Contribution | None:
    points = _points(event, term)
    return None if points is None else (event.ts, points, 1.0)


def _share_satisfied(event: Event, term: Term) -> Contribution | None:
    points = _points(event, term)
    satisfied = term.satisfied_at if term.satisfied_at is not None else math.inf  # the contract checks require it
    return None if points is None else (event.ts, float(points >= satisfied), 1.0)


def _nps(event: Event, term: Term) -> Contribution | None:
    if isinstance(event, SurveySubmitted) and event.nps_score is not None and _survey_counted(event, term):
        score = 100.0 if event.nps_score >= 9 else -100.0 if event.nps_score <= 6 else 0.0
        return event.ts, score, 1.0
    return None


def _forecast_service_level(load: Load, base: Prediction, term: Term) -> Projection:
    target = float(term.answer_within_seconds or 0.0)
    good = bool(term.abandons_within_target_good)
    predicted = predict(load.rate, load.aht, load.agents, target, load.patience, good).service_level
    needed = agents_needed(load.rate, load.aht, target, service_level=term.threshold, patience=load.patience,
                           abandons_good=good, start=load.agents)
    return Projection(predicted, needed)


def _forecast_asa(load: Load, base: Prediction, term: Term) -> Projection:
    # Erlang C: under Erlang A fewer agents can "improve" ASA (more callers give up, the rest wait less)
    needed = agents_needed(load.rate, load.aht, 0.0, asa_seconds=term.threshold, start=load.agents)
    return Projection(base.asa_seconds, needed, counted=1.0 - base.abandon_rate)  # averages over answered calls


def _forecast_answer_rate(load: Load, base: Prediction, term: Term) -> Projection:
    return Projection(1.0 - base.abandon_rate)


def _forecast_abandon_rate(load: Load, base: Prediction, term: Term) -> Projection:
    return Projection(base.abandon_rate)


def _forecast_handle_time(load: Load, base: Prediction, term: Term) -> Projection:
    return Projection(load.aht)


def _registry(kinds: Iterable[KpiKind]) -> dict[str, KpiKind]:
    """The kinds by name, in catalog order; refuses a registry whose halves do not name the same KPIs."""
    by_name: dict[str, KpiKind] = {}
    for kind in kinds:
        if kind.name in by_name:
            raise ValueError(f"KPI {kind.name!r} is defined twice")
        if CATALOG.get(kind.name) is not kind.spec:
            raise ValueError(f"KPI {kind.name!r} is not the entry of streams.contracts.kpis.CATALOG")
        by_name[kind.name] = kind
    if set(by_name) != set(CATALOG):
        raise ValueError(f"KPIs without a core definition: {sorted(set(CATALOG) - set(by_name))}")
    return {name: by_name[name] for name in CATALOG}


_ANSWERED_OR_ABANDONED = frozenset({"call.answered", "call.abandoned"})
_ANSWERED = frozenset({"call.answered"})
_ENDED = frozenset({"call.ended"})
_SURVEY = frozenset({"survey.submitted"})
_RESPONDED = frozenset({"ticket.first_response", "ticket.updated", "ticket.resolved", "ticket.closed"})
AGENT_EVENTS = frozenset(name for name, model in EVENT_TYPES.items() if issubclass(model, AgentEventBase))
"""The agent state events: a KPI counting only these, with no stateless contribution, is a staffing floor counted
over time (`streams.core.staffing`)."""

KPIS: dict[str, KpiKind] = _registry((
    KpiKind(CATALOG["answer_rate"], _answer_rate, _ANSWERED_OR_ABANDONED, _forecast_answer_rate),
    KpiKind(CATALOG["service_level"], _service_level, _ANSWERED_OR_ABANDONED, _forecast_service_level),
    KpiKind(CATALOG["abandon_rate"], _abandon_rate, _ANSWERED_OR_ABANDONED, _forecast_abandon_rate),
    KpiKind(CATALOG["asa"], _speed_of_answer, _ANSWERED, _forecast_asa),
    KpiKind(CATALOG["avg_talk_time"], _talk_time, _ENDED),
    KpiKind(CATALOG["avg_handle_time"], _handle_time, _ENDED, _forecast_handle_time),
    KpiKind(CATALOG["first_response_within"], None, _RESPONDED),
    KpiKind(CATALOG["solved_or_updated_within"], None, _RESPONDED - {"ticket.first_response"}),
    KpiKind(CATALOG["resolution_within"], None, frozenset({"ticket.resolved", "ticket.closed"})),
    KpiKind(CATALOG["complaints_closed_within"], None, frozenset({"ticket.closed"})),
    KpiKind(CATALOG["updated_every"], None, frozenset({"ticket.resolved", "ticket.closed"}),
            restarts=frozenset({"ticket.first_response", "ticket.updated"})),
    KpiKind(CATALOG["next_reply_within"], None, _RESPONDED, starts=frozenset({"ticket.customer_replied"})),
    KpiKind(CATALOG["availability"], None, frozenset({"service.down", "service.up", "service.probe"})),  # core.services
    KpiKind(CATALOG["csat_average"], _csat, _SURVEY, out_of_scale=survey_out_of_scale),
    KpiKind(CATALOG["share_satisfied"], _share_satisfied, _SURVEY, out_of_scale=survey_out_of_scale),
    KpiKind(CATALOG["nps"], _nps, _SURVEY),
    KpiKind(CATALOG["first_contact_resolution"], _first_contact_resolution, _ENDED),
    KpiKind(CATALOG["staffing_floor"], None, AGENT_EVENTS),  # agents' time per queue: streams.core.staffing
))
"""Every KPI kind of the catalog, with how events contribute to it and how it is forecast."""

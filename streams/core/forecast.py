"""Breach forecasts per queue: smoothed load and staffing as state, and every minute of event time a queue model
(Erlang C, or Erlang A when callers abandon materially) of the next interval, projected to each term's window end.

Load and staffing: smoothed from the queue's events (`streams.core.load`, kept in the scope's state). A queue without
agent events gets no forecast.

Projection: the open window's value after the next interval (30 minutes, or at the window's end if sooner) if the
calls expected in it at the current arrival rate go as predicted; when that misses the threshold (with the term's
`min_volume` reached), a forecast warning (a `BreachUpdate` with basis forecast) is raised, and recovered when it no
longer does or the window ends. A KPI's predicted value over the next interval comes from its forecast hook in the
KPI registry (`KpiKind.forecast`, `streams.core.kpis`); a KPI without one gets no projection. The budget looks at
the whole rest of the window. Short abandons (`short_abandon_seconds`) are not modelled.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from streams.core.kpis import Load, Projection
from streams.core.load import QueueLoad, TermAlert
from streams.core.records import BreachUpdate, Output, QueueForecast, TermForecast
from streams.core.state import ScopeState, WindowAgg, window_id
from streams.core.terms import CompiledTerm, TermIndex
from streams.core.verdict import judge
from streams.models.events import Event
from streams.queueing.budget import period_budget
from streams.queueing.erlang import Prediction, predict

MIN_HISTORY_MINUTES = 5.0
"""No forecast before this many (smoothed) minutes of arrivals."""
MATERIAL_ABANDON = 0.03
"""Erlang A is used when at least this share of recent calls abandoned (and a patience can be estimated)."""
HORIZON_SECONDS = 1800.0
"""The "next interval" a forecast is about (its expected contacts), e.g. "the next 30 minutes"."""
PROJECTION_SECONDS = HORIZON_SECONDS
"""How far ahead the projection looks: the window's value after this long (or at its end, if sooner) if the calls
to come go as predicted."""


def current_load(load: QueueLoad) -> Load | None:
    """The smoothed inputs, or None while there is too little to go on (no staffing, arrivals or handle times)."""
    if (not load.agents or load.weight < MIN_HISTORY_MINUTES or load.handled < 1 or load.handle <= 0
            or load.arrivals <= 0):
        return None
    finished = load.answered + load.abandoned
    material = finished > 0 and load.abandoned / finished >= MATERIAL_ABANDON and load.waited > 0
    patience = load.waited / load.abandoned if material else None
    return Load(load.arrivals / load.weight / 60.0, load.handle / load.handled, load.staffed, patience)


class Forecaster:
    """Forecasts for queue scopes; stateless itself (the load lives in the scope's state), like the Processor."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = terms

    def on_event(self, state: ScopeState, scope: str, event: Event) -> list[Output]:
        """Take one applied event of a queue: forecast first if it starts a new minute, then count it."""
        load = state.load = state.load or QueueLoad()
        out = self.on_clock(state, scope, state.stream_time)
        load.observe(event)
        return out

    def on_clock(self, state: ScopeState, scope: str, now: float) -> list[Output]:
        """Forecast when event time `now` has entered a new minute (also called when a quiet queue idles)."""
        load = state.load
        if load is None or math.isinf(now) or not load.roll(int(now // 60)):
            return []
        return self.forecast(state, scope, load, load.minute * 60.0)

    def forecast(self, state: ScopeState, scope: str, load: QueueLoad, now: float) -> list[Output]:
        """The queue's forecast at `now` and the warnings it raises or clears."""
        inputs = current_load(load)
        if inputs is None:
            return self._expire(load, state, scope, now, set())
        base = predict(inputs.rate, inputs.aht, inputs.agents, 0.0, inputs.patience)
        out: list[Output] = []
        per_term: list[TermForecast] = []
        live: set[str] = set()
        for term in self.terms.for_queue(scope):
            if term.window.length or term.kind.contribute is None:  # rolling windows, time-based KPIs (staffing):
                continue  # no forecast
            start, end = term.window.bounds(now)
            agg = state.windows.get(window_id(term.key, start))
            if agg is not None and agg.closed:
                continue
            tf = self._term(term, agg, inputs, base, start, end, now)
            per_term.append(tf)
            live.add(term.key)
            update = self._alert(load, term, scope, tf, agg, start, now)
            if update is not None:
                out.append(update)
        out.insert(0, QueueForecast(
            scope=scope, at=datetime.fromtimestamp(now, UTC).isoformat(), model=base.model,
            calls_per_hour=inputs.rate * 3600, aht_seconds=inputs.aht, agents=inputs.agents,
            patience_seconds=inputs.patience, p_wait=base.p_wait, asa_seconds=base.asa_seconds,
            abandon_rate=base.abandon_rate, terms=tuple(per_term)))
        return self._expire(load, state, scope, now, live) + out

    @staticmethod
    def _term(term: CompiledTerm, agg: WindowAgg | None, inputs: Load, base: Prediction, start: float, end: float,
              now: float) -> TermForecast:
        t, kind = term.term, term.kind
        hook = kind.forecast
        projection = hook(inputs, base, t) if hook is not None else Projection(None)
        predicted, needed, rate = projection.predicted, projection.needed, inputs.rate
        num, den = (agg.num, agg.den) if agg is not None else (0.0, 0.0)
        counted = projection.counted  # share of the calls to come that enter the denominator
        remaining = rate * max(0.0, end - now) * counted
        budget = period_budget(num, den, t.threshold, kind.higher_is_better, kind.unit == "ratio", remaining)
        ahead = rate * min(max(0.0, end - now), PROJECTION_SECONDS) * counted
        projected = None
        if predicted is not None and math.isfinite(predicted) and den + ahead > 0:
            projected = (num + predicted * ahead) / (den + ahead)
        if predicted is not None and not math.isfinite(predicted):  # unbounded waits (Erlang C, agents <= load)
            predicted = None
            at_risk = den + ahead >= t.min_volume and not kind.higher_is_better
        else:
            at_risk = projected is not None and den + ahead >= t.min_volume and (
                projected < t.threshold if kind.higher_is_better else projected > t.threshold)
        iso = term.window.iso
        return TermForecast(term.contract, t.id, t.kpi, kind.unit, iso(start), iso(end), t.threshold, predicted,
                            projected, needed, budget.contacts, budget.needed_value, remaining, at_risk, ahead)

    @staticmethod
    def _alert(load: QueueLoad, term: CompiledTerm, scope: str, tf: TermForecast, agg: WindowAgg | None,
               start: float, now: float) -> BreachUpdate | None:
        """A forecast warning when the projection starts to miss, a recovery when it stops."""
        alert = load.alerts.get(term.key)
        if alert is None or alert.window_start != start:
            alert = load.alerts[term.key] = TermAlert(start)
        if tf.at_risk == alert.raised:
            return None
        alert.raised, alert.revision, alert.since = tf.at_risk, alert.revision + 1, now
        return _update(term, scope, alert, agg, tf.projected, "warning" if tf.at_risk else "recovered")

    def _expire(self, load: QueueLoad, state: ScopeState, scope: str, now: float, live: set[str]) -> list[Output]:
        """Clear raised warnings whose window has ended (or that no forecast backs any more)."""
        out: list[Output] = []
        for key, alert in list(load.alerts.items()):
            term = self.terms.by_key.get(key)
            if term is None:
                del load.alerts[key]
                continue
            current = term.window.bounds(now)[0] == alert.window_start
            if key in live and current:
                continue
            if alert.raised:
                alert.raised, alert.revision, alert.since = False, alert.revision + 1, now
                agg = state.windows.get(window_id(key, alert.window_start))
                out.append(_update(term, scope, alert, agg, None, "recovered"))
            if not current:
                del load.alerts[key]
        return out


def _update(term: CompiledTerm, scope: str, alert: TermAlert, agg: WindowAgg | None, projected: float | None,
            state: str) -> BreachUpdate:
    t = term.term
    num, den = (agg.num, agg.den) if agg is not None else (0.0, 0.0)
    _, status = judge(num, den, t.threshold, term.kind.higher_is_better, t.min_volume)
    start, end = term.window.bounds(alert.window_start)
    return BreachUpdate(
        contract=term.contract, term=t.id, kpi=t.kpi, unit=term.kind.unit, scope=scope,
        window_start=term.window.iso(start), window_end=term.window.iso(end),
        state="warning" if state == "warning" else "recovered", status=status, value=projected, numerator=num,
        denominator=den, threshold=t.threshold, warning=t.warning, revision=alert.revision,
        since=datetime.fromtimestamp(alert.since, UTC).isoformat(), sample=(), basis="forecast")

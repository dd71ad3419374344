"""Backtests of the breach forecasts on recorded calls: did a forecast warning come before the windows that
really breached, and how often did it warn for nothing?

Sources without agent state events (the anonymous-bank files) get their staffing estimated: for every interval
(30 minutes), the distinct agents who answered a call of a queue in it are taken as that queue's staffed agents,
logged in and ready from the interval's start (as a roster would say); an agent who answered calls of several
queues counts in each.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from streams.core.batch import Engine
from streams.core.kpis import KPIS
from streams.core.records import BreachUpdate, Output, QueueForecast, WindowResult
from streams.core.terms import TermIndex
from streams.models.events import AgentLoggedIn, AgentLoggedOut, AgentReady, CallAbandoned, CallAnswered, Event

STAFFING_INTERVAL = 1800.0


def with_estimated_staffing(events: Iterable[Event], interval: float = STAFFING_INTERVAL,
                            one_queue: bool = False) -> Iterator[Event]:
    """The events with agent state events added at each interval's start: whoever answers a call of a queue in
    the interval is logged in and ready for it, whoever does not is logged out. Needs events in time order.

    `one_queue` counts an agent who answered several queues only in the one they answered most (on the 1999 bank
    data this did worse: precision 76% against 82%, so the default counts them in each)."""
    staffed: dict[str, set[str]] = {}
    buffer: list[Event] = []
    current: float | None = None
    for event in events:
        slot = event.occurred_at.timestamp() // interval * interval
        if current is not None and slot != current:
            yield from _roster(buffer, staffed, interval, one_queue)
            buffer = []
        current = slot
        buffer.append(event)
    yield from _roster(buffer, staffed, interval, one_queue)


def _roster(buffer: list[Event], staffed: dict[str, set[str]], interval: float, one_queue: bool) -> Iterator[Event]:
    """Agent events for one interval's answering agents, then the interval's events."""
    if not buffer:
        return
    first = buffer[0].occurred_at
    start = first - timedelta(seconds=first.timestamp() % interval)
    answered: dict[str, Counter[str]] = {}  # agent -> calls answered per queue in the interval
    for e in buffer:
        if isinstance(e, CallAnswered) and e.agent_id:
            answered.setdefault(e.agent_id, Counter())[e.queue] += 1
    answering: dict[str, set[str]] = {}
    for agent, queues in answered.items():  # one_queue: an agent counts in the queue it answered most
        for queue in [min(queues, key=lambda q: (-queues[q], q))] if one_queue else list(queues):
            answering.setdefault(queue, set()).add(agent)
    stamp = int(start.timestamp())
    for queue in sorted(set(staffed) | set(answering)):
        now, before = answering.get(queue, set()), staffed.get(queue, set())
        for agent in sorted(before - now):
            yield AgentLoggedOut(event_id=f"roster-{queue}-{agent}-{stamp}-out", agent_id=agent, queue=queue,
                                 occurred_at=start)
        for agent in sorted(now - before):
            yield AgentLoggedIn(event_id=f"roster-{queue}-{agent}-{stamp}-in", agent_id=agent, queue=queue,
                                occurred_at=start)
            yield AgentReady(event_id=f"roster-{queue}-{agent}-{stamp}-ready", agent_id=agent, queue=queue,
                             occurred_at=start)
        staffed[queue] = now
    yield from buffer


@dataclass
class Window:
    """What happened to one window of one term and scope, and when each signal first came."""

    end: float
    status: str = "open"
    forecast_at: float | None = None
    """First forecast warning (projection to the window's end misses the threshold)."""
    interval_at: float | None = None
    """First forecast whose next-interval prediction alone missed the threshold (a simpler rule, for comparison)."""
    observed_at: float | None = None
    """First time the observed value so far crossed the threshold (the lifecycle's `breached`)."""


@dataclass
class Score:
    """Precision, recall and lead time of one warning rule over the judged windows."""

    rule: str
    warned: int
    hits: int
    breaches: int
    lead_seconds: list[float] = field(default_factory=list)
    """Window end minus first warning, for each breached window that was warned."""
    ahead_of_observed: list[float] = field(default_factory=list)
    """Observed breach time minus first warning (positive: the forecast was earlier)."""

    @property
    def precision(self) -> float | None:
        """Share of warned windows that breached."""
        return self.hits / self.warned if self.warned else None

    @property
    def recall(self) -> float | None:
        """Share of breached windows that were warned."""
        return self.hits / self.breaches if self.breaches else None

    @property
    def median_lead_seconds(self) -> float | None:
        """Median time from the first warning to the end of a breached window."""
        return statistics.median(self.lead_seconds) if self.lead_seconds else None

    @property
    def before_observed(self) -> int:
        """Warned breached windows whose first warning came before the observed value crossed the threshold."""
        return sum(ahead > 0 for ahead in self.ahead_of_observed)

    @property
    def median_ahead_seconds(self) -> float | None:
        """Median time by which the first warning preceded the observed value's first crossing."""
        return statistics.median(self.ahead_of_observed) if self.ahead_of_observed else None


@dataclass
class Calibration:
    """Predicted against realised service level per staffing interval (30 minutes) with enough calls."""

    intervals: int
    mean_predicted: float | None
    mean_realised: float | None
    mean_absolute_error: float | None


@dataclass
class Backtest:
    """All windows of the backtested terms, with their signals, and the model's calibration."""

    windows: dict[tuple[str, str, str], Window] = field(default_factory=dict)
    forecasts: int = 0
    events: int = 0
    predicted: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)
    """(term, scope, interval) -> service levels predicted by the forecasts made in it."""
    realised: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    """(term, scope, interval of the offer) -> [calls answered within the target, calls]."""

    def observe(self, event: Event, terms: TermIndex) -> None:
        """Count an answered or abandoned call in the realised service level of its interval."""
        if not isinstance(event, CallAnswered | CallAbandoned):
            return
        slot = int(event.offered_at.timestamp() // STAFFING_INTERVAL)
        for term in terms.for_queue(event.queue):
            t = term.term
            if t.kpi != "service_level":
                continue
            counts = self.realised.setdefault((t.id, event.queue, slot), [0, 0])
            within = event.wait_seconds <= (t.answer_within_seconds or 0)
            counts[0] += within and (isinstance(event, CallAnswered) or bool(t.abandons_within_target_good))
            counts[1] += 1

    def calibration(self, min_calls: int = 20) -> Calibration:
        """How close the next-interval predictions came to what the interval then did."""
        pairs = [(sum(p) / len(p), self.realised[key][0] / self.realised[key][1])
                 for key, p in self.predicted.items() if key in self.realised and self.realised[key][1] >= min_calls]
        if not pairs:
            return Calibration(0, None, None, None)
        return Calibration(len(pairs), statistics.mean(p for p, _ in pairs), statistics.mean(r for _, r in pairs),
                           statistics.mean(abs(p - r) for p, r in pairs))

    def take(self, out: Output) -> None:
        """Record one output of the engine."""
        if isinstance(out, QueueForecast):
            self.forecasts += 1
            at = datetime.fromisoformat(out.at).timestamp()
            for t in out.terms:
                if t.kpi == "service_level" and t.predicted is not None:
                    self.predicted.setdefault((t.term, out.scope, int(at // STAFFING_INTERVAL)), []).append(
                        t.predicted)
                w = self._window(t.term, out.scope, t.window_start, t.window_end)
                higher = KPIS[t.kpi].higher_is_better
                missed = t.predicted is not None and (t.predicted < t.threshold if higher else
                                                      t.predicted > t.threshold)
                if missed and w.interval_at is None:
                    w.interval_at = at
        elif isinstance(out, BreachUpdate):
            w = self._window(out.term, out.scope, out.window_start, out.window_end)
            since = datetime.fromisoformat(out.since).timestamp()
            if out.basis == "forecast" and out.state == "warning" and w.forecast_at is None:
                w.forecast_at = since
            elif out.basis == "observed" and out.state == "breached" and w.observed_at is None:
                w.observed_at = since
        elif isinstance(out, WindowResult):
            self._window(out.term, out.scope, out.window_start, out.window_end).status = out.status

    def _window(self, term: str, scope: str, start: str, end: str) -> Window:
        key = (term, scope, start)
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = Window(datetime.fromisoformat(end).timestamp())
        return found

    def score(self, rule: str) -> Score:
        """Precision, recall and lead of `forecast` (the core's warnings), `interval` (next-interval prediction
        below the threshold) or `observed` (the value so far crossed the threshold: the baseline)."""
        judged = [w for w in self.windows.values() if w.status in ("met", "breached")]
        first: Callable[[Window], float | None] = {
            "forecast": lambda w: w.forecast_at, "interval": lambda w: w.interval_at,
            "observed": lambda w: w.observed_at}[rule]
        warned = [w for w in judged if first(w) is not None]
        hits = [w for w in warned if w.status == "breached"]
        score = Score(rule, len(warned), len(hits), sum(w.status == "breached" for w in judged))
        for w in hits:
            at = first(w)
            assert at is not None
            score.lead_seconds.append(w.end - at)
            if w.observed_at is not None:
                score.ahead_of_observed.append(w.observed_at - at)
        return score


def backtest(events: Iterable[Event], terms: TermIndex, on_event: Callable[[Event], None] | None = None) -> Backtest:
    """Run the core over the events (in time order) and collect every window's signals."""
    engine = Engine(terms)
    result = Backtest()
    for event in events:
        result.events += 1
        result.observe(event, terms)
        for out in engine.ingest(event):
            result.take(out)
        if on_event is not None:
            on_event(event)
    for out in engine.flush():
        result.take(out)
    return result

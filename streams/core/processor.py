"""The event-time engine: events in, closed and revised windows out, per scope.

A scope's watermark is the latest event time seen in it (or, after `idle_after` seconds of wall
clock without events, that time plus the idle wall time). A window closes once the watermark
passes its end plus the term's grace; a later contribution within the term's retention revises
it (a new revision of the same window key); beyond retention it is reported, never dropped silently.
The same functions serve the batch command and the stream, so both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from streams.core.dedupe import NO_POSITION, content_digest, digest_text
from streams.core.effective import judged_only
from streams.core.forecast import Forecaster
from streams.core.lifecycle import assess, finalize, remember_sample
from streams.core.records import (
    ClosedBy,
    ConflictingDuplicate,
    DuplicateEvent,
    LateContribution,
    Output,
    RejectedEvent,
    WindowResult,
)
from streams.core.staffing import StaffingTracker, Step, commit
from streams.core.state import ScopeState, WindowAgg, window_id
from streams.core.terms import CompiledTerm, Contribution, TermIndex
from streams.core.verdict import judge
from streams.models.events import AgentEventBase, CallEventBase, Event
from streams.models.families import family_of

NAMED_BY = {"calls": "queue", "surveys": "queue", "availability": "service"}
"""The field of an event that a contract's scope names, per family (tickets are scoped by their terms' filters)."""


def event_family(event: Event) -> str:
    """calls (call and agent events), tickets, surveys or availability (see `streams.models.families`)."""
    return family_of(event).name


class Processor:
    """Applies events of one scope to its state; stateless itself, so one serves all scopes."""

    def __init__(self, terms: TermIndex) -> None:
        self.terms = terms
        self.dedupe_horizon = max(
            (t.window.max_seconds + t.grace + t.retention for t in terms.by_key.values()), default=0.0)
        """Event-time span after which no window an event fed can change, so its id can be forgotten."""
        self.forecaster = Forecaster(terms)
        self.bounded = any(math.isfinite(t.starts) or math.isfinite(t.ends) for t in terms.by_key.values())
        """Some contract has an effective period (see `streams.core.effective`); else no event is checked for it."""
        self._relevant: dict[str, dict[type, tuple[CompiledTerm, ...]]] = {}
        self.staffing = StaffingTracker(terms)
        self.staffed = self.staffing.any
        """Some queue has a staffing-floor term (see `streams.core.staffing`); else no event is looked at for it."""

    def in_scope(self, event: Event, family: str | None = None) -> bool:
        """True when some contract's scope covers the event: a term measures its family and, where scopes name
        queues or services, it carries one of them. Events outside every scope must get no state (and no metric
        series), or input could grow both without bound."""
        family = family or event_family(event)
        if family not in self.terms.scopes:
            return False
        names = self.terms.scopes[family]
        name = getattr(event, NAMED_BY.get(family, ""), None)
        return names is None or name is None or name in names

    def contributions(self, scope: str, event: Event) -> list[Contribution]:
        """What an event adds to each term of its scope; raises CalendarUnknownDay before any state changes."""
        found: list[Contribution] = []
        for term in self._terms_for(scope, event):
            contribution = term.kind.contribute(event, term.term)  # type: ignore[misc]  # _terms_for checks it
            if contribution is None:
                continue
            at, num, den = contribution
            if term.service_hours is not None and term.in_effect(at) and not term.service_hours.is_working_time(
                    datetime.fromtimestamp(at, UTC)):  # outside the effective period: reported, the day not needed
                continue
            found.append(Contribution(term, at, num, den))
        return found

    def _terms_for(self, scope: str, event: Event) -> Sequence[CompiledTerm]:
        """The scope's terms whose KPI counts this type of event (memoised: the per-event path is hot)."""
        by_model = self._relevant.get(scope)
        if by_model is None:
            by_model = self._relevant[scope] = {}
        found = by_model.get(type(event))  # the model tells the event type: no attribute read, no key tuple
        if found is None:
            kind = getattr(event, "type", "")
            if isinstance(event, AgentEventBase):  # staffing: no KPI contribution (see streams.core.forecast)
                terms: Sequence[CompiledTerm] = ()
            elif isinstance(event, CallEventBase):
                terms = self.terms.for_queue(scope)
            else:
                terms = self.terms.for_source(event_family(event))
            found = by_model[type(event)] = tuple(
                t for t in terms if t.kind.contribute is not None and kind in t.kind.events)
        return found

    def ingest(self, state: ScopeState, scope: str, event: Event, wall_now: float,
               position: int | None = None) -> list[Output]:
        """Count one event in its windows (once per event id); return windows it closed or revised.

        `position` is the message's offset in its partition: a message at or before the scope's applied position
        was delivered again after a failure and is already in the state, so it changes nothing."""
        if position is not None and position <= state.applied:
            return []
        contributions = self.contributions(scope, event)
        step = self.staffing.step(state.staffing, scope, event, max(state.stream_time, event.ts)) \
            if self.staffed else None
        digest = content_digest(event)
        repeated = self.repeated(state, scope, event, digest)
        if repeated is not None:
            return [repeated]
        self.remember(state, event, digest, position)
        if step is None:  # the calls path without staffing terms: as before
            out = self.ingest_contributions(state, scope, event, contributions, wall_now)
        else:
            out = self._staff(state, scope, event, step)
            out += self.ingest_contributions(state, scope, event, step.own + contributions, wall_now)
        if isinstance(event, CallEventBase) or isinstance(event, AgentEventBase):  # noqa: SIM101  # a union: built per call
            out.extend(self.forecaster.on_event(state, scope, event))
        else:  # surveys: scores outside a term's scale are reported first (calls have no scale: hot path untouched)
            out[:0] = self.out_of_scale(scope, event)
        return out

    def _staff(self, state: ScopeState, scope: str, event: Event, step: Step) -> list[Output]:
        """Apply a staffing step: the open time of the windows the event's clock makes due, then the new agents."""
        state.staffing = commit(state.staffing, event, step.since)
        return self._apply_open(state, scope, step.settled, event.ts)

    def _apply_open(self, state: ScopeState, scope: str, contributions: list[Contribution], at: float) -> list[Output]:
        """Contributions the clock made (time still open, no event of their own)."""
        return [o for c in contributions for o in self.apply(state, scope, c, f"open:{c.term.key}", at)]

    def out_of_scale(self, scope: str, event: Event) -> list[RejectedEvent]:
        """One report per term whose scale the event's score lies outside (the term does not count it; the stream
        dead-letters the event with kind `out_of_scale`, `cckpi compute` says so on stderr)."""
        found: list[RejectedEvent] = []
        for term in self._terms_for(scope, event):
            check = term.kind.out_of_scale
            reason = check(event, term.term) if check is not None else None
            if reason is not None:
                found.append(RejectedEvent(event.event_id, "out_of_scale",
                                           f"{reason} of term {term.key}: not counted for it", term.key))
        return found

    @staticmethod
    def repeated(state: ScopeState, scope: str, event: Event, digest: int) -> Output | None:
        """None for an id not counted yet; else what the repeat is: a duplicate (same content, or the first copy's
        digest unknown) or a conflicting duplicate. Either changes nothing, whatever time the repeat carries."""
        first = state.seen.first(event.event_id, state.applied)
        if first is None:
            return None
        if first == digest or not first:
            return DuplicateEvent(scope, event.event_id)
        return ConflictingDuplicate(scope, event.event_id, digest_text(first), digest_text(digest))

    @staticmethod
    def remember(state: ScopeState, event: Event, digest: int, position: int | None = None) -> None:
        """Record a new event id with its content digest (and the position it is applied at)."""
        state.seen.add(event.event_id, event.ts, digest, NO_POSITION if position is None else position)
        if position is not None:
            state.applied = position

    def ingest_contributions(self, state: ScopeState, scope: str, event: Event, contributions: list[Contribution],
                             wall_now: float) -> list[Output]:
        """Apply an event's contributions (those in their contract's effective period; the others are reported),
        then let its time move the scope's clock."""
        event_time, event_id = event.ts, event.event_id  # read once: a pydantic attribute read is a slow look-up
        out: list[Output] = []
        if self.bounded:
            contributions, outside = judged_only(scope, event_id, contributions)
            out.extend(outside)
        for c in contributions:
            out += self.apply(state, scope, c, event_id, event_time)
        state.last_event_wall = wall_now
        if event_time > state.stream_time:
            state.stream_time = event_time
            out.extend(self.advance(state, scope, event_time, "watermark"))
        return out

    def apply(self, state: ScopeState, scope: str, c: Contribution, event_id: str, at: float,
              bounds: tuple[float, float] | None = None) -> list[Output]:
        """Add one contribution to its window (a rolling term's: to each window covering it) and judge it so far;
        a closed window is revised (or the contribution reported). `at` is the event time, for the lifecycle's
        `since`."""
        term = c.term
        scope = term.scope or scope  # a per_service availability term: the service
        if bounds is None:
            if term.window.length:
                return [o for b in term.window.covering(c.at) for o in self.apply(state, scope, c, event_id, at, b)]
            bounds = term.window.bounds(c.at)
        start, end = bounds
        due = end + term.grace
        wid = window_id(term.key, start)
        agg = state.windows.get(wid)
        if agg.closed if agg is not None else due <= state.watermark:
            return self._late(state, scope, term, agg, wid, start, end, c.num, c.den, event_id)
        if agg is None:
            agg = state.windows[wid] = WindowAgg(term.key, start, end)
            state.next_due = min(state.next_due, due)
        agg.add(c.num, c.den)
        agg.pending += c.pending
        if c.den:
            remember_sample(agg, event_id)
        if c.pending < 0 and agg.pending <= 0 and due <= state.watermark:  # the last open ticket was decided
            agg.closed = True
            state.next_due = min(state.next_due, due + term.retention)
            return self._close(agg, term, scope, "watermark")
        update = assess(agg, term, scope, at) if c.den else None
        return [] if update is None else [update]

    def _late(self, state: ScopeState, scope: str, term: CompiledTerm, agg: WindowAgg | None, wid: tuple[str, float],
              start: float, end: float, num: float, den: float, event_id: str) -> list[Output]:
        if not num and not den:  # an announcement (pending) for a closed window changes nothing
            return []
        state.late += 1
        if end + term.grace + term.retention <= state.watermark:
            return [LateContribution(term.key, scope, term.window.iso(start), event_id,
                                     f"window closed and past its retention of {term.term.retention}")]
        if agg is None:
            agg = state.windows[wid] = WindowAgg(term.key, start, end, closed=True)
            state.next_due = min(state.next_due, end + term.grace + term.retention)
        agg.add(num, den)
        remember_sample(agg, event_id)
        return self._close(agg, term, scope, "late_event")

    def idle(self, state: ScopeState, scope: str, wall_now: float, idle_after: float) -> list[Output]:
        """Advance a quiet scope's clock with the wall clock, so its windows still close."""
        watermark = self.idle_watermark(state, wall_now, idle_after)
        if watermark is None:
            return []
        out = [] if state.staffing is None else self._apply_open(
            state, scope, self.staffing.settle(state.staffing, scope, watermark), state.watermark)
        out += self.advance(state, scope, watermark, "idle")
        return out + self.forecaster.on_clock(state, scope, state.watermark)

    @staticmethod
    def idle_watermark(state: ScopeState, wall_now: float, idle_after: float) -> float | None:
        """The clock of a scope quiet for `idle_after` wall seconds: its last event time plus the quiet time."""
        idle_for = wall_now - state.last_event_wall
        if math.isinf(state.stream_time) or idle_for < idle_after:
            return None
        return state.stream_time + idle_for

    def flush(self, state: ScopeState, scope: str) -> list[Output]:
        """Close every open window (end of a batch input), a queue's open staffing time counted first."""
        out = [] if state.staffing is None else self._apply_open(
            state, scope, self.staffing.close(state.staffing, scope, state.stream_time), state.watermark)
        return out + self.advance(state, scope, math.inf, "end_of_input")

    def advance(self, state: ScopeState, scope: str, watermark: float, closed_by: ClosedBy) -> list[Output]:
        """Move the watermark forward; close due windows and forget those past retention."""
        if watermark <= state.watermark:
            return []
        state.watermark = watermark
        state.seen.forget_before(watermark - self.dedupe_horizon)
        if watermark < state.next_due:
            return []
        closing: list[tuple[WindowAgg, CompiledTerm]] = []
        next_due = math.inf
        for wid, agg in list(state.windows.items()):
            term = self.terms.by_key.get(agg.term)
            if term is None:  # the term left the contract: its state goes with it
                del state.windows[wid]
                continue
            due = agg.end + term.grace
            if not agg.closed:
                if due > watermark:
                    next_due = min(next_due, due)
                    continue
                if agg.pending > 0:  # open tickets: it closes when the last is decided (see apply)
                    continue
                agg.closed = True
                closing.append((agg, term))
            if due + term.retention <= watermark:
                del state.windows[wid]
            else:
                next_due = min(next_due, due + term.retention)
        state.next_due = next_due
        closing.sort(key=lambda pair: (pair[0].end, pair[0].term))
        return [o for agg, term in closing for o in self._close(agg, term, term.scope or scope, closed_by)]

    def _close(self, agg: WindowAgg, term: CompiledTerm, scope: str, closed_by: ClosedBy) -> list[Output]:
        """The window's result and, if it was ever at risk or ends breached, its final lifecycle event."""
        result = self._result(agg, term, scope, closed_by)
        final = finalize(agg, term, scope)
        return [result] if final is None else [result, final]

    @staticmethod
    def _result(agg: WindowAgg, term: CompiledTerm, scope: str, closed_by: ClosedBy) -> WindowResult:
        agg.revision += 1
        t = term.term
        value, status = judge(agg.num, agg.den, t.threshold, term.kind.higher_is_better, t.min_volume)
        return WindowResult(
            contract=term.contract, term=t.id, kpi=t.kpi, unit=term.kind.unit, scope=scope,
            window_start=term.window.iso(agg.start), window_end=term.window.iso(agg.end),
            value=value, numerator=agg.num, denominator=agg.den, threshold=t.threshold, warning=t.warning,
            status=status, revision=agg.revision, closed_by=closed_by,
        )

    def open_windows(self, state: ScopeState) -> Iterable[tuple[CompiledTerm, WindowAgg]]:
        """Windows still open, for period-to-date gauges."""
        for agg in state.windows.values():
            term = self.terms.by_key.get(agg.term)
            if term is not None and not agg.closed:
                yield term, agg

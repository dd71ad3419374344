"""The event-time engine: windows close by watermark + grace, late data revises or is reported."""

from __future__ import annotations

from streams.core import BreachUpdate, LateContribution, Processor, ScopeState, WindowResult, compute
from streams.core.records import UnscopedEvent
from streams.core.state import WindowAgg, millionths
from tests.helpers import abandoned, answered, at, offered, terms


def results(outputs: list) -> list[WindowResult]:
    return [o for o in outputs if isinstance(o, WindowResult)]


def feed(events: list, state: ScopeState | None = None) -> tuple[ScopeState, list]:
    proc, state = Processor(terms()), state or ScopeState()
    out: list = []
    for e in events:
        out += proc.ingest(state, e.queue, e, 0.0)
    return state, out


def test_window_closes_only_after_grace() -> None:
    events = [answered(at("10:01")), answered(at("10:05")), abandoned(at("10:10")), offered(at("10:16", 59))]
    state, out = feed(events)
    assert results(out) == []  # 10:16:59 < 10:15 + 2m grace
    [provisional] = [o for o in out if isinstance(o, BreachUpdate)]  # 2 of 3 answered: breached while open
    assert (provisional.state, provisional.since) == ("breached", "2026-11-23T02:10:00+00:00")
    _, out = feed([offered(at("10:17"))], state)
    [r] = results(out)
    assert (r.window_start, r.window_end) == ("2026-11-23T10:00:00+08:00", "2026-11-23T10:15:00+08:00")
    assert (r.numerator, r.denominator, r.status, r.revision) == (2, 3, "breached", 0)
    assert r.value is not None and abs(r.value - 2 / 3) < 1e-12


def test_out_of_order_event_within_grace_counts_in_its_window() -> None:
    early = [answered(at("10:05")), answered(at("10:06")), answered(at("10:16"))]
    # offered at 10:14:50, abandoned at 10:16:30 (after the watermark passed 10:15): still in grace
    straggler = abandoned(at("10:16", 30), wait=100)
    state, out = feed([*early, straggler, offered(at("10:18"))])
    [r] = results(out)
    assert (r.numerator, r.denominator) == (2, 3)
    assert state.late == 0


def test_event_after_close_revises_the_window_and_is_counted_late() -> None:
    events = [answered(at("10:05")), answered(at("10:06")), answered(at("10:07")), offered(at("10:20"))]
    state, out = feed(events)
    [first] = results(out)
    assert (first.status, first.revision) == ("met", 0)
    _, out = feed([abandoned(at("10:14"), wait=60)], state)  # offered 10:13, window closed at 10:17
    [revised] = results(out)
    assert revised.key == first.key
    assert (revised.revision, revised.denominator, revised.closed_by) == (1, 4, "late_event")
    assert state.late == 1


def test_event_past_retention_is_reported_not_dropped_silently() -> None:
    state, _ = feed([answered(at("10:05")), offered(at("11:30"))])  # retention 1h: 10:15+2m+1h < 11:30
    _, out = feed([answered(at("10:06"))], state)
    [late] = out
    assert isinstance(late, LateContribution)
    assert late.window_start == "2026-11-23T10:00:00+08:00" and "retention" in late.reason
    assert state.late == 1


def test_idle_scope_closes_by_wall_clock() -> None:
    proc, state = Processor(terms()), ScopeState()
    for e in (answered(at("10:05")), answered(at("10:06")), answered(at("10:14"))):
        proc.ingest(state, "q1", e, wall_now=1000.0)
    assert proc.idle(state, "q1", wall_now=1005.0, idle_after=10) == []  # not idle long enough
    assert proc.idle(state, "q1", wall_now=1060.0, idle_after=10) == []  # 10:15 + 2m grace not reached
    [r] = results(proc.idle(state, "q1", wall_now=1000.0 + 181, idle_after=10))
    assert (r.closed_by, r.denominator) == ("idle", 3)


def test_insufficient_volume_never_breaches() -> None:
    out = compute([abandoned(at("10:05")), abandoned(at("10:06"))], terms())
    [r] = results(out)
    assert (r.status, r.value, r.denominator) == ("insufficient_volume", 0.0, 2)


def test_scopes_are_independent() -> None:
    out = compute([answered(at("10:05"), queue="q1"), abandoned(at("10:05"), queue="q2")], terms())
    by_scope = {r.scope: r for r in results(out)}
    assert (by_scope["q1"].numerator, by_scope["q2"].numerator) == (1, 0)


def test_state_survives_serialization_mid_stream() -> None:
    events = [answered(at("10:05")), abandoned(at("10:07")), answered(at("10:16")), answered(at("10:12"), wait=5),
              offered(at("10:40")), abandoned(at("10:10"), wait=20), answered(at("10:41"))]
    _, straight = feed(events)
    state, first = feed(events[:3])
    restored = ScopeState.from_bytes(state.to_bytes())
    _, rest = feed(events[3:], restored)
    assert [r.comparable() for r in results(first + rest)] == [r.comparable() for r in results(straight)]
    assert results(straight)  # the scenario does close windows


def test_unknown_queue_is_ignored() -> None:
    event = answered(at("10:05"), queue="elsewhere")
    assert compute([event], terms()) == [UnscopedEvent("calls", event.event_id)]  # counted, no window, no state


SERVICE_HOURS = """
id: sh
name: service hours
timezone: Asia/Shanghai
calendar:
  holidays: CN
  working_hours: {mon: [["09:00", "18:00"]], tue: [["09:00", "18:00"]]}
scope: {queues: [q1]}
terms:
  - {id: ar, kpi: answer_rate, threshold: 0.8, window: day, measured_during: service_hours}
"""


def test_service_hours_only_count_calls_offered_in_working_time() -> None:
    from streams.contracts import parse_contract
    from streams.core import compile_terms

    index = compile_terms([parse_contract(SERVICE_HOURS)])
    events = [answered(at("10:00")), abandoned(at("18:00"), wait=5),  # offered 17:59:55: in service hours
              abandoned(at("18:01"), wait=30), abandoned(at("20:00"))]  # offered after 18:00: not counted
    [r] = results(compute(events, index))  # 2026-11-23 is a Monday
    assert (r.numerator, r.denominator) == (1, 2)


def test_unknown_calendar_day_raises_before_changing_state() -> None:
    import pytest

    from streams.calendar import CalendarUnknownDay
    from streams.contracts import parse_contract
    from streams.core import compile_terms

    proc, state = Processor(compile_terms([parse_contract(SERVICE_HOURS)])), ScopeState()
    proc.ingest(state, "q1", answered(at("10:00")), 0.0)
    before = state.to_bytes()
    from datetime import timedelta
    with pytest.raises(CalendarUnknownDay):
        proc.ingest(state, "q1", answered(at("10:00") + timedelta(days=400)), 0.0)
    assert state.to_bytes() == before


def test_duplicate_event_ids_count_once_and_are_forgotten_after_the_horizon() -> None:
    from streams.core import DuplicateEvent

    first = answered(at("10:01"))
    state, out = feed([first, abandoned(at("10:02")), first, offered(at("10:20"))])
    [r] = results(out)
    assert (r.numerator, r.denominator) == (1, 2)
    assert [o.event_id for o in out if isinstance(o, DuplicateEvent)] == [first.event_id]
    # the test contract's horizon is 15m window + 2m grace + 1h retention: after that the hour is forgotten
    state, _ = feed([offered(at("12:30"))], state)
    assert state.seen.buckets and min(state.seen.buckets) > at("10:00").timestamp()
    _, out = feed([first], state)  # now simply too late, reported as such
    assert [type(o).__name__ for o in out] == ["LateContribution"]


def test_service_hours_can_differ_from_the_working_time_calendar() -> None:
    from streams.contracts import parse_contract
    from streams.core import compile_terms

    text = SERVICE_HOURS + 'service_hours:\n  holidays: none\n  working_hours: {mon: [["08:00", "22:00"]]}\n'
    index = compile_terms([parse_contract(text)])
    events = [answered(at("08:30")), abandoned(at("20:00")), abandoned(at("23:00"))]  # 08-22 counts, not 23:00
    [r] = results(compute(events, index))
    assert (r.numerator, r.denominator) == (1, 2)


def test_breach_lifecycle_warning_breached_recovered_final() -> None:
    from streams.contracts import parse_contract
    from streams.core import compile_terms
    from tests.helpers import CONTRACT

    text = CONTRACT.replace("    min_volume: 3", "    min_volume: 4\n    warning: 0.9")
    index = compile_terms([parse_contract(text)])
    proc, state = Processor(index), ScopeState()
    steps = [answered(at("10:01")), answered(at("10:02")), answered(at("10:03")), abandoned(at("10:04")),  # 3/4 < .8
             answered(at("10:05")),  # 4/5 = .8: met but under the warning .9
             answered(at("10:06")), answered(at("10:07")), answered(at("10:08")), answered(at("10:09")),  # 8/9 warning
             answered(at("10:10")),  # 9/10 = .9: ok again
             offered(at("10:20"))]
    updates = [o for e in steps for o in proc.ingest(state, "q1", e, 0.0) if isinstance(o, BreachUpdate)]
    assert [(u.state, u.status, u.revision) for u in updates] == [
        ("breached", "breached", 1), ("warning", "met", 2), ("recovered", "met", 3), ("final", "met", 4)]
    assert updates[0].key == updates[-1].key and updates[0].sample[-1] == steps[3].event_id


def test_windows_never_at_risk_have_no_lifecycle_events() -> None:
    _, out = feed([answered(at("10:01")), answered(at("10:02")), answered(at("10:03")), offered(at("10:20"))])
    assert [type(o).__name__ for o in out] == ["WindowResult"]


def test_sums_are_kept_in_millionths_rounded_half_to_even_as_the_builtin_does() -> None:
    """The window sums' rounding (stored in the state) is Python's `round` of the value in millionths: halves go to
    the even neighbour, either sign; whole and large values are exact."""
    cases = {2.5e-6: 2, 3.5e-6: 4, -2.5e-6: -2, -1.5e-6: -2, 5e-7: 0, 12.3456785: 12345678, 0.1: 100_000,
             86400.0: 86_400_000_000, 1e300: int(1e306), 0.4999999e-6: 0, -0.0: 0}
    assert {value: millionths(value) for value in cases} == cases
    agg = WindowAgg("c/t", 0.0, 60.0)
    agg.add(2.5e-6, 3.5e-6)
    assert (agg.n, agg.d) == (2, 4)
